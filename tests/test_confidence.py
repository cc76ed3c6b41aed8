"""Confidence intervals: the median's (order statistics) and the two-sample shift (Mann-Whitney),
checked against exact enumeration and by their coverage on samples with a known answer."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from anethru.results import stats, twosample
from anethru.results.stats import Stats, median_ci_ranks
from anethru.results.twosample import ratio_ci, shift_ci, u_critical


def binomial_coverage(n: int, j: int) -> float:
    # P(j <= B <= n - j), B ~ Binomial(n, 1/2), summed term by term from the definition.
    return sum(math.comb(n, b) for b in range(j, n - j + 1)) / 2 ** n


@pytest.mark.parametrize("n", range(2, 41))
def test_median_interval_is_the_narrowest_that_reaches_the_level(n):
    j, k, level = median_ci_ranks(n, 0.95)
    assert k == n + 1 - j
    assert level == pytest.approx(binomial_coverage(n, j))
    if n >= 6:
        assert level >= 0.95
        # one rank further in would fall below 95%
        assert j + 1 > n // 2 or binomial_coverage(n, j + 1) < 0.95
    else:  # 5 repeats cannot reach 95%: [min .. max] with its own, lower level
        assert (j, level) == (1, 1 - 2 / 2 ** n)


def test_known_median_intervals():
    assert median_ci_ranks(5) == (1, 5, 0.9375)
    assert median_ci_ranks(6) == (1, 6, 0.96875)
    assert median_ci_ranks(10) == (2, 9, 1 - 2 * 11 / 1024)
    assert median_ci_ranks(1) is None
    s = Stats.of([5.0, 1.0, 4.0, 2.0, 3.0, 9.0, 7.0, 8.0, 6.0, 10.0])
    assert (s.ci_low, s.median, s.ci_high) == (2.0, 5.5, 9.0)   # 2nd and 9th of 10


@pytest.mark.parametrize("dist,median", [
    ("normal", 0.0), ("exponential", math.log(2)), ("lognormal", 1.0)])
@pytest.mark.parametrize("n", [6, 15, 40])
def test_median_interval_covers_a_known_median_as_often_as_it_says(dist, median, n):
    rng = np.random.default_rng(1000 + n)
    trials = 4000
    draw = {"normal": lambda: rng.normal(0.0, 1.0, n),
            "exponential": lambda: rng.exponential(1.0, n),
            "lognormal": lambda: rng.lognormal(0.0, 1.0, n)}[dist]
    hits = 0
    for _ in range(trials):
        s = Stats.of(draw())
        hits += s.ci_low <= median <= s.ci_high
    level = median_ci_ranks(n)[2]
    sigma = math.sqrt(level * (1 - level) / trials)
    # exact for continuous data: the observed rate is within 4 sigma of the stated level
    assert abs(hits / trials - level) < 4 * sigma, (hits / trials, level)


def test_ties_one_sample_and_non_finite_values():
    s = Stats.of([3.0] * 7)                # every repeat tied
    assert (s.median, s.ci_low, s.ci_high, s.stdev, s.cv) == (3.0, 3.0, 3.0, 0.0, 0.0)
    assert s.relative_half_width == 0.0
    one = Stats.of([2.5])
    assert (one.ci_low, one.ci_high, one.ci_level, one.half_width) == (None, None, None, None)
    two = Stats.of([1.0, 3.0])
    assert (two.ci_low, two.ci_high, two.ci_level) == (1.0, 3.0, 0.5)
    zero = Stats.of([0.0, 0.0, 0.0])
    assert zero.cv is None and zero.relative_half_width is None
    for bad in ([1.0, math.inf], [math.nan], [-math.inf, 2.0]):
        with pytest.raises(ValueError, match="finite"):
            Stats.of(bad)
    negative = Stats.of([-3.0, -1.0, -2.0, -5.0, -4.0, -6.0])
    assert negative.ci_high < 0 and negative.excludes_zero


def test_a_ratio_whose_denominator_interval_includes_zero_is_undefined_with_the_reason():
    with pytest.raises(stats.UndefinedFigure,
                       match=r"overhead's 98% interval includes zero, so the ratio is undefined"):
        stats.ratio_of_medians([1.0] * 7, [-1.0, 2.0, 3.0, -4.0, 1.0, 2.0, 0.5], paired=True,
                               what="overhead")
    with pytest.raises(stats.UndefinedFigure, match=r"run_only is 0 \(one repeat"):
        stats.ratio_of_medians([1.0], [0.0], paired=True, what="run_only")
    one = stats.ratio_of_medians([3.0], [2.0], paired=True)
    assert (one.median, one.ci_low, one.ci_high) == (1.5, None, None)


def test_a_ratio_is_the_ratio_of_the_medians_never_the_median_of_ratios():
    num = [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]
    den = [0.5, 0.6, 2.0, 4.0, 8.0, 9.0, 10.0]   # median 4; median of 1/den is 0.25 too ...
    num2 = [2.0, 1.0, 3.0, 1.0, 1.0, 5.0, 1.0]   # ... but here median(num2/den) = 0.25 != 1/4
    r = stats.ratio_of_medians(num2, den, paired=True)
    assert r.median == float(np.median(num2)) / float(np.median(den)) == 0.25
    assert float(np.median(np.asarray(num2) / np.asarray(den))) != r.median
    assert r.ci_low <= r.median <= r.ci_high and r.samples == ()
    assert stats.ratio_of_medians(num, den, paired=False).median == 0.25


@pytest.mark.parametrize("paired", [True, False])
def test_the_bootstrap_interval_agrees_with_scipy(paired):
    scipy_stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(11)
    a = rng.lognormal(0.0, 0.3, 80)
    b = rng.lognormal(1.0, 0.2, 80)
    mine = stats.ratio_of_medians(a, b, paired=paired)

    def ratio(x, y, axis=-1):
        return np.median(x, axis=axis) / np.median(y, axis=axis)

    ref = scipy_stats.bootstrap((a, b), ratio, paired=paired, vectorized=True, n_resamples=20000,
                                method="percentile", confidence_level=0.95,
                                random_state=np.random.default_rng(5)).confidence_interval
    width = ref.high - ref.low
    # Two bootstraps with different draws: the ends agree to a few percent of the width.
    assert abs(mine.ci_low - ref.low) < 0.08 * width
    assert abs(mine.ci_high - ref.high) < 0.08 * width


def test_the_median_interval_agrees_with_scipy_binomtest():
    scipy_stats = pytest.importorskip("scipy.stats")
    for n in (6, 10, 25, 60):
        j, k, level = median_ci_ranks(n, 0.95)
        # The order-statistic interval is the sign test's: coverage from scipy's binomial.
        assert level == pytest.approx(1 - 2 * scipy_stats.binom.cdf(j - 1, n, 0.5), rel=1e-12)
        assert 1 - 2 * scipy_stats.binom.cdf(j, n, 0.5) < 0.95 or j + 1 > n // 2


@pytest.mark.parametrize("n,m", [(4, 5), (7, 7), (10, 12)])
def test_the_exact_u_distribution_agrees_with_scipy(n, m):
    scipy_stats = pytest.importorskip("scipy.stats")
    counts = twosample._u_null_counts(n, m)
    total = math.comb(n + m, n)
    rng = np.random.default_rng(n * m)
    for _ in range(5):
        a, b = rng.standard_normal(n), rng.standard_normal(m) + 0.5
        u = int(sum(1 for x in a for y in b if x > y))   # U of a: pairs with a above b
        p = scipy_stats.mannwhitneyu(a, b, alternative="less", method="exact").pvalue
        assert sum(counts[:u + 1]) / total == pytest.approx(p, rel=1e-9)


# ---------------------------------------------------------------------- two samples

def brute_force_u_counts(n: int, m: int) -> list[int]:
    """U (pairs with b above a) of every way to split the ranks 1..n+m into a and b."""
    counts = [0] * (n * m + 1)
    for a in itertools.combinations(range(n + m), n):
        b = [r for r in range(n + m) if r not in a]
        counts[sum(1 for x in a for y in b if y > x)] += 1
    return counts


@pytest.mark.parametrize("n,m", [(1, 1), (2, 3), (3, 4), (4, 4), (5, 6), (6, 3)])
def test_u_null_distribution_matches_enumeration(n, m):
    assert twosample._u_null_counts(n, m) == brute_force_u_counts(n, m)


def test_u_critical_values():
    assert u_critical(3, 3) is None        # 1/20 > 2.5%: no 95% interval from 3 and 3 blocks
    assert u_critical(4, 4) == (0, 1 - 2 / 70)
    counts = brute_force_u_counts(5, 6)
    c, level = u_critical(5, 6)
    total = math.comb(11, 5)
    assert sum(counts[:c + 1]) / total <= 0.025 < sum(counts[:c + 2]) / total
    assert level == pytest.approx(1 - 2 * sum(counts[:c + 1]) / total)
    # the normal approximation (large samples) keeps its promised level
    c, level = u_critical(80, 90)
    assert level >= 0.95 and 0 < c < 80 * 90 / 2


def test_an_exact_2x_scaling_gives_a_ratio_of_2():
    a = [1.0, 1.3, 0.9, 1.1, 1.05, 0.97, 1.2]
    s = ratio_ci(a, [2 * x for x in a])
    assert s.estimate == pytest.approx(2.0, rel=1e-12)
    assert s.ci_low < 2.0 < s.ci_high
    with pytest.raises(stats.UndefinedFigure):
        ratio_ci([1.0, 0.0], [1.0, 2.0])


@pytest.mark.parametrize("n,m", [(8, 8), (5, 12), (60, 70)])
def test_shift_interval_covers_a_known_ratio_as_often_as_it_says(n, m):
    rng = np.random.default_rng(7 * n + m)
    true_ratio, trials, hits = 1.3, 1500, 0
    level = None
    for _ in range(trials):
        a = rng.lognormal(0.0, 0.3, n)
        b = true_ratio * rng.lognormal(0.0, 0.3, m)
        s = ratio_ci(a, b)
        level = s.ci_level
        hits += s.ci_low <= true_ratio <= s.ci_high
    sigma = math.sqrt(level * (1 - level) / trials)
    assert hits / trials > level - 4 * sigma, (hits / trials, level)
    assert hits / trials < level + 4 * sigma + 0.01


def test_shift_of_differences_keeps_its_sign():
    a = [0.010, 0.012, 0.011, 0.009, 0.010, 0.013]
    s = shift_ci(a, [x - 0.020 for x in a])
    assert s.estimate == pytest.approx(-0.020)
    assert s.ci_high < 0


@pytest.mark.parametrize("n,m,shift", [(5, 6, 0.0), (8, 8, 0.7), (30, 40, 0.3), (60, 70, 0.2)])
def test_the_mann_whitney_p_value_agrees_with_scipy(n, m, shift):
    scipy_stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(n + m)
    a, b = rng.standard_normal(n), rng.standard_normal(m) + shift
    method = "exact" if n * m <= twosample.EXACT_U_MAX_CELLS else "asymptotic"
    want = scipy_stats.mannwhitneyu(b, a, alternative="two-sided", method=method).pvalue
    assert twosample.mann_whitney_p(a, b) == pytest.approx(want, rel=1e-9)


def test_holm_rejects_step_down_exactly():
    # m = 4, alpha 0.05: thresholds 0.0125, 0.01667, 0.025, 0.05 in p order.
    assert twosample.holm([0.01, 0.04, 0.012, 0.02]) == [True, True, True, True]
    assert twosample.holm([0.01, 0.04, 0.03, 0.02]) == [True, False, False, False]  # 0.02 > 0.0167
    assert twosample.holm([0.013, 0.001, 0.9, 0.016]) == [True, True, False, True]
    assert twosample.holm([0.02, 0.001]) == [True, True] and twosample.holm([0.03, 0.03]) == [False, False]
