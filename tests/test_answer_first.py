"""The answer first (issue 19, section 5): each configuration's headline as it finishes, a
summary table at the end, and, when auto picks the CPU, the first lines say so."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

import anethru
from anethru.native.backends import resolve


def cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "anethru", *args], capture_output=True,
                          text=True, timeout=300, env={**os.environ, **(env or {})})


def test_each_headline_comes_as_its_configuration_finishes_and_a_summary_ends_the_report():
    p = cli("--backend", "virtual", "-c", "64x32", "-c", "8x4", "-n", "2", "-r", "6")
    assert p.returncode == 0, p.stderr
    err = p.stderr.splitlines()
    done1 = next(i for i, ln in enumerate(err) if ln.startswith("anethru: [1/2] done: 64x32: "))
    start2 = next(i for i, ln in enumerate(err) if ln.startswith("anethru: [2/2] 8x4: compiling"))
    assert done1 < start2
    assert "round trip per layer 12.36 us" in err[done1] and "copy 12.36 us (measured)" in err[done1]
    out = p.stdout.rstrip().splitlines()
    assert out[-5].startswith(" summary (round trip: inferred")
    head, rows = out[-3], out[-2:]
    assert head.split()[:2] == ["config", "round"] and "copy (measured)" in head
    assert rows[0].split()[0] == "64x32" and rows[1].split()[0] == "8x4"


def test_the_summary_row_is_the_results_figures():
    from anethru.report.text import summary_table
    from virtual_clock import virtual_costs
    with virtual_costs():
        r = anethru.run_ceiling(8, 4, kernels=3, backend="virtual", iters=2, repeats=6)
    row = summary_table([r]).splitlines()[-1]
    o = r.derived["round_trip_overhead"].stats.median
    assert row.split()[:3] == ["8x4", f"{o * 1e6:.1f}", "ns"]
    assert "6 rounds, exact" in row


@pytest.mark.skipif(resolve("auto").name != "cpu", reason="auto picks an accelerator here")
def test_when_auto_picks_the_cpu_the_first_lines_say_so():
    p = cli("-c", "8x4", "-n", "1", "-r", "1", "-t", "sequential,run_only")
    assert p.returncode == 0, p.stderr
    first, second = p.stderr.splitlines()[:2]
    assert first.startswith("anethru: auto picked the CPU backend: no ane (")
    assert "on the CPU the round trip is a memcpy" in second
    p = cli("--backend", "cpu", "-c", "8x4", "-n", "1", "-r", "1", "-t", "sequential,run_only")
    assert "auto picked" not in p.stderr
    assert "auto picked" not in cli("-q", "-c", "8x4", "-n", "1", "-r", "1").stderr
