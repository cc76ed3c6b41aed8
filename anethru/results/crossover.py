"""Where the round trip crosses a share of a sequential layer, with its bootstrap interval.

With ``g = overhead - r * kernel`` at each size (r = t / (1 - t): the round trip
is a share t of a sequential layer, overhead + kernel, where g = 0), the crossing is where g
changes sign for the last time in the measured range, found between the two sizes straddling it
by taking overhead and kernel time as linear in bytes there (exact when they are, as the model
says).  Its bootstrap interval counts replicates that never leave the final side as "below the
measured range" and those that end on the other side as "beyond it".
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np

from anethru.results.fit import percentile_ci
from anethru.results.stats import CI_LEVEL

# Shares of a sequential layer that the round trip is compared with.
CROSSOVER_SHARE = 0.5      # round trip = kernel time
SMALL_SHARE = 0.10         # "the round trip stops mattering"

BELOW, ABOVE = "below", "above"


def settling_position(x: np.ndarray, g: np.ndarray, side: str) -> np.ndarray:
    """The size from which ``g`` (rows of values per sorted size) stays on ``side`` (``below``:
    g < 0; ``above``: g >= 0) to the end of the range: -inf when it is there at every size, +inf
    when the last size is not there, else the root between the last size off it and the next,
    interpolated linearly in bytes."""
    g = np.atleast_2d(np.asarray(g, float))
    on = (g < 0) if side == BELOW else (g >= 0)
    n = g.shape[1]
    off = ~on
    # index of the last size off the side, -1 when none
    last_off = np.where(off.any(axis=1), n - 1 - np.argmax(off[:, ::-1], axis=1), -1)
    out = np.empty(g.shape[0])
    for row, i in enumerate(last_off):
        if i < 0:
            out[row] = -math.inf
        elif i == n - 1:
            out[row] = math.inf
        else:
            g0, g1 = g[row, i], g[row, i + 1]
            out[row] = x[i] + g0 / (g0 - g1) * (x[i + 1] - x[i])
    return out


@dataclass(frozen=True)
class Crossing:
    """Where the round trip settles on one side of ``share`` of a sequential layer.

    ``side``: "below" (from ``bytes`` on, the round trip stays under the share) or "above".
    ``status``: "crossed" (``bytes`` is the size), "throughout" (on that side at every measured
    size: the crossing, if any, is below the range) or "not_reached" (the largest size is not on
    that side).  ``ci_low``/``ci_high``: None where the bound lies below/beyond the range."""

    share: float
    side: str
    status: str
    bytes: Optional[float]
    ci_low: Optional[float]
    ci_high: Optional[float]
    ci_level: float

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def crossing(x: Sequence[float], overhead: np.ndarray, kernel: np.ndarray,
             boot_overhead: np.ndarray, boot_kernel: np.ndarray, share: float,
             side: Optional[str] = None, level: float = CI_LEVEL) -> Crossing:
    """The size from which the round trip stays on ``side`` of ``share`` of a sequential layer
    (``side=None``: the side it is on at the largest size), with its bootstrap interval.
    ``overhead``/``kernel``: medians per sorted size; ``boot_*``: (replicates, sizes)."""
    if not 0 < share < 1:
        raise ValueError(f"share must be in (0, 1); got {share!r}")
    x = np.asarray(x, float)
    r = share / (1 - share)
    g = np.asarray(overhead, float) - r * np.asarray(kernel, float)
    if side is None:
        side = BELOW if g[-1] < 0 else ABOVE
    position = float(settling_position(x, g, side)[0])
    lo, hi = percentile_ci(settling_position(x, boot_overhead - r * boot_kernel, side), level)
    status = "throughout" if position == -math.inf else (
        "not_reached" if position == math.inf else "crossed")
    finite = (lambda v: v if math.isfinite(v) else None)
    return Crossing(share, side, status, finite(position), finite(lo), finite(hi), level)


__all__ = ["CROSSOVER_SHARE", "SMALL_SHARE", "BELOW", "ABOVE", "settling_position", "Crossing",
           "crossing"]
