"""The stopping loop: passes per block, criteria, limits, and what the result records."""

from __future__ import annotations

import itertools

import pytest

import anethru
from anethru.measure import stopping
from anethru.measure.chain import Measurement, shuffled_schedule
from anethru.results.ceiling import TestResult
from anethru.measure.stopping import (FixedRepeats, Limits, Precision, State, measure_until,
                                      passes_per_block)


@pytest.mark.parametrize("test,pass_ms,want", [
    ("sequential", 0.04, 50),      # fast: the seed's 50
    ("memcpy_only", 0.1, 500),     # memcpy: the seed's 500
    ("memcpy_only", 2.0, 100),     # 200 ms / 2 ms
    ("run_only", 10.0, 20),        # 200 ms / 10 ms
    ("sequential", 42.0, 5),       # 768x256 on this CPU: 4 would fit, but never fewer than 5
    ("sequential", 300.0, 3),      # 5 would last 1.5 s: as many as fit in 1 s
    ("chained", 2500.0, 1),        # one pass is longer than the 1 s bound
    ("run_only", 0.0, 50),         # below the clock's resolution
])
def test_passes_per_block(test, pass_ms, want):
    assert passes_per_block(test, pass_ms) == want


class FakeChain:
    """Chain.measure's contract without hardware: block totals come from ``blocks(test, round)``
    (ns per pass), so the loop's decisions can be checked exactly."""

    kernels = 12
    backend = "fake"

    def __init__(self, per_pass_ns):
        self.per_pass_ns = per_pass_ns
        self.calls = []

    def measure(self, tests, *, iters=None, memcpy_iters=None, warmup=5, repeats=1, seed=None,
                shuffle=True, where=None, **kw):
        tests = list(tests)
        self.calls.append(dict(tests=tests, iters=iters, warmup=warmup, where=where))
        rnd = sum(1 for c in self.calls if c["iters"] != 1) - 1
        if isinstance(iters, dict):
            used = iters
        else:
            used = {t: (memcpy_iters if t == "memcpy_only" else iters) for t in tests}
        ns = tuple(int(self.per_pass_ns(t, rnd)) * used[t] for t in tests)
        return Measurement(tuple(tests), ns, used, warmup, 1, seed or 0)

    def measure_passes(self, tests, *, cpu_time=False):
        rnd = sum(1 for c in self.calls if c["iters"] != 1) - 1   # after this round's blocks
        return [int(self.per_pass_ns(t, rnd)) for t in tests], None


TESTS = ["sequential", "run_only", "memcpy_only"]


def steady(test, rnd):
    return {"sequential": 3_000_000, "run_only": 2_000_000, "memcpy_only": 50_000}[test]


def test_a_precision_run_on_steady_blocks_stops_at_the_fewest_repeats_with_an_interval():
    chain = FakeChain(steady)
    out = measure_until(chain, TESTS, Precision(0.05), seed=3,
                        limits=Limits(max_time=1e6, min_repeats=6, max_repeats=500))
    assert out.stopping.stopped_by == "precision" and out.measurement.repeats == 6
    assert out.stopping.criterion == "precision" and out.stopping.precision == 0.05
    # calibration first (warm-up, one pass per test), then rounds with no warm-up
    assert chain.calls[0]["iters"] == 1 and chain.calls[0]["warmup"] == 5
    assert [c["warmup"] for c in chain.calls[1:]] == [0] * 6
    # 3 ms passes: 66 fit in 200 ms, capped at the seed's 50; memcpy 0.05 ms: capped at 500
    assert out.measurement.iters == {"sequential": 50, "run_only": 50, "memcpy_only": 500}
    # rounds in a fresh order each, drawn from the one seed
    assert out.measurement.schedule == tuple(shuffled_schedule(TESTS, 6, 3))
    assert [c["where"] for c in chain.calls[1:]] == [f"repeat {i}" for i in range(1, 7)]


def noisy(test, rnd):
    # alternates +-40%: the interval never narrows to 5%
    return steady(test, rnd) * (1.4 if rnd % 2 else 0.6)


def test_an_imprecise_run_stops_at_the_repeat_cap_and_says_so():
    out = measure_until(FakeChain(noisy), TESTS, Precision(0.05), seed=1,
                        limits=Limits(max_time=1e6, min_repeats=6, max_repeats=9))
    assert (out.stopping.stopped_by, out.measurement.repeats) == ("max_repeats", 9)


def test_the_time_limit_ends_a_run_before_an_overrun():
    # max_time already spent: the first round runs (a run always has one), then it stops.
    out = measure_until(FakeChain(noisy), TESTS, Precision(0.05), seed=1,
                        limits=Limits(max_time=1e-9, min_repeats=6, max_repeats=500))
    assert (out.stopping.stopped_by, out.measurement.repeats) == ("max_time", 1)
    assert out.stopping.max_time_s == 1e-9


def test_an_exact_count_uses_given_iters_and_warms_up_in_the_first_round():
    chain = FakeChain(noisy)
    out = measure_until(chain, TESTS, FixedRepeats(4), iters=7, warmup=2, seed=9)
    assert (out.stopping.stopped_by, out.measurement.repeats) == ("repeats", 4)
    assert out.measurement.iters == {"sequential": 7, "run_only": 7, "memcpy_only": 70}
    assert [c["warmup"] for c in chain.calls] == [2, 0, 0, 0]   # no calibration call
    assert [c["where"] for c in chain.calls] == [f"repeat {i} of 4" for i in range(1, 5)]


def make_tests(seq, run, iters=10):
    def tr(name, per_pass_ms):
        return TestResult(name, "kernel", 12, iters, tuple(int(p * iters * 1e6) for p in per_pass_ms))
    return {"sequential": tr("sequential", seq), "run_only": tr("run_only", run)}


def with_copy(tests, copy_ms, n):
    tests = dict(tests)
    tests["memcpy_only"] = TestResult("memcpy_only", "copy", 11, 100,
                                      tuple(int(copy_ms * 11 * 100 * 1e6) for _ in range(n)))
    return tests


def test_the_overhead_is_held_to_the_copy_measured_directly_never_to_significance():
    # Medians within 1%; the overhead per layer, (seq - run) / 11, about 0.1 ms +/- 0.03 ms:
    # its interval excludes zero (the old rule stopped here), but its half-width is not within
    # 5% of the 0.2 ms copy (0.01 ms), so the run is not done ...
    seq = [3.10, 3.40, 3.05, 3.30, 3.20, 3.35, 3.15]
    run = [2.00, 2.01, 2.00, 2.02, 1.99, 2.01, 2.00]
    state = State(with_copy(make_tests(seq, run), 0.2, 7), 12, 7)
    over = state.overhead()
    assert over.ci_low > 0 and over.half_width > 0.05 * 0.2
    assert not Precision(0.05).is_finished(state)
    assert any(s.startswith("round_trip_overhead +/-") and "target +/-0.01 ms" in s
               for s in Precision(0.05).shortfall(state))
    # ... and is done at a precision whose target (50% of the copy, 0.1 ms) it meets.
    assert over.half_width <= 0.5 * 0.2 and Precision(0.5).is_finished(state)


def test_a_figure_whose_noise_has_converged_ends_the_run_as_not_resolved():
    out = measure_until(FakeChain(noisy), TESTS, Precision(0.05), seed=1,
                        limits=Limits(max_time=1e6, min_repeats=6, max_repeats=500))
    s = out.stopping
    assert s.stopped_by == "converged" and out.measurement.repeats >= 10
    assert set(s.figures) == {"sequential", "run_only", "memcpy_only", "round_trip_overhead"}
    assert s.figures["sequential"] == "converged (not resolved)"
    assert s.rule == "precision-or-converged/1"


def test_figures_still_open_at_a_guard_carry_its_name():
    out = measure_until(FakeChain(noisy), TESTS, Precision(0.05), seed=1,
                        limits=Limits(max_time=1e6, min_repeats=6, max_repeats=7))
    assert out.stopping.stopped_by == "max_repeats"
    assert out.stopping.figures["sequential"] == "repeat cap"


def test_run_ceiling_records_how_the_repeats_were_decided(no_leaks):
    r = anethru.run_ceiling(16, 8, kernels=2, backend="cpu", precision=0.5, max_time=60, seed=4)
    s = r.stopping
    assert s.criterion == "precision" and s.precision == 0.5 and s.max_time_s == 60
    assert s.stopped_by in ("precision", "converged", "max_time", "max_repeats")
    assert s.min_repeats == stopping.MIN_REPEATS and s.max_repeats == stopping.MAX_REPEATS
    assert r.config.repeats >= (stopping.MIN_REPEATS if s.stopped_by == "precision" else 1)
    assert all(len(t.block_ns) == r.config.repeats for t in r.tests.values())
    assert r.config.schedule == tuple(shuffled_schedule(r.tests, r.config.repeats, 4))
    assert s.elapsed_s is not None and s.elapsed_s >= 0
    exact = anethru.run_ceiling(16, 8, kernels=2, backend="cpu", repeats=3, iters=2)
    assert (exact.stopping.criterion, exact.stopping.stopped_by, exact.config.repeats) == (
        "repeats", "repeats", 3)
    assert all(t.iters == (20 if t.name == "memcpy_only" else 2) for t in exact.tests.values())


def test_a_time_limit_smaller_than_the_compile_still_gives_one_round(no_leaks):
    r = anethru.run_ceiling(16, 8, kernels=2, backend="cpu", max_time=1e-6)
    assert (r.stopping.stopped_by, r.config.repeats) == ("max_time", 1)
    assert any(w.startswith("the time limit (1e-06 s) ran out after 1 repeats") for w in r.warnings)
    assert "time limit ran out BEFORE the +/-5.0% target" in str(r)


def test_criteria_are_registered_by_name():
    assert stopping.CRITERIA["repeats"](3).is_finished(State({}, 12, 3))
    assert not stopping.CRITERIA["repeats"](3).is_finished(State({}, 12, 2))
    assert stopping.CRITERIA["precision"](0.05).name == "precision"
    assert list(itertools.islice(stopping.CRITERIA, 2)) == ["repeats", "precision"]
