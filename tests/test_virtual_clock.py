"""The harness times the right work with the clock in the right place: every figure of every
test, on the virtual backend, has one exact value that these tests compute from the costs.

A pass that runs the wrong work, a clock read in the wrong place, a missing hand-off or a
miscounted pass changes a number here.  Integers (block totals, passes) are compared exactly;
figures in ms and ratios to within 1e-12 of the exact rational value, relative (the product's
float arithmetic rounds, and a difference of two figures keeps their rounding; the smallest
planted mistake moves a figure by more than 1e-4).
"""

from __future__ import annotations

import importlib
import math
import threading
from fractions import Fraction

import pytest

import anethru
from anethru import TEST_NAMES
from anethru.native.lib import ffi, lib
from virtual_clock import COSTS, Costs, virtual_costs

MEMCPY_FACTOR = 10  # memcpy_only runs 10x the passes (the seed's iters * 10)


def close(got: float, exact: Fraction, what: str = "") -> None:
    want = float(exact)
    assert math.isclose(got, want, rel_tol=1e-12, abs_tol=0.0), \
        f"{what}: got {got!r}, exact {exact} = {want!r}"


def check_stats(stats, exact: Fraction, repeats: int, what: str) -> None:
    """Every repeat measured the same virtual time: all samples equal, no spread."""
    assert stats.n == repeats, what
    for name in ("min", "median", "mean", "max"):
        close(getattr(stats, name), exact, f"{what}.{name}")
    for i, s in enumerate(stats.samples):
        close(s, exact, f"{what}.samples[{i}]")
    assert stats.stdev == 0.0 and stats.cv == 0.0, what


def units(test: str, kernels: int) -> int:
    return kernels - 1 if test == "memcpy_only" else kernels


@pytest.mark.parametrize("channels,spatial", [(8, 4), (5, 3)])
@pytest.mark.parametrize("iters,repeats", [(1, 1), (3, 4), (7, 2)])
@pytest.mark.parametrize("kernels", [2, 5, 12])
def test_every_figure_of_every_test_is_exact(channels, spatial, kernels, iters, repeats, no_leaks):
    nbytes = channels * spatial * 2
    with virtual_costs() as c:
        r = anethru.run_ceiling(channels, spatial, kernels=kernels, backend="virtual", iters=iters,
                                warmup=2, repeats=repeats, tests=TEST_NAMES, seed=kernels + iters)
    assert list(r.tests) == list(TEST_NAMES) and r.simulated
    assert r.clock.startswith("virtual")
    per_pass = {t: Fraction(c.pass_ns(t, kernels, nbytes), 10**6) for t in TEST_NAMES}  # ms
    for name, t in r.tests.items():
        passes = iters * (MEMCPY_FACTOR if name == "memcpy_only" else 1)
        assert (t.iters, t.units_per_pass) == (passes, units(name, kernels)), name
        assert t.block_ns == (passes * c.pass_ns(name, kernels, nbytes),) * repeats, name
        per_unit = per_pass[name] / units(name, kernels)
        check_stats(t.per_pass_ms, per_pass[name], repeats, f"{name}.per_pass_ms")
        check_stats(t.per_unit_ms, per_unit, repeats, f"{name}.per_unit_ms")
        close(t.units_per_second, 1000 / per_unit, f"{name}.units_per_second")
        close(r.per_kernel_ms(name), per_unit, f"per_kernel_ms({name})")

    layers = kernels - 1
    p = per_pass
    overhead = (p["sequential"] - p["run_only"]) / layers
    expected = {
        "round_trip_overhead": overhead,
        "memcpy_share": (p["memcpy_only"] / layers) / overhead,
        "serial_queue_vs_direct": p["serial_queue"] / p["run_only"],
        "chaining_saves": (p["sequential"] - p["chained"]) / layers,
        "dispatch_saved": (p["run_only"] - p["chained"]) / layers,
    }
    assert set(r.derived) == set(expected)
    for name, value in expected.items():
        # The overhead comes from the per-pass pairs: `iters` pairs per round (tests/test_pairs.py);
        # a ratio of medians has bootstrap replicates, not per-repeat samples.
        n = iters * repeats if name == "round_trip_overhead" else repeats
        check_stats(r.derived[name].stats, value, n, name)
    # The round trip the seed never computed is exactly the copy's cost, per layer.
    close(r.derived["round_trip_overhead"].stats.median, Fraction(c.copy(nbytes), 10**6))


@pytest.mark.parametrize("warmup", [0, 3])
@pytest.mark.parametrize("budget_ms", [0.5, 0.02, 0.001])
def test_auto_iters_come_from_a_timed_pass_on_the_same_clock(warmup, budget_ms, no_leaks):
    # Auto iters (the one rule, anethru.measure.calibration, written out here): a block of about
    # the budget, at most the seed's 50 (500 for memcpy_only), never fewer than 5 unless 5 would
    # last over 5 budgets (one pass alone over the budget), then as many as fit, at least 1.
    # One pass per test timed after the warm-up, on the chain's own clock, decides.
    kernels, channels, spatial = 5, 8, 4
    nbytes = channels * spatial * 2
    budget_ns = round(budget_ms * 1e6)
    with virtual_costs() as c, anethru.Chain(channels, spatial, kernels=kernels, backend="virtual") as chain:
        m = chain.measure(TEST_NAMES, warmup=warmup, repeats=2, max_block_ms=budget_ms, seed=3)
    for name in TEST_NAMES:
        cap = 500 if name == "memcpy_only" else 50
        per_pass = c.pass_ns(name, kernels, nbytes)
        want = min(cap, budget_ns // per_pass)
        if want < 5:
            want = min(5, max(1, 5 * budget_ns // per_pass))
        assert m.iters[name] == want, name
        blocks = [ns for t, ns in zip(m.schedule, m.block_ns) if t == name]
        assert blocks == [want * per_pass] * 2, name
    # every branch of the rule is taken somewhere
    if budget_ms == 0.5:  # the budget actually bites for some tests and not for others
        assert m.iters["sequential"] < 50 and m.iters["null_eval"] == 50
    if budget_ms == 0.02:  # one sequential pass fits the budget once: still 5 passes
        assert budget_ns // c.pass_ns("sequential", kernels, nbytes) == 1
        assert m.iters["sequential"] == 5
    if budget_ms == 0.001:  # a pass longer than the budget: fewer than 5, as many as fit in 5
        assert m.iters["sequential"] == 1 and m.iters["memcpy_only"] == 2


def test_each_chain_keeps_its_own_clock(no_leaks):
    # Two chains with different costs, measured alternately and then at the same time from two
    # threads: each block total is its own chain's.
    a_costs, b_costs = COSTS, Costs(eval=3001, lock=37, unlock=41, copy_byte=7, handoff=307,
                                    chained=6007, null_eval=17)
    with virtual_costs(a_costs):
        a = anethru.Chain(8, 4, kernels=3, backend="virtual")
    with virtual_costs(b_costs):
        b = anethru.Chain(8, 4, kernels=4, backend="virtual")
    tests = ["sequential", "serial_queue", "memcpy_only"]

    def expect(chain, costs, m):
        return [m.iters[t] * costs.pass_ns(t, chain.kernels, 64) for t in m.schedule]

    with a, b:
        for _ in range(2):
            for chain, costs in ((a, a_costs), (b, b_costs)):
                m = chain.measure(tests, iters=2, warmup=1, repeats=2)
                assert list(m.block_ns) == expect(chain, costs, m)
        results, errors = {}, []

        def work(chain, costs):
            try:
                for _ in range(5):
                    m = chain.measure(tests, iters=3, warmup=1, repeats=3)
                    assert list(m.block_ns) == expect(chain, costs, m)
                results[chain.kernels] = True
            except Exception as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=work, args=ab) for ab in ((a, a_costs), (b, b_costs))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == [] and results == {3: True, 4: True}


def test_the_virtual_backend_is_for_tests_only(monkeypatch):
    monkeypatch.delenv("ANETHRU_TEST_BACKENDS", raising=False)
    assert "virtual" not in [b.name for b in anethru.backends()]
    (v,) = [b for b in anethru.backends(include_test=True) if b.name == "virtual"]
    assert v.available and v.simulated
    monkeypatch.setenv("ANETHRU_TEST_BACKENDS", "1")
    assert [b.name for b in anethru.backends()][-1] == "virtual"


def test_auto_never_picks_a_test_backend(monkeypatch):
    # Even with every real backend unavailable (and the test backends listed), "auto" refuses
    # rather than measuring with a virtual clock.
    backends_module = importlib.import_module("anethru.native.backends")  # anethru.native.backends is the function
    real_probe = backends_module.probe

    def only_virtual(name):
        info = real_probe(name)
        return info if name == "virtual" else backends_module.BackendInfo(name, False, "off", "")

    monkeypatch.setenv("ANETHRU_TEST_BACKENDS", "1")
    monkeypatch.setattr(backends_module, "probe", only_virtual)
    with pytest.raises(anethru.BackendUnavailableError, match="no backend is available"):
        backends_module.resolve("auto")
    assert backends_module.resolve("virtual").name == "virtual"  # named, it is used


def test_a_closed_chain_frees_its_clock_and_trace(no_leaks):
    from virtual_clock import chain_id, read_trace

    with virtual_costs(trace=1000):
        chain = anethru.Chain(8, 4, kernels=2, backend="virtual")
    cid = chain_id(chain)
    chain.measure(["run_only"], iters=1, warmup=0, repeats=1)
    assert len(read_trace(chain)) == 4  # clock, eval k0, eval k1, clock
    chain.close()
    assert lib.anethru_virtual_trace(cid, 0, ffi.NULL, 0, ffi.NULL) == -1
