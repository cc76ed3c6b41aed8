"""Single-field mutations of every kind of result document (a suite, a sweep, a result with eval
paths, a 0.1.0 suite): each mutant is either refused with a ResultFormatError, or accepted with
figures and claims that equal those computed here, with numpy, from its own raw blocks (issue
22).  Nothing false is accepted."""

from __future__ import annotations

import copy
import json
import math
import os
import random

import numpy as np
import pytest

import anethru
from anethru.results.ceiling import SCHEMA as CURRENT_CEILING
from anethru.results.ceiling import suite_document

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
V1_SUITE = os.path.join(ROOT, "tests", "data", "h100-suite-anethru-0.1.0.json")
MUTANTS_PER_DOCUMENT = 250
RTOL = 1e-9


# ---------------------------------------------------------------------- the documents

def _suite():
    a = anethru.run_ceiling(16, 8, kernels=3, backend="cpu", iters=2, repeats=4, seed=1)
    b = anethru.run_ceiling(8, 8, kernels=2, backend="cpu", iters=2, warmup=0, precision=0.3,
                            max_time=0.5, seed=2, tests=["sequential", "run_only", "chained"])
    return suite_document([a, b])


def _sweep():
    s = anethru.run_sweep(configs=[(8, 32), (8, 64), (8, 96)], kernels=2, backend="cpu",
                          iters=1, warmup=0, repeats=3, seed=4,
                          tests=["sequential", "run_only", "memcpy_only"])
    return s.to_dict()


def _eval_paths():
    r = anethru.run_ceiling(16, 8, backend="cpu", kernels=3, iters=2, warmup=0, repeats=3,
                            tests=["sequential", "run_only"], ane_eval="all", seed=5)
    d = r.to_dict()
    tests = {n: {k: t[k] for k in ("name", "unit", "units_per_pass", "iters")}
             | {"block_ns": t["block_ns"][::-1]} for n, t in d["tests"].items()}
    d["eval_paths"]["rounds"] = [["standard", "realtime"]] * 3
    d["eval_paths"]["unsupported"].pop("realtime")
    d["eval_paths"]["results"] = {"realtime": {"schedule": d["config"]["schedule"],
                                               "tests": tests}}
    return json.loads(anethru.CeilingResult.from_dict(d).to_json())


def _v1():
    with open(V1_SUITE, encoding="utf-8") as f:
        return json.load(f)


DOCUMENTS = {"suite": _suite, "sweep": _sweep, "eval_paths": _eval_paths, "0.1.0": _v1}


# ---------------------------------------------------------------------- mutations

def leaves(node, path=()):
    """Every leaf's path; of a long list only the first, one middle and the last items."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield from leaves(v, path + (k,))
    elif isinstance(node, list):
        idx = range(len(node)) if len(node) <= 6 else (0, len(node) // 2, len(node) - 1)
        for i in idx:
            yield from leaves(node[i], path + (i,))
    else:
        yield path


def mutated(value, rng):
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return rng.choice([value + 1, value - 1, value * 2, 0, -value])
    if isinstance(value, float):
        return rng.choice([value * 1.5, value + 1, -value, 0.0])
    if isinstance(value, str):
        return rng.choice([value + "x", "", "SIMULATED " + value, value.upper()])
    return rng.choice([0, "x", True])


def mutants(doc, rng):
    paths = list(leaves(doc))
    for path in rng.sample(paths, min(MUTANTS_PER_DOCUMENT, len(paths))):
        d = copy.deepcopy(doc)
        node = d
        for k in path[:-1]:
            node = node[k]
        node[path[-1]] = mutated(node[path[-1]], rng)
        yield path, d


# ---------------------------------------------------------------------- the figures, here

def per_unit(t):
    return np.asarray(t["block_ns"], dtype=np.float64) / 1e6 / t["iters"] / t["units_per_pass"]


def per_pass(t):
    return np.asarray(t["block_ns"], dtype=np.float64) / 1e6 / t["iters"]


def close(a, b):
    return math.isclose(a, b, rel_tol=RTOL, abs_tol=1e-300)


def assert_tests_agree(stated_tests, loaded_tests, where):
    assert set(stated_tests) == set(loaded_tests), where
    for name, t in stated_tests.items():
        got = loaded_tests[name].per_unit_ms
        assert close(got.median, float(np.median(per_unit(t)))), (where, name)
        assert got.n == len(t["block_ns"]) and got.min == float(np.min(per_unit(t))), (where, name)
        stated = t.get("per_unit_ms")
        if stated is not None:
            for key in ("median", "min", "max", "ci_low", "ci_high", "n"):
                if stated.get(key) is not None:
                    assert close(stated[key], getattr(got, key)), (where, name, key)


def assert_agrees(d, r, where):
    """One accepted result against its (mutated) document entry."""
    assert r.simulated == ("SIMULATED" in r.device.upper()) == d["simulated"], where
    assert r.config.repeats == d["config"]["repeats"], where
    assert len(r.config.schedule) == r.config.repeats * len(d["tests"]), where
    assert_tests_agree(d["tests"], r.tests, where)
    k = d["config"]["kernels"]
    if "sequential" in d["tests"] and "run_only" in d["tests"]:
        if d.get("pairs"):   # per-pass pairs: each pair's difference (issue 19)
            wall = np.asarray(d["pairs"]["wall_ns"], dtype=np.float64)
            rto = (wall[:, 0] - wall[:, 1]) / 1e6 / (k - 1)
        else:                # blocks of one round, paired
            rto = (per_pass(d["tests"]["sequential"]) - per_pass(d["tests"]["run_only"])) / (k - 1)
        got = r.derived["round_trip_overhead"].stats
        assert close(got.median, float(np.median(rto))), where
        # Only a current document's stated derived figures are claims; older versions' are
        # dropped on upgrade (their meaning changed: anethru/results/schema.py's history).
        stated = d.get("derived", {}).get("round_trip_overhead", {}).get("stats")
        if stated and d.get("schema") == CURRENT_CEILING:
            assert close(stated["median"], got.median), where
    for path, res in d.get("eval_paths", {}).get("results", {}).items():
        assert_tests_agree(res["tests"], r.eval_paths["results"][path]["tests"],
                           f"{where} eval path {path}")


def entries(doc):
    if doc.get("schema", "").startswith("anethru.sweep"):
        return doc["points"]
    return doc["results"] if "results" in doc else [doc]


@pytest.mark.parametrize("kind", list(DOCUMENTS))
def test_every_accepted_mutant_agrees_with_its_raw_blocks(kind):
    base = DOCUMENTS[kind]()
    rng = random.Random(f"issue-22-{kind}")
    accepted = refused = 0
    for path, d in mutants(base, rng):
        text = json.dumps(d)
        try:
            results = anethru.load_results(text)
        except anethru.ResultFormatError:
            refused += 1
            continue
        accepted += 1
        docs = entries(d)
        assert len(results) == len(docs), path
        for i, (entry, r) in enumerate(zip(docs, results)):
            assert_agrees(entry, r, f"{kind} mutant at {path}, result {i}")
    assert refused > 0 and accepted > 0, (accepted, refused)
