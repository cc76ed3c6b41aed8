"""The eval_paths section (ane_eval="all") is validated like the main tests: stated figures
against its raw blocks, units, block counts, rounds (issue 22)."""

from __future__ import annotations

import copy
import json

import pytest

import anethru


@pytest.fixture(scope="module")
def doc():
    """A CPU run with ane_eval="all", given a realtime path whose blocks are the standard
    path's reversed (so its figures are real and differ in order, not in value)."""
    r = anethru.run_ceiling(16, 8, backend="cpu", kernels=3, iters=2, warmup=0, repeats=3,
                            tests=["sequential", "run_only"], ane_eval="all", seed=5)
    d = r.to_dict()
    tests = {n: dict(copy.deepcopy(t), block_ns=t["block_ns"][::-1]) for n, t in d["tests"].items()}
    d["eval_paths"]["rounds"] = [["realtime", "standard"]] * 3
    d["eval_paths"]["unsupported"].pop("realtime")
    d["eval_paths"]["results"] = {"realtime": {"schedule": d["config"]["schedule"],
                                               "tests": tests}}
    # The realtime figures as written: recomputed from the reversed blocks.
    return json.loads(anethru.CeilingResult.from_dict(_strip(d)).to_json())


def _strip(d):
    d = copy.deepcopy(d)
    for t in d["eval_paths"]["results"]["realtime"]["tests"].values():
        for k in ("per_unit_ms", "per_pass_ms", "units_per_second"):
            t.pop(k, None)
    return d


def refused(d, path, words):
    with pytest.raises(anethru.ResultFormatError) as exc:
        anethru.CeilingResult.from_dict(d)
    assert exc.value.path == path, str(exc.value)
    assert words in exc.value.reason


def realtime(d):
    return d["eval_paths"]["results"]["realtime"]


def test_the_valid_document_loads_with_its_realtime_figures(doc):
    r = anethru.CeilingResult.from_dict(doc)
    rt = r.eval_paths["results"]["realtime"]["tests"]["run_only"]
    assert rt.block_ns == tuple(doc["tests"]["run_only"]["block_ns"][::-1])
    assert "realtime" in str(r)


def test_a_stated_eval_path_median_is_checked_against_its_blocks(doc):
    d = copy.deepcopy(doc)
    realtime(d)["tests"]["run_only"]["per_unit_ms"]["median"] = 123.456
    refused(d, "$.eval_paths.results.realtime.tests.run_only.per_unit_ms.median",
            "states 123.456, but the raw blocks give")


def test_a_wrong_units_per_pass_is_refused(doc):
    d = copy.deepcopy(doc)
    realtime(d)["tests"]["run_only"]["units_per_pass"] = 36
    refused(d, "$.eval_paths.results.realtime.tests.run_only.units_per_pass",
            "must be 3 for run_only with 3 kernels; got 36")


def test_a_block_count_mismatch_is_refused(doc):
    d = copy.deepcopy(doc)
    realtime(d)["tests"]["sequential"]["block_ns"].append(5)
    refused(d, "$.eval_paths.results.realtime.tests.sequential.block_ns",
            "has 4 blocks, but config.repeats is 3")


def test_a_schedule_that_disagrees_is_refused(doc):
    d = copy.deepcopy(doc)
    realtime(d)["schedule"] = ["sequential"] * 6
    refused(d, "$.eval_paths.results.realtime.schedule", "runs sequential 6 times")


def test_rounds_must_run_every_measured_path_once_per_repeat(doc):
    d = copy.deepcopy(doc)
    d["eval_paths"]["rounds"] = [["standard"]] * 3
    refused(d, "$.eval_paths.rounds[0]", "every round runs each path measured once")
    d["eval_paths"]["rounds"] = [["standard", "realtime"]] * 2
    refused(d, "$.eval_paths.rounds", "has 2 rounds, but config.repeats is 3")


def test_other_tests_than_the_standard_paths_are_refused(doc):
    d = copy.deepcopy(doc)
    del realtime(d)["tests"]["sequential"]
    realtime(d)["schedule"] = ["run_only"] * 3
    refused(d, "$.eval_paths.results.realtime.tests", "the standard path has sequential, run_only")


def test_a_path_both_measured_and_unsupported_is_refused(doc):
    d = copy.deepcopy(doc)
    d["eval_paths"]["unsupported"]["realtime"] = "no"
    refused(d, "$.eval_paths.unsupported.realtime", "names a path that has results")


def test_eval_paths_in_a_run_that_did_not_ask_for_them_are_refused(doc):
    d = copy.deepcopy(doc)
    d["config"]["options"] = []
    refused(d, "$.eval_paths", "config.options does not say ane_eval=all")
