"""Issue 19's benchmark, one command that prints every figure (quoted in reports, never a test
threshold: the figures depend on the machine and its load):

    python benchmarks/issue19.py [--runs 20] [--per-input 3] [--max-time 15] [--config 768x256]
                                 [--save DIR]
    python benchmarks/issue19.py --load DIR      # the figures again from saved runs (a folder
                                                 # of run-NN.json, or one suite file such as
                                                 # benchmarks/data/aa-768x256-cpu-2026-12-08.json)

1. The round trip's 95% half-width at the configuration on the CPU backend, in the default time
   per configuration: from the per-pass pairs on the wall clock and on the thread's CPU clock,
   and (for comparison) from today's block pairs; memcpy_only's (the copy measured directly).
2. ``--runs`` back-to-back invocations of the same code on the same machine (A/A), each
   measuring ``--per-input`` runs (``anethru --runs 3``): over all pairs of invocations, the
   share of per-figure verdicts that say faster/slower/larger/smaller (false verdicts), and the
   share of pairs where ``--fail-if-slower 5%`` would fire; the same over all pairs of single
   runs (judged with the single-run floor).
3. The spread between runs: per figure, the runs' medians' log standard deviation, split into a
   shift common to every test of a run and the rest (the noise model of
   tests/test_compare_runs.py), and the largest ratio between two runs' medians (what the
   single-run floor, anethru.results.runs.SINGLE_RUN_FLOOR, must exceed).
The load average is printed at start and end.
"""

from __future__ import annotations

import argparse
import glob
import itertools
import os
import pathlib
import time

import numpy as np

import anethru
from anethru.results.derived import derive

FALSE = {"faster", "slower", "larger", "smaller"}


def half_width_us(stats) -> str:
    hw = None if stats is None else stats.half_width
    return "-" if hw is None else f"+/-{hw * 1e3:.1f} us ({stats.ci_level:.0%}, n={stats.n})"


def aa(what: str, inputs: list) -> None:
    """Every pair of inputs of the same code compared: the false verdicts and gate firings."""
    verdicts = false = fired = 0
    for x, y in itertools.combinations(inputs, 2):
        cmp = anethru.compare(x, y)
        for _, row, ch in cmp.changes():
            verdicts += 1
            false += ch.verdict in FALSE
        fired += bool(cmp.slower_than(0.05))
    n = len(inputs) * (len(inputs) - 1) // 2
    print(f"A/A, {what}, over {n} pairs: {false} of {verdicts} verdicts false "
          f"({false / max(verdicts, 1):.1%}); --fail-if-slower 5% fires in {fired} pairs "
          f"({fired / n:.1%})")


def spread(runs: list) -> None:
    """Per figure: the runs' medians' log SD, its part common to a run's tests, the rest, and
    the largest ratio between two runs."""
    tests = list(runs[0].tests)
    logs = np.log([[r.tests[t].per_unit_ms.median for t in tests] for r in runs])
    common = logs.mean(axis=1)
    print(f"between runs: the shift common to a run's tests has log SD {common.std(ddof=1):.3f}")
    for j, t in enumerate(tests):
        m = np.exp(logs[:, j])
        print(f"  {t:<14} log SD {logs[:, j].std(ddof=1):.3f}, beyond the common shift "
              f"{(logs[:, j] - common).std(ddof=1):.3f}; largest ratio of two runs "
              f"{m.max() / m.min():.3f}")
    for name in ("round_trip_overhead", "round_trip_overhead_cpu"):
        m = np.array([r.derived[name].stats.median for r in runs
                      if name in r.derived and r.derived[name].stats is not None])
        if len(m) > 1 and m.min() > 0:
            print(f"  {name:<14} log SD {np.log(m).std(ddof=1):.3f}; largest ratio of two runs "
                  f"{m.max() / m.min():.3f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=20, help="invocations (A/A inputs)")
    ap.add_argument("--per-input", type=int, default=3, help="runs per invocation (--runs N)")
    ap.add_argument("--max-time", type=float, default=15.0)
    ap.add_argument("--config", default="768x256")
    ap.add_argument("--save", help="write each run to DIR/run-NN.json")
    ap.add_argument("--load", help="read the runs from DIR/run-*.json, or from one suite file, "
                                   "instead of measuring")
    a = ap.parse_args()
    c, s = (int(x) for x in a.config.split("x"))
    print(f"load average at start: {os.getloadavg()}")
    runs = []
    t0 = time.monotonic()
    saved: list = []
    if a.load and os.path.isfile(a.load):   # one suite file: its results are the runs
        saved = anethru.load_results(pathlib.Path(a.load))
    elif a.load:
        saved = sorted(glob.glob(os.path.join(a.load, "run-*.json")))
    fresh = iter(())
    for i in range(len(saved) if a.load else a.runs * a.per_input):
        if a.load:
            r = saved[i] if isinstance(saved[i], anethru.CeilingResult) else \
                anethru.load_results(pathlib.Path(saved[i]))[0]
        else:   # one invocation of `anethru --runs N`, then its runs one by one
            r = next(fresh, None)
            if r is None:
                fresh = iter(anethru.run_suite([(c, s)], runs=a.per_input, backend="cpu",
                                               max_time=a.max_time))
                r = next(fresh)
        if a.save:
            os.makedirs(a.save, exist_ok=True)
            pathlib.Path(a.save, f"run-{i + 1:02d}.json").write_text(r.to_json())
        runs.append(r)
        d = r.derived
        blocks = derive(r.tests, r.config.kernels)["round_trip_overhead"].stats
        print(f"run {i + 1:2d}: {r.config.repeats} rounds, {len(r.pairs)} pairs, stopped by "
              f"{r.stopping.stopped_by}; overhead wall {half_width_us(d['round_trip_overhead'].stats)}"
              f", thread CPU {half_width_us(d['round_trip_overhead_cpu'].stats)}, "
              f"blocks {half_width_us(blocks)}; memcpy_only "
              f"{r.tests['memcpy_only'].per_unit_ms.median * 1e3:.2f} us "
              f"{half_width_us(r.tests['memcpy_only'].per_unit_ms)}", flush=True)
    print(f"{len(runs)} runs in {time.monotonic() - t0:.0f} s")
    if len(runs) > 1:
        aa("single runs", [[r] for r in runs])
    inputs = [runs[i:i + a.per_input] for i in range(0, len(runs) - a.per_input + 1, a.per_input)]
    if a.per_input > 1 and len(inputs) > 1:
        aa(f"inputs of {a.per_input} runs", inputs)
    spread(runs)
    print(f"load average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
