"""The model of a sweep, from its measured configurations (the methods: anethru.results.fit
and anethru.results.crossover):

- round-trip overhead per layer = alpha + beta * bytes, over every size (latency and inverse
  bandwidth of the round trip);
- memcpy_only per copy against bytes: an independent estimate of beta;
- per channel count (a kernel's time depends on its channels, not only its bytes): run_only per
  kernel against bytes, the **crossover** (round trip = kernel time: 50% of a sequential layer)
  and the size from which the round trip stays under 10% of a sequential layer.

Every figure is recomputed from the results' raw blocks; nothing here measures or prints.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional, Sequence

import numpy as np

from anethru.results import fit
from anethru.results.crossover import BELOW, CROSSOVER_SHARE, SMALL_SHARE, Crossing, crossing
from anethru.results.stats import CI_LEVEL

if TYPE_CHECKING:
    from anethru.results.ceiling import CeilingResult


@dataclass(frozen=True)
class Figure:
    """One figure against bytes: its fit, or why there is none."""

    name: str
    unit: str
    model: Optional[fit.ModelFit]
    undefined: Optional[str] = None

    def to_dict(self) -> dict:
        return {"name": self.name, "unit": self.unit,
                "fit": None if self.model is None else self.model.to_dict(),
                "undefined": self.undefined}


@dataclass(frozen=True)
class Series:
    """The sizes measured at one channel count, sorted by bytes."""

    channels: int
    labels: tuple[str, ...]
    bytes: tuple[int, ...]
    overhead_ms: tuple[float, ...]    # medians per size
    kernel_ms: tuple[float, ...]      # run_only per kernel, medians per size
    kernel: Figure
    crossover: Crossing               # round trip = kernel time
    small: Crossing                   # round trip under SMALL_SHARE of a sequential layer

    @property
    def shares(self) -> tuple[Optional[float], ...]:
        """The round trip's share of a sequential layer (overhead + kernel) at each size."""
        return tuple(o / (o + k) if o + k > 0 else None
                     for o, k in zip(self.overhead_ms, self.kernel_ms))

    def to_dict(self) -> dict:
        return {"channels": self.channels,
                "points": [{"label": lb, "bytes": b, "overhead_ms": o, "kernel_ms": k, "share": s}
                           for lb, b, o, k, s in zip(self.labels, self.bytes, self.overhead_ms,
                                                     self.kernel_ms, self.shares)],
                "kernel": self.kernel.to_dict(), "crossover": self.crossover.to_dict(),
                "under_small_share": self.small.to_dict()}


@dataclass(frozen=True)
class SweepModel:
    round_trip: Figure
    memcpy: Figure
    series: tuple[Series, ...]
    sizes: int                        # configurations the model uses
    left_out: tuple[str, ...]         # configurations without sequential and run_only
    replicates: int = fit.BOOTSTRAP_REPLICATES
    seed: int = fit.BOOTSTRAP_SEED
    ci_level: float = CI_LEVEL

    def to_dict(self) -> dict:
        return {"method": METHOD, "ci_level": self.ci_level, "replicates": self.replicates,
                "bootstrap_seed": self.seed, "sizes": self.sizes, "left_out": list(self.left_out),
                "crossover_share": CROSSOVER_SHARE, "small_share": SMALL_SHARE,
                "round_trip": self.round_trip.to_dict(), "memcpy": self.memcpy.to_dict(),
                "series": [s.to_dict() for s in self.series]}


METHOD = ("weighted least squares on per-size medians (weights 1/se^2); percentile bootstrap "
          "over repeats; regions by binary segmentation with BIC; see anethru/fit.py")


def _figure(name: str, unit: str, labels: Sequence[str], x: np.ndarray, medians: np.ndarray,
            boot: np.ndarray) -> Figure:
    try:
        return Figure(name, unit, fit.fit_model(list(labels), x, medians, boot))
    except ValueError as why:
        return Figure(name, unit, None, str(why))


def build_model(results: Sequence["CeilingResult"]) -> SweepModel:
    """The model of a sweep's measured configurations (any order; sorted here by bytes, then
    channels)."""
    usable = [r for r in results if "round_trip_overhead" in r.derived
              and r.derived["round_trip_overhead"].stats is not None]
    kept = {id(r) for r in usable}
    left_out = tuple(r.config.label for r in results if id(r) not in kept)
    usable.sort(key=lambda r: (r.config.bytes_per_tensor, r.config.channels))
    labels = [r.config.label for r in usable]
    x = np.array([r.config.bytes_per_tensor for r in usable], float)
    overhead = [r.derived["round_trip_overhead"].stats.samples for r in usable]
    kernel = [r.tests["run_only"].per_unit_ms.samples for r in usable]
    idx = fit.resample_indices([len(s) for s in kernel])
    # The overhead may come from per-pass pairs, measured apart from the blocks: resampled on
    # its own (paired with the blocks' rounds only when it is the block estimate).
    same = all(len(o) == len(k) for o, k in zip(overhead, kernel))
    idx_o = idx if same else fit.resample_indices([len(s) for s in overhead],
                                                  seed=fit.BOOTSTRAP_SEED + 1)
    boot_o = fit.bootstrap_medians(overhead, idx_o) if usable else np.zeros((0, 0))
    boot_k = fit.bootstrap_medians(kernel, idx) if usable else np.zeros((0, 0))
    med_o = np.array([np.median(s) for s in overhead])
    med_k = np.array([np.median(s) for s in kernel])
    round_trip = _figure("round_trip_overhead", "ms per layer", labels, x, med_o, boot_o)
    copies = [i for i, r in enumerate(usable) if "memcpy_only" in r.tests]
    if copies:
        samples = [usable[i].tests["memcpy_only"].per_unit_ms.samples for i in copies]
        memcpy = _figure("memcpy_only", "ms per copy", [labels[i] for i in copies], x[copies],
                         np.array([np.median(s) for s in samples]),
                         fit.bootstrap_medians(samples, [idx[i] for i in copies]))
    else:
        memcpy = Figure("memcpy_only", "ms per copy", None, "memcpy_only was not measured")
    series = []
    for c in sorted({r.config.channels for r in usable}):
        at = [i for i, r in enumerate(usable) if r.config.channels == c]
        xs = x[at]
        series.append(Series(
            c, tuple(labels[i] for i in at), tuple(int(v) for v in xs),
            tuple(float(v) for v in med_o[at]), tuple(float(v) for v in med_k[at]),
            _figure("run_only", "ms per kernel", [labels[i] for i in at], xs, med_k[at],
                    boot_k[:, at]),
            crossing(xs, med_o[at], med_k[at], boot_o[:, at], boot_k[:, at], CROSSOVER_SHARE),
            crossing(xs, med_o[at], med_k[at], boot_o[:, at], boot_k[:, at], SMALL_SHARE,
                     side=BELOW)))
    return SweepModel(round_trip, memcpy, tuple(series), len(usable), left_out)


__all__ = ["build_model", "SweepModel", "Series", "Figure", "METHOD"]
