"""Passes per block: the one rule every measuring loop chooses them by, and the call that times it.

Auto (``iters=None``, in ``Chain.measure``, the stopping loop and the interleaved eval paths
alike): one calibration call runs the warm-up and then one timed pass of each test; each test
then gets enough passes for a block of about ``TARGET_BLOCK_MS``, at most the seed's 50 (500 for
memcpy_only), and never fewer than ``MIN_PASSES`` unless one pass alone is longer than the
block (then as many as fit in ``MIN_PASSES`` blocks' time, at least one).  So a slow
configuration runs fewer rounds of proper blocks, not many blocks of one or two passes.

Exact (an int ``iters``): that many for every test but memcpy_only, which runs
``MEMCPY_ITERS_FACTOR`` times as many.

A leaf of anethru.measure: it takes any object with ``Chain.measure``'s signature, so the
chain, the stopping loop and the rounds can all use it without importing one another.
"""

from __future__ import annotations

from typing import Any, Iterable, Optional

from anethru.native import validate

# The seed ran 50 passes per block; memcpy_only passes are ~100x cheaper than eval passes, so it
# ran 10x more of them, keeping each timed block well above the clock's resolution.
SEED_ITERS = 50
MEMCPY_ITERS_FACTOR = 10
# A block of about this long (a 768x256 pass on the CPU backend takes ~45 ms; the seed's 50
# passes x 5 repeats x 5 tests would take a minute per configuration).
TARGET_BLOCK_MS = 200.0
# The floor: a slow configuration gets fewer rounds of proper blocks, not many blocks of one or
# two passes.  It gives way only where MIN_PASSES passes would outlast MIN_PASSES blocks (1 s at
# the default target), that is where one pass alone outlasts the block.
MIN_PASSES = 5
LONG_BLOCK_MS = MIN_PASSES * TARGET_BLOCK_MS


def seed_passes(test: str) -> int:
    """The most passes per block auto gives ``test``: the seed's count."""
    return SEED_ITERS * (MEMCPY_ITERS_FACTOR if test == "memcpy_only" else 1)


def passes_per_block(test: str, pass_ms: float, block_ms: float = TARGET_BLOCK_MS) -> int:
    """Passes per block for a test whose pass takes ``pass_ms``, blocks of about ``block_ms``
    (the rule in the module docstring).  Counted in whole ns, the clock's unit, so a pass that
    divides the block exactly is not lost to rounding."""
    pass_ns, block_ns = round(pass_ms * 1e6), round(block_ms * 1e6)
    if pass_ns <= 0:   # below the clock's resolution
        return seed_passes(test)
    fit = block_ns // pass_ns
    least = min(MIN_PASSES, max(1, MIN_PASSES * block_ns // pass_ns))
    return max(least, min(seed_passes(test), fit))


def pass_times(chain: Any, tests: Iterable[str], warmup: int) -> dict[str, float]:
    """Warm up every test and time one pass of each (ms): one native call."""
    cal = chain.measure(list(tests), iters=1, memcpy_iters=1, warmup=warmup, repeats=1, seed=0,
                        shuffle=False, where="calibrating passes per block")
    return {t: ns / 1e6 for t, ns in zip(cal.schedule, cal.block_ns)}


def choose(pass_ms: dict[str, float], block_ms: float = TARGET_BLOCK_MS) -> dict[str, int]:
    """Passes per block of every test, from its calibrated pass time."""
    return {t: passes_per_block(t, ms, block_ms) for t, ms in pass_ms.items()}


def calibrate(chain: Any, tests: Iterable[str], warmup: int,
              block_ms: float = TARGET_BLOCK_MS) -> dict[str, int]:
    """Warm up every test, time one pass of each, and choose passes per block from it."""
    return choose(pass_times(chain, tests, warmup), block_ms)


def exact_passes(tests: Iterable[str], iters: int, memcpy_iters: Optional[int] = None
                 ) -> dict[str, int]:
    """Explicit passes per block: ``iters`` for every test, memcpy_only's ``memcpy_iters`` (by
    default ``MEMCPY_ITERS_FACTOR`` times ``iters``, within the native int)."""
    memcpy = (min(iters * MEMCPY_ITERS_FACTOR, validate.INT32_MAX) if memcpy_iters is None
              else memcpy_iters)
    return {t: memcpy if t == "memcpy_only" else iters for t in tests}


__all__ = ["SEED_ITERS", "MEMCPY_ITERS_FACTOR", "TARGET_BLOCK_MS", "MIN_PASSES", "LONG_BLOCK_MS",
           "seed_passes", "passes_per_block", "pass_times", "choose", "calibrate",
           "exact_passes"]
