"""The latency + bandwidth model of a sweep: straight lines fitted to per-size medians against
tensor bytes, their bootstrap intervals, and the regions one line cannot describe (where the
round trip crosses a share of a layer: anethru.results.crossover).  Pure functions over numbers:
no measuring, no printing (anethru.results.model applies them to measured results).

**The line** ``y = alpha + beta * bytes`` is fitted by weighted least squares to each size's
median, each weighted by 1 / se^2, where se is the standard error of that median (the spread
of its bootstrap replicates below), never taken below ``SE_FLOOR_REL`` of the median: timings
on a shared machine drift between sizes by more than their within-size spread suggests, and a
size that happened to be quiet must not pull the line alone.  R^2 is the weighted one.

**Intervals** are percentile bootstrap intervals over repeats: each replicate resamples every
size's repeats with replacement (the same draw for every figure of a size, so figures measured
in the same repeat stay paired), takes the medians and refits with the same weights.
Where the sizes scatter about the line by more than their errors (reduced chi-square above
1), the replicates are widened about the fit by the Birge ratio sqrt(chi-square / (n - 2)).
``BOOTSTRAP_REPLICATES`` replicates from the fixed ``BOOTSTRAP_SEED``, so the same points always
give the same intervals (a saved document's figures can be recomputed and checked on load).
Bounds are order statistics (the replicate at or beyond the 2.5% and 97.5% ranks), so a bound
that falls outside the measured range stays infinite rather than being interpolated.

**Badly explained sizes**: those more than ``BAD_FIT_Z`` of their own standard errors *and*
more than ``BAD_FIT_REL`` of the fitted value away from the line (a precise size a little off
the line is not "bad", nor is an imprecise one).

**Where one line does not describe the points** (a cache cliff): binary segmentation with the
Bayesian information criterion, tried only where the line leaves some size badly explained
(the criterion alone, searching every split, splits about a third of purely linear noisy
sweeps; a cliff always leaves sizes far off one line).  For such a run of sizes, every split
leaving at least ``MIN_SEGMENT_SIZES`` sizes on each side is tried; two lines replace one when
n ln(RSS2 / n) + 5 ln n < n ln(RSS1 / n) + 2 ln n (RSS: weighted residual sum of squares; two
lines and the breakpoint are 5 parameters against 2), and each side is then tried again.
Intervals of a segment's line are conditional on the breakpoints found.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Optional, Sequence

import numpy as np

from anethru.results.stats import CI_LEVEL, row_medians

BOOTSTRAP_REPLICATES = 2000
BOOTSTRAP_SEED = 20240917
SE_FLOOR_REL = 0.01
BAD_FIT_Z = 3.0
BAD_FIT_REL = 0.10
MIN_FIT_SIZES = 3          # distinct sizes a line needs (two give no residuals to judge it by)
MIN_SEGMENT_SIZES = 3      # sizes on each side of a break: a line and one residual to judge it
# Weighted residuals below this many standard errors count as zero in the segmentation test:
# exact (simulated) points must not split over rounding.
RSS_FLOOR_SE = 1e-3


# ---------------------------------------------------------------------- the bootstrap

def resample_indices(sizes: Sequence[int], replicates: int = BOOTSTRAP_REPLICATES,
                     seed: int = BOOTSTRAP_SEED) -> list[np.ndarray]:
    """For each point with n repeats, a (replicates, n) array of repeat indices drawn with
    replacement; one generator for all, in point order."""
    rng = np.random.default_rng(seed)
    return [rng.integers(0, n, size=(replicates, n)) for n in sizes]


def bootstrap_medians(samples: Sequence[Sequence[float]], indices: Sequence[np.ndarray]
                      ) -> np.ndarray:
    """(replicates, points): each point's median over its resampled repeats."""
    # s[idx] is a fresh array: reordered in place (no copy of replicates x n values)
    cols = [row_medians(np.asarray(s, float)[idx]) for s, idx in zip(samples, indices)]
    return np.stack(cols, axis=1)


def percentile_ci(values: np.ndarray, level: float = CI_LEVEL) -> tuple[float, float]:
    """Order-statistic bounds of the central ``level`` of ``values`` (infinities allowed)."""
    v = np.sort(np.asarray(values, float))
    n = len(v)
    tail = (1 - level) / 2
    lo = v[max(0, math.floor(tail * n))]           # at or below the lower rank
    hi = v[min(n - 1, math.ceil((1 - tail) * n) - 1)]
    return float(lo), float(hi)


def standard_errors(medians: np.ndarray, boot: np.ndarray) -> np.ndarray:
    """Each point's standard error: its bootstrap replicates' spread, floored (see above)."""
    spread = boot.std(axis=0, ddof=1) if boot.shape[0] > 1 else np.zeros(boot.shape[1])
    return np.maximum(spread, np.maximum(SE_FLOOR_REL * np.abs(medians), 1e-12))


# ---------------------------------------------------------------------- lines

def weighted_line(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """alpha, beta of the weighted least-squares line; ``y`` may be (points,) or
    (replicates, points), giving one line per row."""
    sw = w.sum()
    xm = (w * x).sum() / sw
    dx = x - xm
    sxx = (w * dx * dx).sum()
    ym = (y * w).sum(axis=-1) / sw
    beta = (y * (w * dx)).sum(axis=-1) / sxx
    return ym - beta * xm, beta


def _rss(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> float:
    a, b = weighted_line(x, y, w)
    r = y - (a + b * x)
    return float((w * r * r).sum())


@dataclass(frozen=True)
class Residual:
    label: str
    bytes: float
    median: float
    fitted: float
    se: float

    @property
    def residual(self) -> float:
        return self.median - self.fitted

    @property
    def z(self) -> float:
        return self.residual / self.se

    @property
    def bad(self) -> bool:
        scale = max(abs(self.fitted), abs(self.median))
        return abs(self.z) > BAD_FIT_Z and abs(self.residual) > BAD_FIT_REL * scale

    def to_dict(self) -> dict:
        return {"label": self.label, "bytes": self.bytes, "median": self.median,
                "fitted": self.fitted, "residual": self.residual, "se": self.se, "z": self.z,
                "bad": self.bad}


@dataclass(frozen=True)
class LineFit:
    """``alpha + beta * bytes`` over a run of sizes (alpha in the samples' unit, beta in that
    unit per byte), with bootstrap intervals and every size's residual."""

    alpha: float
    beta: float
    alpha_ci: tuple[float, float]
    beta_ci: tuple[float, float]
    ci_level: float
    r_squared: Optional[float]
    residuals: tuple[Residual, ...]
    replicates: np.ndarray = field(repr=False, compare=False)  # (replicates, 2): alpha, beta

    @property
    def sizes(self) -> int:
        return len(self.residuals)

    @property
    def bytes_range(self) -> tuple[float, float]:
        return self.residuals[0].bytes, self.residuals[-1].bytes

    @property
    def bad(self) -> list[Residual]:
        return [r for r in self.residuals if r.bad]

    def at(self, nbytes: float) -> float:
        return self.alpha + self.beta * nbytes

    def band(self, xs: Sequence[float], level: float = CI_LEVEL) -> tuple[np.ndarray, np.ndarray]:
        """Pointwise bootstrap interval of the fitted line at each of ``xs``."""
        xs = np.asarray(xs, float)
        ys = self.replicates[:, :1] + self.replicates[:, 1:] * xs[None, :]
        bounds = [percentile_ci(ys[:, i], level) for i in range(len(xs))]
        return np.array([b[0] for b in bounds]), np.array([b[1] for b in bounds])

    def to_dict(self) -> dict:
        return {"alpha": self.alpha, "alpha_ci": list(self.alpha_ci), "beta": self.beta,
                "beta_ci": list(self.beta_ci), "ci_level": self.ci_level,
                "r_squared": self.r_squared, "sizes": self.sizes,
                "bytes_min": self.bytes_range[0], "bytes_max": self.bytes_range[1],
                "residuals": [r.to_dict() for r in self.residuals],
                "bad": [r.label for r in self.bad]}


def fit_line(labels: Sequence[str], x: np.ndarray, medians: np.ndarray, boot: np.ndarray,
             se: np.ndarray, level: float = CI_LEVEL) -> LineFit:
    """The weighted line through ``medians`` (one per size, ``x`` sorted), its bootstrap
    intervals from ``boot`` (replicates, sizes) and residuals."""
    w = 1.0 / se ** 2
    alpha, beta = weighted_line(x, medians, w)
    a_star, b_star = weighted_line(x, boot, w)
    fitted = alpha + beta * x
    # Birge ratio: sizes scattered about the line by more than the errors the replicates carry
    # (a shared machine drifts between sizes; resampling within sizes cannot see it) widen the
    # replicates, and so every interval, by sqrt(reduced chi-square) when it exceeds 1.
    spread = boot.std(axis=0, ddof=1) if boot.shape[0] > 1 else np.zeros(len(x))
    if len(x) > 2 and np.all(spread > 0):
        chi2 = float((((medians - fitted) / spread) ** 2).sum()) / (len(x) - 2)
        birge = math.sqrt(max(1.0, chi2))
        a_star = alpha + (a_star - alpha) * birge
        b_star = beta + (b_star - beta) * birge
    ym = (w * medians).sum() / w.sum()
    total = float((w * (medians - ym) ** 2).sum())
    r2 = None if total == 0 else 1 - float((w * (medians - fitted) ** 2).sum()) / total
    residuals = tuple(Residual(lb, float(xi), float(m), float(f), float(s))
                      for lb, xi, m, f, s in zip(labels, x, medians, fitted, se))
    return LineFit(float(alpha), float(beta), percentile_ci(a_star, level),
                   percentile_ci(b_star, level), level, r2, residuals,
                   np.stack([a_star, b_star], axis=1))


# ---------------------------------------------------------------------- segments

def _bic(rss: float, n: int, params: int, floor: float) -> float:
    return n * math.log(max(rss, floor) / n) + params * math.log(n)


def _misfits(x: np.ndarray, y: np.ndarray, se: np.ndarray) -> bool:
    """Whether one line through these sizes leaves any of them badly explained."""
    a, b = weighted_line(x, y, 1.0 / se ** 2)
    fitted = a + b * x
    r = y - fitted
    scale = np.maximum(np.abs(fitted), np.abs(y))
    return bool(np.any((np.abs(r) > BAD_FIT_Z * se) & (np.abs(r) > BAD_FIT_REL * scale)))


def segments(x: np.ndarray, y: np.ndarray, se: np.ndarray, lo: int = 0,
             hi: Optional[int] = None) -> list[tuple[int, int]]:
    """[start, end) index runs of sorted ``x`` that one line each describes (see above)."""
    hi = len(x) if hi is None else hi
    n = hi - lo
    if n < 2 * MIN_SEGMENT_SIZES or not _misfits(x[lo:hi], y[lo:hi], se[lo:hi]):
        return [(lo, hi)]
    w = 1.0 / se ** 2
    floor = n * RSS_FLOOR_SE ** 2
    one = _bic(_rss(x[lo:hi], y[lo:hi], w[lo:hi]), n, 2, floor)
    best, best_k = math.inf, None
    for k in range(lo + MIN_SEGMENT_SIZES, hi - MIN_SEGMENT_SIZES + 1):
        if x[k - 1] == x[k] or len(set(x[lo:k])) < MIN_FIT_SIZES or len(set(x[k:hi])) < MIN_FIT_SIZES:
            continue  # a break must fall between two different sizes
        rss = _rss(x[lo:k], y[lo:k], w[lo:k]) + _rss(x[k:hi], y[k:hi], w[k:hi])
        if rss < best:
            best, best_k = rss, k
    if best_k is None or _bic(best, n, 5, floor) >= one:
        return [(lo, hi)]
    return segments(x, y, se, lo, best_k) + segments(x, y, se, best_k, hi)


@dataclass(frozen=True)
class ModelFit:
    """One figure against bytes: the single line over every size, and, where the segmentation
    test finds that one line does not describe the points, a line per region."""

    line: LineFit
    regions: tuple[LineFit, ...]    # empty when one line describes the points

    @property
    def one_line(self) -> bool:
        return not self.regions

    @property
    def describing(self) -> tuple[LineFit, ...]:
        """The fits that describe the points: the regions, or the one line."""
        return self.regions or (self.line,)

    @property
    def breaks(self) -> list[tuple[float, float]]:
        """(last size before, first size after) of each break."""
        return [(a.bytes_range[1], b.bytes_range[0]) for a, b in zip(self.regions, self.regions[1:])]

    @property
    def bad(self) -> list[Residual]:
        return [r for f in self.describing for r in f.bad]

    def to_dict(self) -> dict:
        return {"line": self.line.to_dict(), "one_line_describes": self.one_line,
                "regions": [r.to_dict() for r in self.regions],
                "breaks": [{"after_bytes": a, "before_bytes": b} for a, b in self.breaks],
                "bad": [r.label for r in self.bad]}


def fit_model(labels: Sequence[str], x: Sequence[float], medians: Sequence[float],
              boot: np.ndarray, level: float = CI_LEVEL) -> ModelFit:
    """The line and, where needed, the regions, for sizes sorted by ``x``.  ValueError when
    fewer than ``MIN_FIT_SIZES`` distinct sizes were measured."""
    x = np.asarray(x, float)
    y = np.asarray(medians, float)
    if len(set(x.tolist())) < MIN_FIT_SIZES:
        raise ValueError(f"a line needs {MIN_FIT_SIZES} or more different sizes; "
                         f"{len(set(x.tolist()))} measured")
    if np.any(np.diff(x) < 0):
        raise ValueError("sizes must be sorted by bytes")
    se = standard_errors(y, boot)
    line = fit_line(labels, x, y, boot, se, level)
    runs = segments(x, y, se)
    regions = () if len(runs) == 1 else tuple(
        fit_line(labels[a:b], x[a:b], y[a:b], boot[:, a:b], se[a:b], level) for a, b in runs)
    return ModelFit(line, regions)


__all__ = ["BOOTSTRAP_REPLICATES", "BOOTSTRAP_SEED", "resample_indices", "bootstrap_medians",
           "percentile_ci", "standard_errors", "weighted_line", "fit_line", "fit_model",
           "segments", "LineFit", "ModelFit", "Residual"]
