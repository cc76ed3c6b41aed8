"""Compare result files: the same configuration measured on other machines, backends, versions.

``compare(A, B, ...)`` pairs every configuration (channels, spatial, kernels) present in more
than one input and, for each test and derived figure, puts the medians with their intervals side
by side, the change from the first input that has it (the reference) with its interval, and a
verdict.  Configurations found in one input only are listed, not paired.

The verdict comes from a stated test on the per-block samples, never from medians alone: the
Mann-Whitney U test, through its interval for the shift between the two samples
(``anethru.results.twosample.shift_ci``; blocks of two runs are independent, so nothing is paired).

- Times (per kernel, per copy): the shift of log times, i.e. a ratio B/A.  **faster** / **slower**
  when the interval excludes 1 and the estimate is beyond ``same_within`` (default 5%): the test
  AND a minimum effect; **same** when the whole interval lies within +/- ``same_within``;
  otherwise **uncertain** (too few blocks, or an interval too wide to tell), which is a verdict.
- Derived figures in ms (the round-trip overhead, which may be negative): the difference B - A;
  **larger** / **smaller** / **same** / **uncertain** with the band ``same_within`` x the
  reference's run_only per-kernel median (the yardstick the precision rule uses).
- Derived ratios: as times when every sample is positive, else as differences.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from typing import Optional, Sequence, Union

from anethru.results.views import render
from anethru.results.ceiling import CeilingResult
from anethru.results.loader import load_results
from anethru.results.schema import name_of
from anethru.results.stats import CI_LEVEL, Stats
# judge_times and judge_difference are named here too: callers import them from compare.
from anethru.results.judge import Change, holm_adjust, judge_difference, judge_times  # noqa: F401
from anethru.results.twosample import mann_whitney_p

DEFAULT_SAME_WITHIN = 0.05
TEST_DESCRIPTION = ("Mann-Whitney U test on the per-block samples (its interval for the shift, "
                    "Hodges-Lehmann); times as ratios")

Key = tuple[int, int, int]   # channels, spatial, kernels


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
        return (f"{self.name}: {'/'.join(backends)} on {r.device}{sim}; "
                f"{m.get('cpu_model', '?')}, {m.get('os', '?')} {m.get('os_release', '')}".rstrip()
                + f"; anethru {r.anethru_version}; {when}")

    def to_dict(self) -> dict:
        r = self.results[0] if self.results else None
        return {"label": self.label, "name": self.name,
                "backends": sorted({x.config.backend for x in self.results}),
                "device": r.device if r else None,
                "simulated": any(x.simulated for x in self.results),
                "anethru_version": r.anethru_version if r else None,
                "machine": dict(r.machine) if r else {}}


@dataclass(frozen=True)
class Value:
    """One input's figure: median and interval (None where the figure is undefined there)."""

    stats: Optional[Stats]
    undefined: Optional[str] = None

    def to_dict(self) -> dict:
        s = self.stats
        if s is None:
            return {"median": None, "ci_low": None, "ci_high": None, "ci_level": None, "n": None,
                    "undefined": self.undefined}
        return {"median": s.median, "ci_low": s.ci_low, "ci_high": s.ci_high,
                "ci_level": s.ci_level, "n": s.n, "undefined": None}


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
        """Per-test times slower than the reference by more than ``threshold`` (0.05 = 5%)
        with the test's confidence: the whole interval of the ratio above 1 + threshold.
        Across backends, devices or machines only with ``across_machines``."""
        return [(c, row, ch) for c, row, ch in self.changes()
                if row.is_test and ch.kind == "ratio" and ch.ci_low is not None
                and ch.ci_low > 1 + threshold
                and (across_machines or not ch.why.startswith("no verdict across"))]

    def to_dict(self) -> dict:
        labels = [s.label for s in self.sources]
        return {
            "schema": name_of("compare"),
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


def _figures(r: CeilingResult) -> dict[str, tuple[bool, str, Optional[Stats], Optional[str]]]:
    """name -> (is a test, unit, stats or None, why undefined)."""
    out = {n: (True, f"ms/{t.unit}", t.per_unit_ms, None) for n, t in r.tests.items()}
    for n, d in r.derived.items():
        out[n] = (False, "ms/layer" if d.unit == "ms" else "ratio", d.stats, d.undefined)
    return out


def _change(name: str, is_test: bool, ref: CeilingResult, ref_stats: Stats, other: Stats,
            same_within: float, source: str) -> Change:
    a, b = ref_stats.samples, other.samples
    if not a or not b:
        # A ratio of medians (bootstrap interval) has no per-block samples to test: its parts,
        # the tests, carry the verdicts.
        est = other.median / ref_stats.median if ref_stats.median else None
        return Change(source, "ratio", est, None, None, None, "uncertain",
                      "a ratio of medians: compare the tests it is made of")
    positive = min(a) > 0 and min(b) > 0
    p = mann_whitney_p(a, b)
    if is_test:
        return replace(judge_times(a, b, same_within, source), p_value=p)
    if positive and ref.derived[name].unit == "ratio":
        return replace(judge_times(a, b, same_within, source, words=("smaller", "larger")),
                       p_value=p)
    in_ms = ref.derived[name].unit == "ms"
    # The "same" band is relative to the figure itself (issue 19): never to another figure.
    return replace(judge_difference(a, b, same_within * abs(ref_stats.median), source,
                                    in_ms=in_ms), p_value=p)


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
    by_key: list[dict[Key, CeilingResult]] = []
    unpaired: list[tuple[str, str]] = []
    for s in sources:
        seen: dict[Key, CeilingResult] = {}
        for r in s.results:
            k = (r.config.channels, r.config.spatial, r.config.kernels)
            if k in seen:
                unpaired.append((s.label, key_label(k) + " (again in the same input: only the "
                                                         "first is compared)"))
            else:
                seen[k] = r
        by_key.append(seen)
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
        figures = [_figures(seen[k]) if k in seen else None for seen in by_key]
        names: list[str] = []
        for f in figures:
            names += [n for n in (f or {}) if n not in names]
        rows = []
        for n in names:
            vals = tuple(Value(f[n][2], f[n][3]) if f and n in f else None for f in figures)
            is_test, unit = next((f[n][0], f[n][1]) for f in figures if f and n in f)
            changes = []
            ref_val = vals[ref_i]
            for i in having[1:]:
                apart = across_machines(ref, by_key[i][k])
                v = vals[i]
                if v is None or ref_val is None:
                    continue
                if v.stats is None or ref_val.stats is None:
                    changes.append(Change(sources[i].label, "ratio" if is_test else "difference",
                                          None, None, None, None, "undefined",
                                          (ref_val.undefined or v.undefined or "undefined")))
                    continue
                ch = _change(n, is_test, ref, ref_val.stats, v.stats, same_within,
                             sources[i].label)
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


def _notes(sources: Sequence[Source], by_key: list[dict[Key, CeilingResult]]) -> list[str]:
    """Differences a reader should know before trusting a verdict."""
    notes = []
    for s in sources:
        if any(r.simulated for r in s.results):
            notes.append(f"[{s.label}] is SIMULATED: not figures of the named hardware")
    for i, (s, seen) in enumerate(zip(sources, by_key)):
        for k, r in seen.items():
            ref_i = next(j for j, other in enumerate(by_key) if k in other)
            if ref_i == i:
                continue
            r0 = by_key[ref_i][k]
            diffs = [f"{what} {b!r} vs {a!r}" for what, a, b in (
                ("backend", r0.config.backend, r.config.backend),
                ("weights", r0.config.weights, r.config.weights),
                ("options", list(r0.config.options), list(r.config.options))) if a != b]
            if diffs:
                notes.append(f"{key_label(k)}: [{s.label}] differs from [{sources[ref_i].label}] "
                             f"in " + "; ".join(diffs))
    versions = {s.label: s.results[0].anethru_version for s in sources if s.results}
    if len(set(versions.values())) > 1:
        notes.append("written by different anethru versions: "
                     + ", ".join(f"[{k}] {v}" for k, v in versions.items()))
    return notes


__all__ = ["compare", "Comparison", "ConfigComparison", "FigureRow", "Change", "Value", "Source",
           "judge_times", "judge_difference", "DEFAULT_SAME_WITHIN"]
