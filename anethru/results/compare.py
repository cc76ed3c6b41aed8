"""Compare result files: the same configuration measured on other machines, backends, versions.

``compare(A, B, ...)`` pairs every configuration (channels, spatial, kernels) present in more
than one input and, for each test and derived figure, puts the medians with their intervals side
by side, the change from the first input that has it (the reference) with its interval, and a
verdict.  Configurations found in one input only are listed, not paired.

The run is the unit (anethru.results.runs): several results of one configuration in one input
(``anethru --runs N``) are its runs.

- Both inputs with at least 3 runs: Welch's t test on the runs' medians, one value per run
  (times as log ratios B/A, figures that may be negative as differences B - A).
- Fewer: the Mann-Whitney U test on the per-block samples, through its interval for the shift
  (``anethru.results.twosample.shift_ci``), which only says that two runs differ; a verdict is
  given only where the whole interval lies beyond the spread single runs show on their own
  (``SINGLE_RUN_FLOOR``), else **uncertain**, saying that a verdict needs ``--runs 3``.

Verdicts: **faster** / **slower** (larger / smaller for derived figures) when the interval
excludes no change AND the estimate is beyond ``same_within`` (default 5%) of the figure itself
AND the test survives Holm's correction over every figure and configuration; **same** when the
whole interval lies within +/- ``same_within``; otherwise **uncertain**, which is a verdict.
Inputs from a different backend, device or machine get ratios, never verdicts.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Optional, Sequence, Union

from anethru.results.views import render
from anethru.results.ceiling import CeilingResult
from anethru.results.loader import load_results
from anethru.results.schema import name_of
from anethru.results.fitness import busy
from anethru.results.stats import CI_LEVEL
from anethru.results.changes import Value, figure_change, figures_of, value_of
# judge_times and judge_difference are named here too: callers import them from compare.
from anethru.results.judge import Change, holm_adjust, judge_difference, judge_times  # noqa: F401
from anethru.results.runs import MIN_RUNS, SINGLE_RUN_FLOOR, Key, RunGroup, group_runs

DEFAULT_SAME_WITHIN = 0.05
TEST_DESCRIPTION = (f"between inputs with at least {MIN_RUNS} runs, Welch's t test on the runs' "
                    f"medians; otherwise the Mann-Whitney U test on the per-block samples, with a "
                    f"verdict only beyond the +/-{SINGLE_RUN_FLOOR:.0%} that single runs differ "
                    f"by; times as ratios")


def key_label(key: Key) -> str:
    return f"{key[0]}x{key[1]}, {key[2]} kernels"


@dataclass(frozen=True)
class Source:
    """One input: a file (or results passed in), with a short label for tables."""

    label: str
    name: str
    results: tuple[CeilingResult, ...]

    def summary(self) -> str:
        if not self.results:
            return f"{self.name}: no results"
        r = self.results[0]
        m = r.machine
        backends = sorted({x.config.backend for x in self.results})
        sim = " (SIMULATED)" if any(x.simulated for x in self.results) else ""
        when = str(m.get("time_utc", "?"))[:16]
        groups, _ = group_runs(self.results)
        counts = sorted({len(g.runs) for g in groups})
        runs = "" if counts == [1] else f"; {'/'.join(map(str, counts))} runs per configuration"
        return (f"{self.name}: {'/'.join(backends)} on {r.device}{sim}; "
                f"{m.get('cpu_model', '?')}, {m.get('os', '?')} {m.get('os_release', '')}".rstrip()
                + f"; anethru {r.anethru_version}; {when}{runs}")

    def to_dict(self) -> dict:
        r = self.results[0] if self.results else None
        return {"label": self.label, "name": self.name,
                "backends": sorted({x.config.backend for x in self.results}),
                "device": r.device if r else None,
                "simulated": any(x.simulated for x in self.results),
                "anethru_version": r.anethru_version if r else None,
                "machine": dict(r.machine) if r else {}}


@dataclass(frozen=True)
class FigureRow:
    name: str
    is_test: bool
    unit: str                         # "ms/kernel", "ms/copy", "ms/layer" or "ratio"
    values: tuple[Optional[Value], ...]   # per input, None where the figure is absent
    changes: tuple[Change, ...]       # per input with the figure, after the reference

    def to_dict(self, labels: Sequence[str]) -> dict:
        return {"name": self.name, "test": self.is_test, "unit": self.unit,
                "values": {lab: (v.to_dict() if v else None) for lab, v in zip(labels, self.values)},
                "changes": [c.to_dict() for c in self.changes]}


@dataclass(frozen=True)
class ConfigComparison:
    key: Key
    reference: str                   # label of the input the changes are relative to
    present: tuple[str, ...]         # labels of the inputs that have it
    rows: tuple[FigureRow, ...]

    @property
    def label(self) -> str:
        return key_label(self.key)


@dataclass(frozen=True)
class Comparison:
    """What ``compare`` found.  ``str()`` is the text table, ``to_markdown()`` for pasting."""

    sources: tuple[Source, ...]
    configs: tuple[ConfigComparison, ...]
    unpaired: tuple[tuple[str, str], ...]    # (input label, configuration label)
    notes: tuple[str, ...]
    same_within: float
    level: float = CI_LEVEL
    test: str = TEST_DESCRIPTION
    # Pairs of inputs measured on a different backend, device or machine: ratios only, never
    # a faster/slower verdict (one phrase each; the report's first line says so).
    across: tuple[str, ...] = ()

    def changes(self) -> list[tuple[ConfigComparison, FigureRow, Change]]:
        return [(c, row, ch) for c in self.configs for row in c.rows for ch in row.changes]

    def slower_than(self, threshold: float, across_machines: bool = False
                    ) -> list[tuple[ConfigComparison, FigureRow, Change]]:
        """Per-test times judged slower (the test, Holm's correction, and for inputs with too
        few runs the single-run floor) by more than ``threshold`` (0.05 = 5%): the whole
        interval of the ratio above 1 + threshold.  Across backends, devices or machines, where
        there are no verdicts, only with ``across_machines`` and on the interval alone."""
        def judged(ch: Change) -> bool:
            if ch.why.startswith("no verdict across"):
                return across_machines
            return ch.verdict == "slower"

        return [(c, row, ch) for c, row, ch in self.changes()
                if row.is_test and ch.kind == "ratio" and ch.ci_low is not None
                and ch.ci_low > 1 + threshold and judged(ch)]

    def to_dict(self) -> dict:
        labels = [s.label for s in self.sources]
        return {
            "schema": name_of("compare"),
            "min_runs": MIN_RUNS, "single_run_floor": SINGLE_RUN_FLOOR,
            "test": self.test, "level": self.level, "same_within": self.same_within,
            "sources": [s.to_dict() for s in self.sources],
            "configs": [{"channels": c.key[0], "spatial": c.key[1], "kernels": c.key[2],
                         "reference": c.reference, "present": list(c.present),
                         "figures": [row.to_dict(labels) for row in c.rows]}
                        for c in self.configs],
            "unpaired": [{"source": s, "config": lab} for s, lab in self.unpaired],
            "notes": list(self.across) + list(self.notes),
        }

    def __str__(self) -> str:
        return render("comparison", "text", self)

    def to_markdown(self) -> str:
        return render("comparison", "markdown", self)


Input = Union[CeilingResult, Sequence[CeilingResult], str, "os.PathLike[str]"]


def _as_source(item: Input, index: int) -> Source:
    label = chr(ord("A") + index) if index < 26 else f"#{index + 1}"
    if isinstance(item, CeilingResult):
        return Source(label, f"result {index + 1}", (item,))
    if isinstance(item, (str, os.PathLike)):
        with open(item, "rb") as f:
            text = f.read()
        return Source(label, os.fspath(item), tuple(load_results(text)))
    results = tuple(item)
    if not all(isinstance(r, CeilingResult) for r in results):
        raise TypeError(f"input {index + 1}: expected a CeilingResult, a list of them or a file "
                        f"path; got {type(item).__name__}")
    return Source(label, f"results {index + 1}", results)


def compare(*inputs: Input, same_within: float = DEFAULT_SAME_WITHIN,
            names: Optional[Sequence[str]] = None) -> Comparison:
    """Compare results: each input is a CeilingResult, a list of them (a suite), or the path of
    a file that ``load_results`` reads.  The first input is the reference.  ``names`` (one per
    input) are shown for the inputs (default: the file path, or "result N")."""
    if len(inputs) < 2:
        raise ValueError("compare needs at least two inputs")
    if names is not None and len(names) != len(inputs):
        raise ValueError(f"names has {len(names)} entries for {len(inputs)} inputs")
    if isinstance(same_within, bool) or not isinstance(same_within, (int, float)) \
            or not 0 <= same_within < 1:
        raise ValueError(f"same_within must be a fraction in [0, 1); got {same_within!r}")
    sources = tuple(_as_source(x, i) for i, x in enumerate(inputs))
    if names is not None:
        sources = tuple(Source(s.label, str(n), s.results) for s, n in zip(sources, names))
    by_key: list[dict[Key, RunGroup]] = []
    unpaired: list[tuple[str, str]] = []
    for s in sources:
        groups, left_out = group_runs(s.results)
        for k, why in left_out:
            unpaired.append((s.label, key_label(k) + f" (again in the same input with a "
                                                     f"different {why}: not another run of it; "
                                                     f"only the first is compared)"))
        by_key.append({g.key: g for g in groups})
    keys: list[Key] = []
    for seen in by_key:
        keys += [k for k in seen if k not in keys]
    configs = []
    seen_across: set[str] = set()
    for k in keys:
        having = [i for i, seen in enumerate(by_key) if k in seen]
        if len(having) < 2:
            unpaired.append((sources[having[0]].label, key_label(k)))
            continue
        ref_i = having[0]
        ref = by_key[ref_i][k]
        figures = [figures_of(seen[k].first) if k in seen else None for seen in by_key]
        names: list[str] = []
        for f in figures:
            names += [n for n in (f or {}) if n not in names]
        rows = []
        for n in names:
            vals = tuple(value_of(seen[k], n) if f and n in f else None
                         for f, seen in zip(figures, by_key))
            is_test, unit = next(f[n] for f in figures if f and n in f)
            changes = []
            ref_val = vals[ref_i]
            for i in having[1:]:
                apart = across_machines(ref.first, by_key[i][k].first)
                v = vals[i]
                if v is None or ref_val is None:
                    continue
                if v.stats is None or ref_val.stats is None:
                    changes.append(Change(sources[i].label, "ratio" if is_test else "difference",
                                          None, None, None, None, "undefined",
                                          (ref_val.undefined or v.undefined or "undefined")))
                    continue
                ch = figure_change(n, is_test, ref, by_key[i][k], same_within, sources[i].label)
                if apart:   # a ratio across machines measures the machines, not a change
                    ch = Change(ch.source, ch.kind, ch.estimate, ch.ci_low, ch.ci_high,
                                ch.ci_level, "uncertain", f"no verdict across {apart}")
                    seen_across.add(f"{key_label(k)}: [{sources[i].label}] vs "
                                    f"[{sources[ref_i].label}]: different {apart}")
                changes.append(ch)
            rows.append(FigureRow(n, is_test, unit, vals, tuple(changes)))
        configs.append(ConfigComparison(k, sources[ref_i].label,
                                        tuple(sources[i].label for i in having), tuple(rows)))
    configs = holm_adjust(configs)
    return Comparison(sources, tuple(configs), tuple(unpaired), tuple(_notes(sources, by_key)),
                      float(same_within), across=tuple(sorted(seen_across)))


def across_machines(a: CeilingResult, b: CeilingResult) -> str:
    """What differs between where two results were measured ("" when the same backend,
    device and machine)."""
    what = []
    if a.config.backend != b.config.backend:
        what.append("backend")
    if a.device != b.device:
        what.append("device")
    keys = ("os", "machine", "cpu_model", "cpu_count")
    if any(a.machine.get(x) != b.machine.get(x) for x in keys):
        what.append("machine")
    return "/".join(what)


def _was_busy(r: CeilingResult) -> bool:
    cpus = r.machine.get("cpu_count")
    return any(busy(r.machine_state.get(when, {}).get("load_average_1m"), cpus)
               for when in ("start", "end"))


def _notes(sources: Sequence[Source], by_key: list[dict[Key, RunGroup]]) -> list[str]:
    """Differences a reader should know before trusting a verdict."""
    notes = []
    for s in sources:
        if any(r.simulated for r in s.results):
            notes.append(f"[{s.label}] is SIMULATED: not figures of the named hardware")
    for i, (s, seen) in enumerate(zip(sources, by_key)):
        for k, g in seen.items():
            ref_i = next(j for j, other in enumerate(by_key) if k in other)
            if ref_i == i:
                continue
            r, r0 = g.first, by_key[ref_i][k].first
            diffs = [f"{what} {b!r} vs {a!r}" for what, a, b in (
                ("backend", r0.config.backend, r.config.backend),
                ("weights", r0.config.weights, r.config.weights),
                ("options", list(r0.config.options), list(r.config.options))) if a != b]
            if diffs:
                notes.append(f"{key_label(k)}: [{s.label}] differs from [{sources[ref_i].label}] "
                             f"in " + "; ".join(diffs))
    for s in sources:
        loaded = sum(_was_busy(r) for r in s.results)
        if loaded:
            notes.append(f"[{s.label}]: {loaded} of {len(s.results)} results were measured on a "
                         f"busy machine (a load average above all but one CPU): a verdict may "
                         f"be the load's, not the code's")
    versions = {s.label: s.results[0].anethru_version for s in sources if s.results}
    if len(set(versions.values())) > 1:
        notes.append("written by different anethru versions: "
                     + ", ".join(f"[{k}] {v}" for k, v in versions.items()))
    return notes


__all__ = ["compare", "Comparison", "ConfigComparison", "FigureRow", "Change", "Value", "Source",
           "judge_times", "judge_difference", "DEFAULT_SAME_WITHIN"]
