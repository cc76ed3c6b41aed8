"""Two independent samples: the Mann-Whitney U test, its interval for the shift between them
(Hodges-Lehmann), its p-value; Welch's t test for a few values per side (the runs' medians);
and Holm's correction over many such tests; what ``anethru compare`` uses (see the module
docstring of anethru.results.stats)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist
from typing import Optional, Sequence

import numpy as np

from anethru.results.stats import CI_LEVEL, UndefinedFigure
from anethru.results.student import t_quantile, t_two_sided_p

# Samples per side up to which shift_ci uses U's exact distribution (n * m <= this).
EXACT_U_MAX_CELLS = 2500

def _u_null_counts(n: int, m: int) -> list[int]:
    """Number of arrangements giving each U = 0 .. n*m under no shift: the coefficients of the
    Gaussian binomial [n+m choose n]_q = prod_{i=1..n} (1 - q^(m+i)) / (1 - q^i)."""
    poly = [1] + [0] * (n * m)
    for i in range(1, n + 1):
        step = m + i
        for t in range(n * m, step - 1, -1):   # multiply by (1 - q^(m+i))
            poly[t] -= poly[t - step]
        for t in range(i, n * m + 1):          # divide by (1 - q^i)
            poly[t] += poly[t - i]
    return poly


def u_critical(n: int, m: int, level: float = CI_LEVEL) -> Optional[tuple[int, float]]:
    """The largest c with P(U <= c) <= (1 - level) / 2 under no shift, and the coverage
    1 - 2 P(U <= c) of the interval it gives; None when no such c exists (too few samples)."""
    alpha_half = (1 - level) / 2
    if n * m <= EXACT_U_MAX_CELLS:
        counts = _u_null_counts(n, m)
        total = math.comb(n + m, n)
        c, cum = -1, 0
        for u, k in enumerate(counts):
            if (cum + k) / total > alpha_half:
                break
            cum += k
            c = u
        return None if c < 0 else (c, 1 - 2 * cum / total)
    mu, sigma = n * m / 2, math.sqrt(n * m * (n + m + 1) / 12)
    z = NormalDist().inv_cdf(alpha_half)
    c = math.floor(mu - 0.5 + z * sigma)
    if c < 0:
        return None
    return c, 1 - 2 * NormalDist().cdf((c + 0.5 - mu) / sigma)


@dataclass(frozen=True)
class Shift:
    """How sample b differs from sample a: the Hodges-Lehmann estimate and the Mann-Whitney
    interval (None when the samples are too small for ``level``)."""

    estimate: float
    ci_low: Optional[float]
    ci_high: Optional[float]
    ci_level: Optional[float]


def shift_ci(a: Sequence[float], b: Sequence[float], level: float = CI_LEVEL) -> Shift:
    """The shift b - a (a location shift between two independent samples), with its interval."""
    if len(a) == 0 or len(b) == 0:
        raise ValueError("both samples need at least one value")
    d = np.subtract.outer(np.asarray(b, float), np.asarray(a, float)).ravel()
    size = len(d)
    crit = u_critical(len(a), len(b), level)
    # Only a few order statistics are needed: one in-place partition finds them all (the same
    # values a full sort gives, at a fraction of its time: d has n * m elements, tens of
    # millions for two runs with thousands of pairs each).
    mid = [size // 2] if size % 2 else [size // 2 - 1, size // 2]
    ends = [] if crit is None else [crit[0], size - 1 - crit[0]]
    d.partition(sorted(set(mid + ends)))
    # np.median's value: the middle element, or the mean of the middle two
    estimate = float(d[mid[0]]) if size % 2 else float((d[mid[0]] + d[mid[1]]) / 2)
    if crit is None:
        return Shift(estimate, None, None, None)
    c, coverage = crit
    return Shift(estimate, float(d[c]), float(d[size - 1 - c]), coverage)


def mann_whitney_p(a: Sequence[float], b: Sequence[float]) -> float:
    """Two-sided p-value of the Mann-Whitney U test of no shift between a and b: exact (U's
    null distribution, ties counted half) up to EXACT_U_MAX_CELLS, else the normal
    approximation with continuity correction."""
    x, y = np.asarray(a, float), np.asarray(b, float)
    n, m = len(x), len(y)
    # Pairs with b above a (ties half), counted by binary search in sorted a rather than over
    # all n * m differences: the same integer counts (for finite values y - x > 0 iff y > x).
    xs = np.sort(x)
    below = np.searchsorted(xs, y, side="left")
    ties = np.searchsorted(xs, y, side="right") - below
    u = float(below.sum() + 0.5 * ties.sum())
    mu = n * m / 2
    if n * m <= EXACT_U_MAX_CELLS:
        counts = _u_null_counts(n, m)
        total = math.comb(n + m, n)
        lo = math.floor(min(u, n * m - u))   # the smaller tail, ties rounded toward it
        return min(1.0, 2 * sum(counts[:lo + 1]) / total)
    sigma = math.sqrt(n * m * (n + m + 1) / 12)
    z = (abs(u - mu) - 0.5) / sigma
    return min(1.0, 2 * (1 - NormalDist().cdf(max(z, 0.0))))


@dataclass(frozen=True)
class WelchShift(Shift):
    """The difference of means b - a with Welch's interval, its two-sided p-value and degrees
    of freedom."""

    p_value: float = 1.0
    df: Optional[float] = None


def welch(a: Sequence[float], b: Sequence[float], level: float = CI_LEVEL) -> WelchShift:
    """Welch's t test of equal means for two small independent samples (at least 2 values
    each; the runs of two inputs), without assuming equal variances."""
    x, y = np.asarray(a, float), np.asarray(b, float)
    if len(x) < 2 or len(y) < 2:
        raise ValueError(f"Welch's test needs at least 2 values per side; got {len(x)} and {len(y)}")
    diff = float(y.mean() - x.mean())
    va, vb = float(x.var(ddof=1)) / len(x), float(y.var(ddof=1)) / len(y)
    se = math.sqrt(va + vb)
    if se == 0:   # no spread on either side (a simulated clock): the difference is exact
        return WelchShift(diff, diff, diff, level, 1.0 if diff == 0 else 0.0, None)
    df = (va + vb) ** 2 / (va ** 2 / (len(x) - 1) + vb ** 2 / (len(y) - 1))
    half = t_quantile(level, df) * se
    return WelchShift(diff, diff - half, diff + half, level, t_two_sided_p(diff / se, df), df)


def welch_ratio(a: Sequence[float], b: Sequence[float], level: float = CI_LEVEL) -> WelchShift:
    """The ratio b / a of two samples of positive values: Welch on their logarithms (the
    geometric means' ratio and its interval)."""
    if min(a) <= 0 or min(b) <= 0:
        raise UndefinedFigure("a ratio needs positive values")
    w = welch(np.log(np.asarray(a, float)), np.log(np.asarray(b, float)), level)
    return WelchShift(math.exp(w.estimate), math.exp(w.ci_low), math.exp(w.ci_high), w.ci_level,
                      w.p_value, w.df)


def holm(pvalues: Sequence[float], alpha: float = 1 - CI_LEVEL) -> list[bool]:
    """Holm's step-down: which of the hypotheses are rejected with familywise error <= alpha."""
    order = sorted(range(len(pvalues)), key=lambda i: pvalues[i])
    out = [False] * len(pvalues)
    m = len(pvalues)
    for rank, i in enumerate(order):
        if pvalues[i] > alpha / (m - rank):
            break
        out[i] = True
    return out


def ratio_ci(a: Sequence[float], b: Sequence[float], level: float = CI_LEVEL) -> Shift:
    """The ratio b / a of two samples of positive values, as a shift of their logarithms."""
    if min(a) <= 0 or min(b) <= 0:
        raise UndefinedFigure("a ratio needs positive samples")
    s = shift_ci(np.log(np.asarray(a, float)), np.log(np.asarray(b, float)), level)
    up = (lambda x: None if x is None else math.exp(x))
    return Shift(math.exp(s.estimate), up(s.ci_low), up(s.ci_high), s.ci_level)
