"""Passes per block, one rule: every loop that chooses them (run_ceiling's rounds, the interleaved
eval paths of ane_eval="all", Chain.measure(iters=None), the pytest fixture) picks what the
README says, on the virtual clock, where a pass costs exactly what the costs say."""

from __future__ import annotations

import numpy as np
import pytest

import anethru
from anethru import TEST_NAMES
from anethru.measure import calibration, stopping
from anethru.measure.benchmarking import SessionChains, run_benchmark
from anethru.measure.rounds import measure_interleaved
from virtual_clock import Costs, virtual_costs

CHANNELS, SPATIAL, KERNELS = 8, 4, 2
NBYTES = CHANNELS * SPATIAL * 2
# Passes of virtual tens to hundreds of ms, so that a 200 ms block decides: sequential 52 ms
# (3 fit, so the floor of 5 holds), run_only 20 ms (10), memcpy_only 32 ms (6), serial_queue
# 320 ms (one pass over the block: 3 fit in a second), chained and null_eval a few us (the cap).
SLOW = Costs(eval=10_000_000, lock=29, unlock=31, copy_byte=500_000, handoff=150_000_000,
             chained=7919, null_eval=13)


def documented(test: str, pass_ns: int, block_ms: float = 200.0) -> int:
    """The README's words: "enough for a block of about 200 ms, at most the seed's 50 (500 for
    memcpy_only), and never fewer than 5 unless 5 would last over a second" (5 blocks), then as
    many as fit in that, at least one."""
    block_ns = round(block_ms * 1e6)
    n = min(500 if test == "memcpy_only" else 50, block_ns // pass_ns)
    if n < 5:
        n = min(5, max(1, 5 * block_ns // pass_ns))
    return n


@pytest.fixture
def want() -> dict[str, int]:
    out = {t: documented(t, SLOW.pass_ns(t, KERNELS, NBYTES)) for t in TEST_NAMES}
    # the costs reach every branch of the rule
    assert out == {"sequential": 5, "run_only": 10, "memcpy_only": 6, "serial_queue": 3,
                   "chained": 50, "null_eval": 50}
    return out


def iters_of(result) -> dict[str, int]:
    return {t: r.iters for t, r in result.tests.items()}


@pytest.mark.parametrize("ane_eval", ["standard", "all"])
def test_run_ceiling_picks_the_documented_passes_on_every_path(ane_eval, want, no_leaks):
    with virtual_costs(SLOW):
        r = anethru.run_ceiling(CHANNELS, SPATIAL, kernels=KERNELS, backend="virtual",
                                tests=TEST_NAMES, repeats=2, seed=1, ane_eval=ane_eval)
    assert iters_of(r) == want
    for name, t in r.tests.items():   # and ran them: every block is exactly that many passes
        assert t.block_ns == (want[name] * SLOW.pass_ns(name, KERNELS, NBYTES),) * 2, name


def test_every_loop_on_one_chain_picks_the_same_passes(want, no_leaks):
    with virtual_costs(SLOW), anethru.Chain(CHANNELS, SPATIAL, kernels=KERNELS,
                                            backend="virtual") as chain:
        assert calibration.calibrate(chain, TEST_NAMES, warmup=1) == want
        assert stopping.calibrate(chain, TEST_NAMES, warmup=1) == want   # the documented name
        m = chain.measure(TEST_NAMES, repeats=2, seed=3)
        assert m.iters == want
        assert list(m.block_ns) == [want[t] * SLOW.pass_ns(t, KERNELS, NBYTES) for t in m.schedule]
        rounds = measure_interleaved(chain, ["standard"], list(TEST_NAMES), iters=None, warmup=1,
                                     repeats=2, seed=4)
        assert rounds.measurements["standard"].iters == want
        outcome = stopping.measure_until(chain, TEST_NAMES, stopping.FixedRepeats(1), seed=5)
        assert outcome.measurement.iters == want
        # exact iters stay exact everywhere: memcpy_only ten times the rest
        assert chain.measure(TEST_NAMES, iters=2, repeats=1).iters == \
            calibration.exact_passes(TEST_NAMES, 2) == {t: 20 if t == "memcpy_only" else 2
                                                        for t in TEST_NAMES}


class FakeBenchmark:
    """pytest-benchmark's ``benchmark`` as run_benchmark uses it."""

    group = None
    disabled = False

    def __init__(self) -> None:
        self.extra_info: dict = {}

    def pedantic(self, target, rounds, warmup_rounds, iterations):
        for _ in range(rounds):
            target()


def test_the_pytest_fixture_gives_a_round_the_smallest_of_the_rules_passes(want, no_leaks):
    chains = SessionChains()
    try:
        with virtual_costs(SLOW):
            figures = run_benchmark(FakeBenchmark(), chains, CHANNELS, SPATIAL, kernels=KERNELS,
                                    backend="virtual", test="sequential", rounds=2)
    finally:
        chains.close()
    # sequential and run_only, the overhead's partners, share one count: the smaller of the two
    # the rule gives (5 and 10)
    shared = min(want["sequential"], want["run_only"])
    assert {t: d["iters"] for t, d in figures["tests"].items()} == \
        {"sequential": shared, "run_only": shared}


@pytest.mark.parametrize("block_ms", [0.001, 1.0, 200.0, 5000.0])
def test_the_rule_never_gives_fewer_than_5_unless_one_pass_outlasts_the_block(block_ms):
    block_ns = round(block_ms * 1e6)
    for test in ("sequential", "memcpy_only"):
        cap = calibration.seed_passes(test)
        for pass_ns in np.unique(np.geomspace(max(1, block_ns // 10_000), block_ns * 20, 400)
                                 .round().astype(int)):
            n = calibration.passes_per_block(test, pass_ns / 1e6, block_ms)
            assert n == documented(test, int(pass_ns), block_ms), (test, pass_ns)
            assert 1 <= n <= cap
            if pass_ns <= block_ns:
                assert n >= calibration.MIN_PASSES, (test, pass_ns)
            else:   # fewer, as many as fit in 5 blocks' time, at least one
                assert n < calibration.MIN_PASSES
                assert n == 1 or n * pass_ns <= calibration.MIN_PASSES * block_ns
