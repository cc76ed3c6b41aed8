"""The ways a backend can evaluate a kernel, and measuring several of them side by side.

The ANE has three known eval paths: ``standard`` (the model's own eval), ``realtime``
(``_ANEClient``'s realtime eval) and ``direct`` (``_ANEClient``'s direct eval; reported about
10% faster on an M5 and measured at 0.78x on an M4 Max: docs/ane.md).  Every other backend has only ``standard``.  A chain evaluates through one path at
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

EVAL_PATHS = ("standard", "realtime", "direct")   # native order: ANETHRU_EVAL_*
EVAL_CHOICES = EVAL_PATHS + ("all",)
PATH_IDS = {name: i for i, name in enumerate(EVAL_PATHS)}
# A later round re-warms each test with this many untimed passes after the path switch.
ROUND_WARMUP = 1


def check_ane_eval(ane_eval: object, ane_realtime: object = False) -> str:
    """The eval choice, with ``ane_realtime=True`` read as its old alias for "realtime"."""
    from .validate import flag

    if ane_eval not in EVAL_CHOICES:
        raise ValueError(f"ane_eval must be one of {', '.join(EVAL_CHOICES)}; got {ane_eval!r}")
    if flag("ane_realtime", ane_realtime):
        if ane_eval not in ("standard", "realtime"):
            raise ValueError(f"ane_realtime=True means ane_eval='realtime'; it contradicts "
                             f"ane_eval={ane_eval!r}")
        return "realtime"
    return str(ane_eval)


def paths_to_set_up(ane_eval: str) -> tuple[str, ...]:
    """The non-standard paths a chain must set up (and probe) when it is compiled."""
    if ane_eval == "all":
        return EVAL_PATHS[1:]
    return () if ane_eval == "standard" else (ane_eval,)


@dataclass
class PathMeasurements:
    """What ``measure_interleaved`` ran: per path, its blocks in the order they ran."""

    rounds: list[list[str]] = field(default_factory=list)        # path order of each round
    measurements: dict[str, Any] = field(default_factory=dict)   # path -> chain.Measurement


def measure_interleaved(chain: Any, paths: list[str], tests: list[str], *, iters: Optional[int],
                        warmup: int, repeats: int, seed: int) -> PathMeasurements:
    """``repeats`` rounds; in each, every path (in a seeded shuffled order) gets one block of
    every test (in that measure call's own shuffled order).  The first round of each path
    settles its passes per block (auto when ``iters`` is None); later rounds reuse them.
    The chain is left on the standard path."""
    from .chain import Measurement  # chain imports nothing from here; avoid a cycle at import

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
                first = path not in used
                m = chain.measure(tests, iters=iters if first else used[path],
                                  warmup=warmup if first else min(warmup, ROUND_WARMUP),
                                  repeats=1, seed=rng.randrange(2**31))
                used.setdefault(path, m.iters)
                parts[path].append(m)
    finally:
        chain.set_eval_path("standard")
    for path, ms in parts.items():
        out.measurements[path] = Measurement(
            tuple(t for m in ms for t in m.schedule), tuple(b for m in ms for b in m.block_ns),
            used[path], warmup, repeats, seed)
    return out


__all__ = ["EVAL_PATHS", "EVAL_CHOICES", "check_ane_eval", "paths_to_set_up",
           "measure_interleaved", "PathMeasurements"]
