"""Student's t distribution for Welch's test of two small samples (the runs of two inputs):
its two-sided tail and quantile, through the regularized incomplete beta function, so that the
run time needs no more than the standard library and numpy (the tests check it against scipy)."""

from __future__ import annotations

import math
from statistics import NormalDist

# The continued fraction converges in a few dozen terms for the arguments used here; these bound
# it where it would not (a caller's error, never a silent wrong answer).
_MAX_TERMS = 500
_EPS = 1e-15
_TINY = 1e-300


def _beta_fraction(a: float, b: float, x: float) -> float:
    """The continued fraction of I_x(a, b) (modified Lentz), valid for x < (a + 1) / (a + b + 2)."""
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1)
    d = 1.0 / (d if abs(d) > _TINY else _TINY)
    h = d
    for m in range(1, _MAX_TERMS + 1):
        for numerator in (m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
                          -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > _TINY else _TINY)
            c = 1.0 + numerator / c
            c = c if abs(c) > _TINY else _TINY
            h *= d * c
        if abs(d * c - 1.0) < _EPS:
            return h
    raise ArithmeticError(f"the incomplete beta fraction did not converge for a={a}, b={b}, x={x}")


def incomplete_beta(a: float, b: float, x: float) -> float:
    """The regularized incomplete beta function I_x(a, b) for a, b > 0 and 0 <= x <= 1."""
    if not (a > 0 and b > 0 and 0.0 <= x <= 1.0):
        raise ValueError(f"incomplete_beta needs a, b > 0 and 0 <= x <= 1; got {a}, {b}, {x}")
    if x in (0.0, 1.0):
        return x
    front = math.exp(math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
                     + a * math.log(x) + b * math.log1p(-x))
    if x < (a + 1) / (a + b + 2):
        return front * _beta_fraction(a, b, x) / a
    return 1.0 - front * _beta_fraction(b, a, 1.0 - x) / b   # the symmetric side converges


def t_two_sided_p(t: float, df: float) -> float:
    """P(|T| >= |t|) for Student's T with ``df`` (> 0, not necessarily whole) degrees of freedom."""
    if not df > 0:
        raise ValueError(f"degrees of freedom must be positive; got {df}")
    if math.isinf(t):
        return 0.0
    return incomplete_beta(df / 2, 0.5, df / (df + t * t))


def t_density(t: float, df: float) -> float:
    """Student's T density at ``t``."""
    return math.exp(math.lgamma((df + 1) / 2) - math.lgamma(df / 2)
                    - 0.5 * math.log(df * math.pi) - (df + 1) / 2 * math.log1p(t * t / df))


def t_quantile(level: float, df: float) -> float:
    """The t with P(|T| <= t) = ``level``: the half-width factor of a two-sided interval.
    Newton's method on the two-sided tail from the normal quantile (a few steps; compare calls
    it once per figure), bisection where a step would leave the bracket."""
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1); got {level}")
    tail = 1 - level
    lo, hi = 0.0, 1.0
    while t_two_sided_p(hi, df) > tail:   # the tail falls as t grows: bracket it
        lo, hi = hi, hi * 2
    t = min(max(NormalDist().inv_cdf(1 - tail / 2), lo), hi)
    for _ in range(200):
        excess = t_two_sided_p(t, df) - tail
        if excess > 0:
            lo = t
        else:
            hi = t
        nxt = t + excess / (2 * t_density(t, df))   # d(tail)/dt = -2 f(t)
        if not lo < nxt < hi:
            nxt = (lo + hi) / 2
        if abs(nxt - t) <= 1e-14 * t or hi - lo <= 1e-14 * hi:
            return nxt
        t = nxt
    return t


__all__ = ["incomplete_beta", "t_two_sided_p", "t_density", "t_quantile"]
