"""Statistics over repeats: medians with confidence intervals, the derived figures' arithmetic,
and the two-sample test that ``anethru compare`` uses.  Pure functions, no printing, no timing.

Every figure is computed from the raw block totals the native loops return.

**The confidence interval of a median** is distribution-free, from order statistics: with n
samples, the number B of samples below the true median is Binomial(n, 1/2) whatever the
distribution (timings are skewed and heavy-tailed, so nothing normal is assumed), hence
[x_(j), x_(n+1-j)] covers the median with probability P(j <= B <= n-j) = 1 - 2 P(B <= j-1).
``median_ci`` takes the narrowest such interval whose coverage is at least ``level`` and reports
the coverage it actually has (``ci_level``).  With 5 repeats no interval reaches 95%: [min .. max]
covers 93.75%, and that is what is reported, with its level; one repeat has no interval at all.
No resampling, so no seed and nothing random.

**Comparing two runs** (``anethru.results.twosample``: ``shift_ci``): the Mann-Whitney U test on the per-block samples of the
two runs (they are independent, so nothing is paired), through its confidence interval for the
shift between them (Hodges-Lehmann: the median of all pairwise differences, with the interval
between two order statistics of those differences chosen from U's exact null distribution, or
its normal approximation for large samples).  Times are compared as log ratios, so the shift is a
ratio; overheads, which may be negative, as differences.  The interval excludes no shift exactly
when the test rejects "no shift" at the same level.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Optional, Sequence

import numpy as np

from anethru.units import duration

# The confidence level asked of every interval.
CI_LEVEL = 0.95
# Google Benchmark / pyperf practice: flag, do not fail, noisy measurements.
CV_WARN = 0.10
MAX_OVER_MIN_WARN = 4.0
# The one noise predicate (relative half-width of a median's interval) that drives warnings,
# the precision stopping rule and compare's "uncertain": above this a median is called imprecise.
IMPRECISE_WARN = 0.10


class UndefinedFigure(ValueError):
    """A figure that cannot be computed (a ratio with a zero denominator); the message says why."""


# Up to this many samples the median's interval is chosen with exact integer binomial sums
# (linear in n); beyond it, with floating-point sums over the only terms that count, which
# agree with the exact ones far below the printed digits.
EXACT_RANKS_MAX_N = 20000


def _binomial_half_cdf(n: int, k: int) -> float:
    """P(B <= k) for B ~ Binomial(n, 1/2), exactly (integers, then one division)."""
    if k < 0:
        return 0.0
    return sum(math.comb(n, i) for i in range(min(k, n) + 1)) / 2 ** n


def _ranks_exact(n: int, level: float) -> tuple[int, float]:
    """The narrowest interval reaching ``level``, from one running binomial sum."""
    total = 2 ** n
    term = cum = 1                     # C(n, j-1) and 2^n P(B <= j-1), at j = 1
    best, coverage = 1, 1 - 2 * (cum / total)
    for j in range(2, n // 2 + 1):
        term = term * (n - j + 2) // (j - 1)
        cum += term
        c = 1 - 2 * (cum / total)
        if c < level:
            break
        best, coverage = j, c
    return best, coverage


def _ranks_float(n: int, level: float) -> tuple[int, float]:
    """The same choice in floating point, for large n: the lower tail's terms more than 40
    standard deviations below the mean are under 1e-300 and are left out."""
    lo = max(0, int(n / 2 - 20 * math.sqrt(n)))
    i = np.arange(lo, n // 2, dtype=np.float64)
    log_first = (math.lgamma(n + 1) - math.lgamma(lo + 1) - math.lgamma(n - lo + 1)
                 - n * math.log(2))
    steps = np.log(n - i[:-1]) - np.log(i[:-1] + 1)        # log C(n, i+1) / C(n, i)
    cdf = np.cumsum(np.exp(log_first + np.concatenate(([0.0], np.cumsum(steps)))))
    coverage = 1 - 2 * cdf                                  # of j = lo + k + 1, for cdf[k]
    short = np.nonzero(coverage < level)[0]
    k = (int(short[0]) if short.size else coverage.size) - 1
    if k < 0:
        return 1, 1.0
    return lo + k + 1, float(coverage[k])


@lru_cache(maxsize=4096)
def median_ci_ranks(n: int, level: float = CI_LEVEL) -> Optional[tuple[int, int, float]]:
    """1-based ranks (j, n+1-j) of the order statistics bounding the median's interval, and
    its exact coverage; None when n < 2 (no interval exists).  Linear in n (cached: every
    figure of a result has the same n)."""
    if n < 2:
        return None
    best, coverage = (_ranks_exact if n <= EXACT_RANKS_MAX_N else _ranks_float)(n, level)
    return best, n + 1 - best, coverage


def median_ci(samples: Sequence[float], level: float = CI_LEVEL
              ) -> tuple[Optional[float], Optional[float], Optional[float]]:
    """(low, high, coverage) of the median of ``samples``; (None, None, None) for one sample."""
    ranks = median_ci_ranks(len(samples), level)
    if ranks is None:
        return None, None, None
    j, k, coverage = ranks
    xs = sorted(samples)
    return xs[j - 1], xs[k - 1], coverage


def _median(xs: Sequence[float]) -> float:
    s = sorted(xs)
    n = len(s)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


@dataclass(frozen=True)
class Stats:
    """Summary of samples (all in the same unit, usually ms): the median with its confidence
    interval (None with one sample), and the spread."""

    n: int
    min: float
    median: float
    mean: float
    stdev: float
    max: float
    ci_low: Optional[float]
    ci_high: Optional[float]
    ci_level: Optional[float]   # the interval's exact coverage (below CI_LEVEL for n <= 5)
    samples: tuple[float, ...] = field(repr=False)
    # A series (samples in the order measured) with positive lag-1 autocorrelation: its
    # estimate, by which the interval was widened (see series_ranks); None otherwise.
    autocorrelation: Optional[float] = None

    @classmethod
    def of_series(cls, samples: Sequence[float], level: float = CI_LEVEL) -> "Stats":
        """Stats of samples in the order they were measured: the interval widened where the
        series is autocorrelated (rounds that drift together carry less information)."""
        s = cls.of(samples, level)
        widened = series_ranks(s.samples, level)
        if widened is None:
            return s
        j, k, r = widened
        xs = sorted(s.samples)
        return cls(s.n, s.min, s.median, s.mean, s.stdev, s.max, xs[j - 1], xs[k - 1],
                   s.ci_level, s.samples, r)

    @classmethod
    def of(cls, samples: Sequence[float], level: float = CI_LEVEL) -> "Stats":
        if len(samples) == 0:
            raise ValueError("no samples")
        # map() and one sort rather than generators and a sort per order statistic: this runs
        # on every figure after every round, and on tens of thousands of pairs when loading.
        xs = tuple(map(float, samples))
        if not all(map(math.isfinite, xs)):
            raise ValueError(f"samples must be finite; got {[x for x in xs if not math.isfinite(x)][:3]}")
        n = len(xs)
        mean = math.fsum(xs) / n
        stdev = math.sqrt(math.fsum([(x - mean) ** 2 for x in xs]) / (n - 1)) if n > 1 else 0.0
        least, most = min(xs), max(xs)
        if least == most:  # identical samples: no spread, whatever the division rounded
            mean, stdev = xs[0], 0.0
        ordered = sorted(xs)
        ranks = median_ci_ranks(n, level)
        lo, hi, coverage = (None, None, None) if ranks is None else \
            (ordered[ranks[0] - 1], ordered[ranks[1] - 1], ranks[2])
        middle = ordered[n // 2] if n % 2 else (ordered[n // 2 - 1] + ordered[n // 2]) / 2
        return cls(n, least, middle, mean, stdev, most, lo, hi, coverage, xs)

    @property
    def cv(self) -> Optional[float]:
        """Coefficient of variation (stdev / |mean|); None when the mean is 0."""
        return self.stdev / abs(self.mean) if self.mean else None

    @property
    def half_width(self) -> Optional[float]:
        """Half the width of the median's interval, in the samples' unit; None without one."""
        if self.ci_low is None or self.ci_high is None:
            return None
        return (self.ci_high - self.ci_low) / 2

    @property
    def relative_half_width(self) -> Optional[float]:
        """``half_width`` / |median|: the precision of the median (None without an interval or
        for a zero median)."""
        hw = self.half_width
        if hw is None or self.median == 0:
            return None
        return hw / abs(self.median)

    @property
    def excludes_zero(self) -> bool:
        return self.ci_low is not None and self.ci_high is not None and (
            self.ci_low > 0 or self.ci_high < 0)

    def noise_warnings(self, what: str) -> list[str]:
        out = []
        cv = self.cv
        if self.n > 1 and cv is not None and cv >= CV_WARN:
            out.append(f"{what}: CV {cv:.0%} >= {CV_WARN:.0%}; the machine may be busy "
                       f"(close other work, or run longer)")
        if self.min > 0 and self.max >= MAX_OVER_MIN_WARN * self.min:
            out.append(f"{what}: max is {self.max / self.min:.1f}x min; look for interference "
                       f"(other processes, frequency scaling)")
        rel = self.relative_half_width
        if rel is not None and rel > IMPRECISE_WARN:
            out.append(f"{what}: median known only to +/-{rel:.0%} ({self.ci_level:.0%} CI); "
                       f"more repeats (--precision) would narrow it")
        return out

    def to_dict(self) -> dict:
        return {"n": self.n, "min": self.min, "median": self.median, "mean": self.mean,
                "stdev": self.stdev, "max": self.max, "cv": self.cv, "ci_low": self.ci_low,
                "ci_high": self.ci_high, "ci_level": self.ci_level, "samples": list(self.samples),
                "autocorrelation": self.autocorrelation}

    @classmethod
    def from_dict(cls, d: dict) -> "Stats":
        """Recomputed from the samples alone: stored summaries are never trusted."""
        return cls.of(d["samples"])


# Autocorrelation: series this short have no reliable estimate.  The largest lag-1 value used.
MIN_SERIES = 6
MAX_AUTOCORRELATION = 0.9


def lag1_autocorrelation(xs: Sequence[float]) -> Optional[float]:
    """The lag-1 sample autocorrelation, bias-corrected for short series (Marriott-Pope:
    E[r] ~ rho - (1 + 3 rho) / n); None for a constant series."""
    x = np.asarray(xs, float)
    d = x - x.mean()
    den = float(np.dot(d, d))
    if den == 0 or len(x) < 2:
        return None
    r = float(np.dot(d[:-1], d[1:])) / den
    return r + (1 + 3 * r) / len(x)


def series_ranks(xs: Sequence[float], level: float = CI_LEVEL) -> Optional[tuple[int, int, float]]:
    """Where a series has positive lag-1 autocorrelation r, the order-statistic interval's ranks
    moved out by sqrt((1 + r) / (1 - r)), the AR(1) inflation of the median's standard error
    (in seeded AR(1) simulations with rho = 0.4 this restores >= 95% coverage from ~87%):
    (j, k, r); None when the series is too short, constant or not positively correlated."""
    n = len(xs)
    ranks = median_ci_ranks(n, level)
    if n < MIN_SERIES or ranks is None:
        return None
    r = lag1_autocorrelation(xs)
    if r is None or r <= 0:
        return None
    r = min(r, MAX_AUTOCORRELATION)
    middle = (n + 1) / 2
    j = max(1, math.floor(middle - (middle - ranks[0]) * math.sqrt((1 + r) / (1 - r))))
    return j, n + 1 - j, r


def precision_shortfall(per_test: dict[str, Stats], overhead: Optional[Stats],
                        run_only: Optional[Stats], precision: float) -> list[str]:
    """What keeps a run from the precision target, one phrase each (empty when reached):
    a per-test median whose interval's half-width exceeds ``precision`` of the median, and the
    round-trip overhead when its interval neither excludes zero nor has a half-width within
    ``precision`` of run_only's per-kernel median (near zero a relative target never converges,
    so the overhead is held to the yardstick of the kernel it is added to)."""
    out = []
    for name, s in per_test.items():
        hw = s.half_width
        if hw is None:
            out.append(f"{name} has no interval yet ({s.n} repeat{'s' if s.n != 1 else ''})")
        elif hw > precision * abs(s.median):
            rel = s.relative_half_width
            out.append(f"{name} +/-{rel:.1%}" if rel is not None else f"{name} +/-{duration(hw)}")
    if overhead is not None and run_only is not None:
        hw = overhead.half_width
        target = precision * abs(run_only.median)
        if hw is None:
            out.append("round_trip_overhead has no interval yet")
        elif not overhead.excludes_zero and hw > target:
            out.append(f"round_trip_overhead's interval spans zero and is +/-{duration(hw)} "
                       f"(target +/-{duration(target)})")
    return out


def per_unit_ms(block_ns: Sequence[int], iters: int, units: int) -> list[float]:
    """ms per kernel (or per copy) of each block: total / passes / units-per-pass."""
    return [ns / 1e6 / iters / units for ns in block_ns]


def per_pass_ms(block_ns: Sequence[int], iters: int) -> list[float]:
    return [ns / 1e6 / iters for ns in block_ns]


def paired_difference(a_pass_ms: Sequence[float], b_pass_ms: Sequence[float], divisor: int) -> list[float]:
    """(a - b) / divisor for each repeat, pairing the blocks measured in the same repeat."""
    if len(a_pass_ms) != len(b_pass_ms):
        raise ValueError("paired figures need the same number of repeats")
    return [(a - b) / divisor for a, b in zip(a_pass_ms, b_pass_ms)]


# Bootstrap of a ratio of medians: replicates, and a fixed seed (a figure recomputed on load
# must come out the same bits as when it was written).
BOOTSTRAP_REPS = 2000
BOOTSTRAP_SEED = 20261207


# Up to this many values per row, row_medians sorts rows (numpy's vectorized sort is several
# times faster than the partition np.median uses for short rows, and no slower up to here).
SORT_ROWS_MAX = 1000


def row_medians(x: np.ndarray) -> np.ndarray:
    """np.median(x, axis=1) of a 2-D array of finite values, which it reorders in place: the
    same computation (np.median's own mean of the middle one or two values) on the same middle
    values, for the bootstraps' thousands of short resamples."""
    n = x.shape[1]
    k = n // 2
    if n <= SORT_ROWS_MAX:
        x.sort(axis=1)
    else:
        x.partition([k - 1, k] if n % 2 == 0 else [k], axis=1)
    return np.mean(x[:, k - 1:k + 1] if n % 2 == 0 else x[:, k:k + 1], axis=1)


def denominator_unresolved(den: Stats, what: str) -> Optional[str]:
    """Why a ratio over ``den`` is undefined: its median's interval includes zero (or, without
    an interval, its median is zero); None when the denominator is resolved."""
    if den.ci_low is None or den.ci_high is None:
        return None if den.median != 0 else f"{what} is 0 (one repeat, no interval)"
    if den.ci_low <= 0 <= den.ci_high:
        return f"{what}'s {den.ci_level:.0%} interval includes zero, so the ratio is undefined"
    return None


def ratio_of_medians(num: Sequence[float], den: Sequence[float], *, paired: bool,
                     what: str = "the denominator", level: float = CI_LEVEL,
                     reps: int = BOOTSTRAP_REPS, seed: int = BOOTSTRAP_SEED) -> Stats:
    """median(num) / median(den), with a percentile-bootstrap interval.  ``paired``: num[i] and
    den[i] were measured together (the same round), so rounds are resampled together; otherwise
    each sample is resampled on its own.  The spread fields (min, max, mean, stdev) are those of
    the bootstrap replicates; ``samples`` is empty (the inputs are the figures' own samples).
    UndefinedFigure when the denominator's interval includes zero."""
    a, b = np.asarray(num, float), np.asarray(den, float)
    if paired and len(a) != len(b):
        raise ValueError("paired figures need the same number of repeats")
    why = denominator_unresolved(Stats.of(b), what)
    if why:
        raise UndefinedFigure(why)
    estimate = float(np.median(a)) / float(np.median(b))
    if len(a) < 2 or len(b) < 2:
        return Stats(len(a), estimate, estimate, estimate, 0.0, estimate, None, None, None, ())
    rng = np.random.default_rng(seed)
    ia = rng.integers(0, len(a), (reps, len(a)))
    ib = ia if paired else rng.integers(0, len(b), (reps, len(b)))
    # b[ib] and a[ia] are fresh arrays, reordered in place (no copy of reps x n values)
    mb = row_medians(b[ib])
    # A replicate whose denominator median is 0 has no ratio: it counts as infinitely far out.
    with np.errstate(divide="ignore", invalid="ignore"):
        ma = row_medians(a[ia])
        reps_ratio = np.where(mb != 0, ma / np.where(mb != 0, mb, 1), np.inf)
    tail = (1 - level) / 2
    lo, hi = np.quantile(reps_ratio, [tail, 1 - tail], method="lower")
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise UndefinedFigure(f"{what} is 0 in too many bootstrap replicates for a "
                              f"{level:.0%} interval, so the ratio is undefined")
    finite = reps_ratio[np.isfinite(reps_ratio)].tolist()   # Python floats, the same values
    mean = math.fsum(finite) / len(finite)
    stdev = math.sqrt(math.fsum([(x - mean) ** 2 for x in finite]) / (len(finite) - 1))
    return Stats(len(a), min(finite), estimate, mean, stdev, max(finite),
                 float(lo), float(hi), level, ())
