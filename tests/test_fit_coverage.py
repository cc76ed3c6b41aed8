"""The fit's intervals cover with scatter between sizes (issue 19, section 4): sizes that drift
by 2% about the line, more than their within-size spread, widen the intervals by the Birge
ratio; seeded simulation."""

from __future__ import annotations

import numpy as np

from anethru.results import fit

ALPHA, BETA = 15.0, 0.002          # us, us per byte
X = np.array([4e3, 8e3, 16e3, 32e3, 64e3, 128e3, 256e3, 512e3])


def one_sweep(rng, scatter):
    truth = ALPHA + BETA * X
    drift = 1 + scatter * rng.standard_normal(len(X))          # between sizes
    samples = [t * d * (1 + 0.005 * rng.standard_normal(12)) for t, d in zip(truth, drift)]
    idx = fit.resample_indices([len(s) for s in samples])
    boot = fit.bootstrap_medians(samples, idx)
    med = np.array([np.median(s) for s in samples])
    return fit.fit_line([str(int(x)) for x in X], X, med, boot, fit.standard_errors(med, boot))


def coverage(scatter, n=300):
    rng = np.random.default_rng(19)
    a = b = 0
    for _ in range(n):
        line = one_sweep(rng, scatter)
        a += line.alpha_ci[0] <= ALPHA <= line.alpha_ci[1]
        b += line.beta_ci[0] <= BETA <= line.beta_ci[1]
    return a / n, b / n


def test_intervals_cover_with_2_percent_scatter_between_sizes():
    a, b = coverage(0.02)
    assert a >= 0.90 and b >= 0.90, (a, b)


def test_without_scatter_the_birge_ratio_changes_nothing():
    rng = np.random.default_rng(3)
    truth = ALPHA + BETA * X
    samples = [t * (1 + 0.005 * rng.standard_normal(12)) for t in truth]
    idx = fit.resample_indices([len(s) for s in samples])
    boot = fit.bootstrap_medians(samples, idx)
    med = np.array([np.median(s) for s in samples])
    se = fit.standard_errors(med, boot)
    line = fit.fit_line([str(int(x)) for x in X], X, med, boot, se)
    w = 1 / se ** 2
    spread = boot.std(axis=0, ddof=1)   # the errors the replicates carry
    chi2 = float((((med - (line.alpha + line.beta * X)) / spread) ** 2).sum()) / (len(X) - 2)
    a_star, _ = fit.weighted_line(X, boot, w)
    if chi2 <= 1:   # the replicates are the plain bootstrap's
        assert np.array_equal(line.replicates[:, 0], a_star)
    else:           # widened about the fit by exactly sqrt(chi2)
        assert np.allclose(line.replicates[:, 0] - line.alpha,
                           (a_star - line.alpha) * np.sqrt(chi2), rtol=1e-12)


def test_only_the_region_at_the_smallest_size_reports_an_intercept():
    from anethru.report.sweep import figure_lines
    from anethru.results.model import Figure
    rng = np.random.default_rng(5)
    x = np.array([4e3, 8e3, 16e3, 32e3, 64e3, 128e3, 256e3, 512e3, 1024e3, 2048e3])
    truth = np.where(x < 100e3, 0.015 + 2e-6 * x, 0.5 + 8e-6 * x)   # a cache cliff
    samples = [t * (1 + 0.002 * rng.standard_normal(12)) for t in truth]
    idx = fit.resample_indices([len(s) for s in samples])
    boot = fit.bootstrap_medians(samples, idx)
    med = np.array([np.median(s) for s in samples])
    model = fit.fit_model([str(int(v)) for v in x], x, med, boot)
    assert len(model.regions) >= 2
    lines = figure_lines("round trip", Figure("round_trip_overhead", "ms per layer", model))
    regions = [ln for ln in lines if ln.startswith("       ")]
    assert regions[0].strip().startswith("alpha ")
    assert all(ln.strip().startswith("slope only (the region does not start at the smallest")
               for ln in regions[1:])
