"""One figure of one configuration in two inputs: its value in each (over that input's runs)
and the change with its verdict, by the test the runs allow (anethru.results.runs)."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, replace
from typing import Optional

from anethru.results.ceiling import CeilingResult
from anethru.results.judge import (Change, beyond_floor, judge_difference, judge_runs,
                                   judge_times)
from anethru.results.runs import MIN_RUNS, SINGLE_RUN_FLOOR, RunGroup
from anethru.results.stats import Stats
from anethru.results.twosample import mann_whitney_p


@dataclass(frozen=True)
class Value:
    """One input's figure: median and interval (None where the figure is undefined there).
    Over several runs: the runs' medians (``runs`` of them), their median and interval."""

    stats: Optional[Stats]
    undefined: Optional[str] = None
    runs: int = 1

    def to_dict(self) -> dict:
        s = self.stats
        if s is None:
            return {"median": None, "ci_low": None, "ci_high": None, "ci_level": None, "n": None,
                    "runs": self.runs, "undefined": self.undefined}
        return {"median": s.median, "ci_low": s.ci_low, "ci_high": s.ci_high,
                "ci_level": s.ci_level, "n": s.n, "runs": self.runs, "undefined": None}


def figures_of(r: CeilingResult) -> dict[str, tuple[bool, str]]:
    """name -> (is a test, unit) of every figure a result has."""
    out = {n: (True, f"ms/{t.unit}") for n, t in r.tests.items()}
    for n, d in r.derived.items():
        out[n] = (False, "ms/layer" if d.unit == "ms" else "ratio")
    return out


def value_of(g: RunGroup, name: str) -> Value:
    """The figure in one input: a single run's own statistics, or the runs' medians."""
    if len(g.runs) == 1:
        r = g.first
        if name in r.tests:
            return Value(r.tests[name].per_unit_ms)
        d = r.derived[name]
        return Value(d.stats, d.undefined)
    medians = g.medians(name)
    if not medians:
        why = next((r.derived[name].undefined for r in g.runs if name in r.derived), None)
        return Value(None, why or "undefined in every run", len(g.runs))
    return Value(Stats.of(medians), None, len(medians))


def _pooled(g: RunGroup, name: str) -> list[float]:
    """The per-block (per-pair) samples of every run of the group, pooled."""
    out: list[float] = []
    for r in g.runs:
        s = r.tests[name].per_unit_ms if name in r.tests else r.derived[name].stats
        if s is not None:
            out += list(s.samples)
    return out


def figure_change(name: str, is_test: bool, ref: RunGroup, other: RunGroup, same_within: float,
                  source: str) -> Change:
    """How ``other``'s figure differs from ``ref``'s, with its verdict (before Holm's
    correction, which compare applies over all of them)."""
    derived_unit = None if is_test else ref.first.derived[name].unit
    a, b = ref.medians(name), other.medians(name)
    if len(a) >= MIN_RUNS and len(b) >= MIN_RUNS:
        ratio = is_test or (derived_unit == "ratio" and min(a) > 0 and min(b) > 0)
        words = ("faster", "slower") if is_test else ("smaller", "larger")
        return judge_runs(a, b, same_within, source, ratio=ratio, words=words,
                          in_ms=derived_unit != "ratio")
    fewest = min(len(ref.runs), len(other.runs))
    few = f"{fewest} run{'s' if fewest > 1 else ''}"
    if not is_test:
        # A derived figure is a small difference of large times (or a ratio of one): between
        # single runs it moves far more than the tests do (the round trip by 2x on the
        # development machine), so no floor short of "any" would keep its verdicts honest.
        ch = _derived_interval(derived_unit, _pooled(ref, name), _pooled(other, name), a, b,
                               source)
        return replace(ch, verdict="uncertain", p_value=None,
                       why=f"{few} on one side: a derived figure gets a verdict between runs "
                           f"only (--runs {MIN_RUNS} on both sides)")
    ch = _blocks_change(_pooled(ref, name), _pooled(other, name), same_within, source)
    floored = beyond_floor(ch, SINGLE_RUN_FLOOR, MIN_RUNS)
    if floored is not ch and floored.verdict == "uncertain":
        floored = replace(floored, why=f"{few} on one side: {floored.why}")
    return floored


def _blocks_change(a: list, b: list, same_within: float, source: str) -> Change:
    """A test's times in two inputs, judged on the per-block samples (within runs): the
    Mann-Whitney test's interval for the ratio."""
    return replace(judge_times(a, b, same_within, source), p_value=mann_whitney_p(a, b))


def _derived_interval(unit: Optional[str], a: list, b: list, a_medians: list, b_medians: list,
                      source: str) -> Change:
    """A derived figure's change between single runs, with the interval its per-block (per-pair)
    samples give where it has samples: shown, never a verdict."""
    if a and b:
        if unit == "ratio" and min(a) > 0 and min(b) > 0:
            return judge_times(a, b, 0.0, source)
        return judge_difference(a, b, 0.0, source, in_ms=unit == "ms")
    # A ratio of medians (bootstrap interval) has no per-block samples: its estimate alone.
    est = None
    if a_medians and b_medians and statistics.median(a_medians):
        est = statistics.median(b_medians) / statistics.median(a_medians)
    return Change(source, "ratio", est, None, None, None, "uncertain", "")


__all__ = ["Value", "figures_of", "value_of", "figure_change"]
