"""The stopping verdict, re-checked on load (issue 19 s.2, issue 22): a result whose stated
``stopped_by`` or per-figure statuses its raw blocks contradict is refused."""

from __future__ import annotations

import json

import pytest

import anethru
from anethru.errors import ResultFormatError
from virtual_clock import virtual_costs


@pytest.fixture(scope="module")
def doc():
    with virtual_costs():
        r = anethru.run_ceiling(8, 4, kernels=3, backend="virtual", max_time=30, seed=4,
                                tests=["sequential", "run_only", "memcpy_only"])
    return json.loads(r.to_json())


def test_an_exact_virtual_run_stops_resolved_at_the_fewest_rounds(doc):
    s = doc["stopping"]
    assert s["stopped_by"] == "precision" and doc["config"]["repeats"] == 6
    assert s["figures"] == {"sequential": "resolved", "run_only": "resolved",
                            "memcpy_only": "resolved", "round_trip_overhead": "resolved"}
    assert anethru.CeilingResult.from_json(json.dumps(doc)).stopping.stopped_by == "precision"


def load(d):
    return anethru.CeilingResult.from_json(json.dumps(d))


@pytest.mark.parametrize("said,why", [
    ("max_time", "already meet the rule ('precision')"),
    ("converged", "but the raw blocks give 'precision'"),
])
def test_a_stopped_by_the_blocks_contradict_is_refused(doc, said, why):
    bad = json.loads(json.dumps(doc))
    bad["stopping"]["stopped_by"] = said
    with pytest.raises(ResultFormatError) as e:
        load(bad)
    assert e.value.path == "$.stopping.stopped_by" and why in e.value.reason


def test_a_figure_status_the_blocks_contradict_is_refused(doc):
    bad = json.loads(json.dumps(doc))
    bad["stopping"]["figures"]["round_trip_overhead"] = "converged (not resolved)"
    with pytest.raises(ResultFormatError, match=r"stopping\.stopped_by: states figures"):
        load(bad)


def test_noisy_blocks_cannot_claim_precision(doc):
    bad = json.loads(json.dumps(doc))
    for t in bad["tests"].values():     # stated figures are optional: drop them, keep raw
        for k in ("per_unit_ms", "per_pass_ms", "units_per_second"):
            t.pop(k, None)
    bad.pop("derived")
    seq = bad["tests"]["sequential"]["block_ns"]
    bad["tests"]["sequential"]["block_ns"] = [int(ns * (1 + 0.3 * (i % 2))) for i, ns in
                                             enumerate(seq)]
    with pytest.raises(ResultFormatError) as e:
        load(bad)
    assert e.value.path == "$.stopping.stopped_by"
    assert "says 'precision', but the raw blocks give a run that had not finished" in e.value.reason


def test_results_written_before_the_rule_are_not_rechecked(doc):
    old = json.loads(json.dumps(doc))
    old["schema"] = "anethru.ceiling/2"
    old["stopping"].pop("rule"), old["stopping"].pop("figures"), old.pop("pairs")
    old["stopping"]["stopped_by"] = "max_time"
    assert load(old).stopping.stopped_by == "max_time"
