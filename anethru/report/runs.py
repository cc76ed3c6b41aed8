"""Several runs of one configuration side by side: how far apart the runs' medians are."""

from __future__ import annotations

import statistics
from typing import TYPE_CHECKING, Sequence

from anethru.report.common import RULE
from anethru.results.runs import MIN_RUNS, group_runs
from anethru.units import duration, ratio, row_unit

if TYPE_CHECKING:
    from anethru.results.ceiling import CeilingResult

# The figures shown per configuration: every test, then the round trip on each clock.
_DERIVED = ("round_trip_overhead", "round_trip_overhead_cpu")


def between_runs_rows(results: Sequence["CeilingResult"]) -> list[list[str]]:
    """One row per figure of every configuration with several runs: config, figure, runs, the
    median of the runs' medians, their range, and the spread (largest / smallest - 1)."""
    groups, _ = group_runs(list(results))
    rows = []
    for g in groups:
        if len(g.runs) < 2:
            continue
        names = list(g.first.tests) + [n for n in _DERIVED if n in g.first.derived]
        for name in names:
            m = sorted(g.medians(name))
            if not m:
                continue
            mid = statistics.median(m)
            unit = g.first.derived[name].unit if name in g.first.derived else "ms"
            if unit == "ms":
                u = row_unit(mid, m[0], m[-1])
                shown = [duration(mid, u), f"{duration(m[0], u)} .. {duration(m[-1], u)}"]
            else:
                shown = [ratio(mid), f"{ratio(m[0])} .. {ratio(m[-1])}"]
            spread = f"{m[-1] / m[0] - 1:.1%}" if m[0] > 0 else "-"
            rows.append([g.first.config.label, name, str(len(m))] + shown + [spread])
    return rows


HEAD = ["config", "figure", "runs", "median of runs", "range of runs' medians", "spread"]


def between_runs_table(results: Sequence["CeilingResult"]) -> str:
    """The text table (empty when no configuration has several runs)."""
    rows = between_runs_rows(results)
    if not rows:
        return ""
    table = [HEAD] + rows
    widths = [max(len(r[i]) for r in table) for i in range(len(HEAD))]
    lines = [RULE, f" between runs (each run's median; compare judges between runs from "
                   f"{MIN_RUNS} runs per input)", RULE]
    lines += [" " + "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in table]
    return "\n".join(lines)
