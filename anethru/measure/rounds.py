"""Measuring several eval paths side by side (the paths themselves: anethru.native.vocab).

The ANE has three known eval paths: ``standard`` (the model's own eval), ``realtime``
(``_ANEClient``'s realtime eval) and ``direct`` (``_ANEClient``'s direct eval; reported about
10% faster on an M5 and measured at 0.78x on an M4 Max: docs/ane.md).  Every other backend has
only ``standard``.  A chain evaluates through one path at
a time, a native setting switched between measurements (:meth:`Chain.set_eval_path`), never
inside one, so no figure ever mixes two paths.

``ane_eval="all"`` measures every path that works, interleaved: in each round every path gets
one block of every test, the paths in a seeded shuffled order, so no path always runs first.
Any loop of ``Chain.measure`` calls composes with it the same way (a round is one measure call
per path).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any, Optional

from anethru.measure.calibration import calibrate, exact_passes
from anethru.measure.chain import Measurement

# A later round re-warms each test with this many untimed passes after the path switch.
ROUND_WARMUP = 1


@dataclass
class PathMeasurements:
    """What ``measure_interleaved`` ran: per path, its blocks in the order they ran."""

    rounds: list[list[str]] = field(default_factory=list)        # path order of each round
    measurements: dict[str, Any] = field(default_factory=dict)   # path -> chain.Measurement


def measure_interleaved(chain: Any, paths: list[str], tests: list[str], *, iters: Optional[int],
                        warmup: int, repeats: int, seed: int) -> PathMeasurements:
    """``repeats`` rounds; in each, every path (in a seeded shuffled order) gets one block of
    every test (in that measure call's own shuffled order).  Each path's passes per block are
    settled on its first visit (by the one rule, anethru.measure.calibration, calibrated on
    that path when ``iters`` is None); later rounds reuse them.  The chain is left on the
    standard path."""
    rng = random.Random(seed)
    out = PathMeasurements()
    used: dict[str, dict[str, int]] = {}
    parts: dict[str, list[Measurement]] = {p: [] for p in paths}
    try:
        for r in range(repeats):
            order = list(paths)
            rng.shuffle(order)
            out.rounds.append(order)
            for path in order:
                chain.set_eval_path(path)
                if path in used:
                    warm = min(warmup, ROUND_WARMUP)
                elif iters is None:   # the calibration call runs the warm-up
                    used[path], warm = calibrate(chain, tests, warmup), 0
                else:
                    used[path], warm = exact_passes(tests, iters), warmup
                m = chain.measure(tests, iters=used[path], warmup=warm, repeats=1,
                                  seed=rng.randrange(2**31))
                parts[path].append(m)
    finally:
        chain.set_eval_path("standard")
    for path, ms in parts.items():
        out.measurements[path] = Measurement(
            tuple(t for m in ms for t in m.schedule), tuple(b for m in ms for b in m.block_ns),
            used[path], warmup, repeats, seed)
    return out


__all__ = ["measure_interleaved", "PathMeasurements"]
