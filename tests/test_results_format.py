"""The versioned results format: the JSON Schema file, the dependency-free validator, the upgrade
of 0.1.0 documents, recomputation from raw blocks, and hundreds of malformed documents."""

from __future__ import annotations

import copy
import json
import math
import os
import random

import jsonschema
import pytest

import anethru
from anethru.results import schema
from anethru.report.csv import to_csv
from anethru.results.ceiling import suite_document

DATA = os.path.join(os.path.dirname(__file__), "data")
V1_SUITE = os.path.join(DATA, "h100-suite-anethru-0.1.0.json")


def strict_loads(text: str):
    """json.loads that refuses Infinity and NaN (what a strict reader does)."""
    def refuse(token):
        raise ValueError(f"non-JSON constant {token}")
    return json.loads(text, parse_constant=refuse)


@pytest.fixture(scope="module")
def suite():
    # kernels=3, tiny: two configurations, one without memcpy_only, all exact repeats
    a = anethru.run_ceiling(16, 8, kernels=3, backend="cpu", iters=2, repeats=4, seed=1)
    b = anethru.run_ceiling(8, 8, kernels=2, backend="cpu", iters=2, repeats=3, seed=2,
                            tests=["sequential", "run_only", "chained"])
    return [a, b]


@pytest.fixture(scope="module")
def suite_doc(suite):
    return suite_document(suite)


# ---------------------------------------------------------------------- the schema file


def walk_schemas(node, path="#"):
    """Every schema object in the file (not property names or enum values)."""
    if not isinstance(node, dict):
        return
    yield path, node
    for key in ("properties", "$defs"):
        for name, sub in node.get(key, {}).items():
            yield from walk_schemas(sub, f"{path}/{key}/{name}")
    for key in ("items", "additionalProperties"):
        if isinstance(node.get(key), dict):
            yield from walk_schemas(node[key], f"{path}/{key}")
    for i, sub in enumerate(node.get("anyOf", [])):
        yield from walk_schemas(sub, f"{path}/anyOf/{i}")


def test_the_schema_file_is_valid_and_uses_only_keywords_the_validator_reads():
    doc = schema.json_schema()
    jsonschema.Draft202012Validator.check_schema(doc)
    for path, node in walk_schemas(doc):
        unknown = set(node) - schema.KEYWORDS - schema.ANNOTATIONS
        assert not unknown, f"{path} uses {unknown}"


def test_written_documents_validate_with_jsonschema_and_ours(suite, suite_doc):
    validator = jsonschema.Draft202012Validator(schema.json_schema())
    for doc in [suite_doc] + [r.to_dict() for r in suite]:
        validator.validate(doc)
        assert schema.kind_of(doc) in ("suite", "ceiling")
        schema.validate(doc, schema.kind_of(doc))
    assert suite_doc["schema"] == "anethru.suite/4"
    assert suite_doc["results"][0]["schema"] == "anethru.ceiling/4"


def test_json_holds_no_infinity_or_nan_even_for_undefined_figures(suite):
    r = suite[0]
    tied = dict(r.tests)
    tied["sequential"] = type(r.tests["sequential"])(
        "sequential", "kernel", 3, r.tests["run_only"].iters, r.tests["run_only"].block_ns)
    t = anethru.CeilingResult.build(config=r.config, tests=tied, device=r.device,
                                    simulated=False, compile_ms=1.0, check=r.check,
                                    unsupported={}, machine=r.machine, clock=r.clock,
                                    anethru_version=r.anethru_version, stopping=r.stopping)
    assert t.derived["memcpy_share"].stats is None
    doc = strict_loads(t.to_json())
    assert doc["derived"]["memcpy_share"]["stats"] is None
    assert "round_trip_overhead is not resolved: overhead 0 per layer" in \
        doc["derived"]["memcpy_share"]["undefined"]
    assert anethru.CeilingResult.from_json(t.to_json()) == t


# ---------------------------------------------------------------------- loading


def test_a_path_loads_the_file_and_json_text_stays_possible(suite, suite_doc, tmp_path,
                                                            monkeypatch):
    """load_results("run.json") said `$: not valid JSON`: a str was always JSON text.  Now a
    str is a path unless it starts with '{' or '[' (source.py); bytes are always text."""
    text = json.dumps(suite_doc)
    (tmp_path / "run.json").write_text(text)
    monkeypatch.chdir(tmp_path)
    assert anethru.load_results("run.json") == suite                 # a relative path, as a str
    assert anethru.load_results(str(tmp_path / "run.json")) == suite
    assert anethru.load_results(tmp_path / "run.json") == suite      # os.PathLike
    assert anethru.load_results("\n  " + text) == suite              # JSON text, leading blanks
    assert anethru.load_results(text.encode()) == suite              # bytes: JSON text
    (tmp_path / "{odd}.json").write_text(text)                       # a name that looks like text
    assert anethru.load_results(tmp_path / "{odd}.json") == suite
    with pytest.raises(FileNotFoundError) as info:
        anethru.load_results("missing.json")
    message = str(info.value)
    assert "load_results: cannot read 'missing.json'" in message
    assert "a str is a path unless it starts with '{' or '['" in message
    with pytest.raises(TypeError, match="expected a path .* or JSON text .*; got int"):
        anethru.load_results(42)


def test_load_sweep_takes_a_path_str_too(tmp_path):
    with pytest.raises(FileNotFoundError, match="load_sweep: cannot read 'sweep.json'"):
        anethru.load_sweep("sweep.json")
    with pytest.raises(anethru.ResultFormatError, match="not valid JSON"):
        anethru.load_sweep('{"a": ')


def test_round_trip_recomputes_and_equals(suite, suite_doc):
    text = json.dumps(suite_doc)
    assert anethru.load_results(text) == suite
    assert anethru.CeilingResult.from_json(suite[0].to_json()) == suite[0]


def test_a_stated_figure_that_disagrees_with_the_raw_blocks_is_refused(suite_doc):
    doc = copy.deepcopy(suite_doc)
    doc["results"][0]["tests"]["run_only"]["per_unit_ms"]["median"] *= 1.5
    with pytest.raises(anethru.ResultFormatError,
                       match=r"^\$\.results\[0\]\.tests\.run_only\.per_unit_ms\.median: states "):
        anethru.load_results(json.dumps(doc))
    doc = copy.deepcopy(suite_doc)
    doc["results"][1]["derived"]["round_trip_overhead"]["stats"]["ci_high"] += 1.0
    with pytest.raises(anethru.ResultFormatError,
                       match=r"derived\.round_trip_overhead\.stats\.ci_high: states"):
        anethru.load_results(json.dumps(doc))
    doc = copy.deepcopy(suite_doc)
    doc["results"][1]["derived"]["memcpy_share"] = doc["results"][0]["derived"]["memcpy_share"]
    with pytest.raises(anethru.ResultFormatError,
                       match=r"derived\.memcpy_share: cannot be derived from the tests present"):
        anethru.load_results(json.dumps(doc))


def test_stated_figures_are_optional(suite_doc):
    doc = copy.deepcopy(suite_doc)
    for r in doc["results"]:
        for t in r["tests"].values():
            for k in ("per_unit_ms", "per_pass_ms", "units_per_second"):
                del t[k]
        del r["derived"], r["warnings"]
    assert anethru.load_results(json.dumps(doc)) == anethru.load_results(json.dumps(suite_doc))


@pytest.mark.parametrize("text,path,reason", [
    (b"null", "$", "must be an object"),   # bytes: JSON text (a str "null" is a path)
    ("[]", "$", "must be an object"),
    ("{}", "$.schema", "is missing"),
    ('{"schema": "something/else"}', "$.schema", "not an anethru result"),
    ('{"schema": "anethru.ceiling/5"}', "$.schema", "reads ceiling versions 1 to 4"),
    ('{"schema": "anethru.ceiling/0"}', "$.schema", "reads ceiling versions 1 to 4"),
    ("[" * 100_000 + "]" * 100_000, "$", "nested too deeply"),
    ('{"schema": 1, "schema": 2}', "$", "duplicate key 'schema'"),
    ('{"schema": "anethru.suite/2", "results": NaN}', "$.results", "NaN is not a finite number"),
    ('{"a": ', "$", "not valid JSON"),
    (b'\xff\xfe{}', "$", "not valid JSON"),
    (b"1" * 5000, "$", "not valid JSON"),   # bytes: JSON text (a str of digits is a path)
])
def test_hostile_documents_name_the_first_bad_field(text, path, reason):
    with pytest.raises(anethru.ResultFormatError) as info:
        anethru.load_results(text)
    assert isinstance(info.value, ValueError)
    assert info.value.path == path and reason in info.value.reason, str(info.value)


def mutate_field(doc, path, value):
    doc = copy.deepcopy(doc)
    node = doc
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return doc


@pytest.mark.parametrize("where,value,message", [
    (("results", 0, "tests", "sequential", "iters"), 0, "tests.sequential.iters: must be >= 1; got 0"),
    (("results", 0, "tests", "sequential", "block_ns", 2), -5,
     "tests.sequential.block_ns[2]: must be >= 0; got -5"),
    (("results", 0, "tests", "sequential", "block_ns", 0), 10**400, "must be <= 18446744073709551615"),
    (("results", 0, "tests", "sequential", "block_ns", 1), 1.5, "must be an integer; got 1.5"),
    (("results", 0, "config", "repeats"), 5, "block_ns: has 4 blocks, but config.repeats is 5"),
    (("results", 0, "config", "kernels"), 4, "units_per_pass: must be 4 for sequential with 4 kernels"),
    (("results", 0, "config", "channels"), 17, "bytes_per_tensor: is 256, but channels x spatial x 2 is 272"),
    (("results", 0, "config", "schedule", 0), "null_eval", "config.schedule: runs "),
    (("results", 0, "tests", "sequential", "name"), "run_only", "is \"run_only\" under the key \"sequential\""),
    (("results", 0, "simulated"), "false", "simulated: must be true or false"),
    (("results", 1, "machine", "deep"), [[["x"]]], "machine.deep: must be a string or a number"),
    (("results", 0, "stopping", "stopped_by"), "max_time", "must be \"repeats\" for an exact count"),
    (("results", 0, "extra"), 1, "extra: is not a field of this document"),
    (("failures",), [{"channels": 1}], "failures[0].spatial: is missing"),
])
def test_bad_fields_are_named_by_path(suite_doc, where, value, message):
    with pytest.raises(anethru.ResultFormatError) as info:
        anethru.load_results(json.dumps(mutate_field(suite_doc, where, value)))
    assert message in str(info.value)
    assert str(info.value).startswith("$.")


# ---------------------------------------------------------------------- anethru 0.1.0 documents


def test_the_0_1_0_h100_suite_loads_through_the_upgrade():
    with open(V1_SUITE, encoding="utf-8") as f:
        text = f.read()
    v1 = json.loads(text)
    assert v1["schema"] == "anethru.suite/1"
    results = anethru.load_results(text)
    assert [r.config.label for r in results] == ["64x32", "256x64", "768x256"]
    for r, old in zip(results, v1["results"]):
        assert r.config.backend == "cuda" and "H100" in r.device
        assert (r.stopping.criterion, r.stopping.stopped_by, r.stopping.elapsed_s) == (
            "repeats", "repeats", None)
        for name, t in r.tests.items():  # recomputed from the raw blocks, equal to what 0.1.0 said
            assert t.per_unit_ms.median == pytest.approx(old["tests"][name]["per_unit_ms"]["median"],
                                                         rel=1e-12)
            assert t.per_unit_ms.ci_low is not None and t.per_unit_ms.ci_level == 0.9375
        text_report = str(r)
        assert "5 repeats (an exact count)" in text_report and "[" in text_report
        r.to_markdown(), to_csv([r])
        again = anethru.CeilingResult.from_json(r.to_json())   # written back as version 2
        assert again == r and json.loads(r.to_json())["schema"] == "anethru.ceiling/4"


def test_a_0_1_0_document_with_infinity_loads_and_the_figure_is_undefined():
    with open(V1_SUITE, encoding="utf-8") as f:
        v1 = json.load(f)
    r = v1["results"][0]
    r["tests"]["sequential"]["block_ns"] = list(r["tests"]["run_only"]["block_ns"])
    for key in ("per_unit_ms", "per_pass_ms", "units_per_second"):
        del r["tests"]["sequential"][key]
    r["derived"]["memcpy_share"]["stats"]["median"] = math.inf  # 0.1.0 wrote Infinity here
    for key in ("round_trip_overhead", "chaining_saves"):
        del r["derived"][key]
    text = json.dumps(v1)   # Python writes the inf as Infinity, as 0.1.0 did
    assert "Infinity" in text
    res = anethru.load_results(text)[0]
    assert res.derived["memcpy_share"].stats is None
    assert "round_trip_overhead is not resolved: overhead 0 per layer" in \
        res.derived["memcpy_share"].undefined
    assert "undefined: round_trip_overhead is not resolved" in str(res)
    strict_loads(res.to_json())
    # ...but a version-2 document may never hold one
    doc = json.loads(res.to_json())
    doc["compile_ms"] = math.inf
    with pytest.raises(anethru.ResultFormatError, match=r"^\$\.compile_ms: Infinity is not a finite"):
        anethru.CeilingResult.from_json(json.dumps(doc))


def test_a_0_1_0_document_with_a_tampered_figure_is_refused():
    with open(V1_SUITE, encoding="utf-8") as f:
        v1 = json.load(f)
    v1["results"][2]["tests"]["chained"]["per_unit_ms"]["median"] = 0.001
    with pytest.raises(anethru.ResultFormatError,
                       match=r"^\$\.results\[2\]\.tests\.chained\.per_unit_ms\.median: states 0\.001"):
        anethru.load_results(json.dumps(v1))


# ---------------------------------------------------------------------- fuzzing

HOSTILE = [None, [], {}, "", "x", -1, 0, 1, -0.0, 1.5, 2**64, 10**400, -10**400, True, False,
           1e308, [None], {"a": 1}, "9" * 300, [[[[[[1]]]]]], "anethru.ceiling/2"]


def all_paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from all_paths(v, prefix + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node[:3]):   # the first few items of long arrays
            yield from all_paths(v, prefix + (i,))


def structural_mutants(doc, rng, count):
    paths = [p for p in all_paths(doc) if p]
    for _ in range(count):
        d = copy.deepcopy(doc)
        path = rng.choice(paths)
        parent = d
        for key in path[:-1]:
            parent = parent[key]
        op = rng.random()
        if op < 0.25 and isinstance(parent, dict):
            del parent[path[-1]]
        elif op < 0.35 and isinstance(parent, list):
            parent.append(copy.deepcopy(parent[-1]) if parent else None)
        elif op < 0.45 and isinstance(parent, list) and parent:
            parent.pop(rng.randrange(len(parent)))
        else:
            parent[path[-1]] = copy.deepcopy(rng.choice(HOSTILE))
        yield d


def text_mutants(text, rng, count):
    numbers = [i for i in range(len(text) - 1) if text[i] in "0123456789" and text[i - 1] in " :["]
    for k in range(count):
        kind = k % 5
        if kind == 0:
            yield text[:rng.randrange(len(text))]                     # truncated
        elif kind == 1:
            i = rng.choice(numbers)
            yield text[:i] + rng.choice(["Infinity", "-Infinity", "NaN", "1e400", "-1e999"]) + text[i + 1:]
        elif kind == 2:
            i = rng.randrange(len(text))
            yield text[:i] + rng.choice("{}[],:\"x0-") + text[i + 1:]  # one character changed
        elif kind == 3:
            i = text.index("{", 1)
            yield text[:i + 1] + '"schema": "anethru.ceiling/2", ' + text[i + 1:]   # duplicate key
        else:
            yield "[" * 50_000 + text + "]" * 50_000                # deep nesting around it


def check_one(text):
    """A document either raises ResultFormatError naming a path, or loads and always prints."""
    try:
        results = anethru.load_results(text)
    except anethru.ResultFormatError as exc:
        assert isinstance(exc, ValueError)
        assert exc.path.startswith("$") and exc.reason
        return "refused"
    for r in results:
        assert str(r) and r.to_markdown() and to_csv([r])
        assert anethru.CeilingResult.from_json(strict_loads(r.to_json()) and r.to_json()) == r
    return "loaded"


def test_hundreds_of_malformed_documents_are_refused_cleanly_or_load_and_print(suite_doc):
    rng = random.Random(2024)
    with open(V1_SUITE, encoding="utf-8") as f:
        v1_text = f.read()
    v1 = json.loads(v1_text)
    outcomes = {"refused": 0, "loaded": 0}
    docs = [json.dumps(d) for d in structural_mutants(suite_doc, rng, 300)]
    docs += [json.dumps(d) for d in structural_mutants(v1, rng, 200)]
    docs += list(text_mutants(json.dumps(suite_doc), rng, 150))
    docs += list(text_mutants(v1_text, rng, 100))
    for text in docs:
        try:
            outcomes[check_one(text)] += 1
        except AssertionError:
            raise
        except Exception as exc:  # anything else is the bug this test exists to catch
            pytest.fail(f"{type(exc).__name__}: {exc} for document {text[:300]!r}")
    assert sum(outcomes.values()) == 750
    assert outcomes["refused"] > 500, outcomes


def test_our_validator_agrees_with_jsonschema_on_mutants(suite_doc):
    # Structure only (no stated-figure or cross-field rules): both accept, or both refuse.
    rng = random.Random(99)
    validator = jsonschema.Draft202012Validator(schema.json_schema()["$defs"]["suite"] | {
        "$defs": schema.json_schema()["$defs"]})
    agreed = 0

    def stricter(d):
        # Where anethru is deliberately stricter than JSON Schema: 5.0 is not an integer, and
        # an integer no float can hold is not a number.
        return sum((isinstance(v, float) and v.is_integer())
                   or (isinstance(v, int) and abs(v) >= 2**1024) for v in _leaves(d))

    base = stricter(suite_doc)
    for d in structural_mutants(suite_doc, rng, 300):
        if stricter(d) > base:
            continue
        ours = True
        try:
            schema.check(d, schema.json_schema()["$defs"]["suite"])
        except anethru.ResultFormatError:
            ours = False
        assert ours == validator.is_valid(d), d
        agreed += 1
    assert agreed > 200


def _leaves(node):
    if isinstance(node, dict):
        for v in node.values():
            yield from _leaves(v)
    elif isinstance(node, list):
        for v in node:
            yield from _leaves(v)
    else:
        yield node
