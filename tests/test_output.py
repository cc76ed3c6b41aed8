"""--out FILE with --format: the document in a file, the report still on the screen, for run,
sweep, compare and doctor alike; a bad --out/--format is a usage error before anything runs."""

from __future__ import annotations

import csv
import io
import json
import os
import stat
import subprocess
import sys

import pytest

import anethru
from anethru.results.ceiling import suite_document
from test_compare import synthetic

QUICK = ["-b", "cpu", "-c", "16x8", "-n", "2", "-r", "2", "-q"]


def cli(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "anethru", *args], capture_output=True,
                          text=True, timeout=300, cwd=cwd)


def test_run_writes_the_file_in_its_format_and_keeps_the_screen(tmp_path):
    out = tmp_path / "run.csv"
    p = cli(*QUICK, "--json", "--out", str(out))
    assert p.returncode == 0, p.stderr
    (result,) = anethru.load_results(p.stdout)          # the screen: JSON, as asked
    rows = list(csv.DictReader(io.StringIO(out.read_text())))  # the file: CSV, from its suffix
    medians = {r["test"]: float(r["median"]) for r in rows if r["test"] in result.tests}
    assert medians and all(
        medians[t] == pytest.approx(result.tests[t].per_unit_ms.median, rel=1e-6) for t in medians)


def test_run_json_file_with_the_text_report_on_screen(tmp_path):
    out = tmp_path / "result.data"
    p = cli(*QUICK, "--out", str(out), "--format", "json")
    assert p.returncode == 0, p.stderr
    assert "anethru: multi-kernel throughput ceiling -- 16x8" in p.stdout
    (result,) = anethru.load_results(out.read_text())
    assert (result.config.channels, result.config.spatial) == (16, 8)


def test_compare_markdown_file_is_the_comparisons_markdown(tmp_path):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(json.dumps(suite_document([synthetic(seed=1)])))
    b.write_text(json.dumps(suite_document([synthetic(scale=2.0, seed=2)])))
    md = tmp_path / "cmp.md"
    p = cli("compare", str(a), str(b), "--out", str(md))
    assert p.returncode == 0, p.stderr
    expected = anethru.compare(a, b, names=[str(a), str(b)]).to_markdown() + "\n"
    assert md.read_text() == expected
    assert p.stdout.startswith("=")  # the text report on the screen


def test_doctor_json_file(tmp_path):
    out = tmp_path / "doctor.json"
    p = cli("doctor", "--backend", "cpu", "--out", str(out))
    assert p.returncode == 0, p.stderr
    doc = json.loads(out.read_text())
    assert doc["backend"] == "cpu" and all(s["status"] == "ok" for s in doc["steps"])


def test_sweep_json_file(tmp_path):
    out = tmp_path / "sweep.json"
    p = cli("sweep", "-b", "cpu", "--configs", "16x8,16x16", "-n", "1", "-r", "2", "-q",
            "--out", str(out))
    assert p.returncode == 0, p.stderr
    sweep = anethru.load_sweep(out.read_text())
    assert [r.config.spatial for r in sweep.results] == [8, 16]


@pytest.mark.parametrize("args,message", [
    (["doctor", "--backend", "cpu", "--format", "json"], "--format names the format of --out FILE"),
    (["doctor", "--backend", "cpu", "--out", "d.csv"], "a doctor has no csv format"),
    (["sweep", "--out", "s.md"], "a sweep has no markdown format"),
])
def test_bad_out_or_format_is_a_usage_error_before_running(tmp_path, args, message):
    p = cli(*args, cwd=tmp_path)
    assert p.returncode == 2 and message in p.stderr and len(p.stderr.splitlines()) == 1, p.stderr
    assert os.listdir(tmp_path) == []


def test_a_device_is_written_never_replaced(tmp_path):
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full")
    p = cli("doctor", "--backend", "cpu", "--out", "/dev/full")
    assert p.returncode == 1 and "cannot write /dev/full" in p.stderr, p.stderr
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode)


def test_a_failed_write_leaves_the_old_file_whole(tmp_path):
    from anethru.commands.common import OutputError
    from anethru.commands.output import write_file

    target = tmp_path / "kept.json"
    target.write_text("old")
    with pytest.raises(OutputError, match="cannot write"):
        write_file(str(tmp_path / "no-such-dir" / "x.json"), "new")
    write_file(str(target), "new")
    assert target.read_text() == "new"
    assert os.listdir(tmp_path) == ["kept.json"]   # no temporary file left beside it
