"""Issue 19's benchmark, one command that prints every figure (quoted in reports, never a test
threshold: the figures depend on the machine and its load):

    python benchmarks/issue19.py [--runs 20] [--max-time 15] [--config 768x256] [--save DIR]
    python benchmarks/issue19.py --load DIR      # the figures again from saved runs

1. The round trip's 95% half-width at the configuration on the CPU backend, in the default time
   per configuration: from the per-pass pairs on the wall clock and on the thread's CPU clock,
   and (for comparison) from today's block pairs; memcpy_only's (the copy measured directly).
2. ``--runs`` back-to-back runs of the same code on the same machine (A/A): over all pairs of
   runs, the share of per-figure verdicts that say faster/slower/larger/smaller (false verdicts),
   and the share of pairs where ``--fail-if-slower 5%`` would fire.
The load average is printed at start and end.
"""

from __future__ import annotations

import argparse
import glob
import itertools
import os
import pathlib
import time

import anethru
from anethru.results.derived import derive

FALSE = {"faster", "slower", "larger", "smaller"}


def half_width_us(stats) -> str:
    hw = None if stats is None else stats.half_width
    return "-" if hw is None else f"+/-{hw * 1e3:.1f} us ({stats.ci_level:.0%}, n={stats.n})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--max-time", type=float, default=15.0)
    ap.add_argument("--config", default="768x256")
    ap.add_argument("--save", help="write each run to DIR/run-NN.json")
    ap.add_argument("--load", help="read the runs from DIR/run-*.json instead of measuring")
    a = ap.parse_args()
    c, s = (int(x) for x in a.config.split("x"))
    print(f"load average at start: {os.getloadavg()}")
    runs = []
    t0 = time.monotonic()
    saved = sorted(glob.glob(os.path.join(a.load, "run-*.json"))) if a.load else []
    for i in range(len(saved) if a.load else a.runs):
        if a.load:
            r = anethru.load_results(pathlib.Path(saved[i]))[0]
        else:
            r = anethru.run_ceiling(c, s, backend="cpu", max_time=a.max_time)
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
        verdicts = false = pairs_fired = 0
        for x, y in itertools.combinations(runs, 2):
            cmp = anethru.compare(x, y)
            for _, row, ch in cmp.changes():
                verdicts += 1
                false += ch.verdict in FALSE
            pairs_fired += bool(cmp.slower_than(0.05))
        n = len(runs) * (len(runs) - 1) // 2
        print(f"A/A over {n} pairs: {false} of {verdicts} verdicts false "
              f"({false / max(verdicts, 1):.1%}); --fail-if-slower 5% fires in {pairs_fired} "
              f"pairs ({pairs_fired / n:.1%})")
    print(f"load average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
