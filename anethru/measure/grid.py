"""The configurations a sweep measures: an explicit list, channels x spatial, or log-spaced
tensor sizes.  Pure functions; anethru/sweep.py measures what they return.

Sizes are tensor bytes (channels x spatial x 2, fp16).  A size-driven grid keeps the channel
count fixed and grows spatial, so along it a kernel's work grows in step with its bytes (a
1x1 conv does channels multiply-adds per output element): the round trip and the kernel are
then compared at one channel count, which the crossover needs (it depends on channels).
Spatial is rounded to a multiple of ``SPATIAL_STEP``: 64-byte rows, the only form every ANE
configuration of the research had (reference/ane-proven-forms.md, item 6).
"""

from __future__ import annotations

import math
from typing import Iterable, Optional, Sequence

from anethru.native import validate

# The default grid: the seed's smallest tensor (64x32, 4 KiB) to 2 MiB, over five times its
# largest (768x256, 384 KiB) and past this machine's per-core L2 cache, in 12 log-spaced sizes
# at the seed's smallest channel count.  With SWEEP_MAX_TIME per configuration it ends within
# two minutes on the cpu backend of a 2-core machine (README, "Sweeps and plots").
DEFAULT_CHANNELS = 64
DEFAULT_BYTES = (4096, 2 * 1024 * 1024)
DEFAULT_POINTS = 12
SPATIAL_STEP = 32
MAX_CONFIGS = 1000


def parse_bytes(text: str) -> int:
    """'4K' -> 4096, '2M' -> 2097152, '65536' -> 65536 (K, M, G are powers of 1024; KiB, MiB
    and a trailing B are read the same)."""
    t = text.strip().upper().removesuffix("B").removesuffix("I")
    scale = {"K": 2 ** 10, "M": 2 ** 20, "G": 2 ** 30}.get(t[-1:], 1)
    number = t[:-1] if scale > 1 else t
    try:
        value = float(number)
    except ValueError:
        raise ValueError(f"invalid size {text!r}: use bytes, e.g. 4096, 4K or 2M") from None
    if not math.isfinite(value) or value <= 0 or value * scale > 2 ** 62:
        raise ValueError(f"invalid size {text!r}: must be a positive number of bytes")
    return int(round(value * scale))


def size_text(nbytes: float) -> str:
    """4096 -> '4 KiB', 2097152 -> '2 MiB', 393216 -> '384 KiB'."""
    for unit, scale in (("GiB", 2 ** 30), ("MiB", 2 ** 20), ("KiB", 2 ** 10)):
        if nbytes >= scale:
            v = nbytes / scale
            return f"{v:.3g} {unit}" if v < 100 else f"{v:.0f} {unit}"
    return f"{nbytes:.0f} B"


def bytes_grid(points: int, low: int, high: int, channels: Sequence[int]) -> list[tuple[int, int]]:
    """``points`` sizes log-spaced from ``low`` to ``high`` bytes at each channel count, spatial
    rounded to a multiple of SPATIAL_STEP (at least one step); sizes that round to the same
    configuration are measured once."""
    if not isinstance(points, int) or isinstance(points, bool) or points < 1:
        raise ValueError(f"points must be a positive integer; got {points!r}")
    if not 0 < low <= high:
        raise ValueError(f"the size range must have 0 < MIN <= MAX; got {low}:{high}")
    if points > 1 and low == high:
        raise ValueError(f"{points} points need MIN < MAX; got {low}:{high}")
    out: list[tuple[int, int]] = []
    for c in channels:
        for i in range(points):
            b = low if points == 1 else low * (high / low) ** (i / (points - 1))
            s = max(SPATIAL_STEP, SPATIAL_STEP * round(b / (2 * c) / SPATIAL_STEP))
            if (c, s) not in out:
                out.append((c, s))
    return out


def sweep_grid(configs: Optional[Iterable[tuple[int, int]]] = None, *,
               channels: Optional[Sequence[int]] = None, spatial: Optional[Sequence[int]] = None,
               points: Optional[int] = None,
               bytes_range: Optional[tuple[int, int]] = None) -> tuple[list[tuple[int, int]], str]:
    """(configurations, a one-line description) of the grid the arguments ask for:
    ``configs`` alone; or ``channels`` x ``spatial``; or ``points`` sizes over ``bytes_range``
    at each of ``channels`` (defaults: DEFAULT_POINTS, DEFAULT_BYTES, DEFAULT_CHANNELS)."""
    if configs is not None:
        if any(v is not None for v in (channels, spatial, points, bytes_range)):
            raise ValueError("give configs alone, or channels/spatial/points/bytes_range, not both")
        grid = validate.config_pairs(configs)
        how = "the configurations given"
    elif spatial is not None:
        if points is not None or bytes_range is not None:
            raise ValueError("give spatial sizes, or points and bytes_range, not both")
        chans = list(channels) if channels is not None else [DEFAULT_CHANNELS]
        grid = [(c, s) for c in chans for s in spatial]
        how = f"channels {_list(chans)} x spatial {_list(spatial)}"
    else:
        chans = list(channels) if channels is not None else [DEFAULT_CHANNELS]
        n = DEFAULT_POINTS if points is None else points
        low, high = DEFAULT_BYTES if bytes_range is None else bytes_range
        grid = bytes_grid(n, low, high, chans)
        how = (f"{n} sizes log-spaced from {size_text(low)} to {size_text(high)} at "
               f"{_list(chans)} channels")
    if not grid:
        raise ValueError("the grid is empty")
    if len(grid) > MAX_CONFIGS:
        raise ValueError(f"the grid has {len(grid)} configurations; at most {MAX_CONFIGS}")
    dupes = sorted({f"{c}x{s}" for c, s in grid if grid.count((c, s)) > 1})
    if dupes:
        raise ValueError(f"configuration(s) given more than once: {', '.join(dupes)}")
    return grid, how


def _list(values: Sequence[int]) -> str:
    return ",".join(str(v) for v in values)


__all__ = ["sweep_grid", "bytes_grid", "parse_bytes", "size_text", "DEFAULT_CHANNELS",
           "DEFAULT_BYTES", "DEFAULT_POINTS", "SPATIAL_STEP"]
