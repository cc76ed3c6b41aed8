"""The stopping rule by seeded simulation (issue 19, section 2): stopping on precision (or on
converged noise), never on significance, keeps every interval true at its stated level, also
when the noise is autocorrelated."""

from __future__ import annotations

import numpy as np
import pytest

from anethru.measure.chain import Measurement
from anethru.measure.stopping import Limits, Precision, measure_until

BASE = {"sequential": 3.0e6, "run_only": 3.0e6, "memcpy_only": 5.0e4}   # ns per pass: no overhead
TESTS = ["sequential", "run_only", "memcpy_only"]


class SimChain:
    """Chain.measure and measure_passes without hardware: pass times = base x (1 + noise), the
    noise i.i.d. or AR(1) (coefficient ``rho``, along the rounds for blocks and along the passes
    for pairs), from one seeded generator.  sequential and run_only have the same distribution:
    the true round trip is zero."""

    kernels = 12
    backend = "sim"

    def __init__(self, seed: int, rho: float = 0.0, cv: float = 0.05) -> None:
        self.rng = np.random.default_rng(seed)
        self.rho, self.cv = rho, cv
        self.state = {t: 0.0 for t in TESTS}
        self.pass_state = 0.0

    def _ar(self, prev: float) -> float:
        # stationary AR(1) with unit variance
        return self.rho * prev + np.sqrt(1 - self.rho ** 2) * self.rng.standard_normal()

    def measure(self, tests, *, iters=None, memcpy_iters=None, warmup=0, repeats=1, seed=None,
                shuffle=False, where=None, **kw):
        tests = list(tests)
        used = iters if isinstance(iters, dict) else \
            {t: (memcpy_iters if t == "memcpy_only" else iters) for t in tests}
        ns = []
        for t in tests:
            self.state[t] = self._ar(self.state[t])
            ns.append(int(BASE[t] * (1 + self.cv * self.state[t]) * used[t]))
        return Measurement(tuple(tests), tuple(ns), used, warmup, 1, seed or 0)

    def measure_passes(self, tests, *, cpu_time=False):
        out = []
        for t in tests:
            self.pass_state = self._ar(self.pass_state)
            out.append(int(BASE[t] * (1 + self.cv * self.pass_state)))
        return out, None


def run(seed: int, rho: float):
    return measure_until(SimChain(seed, rho), TESTS, Precision(0.05), seed=seed,
                         iters=5, limits=Limits(max_time=1e9, min_repeats=6, max_repeats=40))


@pytest.fixture(scope="module")
def null_runs():
    return [run(seed, 0.0) for seed in range(400)]


@pytest.fixture(scope="module")
def ar_runs():
    return [run(10_000 + seed, 0.4) for seed in range(400)]


def overhead_interval(out):
    d = out.pairs.differences_ms(12)
    from anethru.results.stats import Stats
    return Stats.of_series(d)


def test_with_no_round_trip_at_most_5_percent_of_stopped_runs_claim_one(null_runs):
    excluding = sum(1 for out in null_runs if overhead_interval(out).excludes_zero)
    stops = {out.stopping.stopped_by for out in null_runs}
    assert stops <= {"precision", "converged", "max_repeats"}
    assert excluding <= 0.05 * len(null_runs), excluding


@pytest.mark.parametrize("figure", ["sequential", "run_only", "memcpy_only",
                                    "round_trip_overhead"])
def test_with_ar1_noise_every_interval_covers_at_least_90_percent(ar_runs, figure):
    covered = 0
    for out in ar_runs:
        if figure == "round_trip_overhead":
            s, truth = overhead_interval(out), 0.0
        else:
            s = out.measurement.results(12)[figure].per_unit_ms
            truth = BASE[figure] / 1e6 / (11 if figure == "memcpy_only" else 12)
        covered += s.ci_low <= truth <= s.ci_high
    assert covered >= 0.90 * len(ar_runs), covered
