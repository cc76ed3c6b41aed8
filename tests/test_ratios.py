"""Every printed ratio is the ratio of the printed medians (issue 19, section 2): a reader who
divides the two figures the report shows gets the figure it prints, to the digits shown."""

from __future__ import annotations

import re

import numpy as np
import pytest

from anethru.results.ceiling import CeilingResult, ChainCheck, Config, TestResult

KERNELS = 12
UNITS = {"s": 1e3, "ms": 1.0, "us": 1e-3, "ns": 1e-6}
ROW = re.compile(r"^ (\w+)\s+(kernel|copy)\s+(-?[\d.]+) \[\S+ \.\. \S+\] (s|ms|us|ns)\b")
VALUE = re.compile(r"^\s+(-?[\d.]+)(x| \[\S+ \.\. \S+\] (s|ms|us|ns)|x \[)")


def noisy_result(seed: int) -> CeilingResult:
    """Blocks with skewed noise, so the median of per-repeat ratios differs from the ratio of
    the medians (the two coincide only when every repeat is alike)."""
    rng = np.random.default_rng(seed)
    n, iters = 15, 5
    run = 2.0e6 * rng.lognormal(0, 0.15, n)                       # ns per pass
    pass_ns = {"run_only": run,
               "sequential": run + 11 * 40e3 * rng.lognormal(0, 0.3, n),
               "memcpy_only": 11 * 10e3 * rng.lognormal(0, 0.2, n),
               "serial_queue": 2.3e6 * rng.lognormal(0, 0.15, n),
               "chained": 1.9e6 * rng.lognormal(0, 0.15, n)}
    tests = {}
    for name, per_pass in pass_ns.items():
        unit, per = ("copy", KERNELS - 1) if name == "memcpy_only" else ("kernel", KERNELS)
        tests[name] = TestResult(name, unit, per, iters, tuple(int(x * iters) for x in per_pass))
    config = Config("cpu", 64, 32, KERNELS, 4096, False, 5, n, "identity", seed,
                    tuple(t for _ in range(n) for t in tests))
    return CeilingResult.build(config=config, tests=tests, device="d", simulated=False,
                               compile_ms=1.0, check=ChainCheck("identity", ("sequential",), True,
                                                                0, 0, True),
                               unsupported={}, machine={}, clock="c", anethru_version="t")


def printed(text: str) -> tuple[dict, dict]:
    """(per-test printed median in ms, derived figure -> printed value) from a text report."""
    rows, derived, lines = {}, {}, text.splitlines()
    for i, line in enumerate(lines):
        m = ROW.match(line)
        if m:
            rows[m.group(1)] = float(m.group(3)) * UNITS[m.group(4)]
        if line.rstrip().endswith(":") and i + 1 < len(lines) and "   = " in lines[i + 1]:
            v = re.match(r"^\s+(-?[\d.]+)(x)?(?: \[\S+ \.\. \S+\])?(?: (s|ms|us|ns))?\s", lines[i + 1])
            if v:
                derived[line.strip()[:-1]] = float(v.group(1)) * (1 if v.group(2) else UNITS[v.group(3)])
    return rows, derived


@pytest.mark.parametrize("seed", range(6))
def test_every_printed_ratio_is_the_ratio_of_the_printed_medians(seed):
    r = noisy_result(seed)
    rows, derived = printed(str(r))
    overhead = derived["round-trip overhead per layer (what chaining would eliminate)"]
    share = derived["memcpy's share of that overhead"]
    queue = derived["serial queue / direct evals"]
    # The report shows 4 significant digits: a ratio of two printed figures agrees to ~1e-3.
    assert share == pytest.approx(rows["memcpy_only"] / overhead, rel=2e-3)
    assert queue == pytest.approx(rows["serial_queue"] / rows["run_only"], rel=2e-3)
    # ... which is not what the median of per-repeat ratios would have printed.
    seq, run, mem, sq = (np.asarray(r.tests[t].block_ns, float) / r.tests[t].iters
                         for t in ("sequential", "run_only", "memcpy_only", "serial_queue"))
    per_repeat = np.median(mem / (seq - run))
    assert per_repeat != pytest.approx(share, rel=2e-3) or \
        float(np.median(sq / run)) != pytest.approx(queue, rel=2e-3)


def test_an_unresolved_overhead_prints_a_bound_and_no_share():
    r = noisy_result(0)
    tests = dict(r.tests)
    # sequential = run_only plus symmetric noise: the overhead's interval spans zero.
    rng = np.random.default_rng(1)
    run = np.asarray(tests["run_only"].block_ns, float)
    seq = run + rng.normal(0, 3e5, len(run))
    tests["sequential"] = TestResult("sequential", "kernel", KERNELS, tests["run_only"].iters,
                                     tuple(int(x) for x in seq))
    u = CeilingResult.build(config=r.config, tests=tests, device="d", simulated=False,
                            compile_ms=1.0, check=r.check, unsupported={}, machine={}, clock="c",
                            anethru_version="t")
    s = u.derived["round_trip_overhead"].stats
    assert s.ci_low < 0 < s.ci_high
    bound = max(-s.ci_low, s.ci_high)
    text = str(u)
    m = re.search(r"not resolved: \|overhead\| < (-?[\d.]+) (s|ms|us|ns) per layer \((\d+)% bound\)",
                  text)
    assert m and float(m.group(1)) * UNITS[m.group(2)] == pytest.approx(bound, rel=1e-3)
    assert u.derived["memcpy_share"].stats is None
    assert "round_trip_overhead is not resolved: |overhead| < " in u.derived["memcpy_share"].undefined
    doc = u.to_dict()["derived"]["memcpy_share"]
    assert doc["stats"] is None and "not resolved" in doc["undefined"]
