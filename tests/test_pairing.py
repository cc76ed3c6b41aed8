"""Blocks of the same repeat are paired: ten repeats in a known, interleaved order, and every
derived figure worked out by hand from the raw blocks.  Pairing the wrong blocks (sorting them,
or pairing by rank) changes almost every figure here."""

from __future__ import annotations

import numpy as np
import pytest

from anethru.measure.chain import Measurement
from anethru.results.ceiling import derive

KERNELS = 12          # 11 layers between them
ITERS = {"sequential": 2, "run_only": 2, "memcpy_only": 20, "serial_queue": 2, "chained": 2}

# ms per pass, repeat by repeat (none of them in sorted order).
RUN_ONLY = [10, 9, 20, 6, 35, 11, 4, 24, 17, 13]
OVERHEAD = [2, 1, 3, 5, 1, 4, 2, 6, 1, 3]                 # ms per layer, chosen first
SEQUENTIAL = [32, 20, 53, 61, 46, 55, 26, 90, 28, 46]      # = RUN_ONLY + 11 * OVERHEAD
PER_COPY = [1, 0.5, 0.75, 1, 0.5, 3, 1, 1.5, 0.25, 0.75]   # memcpy_only, ms per copy
SERIAL_QUEUE = [11, 9, 24, 9, 28, 11, 8, 30, 17, 19.5]     # = RUN_ONLY * the ratios below
CHAINED = [8, 5, 18, 4, 30, 9, 2, 22, 11, 13]

PER_PASS = {"sequential": SEQUENTIAL, "run_only": RUN_ONLY,
            "memcpy_only": [c * 11 for c in PER_COPY], "serial_queue": SERIAL_QUEUE,
            "chained": CHAINED}
TESTS = list(PER_PASS)
# Repeat r runs the tests rotated by r: every test is first in some repeat and last in another.
SCHEDULE = [t for r in range(10) for t in TESTS[r % 5:] + TESTS[:r % 5]]


def raw_blocks(test: str) -> list[int]:
    return [round(ms * ITERS[test] * 1_000_000) for ms in PER_PASS[test]]


def measurement() -> Measurement:
    seen = {t: 0 for t in TESTS}
    block_ns = []
    for t in SCHEDULE:
        block_ns.append(raw_blocks(t)[seen[t]])
        seen[t] += 1
    return Measurement(tuple(SCHEDULE), tuple(block_ns), dict(ITERS), warmup=0, repeats=10, seed=0)


def test_hand_made_data_is_what_the_comments_say():
    assert SEQUENTIAL == [r + 11 * o for r, o in zip(RUN_ONLY, OVERHEAD)]
    assert SCHEDULE[:5] == TESTS and SCHEDULE[5:10] == TESTS[1:] + TESTS[:1]


def test_results_keep_each_tests_blocks_in_repeat_order():
    res = measurement().results(KERNELS)
    for t in TESTS:
        assert res[t].block_ns == tuple(raw_blocks(t)), t


def test_derived_figures_pair_blocks_of_the_same_repeat():
    d = derive(measurement().results(KERNELS), KERNELS)
    approx = lambda xs: pytest.approx(xs, rel=1e-12)  # noqa: E731

    assert d["round_trip_overhead"].stats.samples == approx([2, 1, 3, 5, 1, 4, 2, 6, 1, 3])
    # sorted: 1 1 1 2 2 | 3 3 4 5 6
    assert d["round_trip_overhead"].stats.median == approx(2.5)
    assert d["round_trip_overhead"].stats.mean == approx(2.8)

    # Ratios are ratios of medians.  Per copy: 1 .5 .75 1 .5 3 1 1.5 .25 .75, sorted
    # .25 .5 .5 .75 .75 | 1 1 1 1.5 3: median 0.875; the overhead's median is 2.5.
    assert d["memcpy_share"].stats.median == approx(0.875 / 2.5)
    assert d["memcpy_share"].stats.samples == ()   # a ratio of medians has no per-repeat values
    res = measurement().results(KERNELS)
    sq, run = (np.asarray(res[t].block_ns, float) / res[t].iters for t in ("serial_queue", "run_only"))
    assert d["serial_queue_vs_direct"].stats.median == approx(float(np.median(sq) / np.median(run)))

    saves = [24 / 11, 15 / 11, 35 / 11, 57 / 11, 16 / 11, 46 / 11, 24 / 11, 68 / 11, 17 / 11, 33 / 11]
    assert d["chaining_saves"].stats.samples == approx(saves)
    assert d["chaining_saves"].stats.median == approx(28.5 / 11)  # 15 16 17 24 24 | 33 35 46 57 68

    dispatch = [2 / 11, 4 / 11, 2 / 11, 2 / 11, 5 / 11, 2 / 11, 2 / 11, 2 / 11, 6 / 11, 0 / 11]
    assert d["dispatch_saved"].stats.samples == approx(dispatch)
    assert d["dispatch_saved"].stats.median == approx(2 / 11)


def test_per_kernel_figures_are_medians_over_repeats():
    res = measurement().results(KERNELS)
    # sequential per pass, sorted: 20 26 28 32 46 | 46 53 55 61 90 -> 46 ms per pass, / 12 kernels
    assert res["sequential"].per_unit_ms.median == pytest.approx(46 / 12, rel=1e-12)
    assert res["sequential"].per_pass_ms.samples == pytest.approx(SEQUENTIAL, rel=1e-12)
    # memcpy_only per copy, sorted: .25 .5 .5 .75 .75 | 1 1 1 1.5 3 -> 0.875 ms per copy
    assert res["memcpy_only"].per_unit_ms.median == pytest.approx(0.875, rel=1e-12)
