"""The validator of results documents: the JSON Schema (anethru/results/results.schema.json,
read by a small interpreter of the keywords it uses), then what JSON Schema cannot say
(consistency.py: the parts of a document must agree), and every stated figure against the
figure recomputed from the raw blocks (``check_stated_figures``).  Each failure names the first
bad field by its JSON path."""

from __future__ import annotations

import math
from typing import Any, Optional, Union

from anethru.errors import ResultFormatError
from anethru.results.jsondoc import (SCHEMA_FILE, NonFinite, child, fail as _fail, json_schema,
                                     show as _show)
from anethru.results.consistency import check_ceiling_consistency, check_sweep_consistency

# Relative tolerance for a stated figure against the recomputed one (the same arithmetic gives
# the same bits; this only absorbs another platform's last-digit rounding).
STATED_FIGURE_RTOL = 1e-9
# The same for a sweep's stated model: its fits and bootstrap sum many terms in numpy, whose
# summation order may differ between builds.
STATED_MODEL_RTOL = 1e-6


# Keywords this reader understands; the tests check the schema file uses no other.
ANNOTATIONS = {"$schema", "$id", "$comment", "title", "description", "$defs"}
KEYWORDS = {"type", "enum", "const", "minimum", "maximum", "exclusiveMinimum", "minLength",
            "maxLength", "minItems", "maxItems", "items", "properties", "required",
            "additionalProperties", "minProperties", "maxProperties", "$ref", "anyOf"}


def type_of(value: Any) -> str:
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


def _resolve(ref: str) -> dict:
    if not ref.startswith("#/$defs/"):
        raise ValueError(f"unsupported $ref {ref!r} in {SCHEMA_FILE}")
    return json_schema()["$defs"][ref[len("#/$defs/"):]]


def _matches_type(value: Any, want: Union[str, list], have: Optional[str] = None) -> bool:
    have = type_of(value) if have is None else have
    wants = want if isinstance(want, list) else [want]
    return have in wants or (have == "integer" and "number" in wants)


_SCALAR_KEYWORDS = {"type", "enum", "minimum", "maximum", "exclusiveMinimum", "minLength",
                    "maxLength", "description", "$comment", "title"}
_PLAIN = {"integer": (int,), "number": (int, float), "string": (str,)}


def _all_plain_scalars_pass(values: list, schema: dict) -> bool:
    """True when every item of a long array of plain scalars (block totals, samples, a
    schedule) passes ``schema``, checked in a few passes rather than one ``check`` per item (a
    million-repeat document must load in seconds); False means "check each item", which names
    the first bad one."""
    if "$ref" in schema:
        schema = _resolve(schema["$ref"])
    if not values or not set(schema) <= _SCALAR_KEYWORDS:
        return False
    allowed = _PLAIN.get(schema.get("type", "string" if all(
        type(e) is str for e in schema.get("enum", [0])) else ""))
    if allowed is None or not set(map(type, values)) <= set(allowed):   # the types, in one C loop
        return False
    if "enum" in schema and not (all(type(e) in allowed for e in schema["enum"])
                                 and set(values) <= set(schema["enum"])):
        return False
    if allowed[0] is str:
        try:
            "".join(values).encode("utf-8")
        except UnicodeEncodeError:
            return False
        lengths = [len(x) for x in values]
        return (min(lengths) >= schema.get("minLength", 0)
                and max(lengths) <= schema.get("maxLength", math.inf))
    lo, hi = min(values), max(values)
    return (-2 ** 1023 < lo and hi < 2 ** 1023 and all(map(math.isfinite, values))
            and lo >= schema.get("minimum", -math.inf)
            and lo > schema.get("exclusiveMinimum", -math.inf)
            and hi <= schema.get("maximum", math.inf))


def _check_unicode(text: str, path: str) -> None:
    """JSON's \\ud800 escapes can spell half a character, which no file or terminal can hold."""
    if text.isascii():   # the usual case, answered without encoding (no surrogate is ASCII)
        return
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        _fail(path, f"holds a lone surrogate (\\u{ord(text[exc.start]):04x} at character "
                    f"{exc.start}), which is not text")


def check(value: Any, schema: dict, path: str = "$") -> None:
    """Validate ``value`` against ``schema`` (a part of the JSON Schema file); raise
    ResultFormatError at the first violation, depth first, in document order."""
    if "$ref" in schema:
        check(value, _resolve(schema["$ref"]), path)
    kind = type_of(value)   # once: this runs for every node of every document loaded
    if kind == "non-finite":
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
    if "type" in schema and not _matches_type(value, schema["type"], kind):
        wants = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        _fail(path, f"must be {' or '.join(_ARTICLE[w] for w in wants)}; got {_show(value)}")
    if "const" in schema and (value != schema["const"] or type(value) is not type(schema["const"])):
        _fail(path, f"must be {_show(schema['const'])}; got {_show(value)}")
    if "enum" in schema and not any(value == e and type(value) is type(e) for e in schema["enum"]):
        choices = ", ".join(_show(e) for e in schema["enum"])
        _fail(path, f"must be one of {choices}; got {_show(value)}")
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
        _check_unicode(value, path)
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
        if "items" in schema and not _all_plain_scalars_pass(value, schema["items"]):
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
            _check_unicode(key, path)
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


def check_stated_model(stored: Any, recomputed: Any, path: str) -> None:
    """A sweep's stated model must match the one recomputed from its points."""
    _same(stored, recomputed, path, STATED_MODEL_RTOL)


def check_stated_figures(stored: Any, recomputed: Any, path: str) -> None:
    """Every figure the document states (tests' stats, units_per_second, derived figures, the
    same for every other eval path) must match the one recomputed from its raw blocks; absent
    ones are fine."""
    for section in ("tests", "derived"):
        _check_stated_section(stored.get(section, {}), recomputed[section], recomputed["tests"],
                              child(path, section))
    others = recomputed.get("eval_paths", {}).get("results", {})
    for name, r in stored.get("eval_paths", {}).get("results", {}).items():
        here = child(child(child(path, "eval_paths"), "results"), name)
        _check_stated_section(r["tests"], others[name]["tests"], others[name]["tests"],
                              child(here, "tests"))


def _check_stated_section(got: dict, want: dict, tests: dict, path: str) -> None:
    for name, entry in got.items():
        here = child(path, name)
        if name not in want:
            _fail(here, f"cannot be derived from the tests present ({', '.join(tests)})")
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


