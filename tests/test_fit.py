"""The latency + bandwidth model (anethru/results/fit.py, crossover.py) on synthetic points
whose answers are known: alpha and beta recovered within their intervals (and the intervals
covering them about as often as they claim), the weighted line against numpy's, a cache cliff
found where it is and nowhere else, badly explained sizes named, crossings at the exact size."""

from __future__ import annotations

import math

import numpy as np
import pytest

from anethru.results import crossover, fit

ALPHA, BETA = 0.02, 2e-7          # ms, ms per byte: 20 us of latency, 5 GB/s
SIZES = np.geomspace(4096, 2 ** 21, 12)
LABELS = [f"p{i}" for i in range(len(SIZES))]


def noisy(true: np.ndarray, seed: int, repeats: int = 15, sigma: float = 0.05) -> list:
    """Per-size repeats around ``true`` with multiplicative (log-normal) noise: the median of
    each size's distribution is exactly ``true``."""
    rng = np.random.default_rng(seed)
    return [t * np.exp(rng.normal(0, sigma, repeats)) for t in true]


def model_of(samples: list, x: np.ndarray = SIZES) -> fit.ModelFit:
    idx = fit.resample_indices([len(s) for s in samples])
    boot = fit.bootstrap_medians(samples, idx)
    medians = np.array([np.median(s) for s in samples])
    return fit.fit_model(LABELS[:len(x)], x, medians, boot)


def test_alpha_and_beta_are_recovered_within_their_intervals():
    m = model_of(noisy(ALPHA + BETA * SIZES, seed=1))
    line = m.line
    assert line.alpha_ci[0] <= ALPHA <= line.alpha_ci[1]
    assert line.beta_ci[0] <= BETA <= line.beta_ci[1]
    assert line.alpha == pytest.approx(ALPHA, rel=0.1) and line.beta == pytest.approx(BETA, rel=0.05)
    assert line.r_squared > 0.99 and m.one_line and not m.bad
    assert line.sizes == 12 and line.bytes_range == (SIZES[0], SIZES[-1])


def test_the_intervals_cover_the_truth_about_as_often_as_they_claim():
    # 95% intervals over 120 synthetic sweeps: a wrong bootstrap (unpaired, or resampling the
    # medians instead of the repeats) covers far less or far more often.
    hits_a = hits_b = 0
    n = 120
    for seed in range(n):
        line = model_of(noisy(ALPHA + BETA * SIZES, seed=100 + seed)).line
        hits_a += line.alpha_ci[0] <= ALPHA <= line.alpha_ci[1]
        hits_b += line.beta_ci[0] <= BETA <= line.beta_ci[1]
    assert 0.85 <= hits_a / n <= 1.0 and 0.85 <= hits_b / n <= 1.0
    # ... and they are not trivially wide
    line = model_of(noisy(ALPHA + BETA * SIZES, seed=7)).line
    assert (line.beta_ci[1] - line.beta_ci[0]) / BETA < 0.2


def test_exact_points_give_the_exact_line_and_zero_width_intervals():
    exact = [np.full(5, ALPHA + BETA * x) for x in SIZES]
    line = model_of(exact).line
    assert line.alpha == pytest.approx(ALPHA, rel=1e-9) and line.beta == pytest.approx(BETA, rel=1e-9)
    assert line.alpha_ci == pytest.approx((ALPHA, ALPHA), rel=1e-9)
    assert line.r_squared == pytest.approx(1.0, abs=1e-12)
    assert all(abs(r.residual) < 1e-12 for r in line.residuals)


def test_weighted_line_agrees_with_numpy_polyfit():
    rng = np.random.default_rng(3)
    x = np.geomspace(100, 1e6, 9)
    y = 3.0 + 0.5 * x + rng.normal(0, 10, 9)
    w = rng.uniform(0.1, 2.0, 9)
    alpha, beta = fit.weighted_line(x, y, w)
    # polyfit minimises sum((w_i * r_i)^2): its weights are the square roots of ours
    b, a = np.polyfit(x, y, 1, w=np.sqrt(w))
    assert alpha == pytest.approx(a, rel=1e-9) and beta == pytest.approx(b, rel=1e-9)


def test_a_purely_linear_sweep_is_never_split():
    assert all(model_of(noisy(ALPHA + BETA * SIZES, seed=300 + s)).one_line for s in range(60))


CLIFF = 2 ** 19   # a 512 KiB cache: beyond it each byte costs 6x as much


def cliff_truth(x: np.ndarray) -> np.ndarray:
    return np.where(x <= CLIFF, ALPHA + BETA * x, ALPHA + BETA * CLIFF + 6 * BETA * (x - CLIFF))


@pytest.mark.parametrize("seed", range(5))
def test_a_cache_cliff_is_found_where_it_is_and_each_side_fitted_apart(seed):
    m = model_of(noisy(cliff_truth(SIZES), seed=seed))
    assert not m.one_line
    below = max(x for x in SIZES if x <= CLIFF)
    above = min(x for x in SIZES if x > CLIFF)
    assert m.breaks == [(pytest.approx(below), pytest.approx(above))]
    first, second = m.regions
    assert first.beta_ci[0] <= BETA <= first.beta_ci[1]
    assert second.beta_ci[0] <= 6 * BETA <= second.beta_ci[1]
    assert m.line.bad, "the single line must name the sizes it explains badly"
    assert not m.bad, "each region's own line explains its sizes"
    d = m.to_dict()
    assert d["one_line_describes"] is False and len(d["regions"]) == 2


def test_a_size_far_off_the_line_is_named_and_only_it():
    true = ALPHA + BETA * SIZES
    true[5] *= 1.6
    m = model_of(noisy(true, seed=11))
    assert [r.label for r in m.line.bad] == ["p5"]
    r = m.line.residuals[5]
    assert r.z > fit.BAD_FIT_Z and r.residual > fit.BAD_FIT_REL * r.fitted


def test_too_few_sizes_is_a_clear_error():
    samples = noisy(ALPHA + BETA * SIZES[:2], seed=0)
    with pytest.raises(ValueError, match="3 or more different sizes; 2 measured"):
        model_of(samples, SIZES[:2])


def test_percentile_bounds_are_order_statistics_and_keep_infinities():
    v = np.arange(1, 101, dtype=float)
    assert fit.percentile_ci(v) == (3.0, 98.0)
    v[-10:] = math.inf
    assert fit.percentile_ci(v) == (3.0, math.inf)


# ---------------------------------------------------------------------- crossings

def crossing_of(overhead: list, kernel: list, x: np.ndarray, share: float, side=None):
    idx = fit.resample_indices([len(s) for s in overhead])
    bo, bk = fit.bootstrap_medians(overhead, idx), fit.bootstrap_medians(kernel, idx)
    mo = np.array([np.median(s) for s in overhead])
    mk = np.array([np.median(s) for s in kernel])
    return crossover.crossing(x, mo, mk, bo, bk, share, side)


def test_the_crossover_of_a_growing_round_trip_and_a_flat_kernel_is_exact():
    # round trip alpha + beta x, kernel a flat 0.1 ms (a dispatch floor): equal at x* exactly
    kappa = 0.1
    x_star = (kappa - ALPHA) / BETA                        # 400000 bytes
    exact_o = [np.full(4, ALPHA + BETA * x) for x in SIZES]
    exact_k = [np.full(4, kappa) for _ in SIZES]
    c = crossing_of(exact_o, exact_k, SIZES, 0.5)
    assert c.status == "crossed" and c.side == "above"
    assert c.bytes == pytest.approx(x_star, rel=1e-9)
    assert (c.ci_low, c.ci_high) == (pytest.approx(x_star, rel=1e-9),) * 2
    # with noise, the interval covers it
    noisy_c = crossing_of(noisy(ALPHA + BETA * SIZES, 5), noisy(np.full(12, kappa), 6), SIZES, 0.5)
    assert noisy_c.ci_low <= x_star <= noisy_c.ci_high
    assert noisy_c.ci_high / noisy_c.ci_low < 1.5


def test_the_size_from_which_a_shrinking_share_stays_under_ten_percent_is_exact():
    # kernel grows faster than the round trip: 0.5 us + 1e-6 ms/B against 20 us + 2e-8 ms/B
    a_o, b_o, a_k, b_k = 0.02, 2e-8, 0.0005, 1e-6
    x10 = (a_k / 9 - a_o) / (b_o - b_k / 9)              # o = k / 9: a 10% share
    x50 = (a_k - a_o) / (b_o - b_k)                       # o = k
    assert SIZES[0] < x50 < x10 < SIZES[-1]
    o = [np.full(3, a_o + b_o * x) for x in SIZES]
    k = [np.full(3, a_k + b_k * x) for x in SIZES]
    small = crossing_of(o, k, SIZES, 0.1, side=crossover.BELOW)
    assert small.status == "crossed" and small.bytes == pytest.approx(x10, rel=1e-9)
    cross = crossing_of(o, k, SIZES, 0.5)
    assert cross.side == "below" and cross.bytes == pytest.approx(x50, rel=1e-9)


def test_crossings_outside_the_range_say_so():
    o = [np.full(3, 1.0) for _ in SIZES]
    k = [np.full(3, 100.0) for _ in SIZES]      # round trip 1% everywhere
    c = crossing_of(o, k, SIZES, 0.5)
    assert (c.status, c.side, c.bytes, c.ci_low, c.ci_high) == ("throughout", "below", None, None, None)
    small = crossing_of(o, k, SIZES, 0.1, side=crossover.BELOW)
    assert small.status == "throughout"
    big = crossing_of(k, o, SIZES, 0.1, side=crossover.BELOW)   # round trip 99% everywhere
    assert big.status == "not_reached" and big.bytes is None
    assert crossing_of(k, o, SIZES, 0.5).status == "throughout"   # above at every size


def test_only_the_last_crossing_counts():
    x = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    g = np.array([[1.0, -1.0, 1.0, -1.0, -3.0]])   # dips below, back above, below for good
    assert crossover.settling_position(x, g, crossover.BELOW)[0] == pytest.approx(3.5)
    assert crossover.settling_position(x, g, crossover.ABOVE)[0] == math.inf
    assert crossover.settling_position(x, -np.abs(g), crossover.BELOW)[0] == -math.inf


def test_a_bad_share_is_refused():
    with pytest.raises(ValueError, match="share must be in"):
        crossover.crossing(SIZES, np.ones(12), np.ones(12), np.ones((2, 12)), np.ones((2, 12)), 1.0)
