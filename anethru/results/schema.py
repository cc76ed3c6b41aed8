"""The results format: document names and versions, and the upgrade of every older version.

The format itself is the JSON Schema shipped in the package, ``anethru/results/results.schema.json``;
the validator that reads it, and checks what JSON Schema cannot say (block counts, units, the
eval paths, stated figures against the raw blocks), is anethru/results/validation.py; strict
JSON parsing and JSON paths are anethru/results/jsondoc.py.  Their public names are re-exported
here.

Every document carries ``"schema": "anethru.<kind>/<version>"``.

Version history (a version is bumped by any change a reader must know about: a field added,
removed or renamed, or a meaning or unit changed; each old version gets one upgrade step to the
next, so every version ever written keeps loading):

- ``anethru.ceiling/1``, ``anethru.suite/1`` (anethru 0.1.0): raw blocks, per-test stats (n, min,
  median, mean, stdev, max, cv, samples), derived stats, warnings.  Could hold ``Infinity``
  (a ratio with a zero denominator, a zero mean's CV), which is not JSON.
- ``anethru.ceiling/2``, ``anethru.suite/2``: stats gain the median's confidence interval
  (``ci_low``, ``ci_high``, ``ci_level``); ``stopping`` (what decided the repeats and what ended
  the run); ``machine_state`` (load, governor, GPU clock and temperature at start and end); a
  derived figure may be undefined (``stats: null`` and ``undefined``: why); ``cv`` and
  ``units_per_second`` may be null; no non-finite numbers anywhere; a suite records the
  configuration a Ctrl-C interrupted.  Upgrade from 1: add ``stopping`` (an exact count of
  repeats, time unknown) and drop stated figures that were not finite.
- ``anethru.ceiling/3``, ``anethru.suite/3`` (issue 19): ratios are ratios of medians with a
  bootstrap interval (never medians of per-repeat ratios), and a ratio whose denominator's
  interval includes zero (an unresolved overhead) is undefined.  Upgrade from 2: the stated
  derived figures are dropped (their meaning changed; they are recomputed from the raw blocks).
  Stats gain ``autocorrelation``: a series (blocks in round order, pairs in order) with positive
  lag-1 autocorrelation has its interval widened by the AR(1) inflation (stats.series_ranks);
  the upgrade drops the stated per-test intervals too (every other stated figure is checked).
  ``pairs`` (optional): per-pass pairs of sequential and run_only; where present the round-trip
  overhead is their median difference, and on the CPU backend ``round_trip_overhead_cpu`` the
  same on the thread's CPU clock.
- ``anethru.sweep/2`` (issue 19): the fit's intervals are widened by the Birge ratio, and the
  points are ``anethru.ceiling/3`` (the overhead from per-pass pairs).  Upgrade from 1: the
  stated model is dropped (recomputed on load).
- ``anethru.ceiling/4``, ``anethru.suite/4``, ``anethru.sweep/3`` (issue 19): ``stopping``
  gains ``overhead_within`` (ms per layer): the user's absolute bound for the round trip's
  half-width, which the stopping rule (anethru.results.verdict) then uses instead of precision
  x the copy, so a loader re-checking ``stopped_by`` needs it; null when none was given.  Several
  results of one configuration in a suite are its runs (``anethru --runs N``).  Upgrade from
  ceiling/3, suite/3, sweep/2: nothing changes (no bound was given; the points and results are
  upgraded with their document).
- ``anethru.compare/1``: what ``anethru compare --json`` prints (written, never read back).
- ``anethru.compare/2`` (issue 19): several results of one configuration in one input are its
  runs; each value gains ``runs`` (how many runs it is over: the runs' medians, their median and
  interval), and the document ``min_runs`` (runs per input from which verdicts are between runs,
  Welch's t test) and ``single_run_floor`` (with fewer, a verdict only beyond this change).
- ``anethru.sweep/1``: what ``anethru sweep --json`` prints (anethru/sweep_result.py): the grid,
  the settings, ``anethru.ceiling/2`` results of the configurations measured (``points``, in grid
  order), failures, the configuration a Ctrl-C interrupted, the worker batches (when a compile
  limit split the sweep) and the stated ``model`` (fits, residuals, crossovers), which is
  recomputed on load from the points and checked (``check_stated_model``).  A change to the
  model's method or constants (anethru/fit.py) changes what the stated model means: it bumps
  this version, and the upgrade step drops the stated model (it is recomputed on load).

Stated figures (stats, ``units_per_second``, derived figures, warnings) are written for readers
without anethru; anethru never trusts them: it recomputes them and rejects a document whose
stated figures disagree with its raw blocks.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Optional

from anethru.errors import ResultFormatError
from anethru.results.jsondoc import (SCHEMA_FILE, NonFinite, child, fail as _fail, json_schema,
                                     parse_json, show as _show)
from anethru.results.validation import (ANNOTATIONS, KEYWORDS, STATED_FIGURE_RTOL,
                                        STATED_MODEL_RTOL, type_of, check,
                                        check_ceiling_consistency, check_stated_figures,
                                        check_stated_model, check_sweep_consistency, validate)

# Current version of each kind of document.
CURRENT = {"ceiling": 4, "suite": 4, "compare": 2, "sweep": 3}

_NAME = re.compile(r"anethru\.([a-z]+)/([0-9]{1,6})")


def name_of(kind: str, version: Optional[int] = None) -> str:
    return f"anethru.{kind}/{CURRENT[kind] if version is None else version}"


# ---------------------------------------------------------------------- versions and upgrades

def version_of(doc: Any, path: str = "$") -> tuple[str, int]:
    """(kind, version) from a document's "schema" field."""
    if not isinstance(doc, dict):
        _fail(path, f"must be an object (an anethru result or suite); got {_show(doc)}")
    name = doc.get("schema")
    if name is None:
        _fail(child(path, "schema"), "is missing: not an anethru document")
    m = _NAME.fullmatch(name) if isinstance(name, str) else None
    if not m or m.group(1) not in CURRENT:
        _fail(child(path, "schema"), f"is {_show(name)}: not an anethru result (want "
                                     f"{name_of('ceiling')!r}, {name_of('suite')!r} or "
                                     f"{name_of('sweep')!r})")
    kind, version = m.group(1), int(m.group(2))
    if version > CURRENT[kind] or version < 1:
        _fail(child(path, "schema"), f"is {_show(name)}: this anethru reads {kind} versions 1 to "
                                     f"{CURRENT[kind]} (a newer anethru wrote it? upgrade anethru)")
    return kind, version


def kind_of(doc: Any) -> str:
    return version_of(doc)[0]


def _drop_nonfinite(d: Any, keys: tuple) -> None:
    """Remove stated figures that are not finite (0.1.0 wrote Infinity for some)."""
    if not isinstance(d, dict):
        return
    for k in keys:
        v = d.get(k)
        if isinstance(v, dict):
            if any(type_of(x) == "non-finite" for x in v.values()) or (
                    isinstance(v.get("samples"), list)
                    and any(type_of(x) == "non-finite" for x in v["samples"])):
                del d[k]
        elif type_of(v) == "non-finite":
            del d[k]


def _ceiling_1_to_2(doc: dict) -> dict:
    out = dict(doc)
    out["schema"] = name_of("ceiling", 2)
    out.setdefault("stopping", {"criterion": "repeats", "stopped_by": "repeats"})
    tests = out.get("tests")
    if isinstance(tests, dict):
        out["tests"] = {n: dict(t) if isinstance(t, dict) else t for n, t in tests.items()}
        for t in out["tests"].values():
            _drop_nonfinite(t, ("per_unit_ms", "per_pass_ms", "units_per_second"))
    derived = out.get("derived")
    if isinstance(derived, dict):
        out["derived"] = {n: dict(d) if isinstance(d, dict) else d for n, d in derived.items()}
        for d in out["derived"].values():
            _drop_nonfinite(d, ("stats",))
    return out


def _ceiling_2_to_3(doc: dict) -> dict:
    out = dict(doc)
    out["schema"] = name_of("ceiling", 3)
    out.pop("derived", None)  # ratios changed meaning: recomputed, never compared
    tests = out.get("tests")
    if isinstance(tests, dict):  # intervals of autocorrelated series changed: recomputed
        out["tests"] = {n: {k: _without_interval(v) if k in ("per_unit_ms", "per_pass_ms") else v
                            for k, v in t.items()} if isinstance(t, dict) else t
                        for n, t in tests.items()}
    return out


def _without_interval(stats: Any) -> Any:
    if not isinstance(stats, dict):
        return stats
    return {k: v for k, v in stats.items() if k not in ("ci_low", "ci_high")}


def _suite_2_to_3(doc: dict) -> dict:
    out = dict(doc)
    out["schema"] = name_of("suite", 3)
    return out


def _renamed(kind: str, version: int) -> Callable[[dict], dict]:
    """An upgrade step that changes only the version: what the document says still holds."""
    def step(doc: dict) -> dict:
        out = dict(doc)
        out["schema"] = name_of(kind, version)
        return out
    return step


def _sweep_1_to_2(doc: dict) -> dict:
    out = dict(doc)
    out["schema"] = name_of("sweep", 2)
    out["model"] = None   # the older method's figures: recomputed on load, never compared
    return out


def _suite_1_to_2(doc: dict) -> dict:
    out = dict(doc)
    out["schema"] = name_of("suite", 2)
    out.setdefault("interrupted", None)
    return out


# (kind, version) -> the step to version + 1.
UPGRADES: dict[tuple[str, int], Callable[[dict], dict]] = {
    ("ceiling", 1): _ceiling_1_to_2,
    ("suite", 1): _suite_1_to_2,
    ("ceiling", 2): _ceiling_2_to_3,
    ("suite", 2): _suite_2_to_3,
    ("sweep", 1): _sweep_1_to_2,
    ("ceiling", 3): _renamed("ceiling", 4),
    ("suite", 3): _renamed("suite", 4),
    ("sweep", 2): _renamed("sweep", 3),
}


def _to_current(doc: Any, kind: str, path: str) -> dict:
    found, version = version_of(doc, path)
    if found != kind:
        _fail(child(path, "schema"), f"is {_show(doc['schema'])}; expected an anethru {kind}")
    while version < CURRENT[kind]:
        doc = UPGRADES[(kind, version)](doc)
        version += 1
    if kind == "suite" and isinstance(doc.get("results"), list):
        doc = dict(doc)
        doc["results"] = [_to_current(r, "ceiling", child(child(path, "results"), i))
                          for i, r in enumerate(doc["results"])]
    if kind == "sweep" and isinstance(doc.get("points"), list):
        doc = dict(doc)
        doc["points"] = [_to_current(r, "ceiling", child(child(path, "points"), i))
                         for i, r in enumerate(doc["points"])]
    return doc


def upgrade(doc: Any, kind: str) -> dict:
    """A document of ``kind`` of any known version, as a validated current-version document."""
    try:
        doc = _to_current(doc, kind, "$")
        validate(doc, kind)
    except RecursionError:
        raise ResultFormatError("$", "nested too deeply to be an anethru document") from None
    return doc


__all__ = ["CURRENT", "name_of", "parse_json", "json_schema", "check", "validate", "upgrade",
           "version_of", "kind_of", "check_stated_figures", "check_stated_model", "UPGRADES",
           "NonFinite", "child", "ResultFormatError", "SCHEMA_FILE", "ANNOTATIONS", "KEYWORDS",
           "STATED_FIGURE_RTOL", "STATED_MODEL_RTOL", "check_ceiling_consistency",
           "check_sweep_consistency"]
