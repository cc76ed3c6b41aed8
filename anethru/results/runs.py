"""Runs: independent measurements of one configuration (``run_suite(..., runs=N)``, ``anethru
--runs N``), the unit ``compare`` judges by when both inputs have enough of them.

Blocks within one run share that run's machine state (its calibration, its cache and frequency
luck, the other load at the time), so they are not independent of each other across runs: on a
2-core machine two back-to-back runs of the same code differ by more than either run's own
interval.  A change between two inputs is therefore judged on the runs' medians, one value per
run (Welch's t test), where both inputs have at least ``MIN_RUNS`` runs.  With fewer, the
per-block test can only say that two runs differ, not that the code does: a verdict is given
only beyond ``SINGLE_RUN_FLOOR``, the spread that back-to-back single runs of one configuration
showed on the development machine (measured with benchmarks/issue19.py; the README's
"Comparing results" gives the figures).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional, Sequence

if TYPE_CHECKING:
    from anethru.results.ceiling import CeilingResult

# Runs per input from which compare judges between runs.
MIN_RUNS = 3
# With fewer runs, a test's time gets a verdict only for a change beyond this (a ratio outside
# [1/1.3, 1.3]): above the largest ratio between two of 36 back-to-back single runs of one
# configuration on the idle development machine (1.23x, benchmarks/data/
# aa-768x256-cpu-2026-12-08-idle.json); see the docstring.
SINGLE_RUN_FLOOR = 0.30

# Options that say how a run was made, not what was measured: runs may differ in them.
HOW_MEASURED = frozenset({"isolated"})

Key = tuple[int, int, int]   # channels, spatial, kernels


def key_of(r: "CeilingResult") -> Key:
    return (r.config.channels, r.config.spatial, r.config.kernels)


def differs(a: "CeilingResult", b: "CeilingResult") -> str:
    """What makes ``b`` not another run of ``a``'s configuration ("" when it is one)."""
    what = []
    if key_of(a) != key_of(b):
        what.append("configuration")
    if a.config.backend != b.config.backend:
        what.append("backend")
    if a.device != b.device:
        what.append("device")
    if a.config.weights != b.config.weights:
        what.append("weights")
    if set(a.config.options) - HOW_MEASURED != set(b.config.options) - HOW_MEASURED:
        what.append("options")
    return ", ".join(what)


@dataclass(frozen=True)
class RunGroup:
    """The runs of one configuration in one input, in the order they were measured."""

    key: Key
    runs: tuple["CeilingResult", ...]

    @property
    def first(self) -> "CeilingResult":
        return self.runs[0]

    def medians(self, figure: str) -> list[float]:
        """Each run's median of ``figure`` (a test's per-unit time or a derived figure), where
        the run defines it."""
        out = []
        for r in self.runs:
            if figure in r.tests:
                out.append(r.tests[figure].per_unit_ms.median)
            elif figure in r.derived and r.derived[figure].stats is not None:
                out.append(r.derived[figure].stats.median)
        return out


def group_runs(results: Sequence["CeilingResult"]) -> tuple[list[RunGroup], list[tuple[Key, str]]]:
    """The runs of each configuration, in first-seen order; and the results left out because
    they share a configuration's key but not its backend, device, weights or options (with
    what differs)."""
    groups, left_out = _grouped(results)
    return [RunGroup(k, tuple(results[i] for i in ix)) for k, ix in groups.items()], left_out


def _grouped(results: Sequence["CeilingResult"]
             ) -> tuple[dict[Key, list[int]], list[tuple[Key, str]]]:
    """The positions of each configuration's runs, and the results left out (see group_runs)."""
    groups: dict[Key, list[int]] = {}
    left_out: list[tuple[Key, str]] = []
    for i, r in enumerate(results):
        k = key_of(r)
        if k not in groups:
            groups[k] = [i]
            continue
        why = differs(results[groups[k][0]], r)
        if why:
            left_out.append((k, why))
        else:
            groups[k].append(i)
    return groups, left_out


def run_labels(results: Sequence["CeilingResult"]) -> list[Optional[str]]:
    """Per result, "run i of n" where it is one of several runs of its configuration in
    ``results`` (as group_runs groups them: a result that differs in options is not a run)."""
    labels: list[Optional[str]] = [None] * len(results)
    for ix in _grouped(results)[0].values():
        if len(ix) > 1:
            for n, i in enumerate(ix, 1):
                labels[i] = f"run {n} of {len(ix)}"
    return labels


__all__ = ["MIN_RUNS", "SINGLE_RUN_FLOOR", "RunGroup", "group_runs", "run_labels", "differs",
           "key_of"]
