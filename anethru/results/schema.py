"""The results format: document names and versions, the upgrade of every older version, and a
dependency-free validator that names the first bad field by its JSON path.

The format itself is the JSON Schema shipped in the package, ``anethru/results/results.schema.json``
(this module reads it with a small interpreter of the keywords it uses; the tests check the same
file with the ``jsonschema`` library).  What JSON Schema cannot say is checked here too: block
counts against the schedule, units against the test, bytes against the shape, and every stated
figure against the figure recomputed from the raw blocks (``check_stated_figures``).

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
- ``anethru.compare/1``: what ``anethru compare --json`` prints (written, never read back).
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

import json
import math
import re
from collections import Counter
from functools import lru_cache
from importlib import resources
from typing import Any, Callable, Optional, Union

from anethru.errors import ResultFormatError
from anethru.native.vocab import TEST_NAMES, units

# Current version of each kind of document.
CURRENT = {"ceiling": 3, "suite": 3, "compare": 1, "sweep": 2}
SCHEMA_FILE = "results.schema.json"
# Relative tolerance for a stated figure against the recomputed one (the same arithmetic gives
# the same bits; this only absorbs another platform's last-digit rounding).
STATED_FIGURE_RTOL = 1e-9
# The same for a sweep's stated model: its fits and bootstrap sum many terms in numpy, whose
# summation order may differ between builds.
STATED_MODEL_RTOL = 1e-6

_NAME = re.compile(r"anethru\.([a-z]+)/([0-9]{1,6})")


def name_of(kind: str, version: Optional[int] = None) -> str:
    return f"anethru.{kind}/{CURRENT[kind] if version is None else version}"


# ---------------------------------------------------------------------- strict JSON

class NonFinite:
    """Where a document held Infinity, -Infinity, NaN or an out-of-range number: kept as a
    marker so that the validator can say where (and so 0.1.0 documents can drop theirs)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


def _no_duplicates(pairs: list) -> dict:
    out: dict = {}
    for k, v in pairs:
        if k in out:
            raise ValueError(f"duplicate key {k!r}")
        out[k] = v
    return out


def _float(text: str) -> Union[float, NonFinite]:
    x = float(text)
    return x if math.isfinite(x) else NonFinite(text)


def parse_json(text: Union[str, bytes, bytearray]) -> Any:
    """JSON text -> Python, refusing what is not JSON (Infinity, NaN, duplicate keys, numbers out
    of range are kept as markers for the validator to name; nesting too deep is refused here)."""
    if not isinstance(text, (str, bytes, bytearray)):
        raise TypeError(f"expected JSON text (str or bytes); got {type(text).__name__}")
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates, parse_float=_float,
                          parse_constant=NonFinite)
    except RecursionError:
        raise ResultFormatError("$", "nested too deeply to be an anethru document") from None
    except json.JSONDecodeError as exc:
        raise ResultFormatError("$", f"not valid JSON ({exc.msg} at line {exc.lineno} column "
                                     f"{exc.colno})") from None
    except ValueError as exc:  # a duplicate key, an integer of thousands of digits, bad UTF-8
        raise ResultFormatError("$", f"not valid JSON ({exc})") from None


# ---------------------------------------------------------------------- paths

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def child(path: str, key: Union[str, int]) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if _IDENT.fullmatch(key) else f"{path}[{json.dumps(key)}]"


def _show(value: Any) -> str:
    if isinstance(value, NonFinite):
        return value.text
    text = json.dumps(value) if isinstance(value, (str, int, float, bool, type(None))) else None
    if text is None:
        text = {dict: "an object", list: "an array"}.get(type(value), type(value).__name__)
    return text if len(text) <= 60 else text[:57] + "..."


# ---------------------------------------------------------------------- the validator

@lru_cache(maxsize=1)
def json_schema() -> dict:
    """The JSON Schema of the current format (package data)."""
    text = resources.files("anethru.results").joinpath(SCHEMA_FILE).read_text(encoding="utf-8")
    return json.loads(text)


# Keywords this reader understands; the tests check the schema file uses no other.
ANNOTATIONS = {"$schema", "$id", "$comment", "title", "description", "$defs"}
KEYWORDS = {"type", "enum", "const", "minimum", "maximum", "exclusiveMinimum", "minLength",
            "maxLength", "minItems", "maxItems", "items", "properties", "required",
            "additionalProperties", "minProperties", "maxProperties", "$ref", "anyOf"}


def _type_of(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number" if math.isfinite(value) else "non-finite"
    if isinstance(value, NonFinite):
        return "non-finite"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


_ARTICLE = {"integer": "an integer", "number": "a number", "string": "a string",
            "boolean": "true or false", "null": "null", "array": "an array", "object": "an object"}


def _fail(path: str, reason: str) -> None:
    raise ResultFormatError(path, reason)


def _resolve(ref: str) -> dict:
    if not ref.startswith("#/$defs/"):
        raise ValueError(f"unsupported $ref {ref!r} in {SCHEMA_FILE}")
    return json_schema()["$defs"][ref[len("#/$defs/"):]]


def _matches_type(value: Any, want: Union[str, list]) -> bool:
    have = _type_of(value)
    wants = want if isinstance(want, list) else [want]
    return have in wants or (have == "integer" and "number" in wants)


def check(value: Any, schema: dict, path: str = "$") -> None:
    """Validate ``value`` against ``schema`` (a part of the JSON Schema file); raise
    ResultFormatError at the first violation, depth first, in document order."""
    if "$ref" in schema:
        check(value, _resolve(schema["$ref"]), path)
    if _type_of(value) == "non-finite":
        _fail(path, f"{_show(value)} is not a finite number (JSON has no Infinity or NaN)")
    if "anyOf" in schema:
        branches = schema["anyOf"]
        errors = []
        for branch in branches:
            try:
                check(value, branch, path)
                break
            except ResultFormatError as exc:
                errors.append(exc)
        else:
            # Report the branch that got furthest (a deeper path), else the last one.
            raise max(errors, key=lambda e: len(e.path))
    if "type" in schema and not _matches_type(value, schema["type"]):
        wants = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        _fail(path, f"must be {' or '.join(_ARTICLE[w] for w in wants)}; got {_show(value)}")
    if "const" in schema and (value != schema["const"] or type(value) is not type(schema["const"])):
        _fail(path, f"must be {_show(schema['const'])}; got {_show(value)}")
    if "enum" in schema and not any(value == e and type(value) is type(e) for e in schema["enum"]):
        choices = ", ".join(_show(e) for e in schema["enum"])
        _fail(path, f"must be one of {choices}; got {_show(value)}")
    kind = _type_of(value)
    if kind in ("integer", "number"):
        if "minimum" in schema and value < schema["minimum"]:
            _fail(path, f"must be >= {schema['minimum']}; got {_show(value)}")
        if "exclusiveMinimum" in schema and value <= schema["exclusiveMinimum"]:
            _fail(path, f"must be > {schema['exclusiveMinimum']}; got {_show(value)}")
        if "maximum" in schema and value > schema["maximum"]:
            _fail(path, f"must be <= {schema['maximum']}; got {_show(value)}")
        if kind == "integer" and abs(value) >= 2 ** 1024:  # no float can hold it
            _fail(path, f"is out of range; got {_show(value)}")
    elif kind == "string":
        if len(value) < schema.get("minLength", 0):
            _fail(path, "must not be empty" if schema["minLength"] == 1 else
                  f"must have at least {schema['minLength']} characters")
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            _fail(path, f"is {len(value)} characters long; at most {schema['maxLength']} allowed")
    elif kind == "array":
        if len(value) < schema.get("minItems", 0):
            _fail(path, f"must have at least {schema['minItems']} item(s); has {len(value)}")
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            _fail(path, f"has {len(value)} items; at most {schema['maxItems']} allowed")
        if "items" in schema:
            for i, item in enumerate(value):
                check(item, schema["items"], child(path, i))
    elif kind == "object":
        if len(value) < schema.get("minProperties", 0):
            _fail(path, f"must have at least {schema['minProperties']} entr"
                        f"{'y' if schema['minProperties'] == 1 else 'ies'}")
        if "maxProperties" in schema and len(value) > schema["maxProperties"]:
            _fail(path, f"has {len(value)} entries; at most {schema['maxProperties']} allowed")
        props = schema.get("properties", {})
        extra = schema.get("additionalProperties", True)
        for key, item in value.items():
            if not isinstance(key, str):
                _fail(path, f"has a key that is not a string ({key!r})")
            if key in props:
                check(item, props[key], child(path, key))
            elif extra is False:
                allowed = ", ".join(props) if len(props) <= 12 else f"{len(props)} known names"
                _fail(child(path, key), f"is not a field of this document (allowed: {allowed})")
            elif isinstance(extra, dict):
                check(item, extra, child(path, key))
        for key in schema.get("required", ()):
            if key not in value:
                _fail(child(path, key), "is missing")


def validate(doc: Any, kind: str, path: str = "$") -> None:
    """Validate a current-version document of ``kind`` against the JSON Schema, then the
    cross-field rules."""
    check(doc, json_schema()["$defs"][kind], path)
    if kind == "ceiling":
        check_ceiling_consistency(doc, path)
    elif kind == "suite":
        for i, r in enumerate(doc["results"]):
            check_ceiling_consistency(r, child(child(path, "results"), i))
    elif kind == "sweep":
        check_sweep_consistency(doc, path)


def check_ceiling_consistency(doc: dict, path: str) -> None:
    """What the schema cannot say: the parts of a result must agree with each other."""
    c = doc["config"]
    cpath = child(path, "config")
    if c["bytes_per_tensor"] != c["channels"] * c["spatial"] * 2:
        _fail(child(cpath, "bytes_per_tensor"),
              f"is {c['bytes_per_tensor']}, but channels x spatial x 2 is "
              f"{c['channels'] * c['spatial'] * 2}")
    tpath = child(path, "tests")
    for name, t in doc["tests"].items():
        here = child(tpath, name)
        if t["name"] != name:
            _fail(child(here, "name"), f"is {_show(t['name'])} under the key {_show(name)}")
        unit, per_pass = units(name, c["kernels"])
        if t["unit"] != unit:
            _fail(child(here, "unit"), f"must be {_show(unit)} for {name}; got {_show(t['unit'])}")
        if t["units_per_pass"] != per_pass:
            _fail(child(here, "units_per_pass"),
                  f"must be {per_pass} for {name} with {c['kernels']} kernels; got "
                  f"{t['units_per_pass']}")
        if len(t["block_ns"]) != c["repeats"]:
            _fail(child(here, "block_ns"), f"has {len(t['block_ns'])} blocks, but config.repeats "
                                           f"is {c['repeats']}")
    counts = Counter(c["schedule"])
    for name in TEST_NAMES:
        want = c["repeats"] if name in doc["tests"] else 0
        if counts.get(name, 0) != want:
            _fail(child(cpath, "schedule"),
                  f"runs {name} {counts.get(name, 0)} times; the tests say {want} "
                  f"(one block per repeat of each test present)")
    for name in doc["unsupported"]:
        if name in doc["tests"]:
            _fail(child(child(path, "unsupported"), name), "names a test that has results")
    for name, d in doc.get("derived", {}).items():
        if d["name"] != name:
            _fail(child(child(child(path, "derived"), name), "name"),
                  f"is {_show(d['name'])} under the key {_show(name)}")
    if doc.get("pairs") is not None:
        check_pairs(doc["pairs"], doc, child(path, "pairs"))
    s = doc["stopping"]
    if s["criterion"] == "precision" and s.get("precision") is None:
        _fail(child(child(path, "stopping"), "precision"), "is missing for a precision run")
    if s["criterion"] == "repeats" and s["stopped_by"] != "repeats":
        _fail(child(child(path, "stopping"), "stopped_by"),
              f"must be \"repeats\" for an exact count of repeats; got {_show(s['stopped_by'])}")


def check_pairs(p: dict, doc: dict, path: str) -> None:
    """Per-pass pairs: one count per repeat, one order flag (and CPU time pair) per pair, and
    only where both tests they pair were measured."""
    for name in ("sequential", "run_only"):
        if name not in doc["tests"]:
            _fail(path, f"holds pairs of sequential and run_only, but {name} has no results")
    n = len(p["wall_ns"])
    if len(p["per_round"]) != doc["config"]["repeats"]:
        _fail(child(path, "per_round"), f"has {len(p['per_round'])} rounds, but config.repeats "
                                        f"is {doc['config']['repeats']}")
    if sum(p["per_round"]) != n:
        _fail(child(path, "per_round"), f"adds up to {sum(p['per_round'])} pairs; wall_ns has {n}")
    if len(p["sequential_first"]) != n:
        _fail(child(path, "sequential_first"), f"has {len(p['sequential_first'])} entries for "
                                               f"{n} pairs")
    cpu = p.get("cpu_ns")
    if cpu is not None and len(cpu) != n:
        _fail(child(path, "cpu_ns"), f"has {len(cpu)} pairs; wall_ns has {n}")
    if (cpu is None) != (p.get("cpu_clock") is None):
        _fail(child(path, "cpu_clock"), "must name the CPU clock exactly when cpu_ns is given")


def check_sweep_consistency(doc: dict, path: str) -> None:
    """A sweep's points and failures are configurations of its grid, in grid order, measured
    on its backend with its kernels."""
    order = {tuple(c): i for i, c in enumerate(doc["grid"]["configs"])}
    if len(order) != len(doc["grid"]["configs"]):
        _fail(child(child(path, "grid"), "configs"), "lists a configuration more than once")
    seen: dict[tuple, str] = {}
    for section in ("points", "failures"):
        last = -1
        for i, entry in enumerate(doc[section]):
            here = child(child(path, section), i)
            if section == "points":
                check_ceiling_consistency(entry, here)
                c = entry["config"]
                for key, want in (("backend", doc["backend"]), ("kernels", doc["kernels"])):
                    if c[key] != want:
                        _fail(child(child(here, "config"), key),
                              f"is {_show(c[key])}, but the sweep's {key} is {_show(want)}")
            else:
                c = entry
            key = (c["channels"], c["spatial"])
            if key not in order:
                _fail(here, f"is {key[0]}x{key[1]}, which is not in the sweep's grid")
            if key in seen:
                _fail(here, f"is {key[0]}x{key[1]}, which {seen[key]} already holds")
            if order[key] < last:
                _fail(here, "is out of grid order")
            seen[key], last = here, order[key]
    if doc["interrupted"] is not None:
        key = (doc["interrupted"]["channels"], doc["interrupted"]["spatial"])
        if key not in order:
            _fail(child(path, "interrupted"), f"is {key[0]}x{key[1]}, which is not in the grid")


def check_stated_model(stored: Any, recomputed: Any, path: str) -> None:
    """A sweep's stated model must match the one recomputed from its points."""
    _same(stored, recomputed, path, STATED_MODEL_RTOL)


def check_stated_figures(stored: Any, recomputed: Any, path: str) -> None:
    """Every figure the document states (tests' stats, units_per_second, derived figures)
    must match the one recomputed from its raw blocks; absent ones are fine."""
    for section in ("tests", "derived"):
        got = stored.get(section, {})
        want = recomputed[section]
        for name, entry in got.items():
            here = child(child(path, section), name)
            if name not in want:
                _fail(here, f"cannot be derived from the tests present "
                            f"({', '.join(recomputed['tests'])})")
            for key, value in entry.items():
                if key in ("block_ns", "name", "unit", "units_per_pass", "iters"):
                    continue  # raw data, checked by the validator
                if key == "undefined":
                    if (value is None) != (want[name][key] is None):
                        _fail(child(here, key), f"says {_show(value)}, but the raw blocks give "
                                                f"{_show(want[name][key])}")
                    continue
                _same(value, want[name][key], child(here, key))


def _same(stated: Any, actual: Any, path: str, rtol: float = STATED_FIGURE_RTOL) -> None:
    if isinstance(stated, dict) and isinstance(actual, dict):
        for k, v in stated.items():
            if k not in actual:
                _fail(child(path, k), "is not a figure anethru computes here")
            _same(v, actual[k], child(path, k), rtol)
        return
    if isinstance(stated, list) and isinstance(actual, list):
        if len(stated) != len(actual):
            _fail(path, f"has {len(stated)} values, but the raw blocks give {len(actual)}")
        for i, (a, b) in enumerate(zip(stated, actual)):
            _same(a, b, child(path, i), rtol)
        return
    numbers = (int, float)
    if isinstance(stated, numbers) and isinstance(actual, numbers) and not isinstance(stated, bool):
        if math.isclose(stated, actual, rel_tol=rtol, abs_tol=1e-300):
            return
    elif stated == actual and type(stated) is type(actual):
        return
    _fail(path, f"states {_show(stated)}, but the raw blocks give {_show(actual)}")


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
            if any(_type_of(x) == "non-finite" for x in v.values()) or (
                    isinstance(v.get("samples"), list)
                    and any(_type_of(x) == "non-finite" for x in v["samples"])):
                del d[k]
        elif _type_of(v) == "non-finite":
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
           "version_of", "kind_of", "check_stated_figures", "check_stated_model", "UPGRADES"]
