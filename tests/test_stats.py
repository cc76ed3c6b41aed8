"""Statistics and derived figures on known block totals."""

from __future__ import annotations

import math
import statistics

import pytest

from anethru.results.ceiling import TestResult, derive
from anethru.results.stats import Stats


def test_stats_of_known_samples():
    s = Stats.of([4.0, 1.0, 3.0, 2.0, 10.0])
    assert (s.n, s.min, s.median, s.max) == (5, 1.0, 3.0, 10.0)
    assert s.mean == pytest.approx(4.0)
    # sample stdev: sqrt(((0)^2 + 3^2 + 1^2 + 2^2 + 6^2) / 4) = sqrt(50 / 4)
    assert s.stdev == pytest.approx(math.sqrt(12.5))
    assert s.cv == pytest.approx(math.sqrt(12.5) / 4.0)
    assert s.samples == (4.0, 1.0, 3.0, 2.0, 10.0)  # raw samples kept, in order
    assert any("CV" in w for w in s.noise_warnings("x"))
    assert any("10.0x min" in w for w in s.noise_warnings("x"))


def test_single_sample_has_zero_spread_and_no_warning():
    s = Stats.of([2.5])
    assert (s.stdev, s.cv, s.noise_warnings("x")) == (0.0, 0.0, [])
    with pytest.raises(ValueError):
        Stats.of([])


def blocks(name, per_pass_ms, iters, unit="kernel", units=12):
    return TestResult(name, unit, units, iters, tuple(int(round(p * iters * 1e6)) for p in per_pass_ms))


def test_per_unit_and_per_pass_figures():
    t = TestResult("run_only", "kernel", 12, 50, (120_000_000, 60_000_000))
    assert t.per_pass_ms.samples == (2.4, 1.2)           # 120 ms / 50 passes
    assert t.per_unit_ms.samples == pytest.approx((0.2, 0.1))  # / 12 kernels
    assert t.units_per_second == pytest.approx(1000 / 0.15)


def test_round_trip_overhead_is_paired_by_repeat():
    N = 12
    seq = [3.0, 3.3, 2.9]   # ms per pass, repeat by repeat
    run = [2.0, 2.2, 2.05]
    tests = {"sequential": blocks("sequential", seq, 50), "run_only": blocks("run_only", run, 50),
             "memcpy_only": blocks("memcpy_only", [0.011, 0.022, 0.0085], 500, "copy", N - 1),
             "serial_queue": blocks("serial_queue", [2.2, 2.2, 2.46], 50),
             "chained": blocks("chained", [1.0, 1.1, 0.95], 50)}
    d = derive(tests, N)
    overhead = [(a - b) / (N - 1) for a, b in zip(seq, run)]
    assert d["round_trip_overhead"].stats.samples == pytest.approx(overhead)
    assert d["round_trip_overhead"].stats.median == pytest.approx(statistics.median(overhead))
    copies = [0.011 / 11, 0.022 / 11, 0.0085 / 11]
    # Ratios are ratios of medians, never medians of per-repeat ratios.
    assert d["memcpy_share"].stats.median == pytest.approx(
        statistics.median(copies) / statistics.median(overhead))
    assert d["serial_queue_vs_direct"].stats.median == pytest.approx(
        statistics.median([2.2, 2.2, 2.46]) / statistics.median(run))
    assert d["chaining_saves"].stats.samples == pytest.approx([(2.0) / 11, 2.2 / 11, 1.95 / 11])
    assert d["dispatch_saved"].stats.samples == pytest.approx([1.0 / 11, 1.1 / 11, 1.1 / 11])
    assert d["round_trip_overhead"].formula == "(sequential - run_only) per pass / 11"


def test_derived_figures_need_both_tests():
    d = derive({"run_only": blocks("run_only", [1.0], 10)}, 12)
    assert d == {}
