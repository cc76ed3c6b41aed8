"""An absolute bound for the round trip (issue 19, section 2): ``overhead_within`` (API, ms per
layer) / ``--overhead-within 5us`` replaces precision x the copy as the overhead's target; the
result records it, and a loader re-checks ``stopped_by`` with it."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

import numpy as np
import pytest

import anethru
from anethru.commands.arguments import parse_duration
from anethru.errors import ResultFormatError
from anethru.results import verdict
from anethru.results.ceiling import CeilingResult, ChainCheck, Config, Stopping, TestResult

KERNELS, ROUNDS, ITERS = 4, 24, 10
PASS_MS = {"sequential": 1.20, "run_only": 1.00, "memcpy_only": 0.001}


def noisy_tests(seed: int = 3) -> dict:
    """Per-test blocks with 1% noise: every median resolves within 5%, while the overhead (a
    difference of two noisy times) has a half-width far above 5% of the tiny copy."""
    rng = np.random.default_rng(seed)
    out = {}
    for name, ms in PASS_MS.items():
        unit, units = ("copy", KERNELS - 1) if name == "memcpy_only" else ("kernel", KERNELS)
        blocks = ms * ITERS * 1e6 * rng.lognormal(0, 0.01, ROUNDS)
        out[name] = TestResult(name, unit, units, ITERS, tuple(int(b) for b in blocks))
    return out


def overhead_half_width(tests) -> float:
    return verdict.figures(tests, None, KERNELS)["round_trip_overhead"].half_width


def test_the_bound_replaces_the_copy_as_the_overheads_target():
    tests = noisy_tests()
    hw = overhead_half_width(tests)
    copy = tests["memcpy_only"].per_unit_ms.median
    assert hw > 0.05 * copy   # by the copy the overhead is not resolved ...
    without = verdict.statuses(tests, None, KERNELS, ROUNDS, 0.05)
    assert without["round_trip_overhead"] != verdict.RESOLVED
    assert all(without[t] == verdict.RESOLVED for t in PASS_MS)
    # ... by a bound just above its half-width it is; just below, it is not
    assert verdict.statuses(tests, None, KERNELS, ROUNDS, 0.05, hw * 1.01)[
        "round_trip_overhead"] == verdict.RESOLVED
    assert verdict.statuses(tests, None, KERNELS, ROUNDS, 0.05, hw * 0.99)[
        "round_trip_overhead"] != verdict.RESOLVED
    assert f"(target +/-{hw * 0.99:.3g} ms)" in " ".join(
        verdict.shortfall(tests, None, KERNELS, ROUNDS, 0.05, hw * 0.99))


def result_with(tests, bound) -> CeilingResult:
    st = verdict.statuses(tests, None, KERNELS, ROUNDS, 0.05, bound)
    stopped_by = verdict.finished(st)
    assert stopped_by == "precision"
    stopping = Stopping("precision", stopped_by, precision=0.05, max_time_s=15.0, min_repeats=6,
                        max_repeats=500, elapsed_s=1.0,
                        figures=verdict.final_statuses(st, stopped_by), rule=verdict.RULE,
                        overhead_within=bound)
    schedule = tuple(n for _ in range(ROUNDS) for n in PASS_MS)
    config = Config("cpu", 8, 8, KERNELS, 128, False, 0, ROUNDS, "identity", 1, schedule)
    return CeilingResult.build(config=config, tests=tests, device="test", simulated=False,
                               compile_ms=1.0, check=ChainCheck("identity", ("sequential",), True,
                                                                0.0, 0.0, True),
                               unsupported={}, machine={}, clock="test", anethru_version="x",
                               stopping=stopping)


def test_a_loader_rechecks_stopped_by_with_the_recorded_bound():
    tests = noisy_tests()
    r = result_with(tests, overhead_half_width(tests) * 1.5)
    doc = json.loads(r.to_json())
    assert doc["schema"] == "anethru.ceiling/4"
    again = CeilingResult.from_json(json.dumps(doc))
    assert again.stopping.overhead_within == r.stopping.overhead_within
    doc["stopping"]["overhead_within"] = None   # without the bound the blocks say otherwise
    with pytest.raises(ResultFormatError) as e:
        CeilingResult.from_json(json.dumps(doc))
    assert e.value.path == "$.stopping.stopped_by" and "the raw blocks give" in e.value.reason
    doc["stopping"]["overhead_within"] = 0
    with pytest.raises(ResultFormatError, match=r"stopping\.overhead_within"):
        CeilingResult.from_json(json.dumps(doc))


def test_run_ceiling_records_the_bound_and_refuses_bad_ones():
    r = anethru.run_ceiling(8, 4, kernels=3, backend="virtual", overhead_within=0.005,
                            tests=["sequential", "run_only", "memcpy_only"])
    assert r.stopping.overhead_within == 0.005 and r.stopping.stopped_by == "precision"
    with pytest.raises(ValueError, match=r"overhead_within must be a positive number of ms per "
                                         r"layer \(e\.g\. 0\.005 for \+/-5 us\); got -1"):
        anethru.run_ceiling(8, 4, backend="virtual", overhead_within=-1)
    with pytest.raises(ValueError, match="give one, not both"):
        anethru.run_ceiling(8, 4, backend="virtual", overhead_within=0.005, repeats=3)
    with pytest.raises(TypeError, match="overhead_within must be a number; got '5us'"):
        anethru.run_ceiling(8, 4, backend="virtual", overhead_within="5us")


@pytest.mark.parametrize("text,ms", [("5us", 0.005), ("5 us", 0.005), ("0.5ms", 0.5),
                                     ("200ns", 0.0002), ("1e-6s", 0.001), ("5µs", 0.005)])
def test_durations_need_a_unit(text, ms):
    assert parse_duration(text) == pytest.approx(ms)


@pytest.mark.parametrize("text", ["5", "0us", "five us", "5 kb"])
def test_bad_durations_are_refused(text):
    with pytest.raises(argparse.ArgumentTypeError, match="invalid duration"):
        parse_duration(text)


def test_the_command_line_option():
    p = subprocess.run([sys.executable, "-m", "anethru", "--backend", "virtual", "-c", "8x4",
                        "-k", "3", "-t", "sequential,run_only", "--overhead-within", "2us", "-q",
                        "--json"], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    r = anethru.load_results(p.stdout)[0]
    assert r.stopping.overhead_within == pytest.approx(0.002)
    assert "every figure resolved (+/-5.0%; the round trip +/-2.000 us per layer)" in str(r)
    bad = subprocess.run([sys.executable, "-m", "anethru", "--backend", "virtual",
                          "--overhead-within", "2us", "-r", "3", "-q"], capture_output=True,
                         text=True, timeout=120)
    assert bad.returncode == 2 and "--overhead-within is a target" in bad.stderr, bad.stderr
