"""Wrong types and unclear errors: each bad value is a ResultFormatError or a ValueError /
TypeError naming it, never a TypeError from deep inside, an OverflowError after a worker started,
or an internal error in the CLI (issue 22)."""

from __future__ import annotations

import json
import os

import pytest

import anethru
from anethru import cli


@pytest.fixture(scope="module")
def precision_doc():
    r = anethru.run_ceiling(16, 8, backend="cpu", kernels=2, iters=1, warmup=0, precision=0.05,
                            max_time=0.2, tests=["sequential", "run_only"], seed=3)
    return r.to_dict()


def stopped_by_time(doc):
    d = json.loads(json.dumps(doc))
    d["stopping"].update(stopped_by="max_time", max_time_s=None)
    for key in ("warnings", "derived"):
        d.pop(key, None)
    return d


def test_max_time_s_null_in_a_run_stopped_by_time_is_named(precision_doc):
    with pytest.raises(anethru.ResultFormatError) as exc:
        anethru.CeilingResult.from_dict(stopped_by_time(precision_doc))
    assert exc.value.path == "$.stopping.max_time_s"
    assert "is null, but the run was stopped by it" in exc.value.reason


@pytest.mark.parametrize("command", ["compare", "plot"])
def test_the_cli_names_the_field_instead_of_an_internal_error(precision_doc, tmp_path, capsys,
                                                             command):
    f = tmp_path / "r.json"
    f.write_text(json.dumps(stopped_by_time(precision_doc)))
    args = [command, str(f), str(f)] if command == "compare" else [command, str(f), "-o",
                                                                   str(tmp_path / "p.png")]
    assert cli.main(args) == 1
    err = capsys.readouterr().err
    assert "$.stopping.max_time_s" in err and "internal error" not in err


@pytest.mark.parametrize("where", ["device", "machine.hostname_key", "warnings"])
def test_a_lone_surrogate_in_a_text_field_is_refused_naming_it(precision_doc, where):
    d = json.loads(json.dumps(precision_doc))
    if where == "device":
        d["device"] = "CPU \ud800"
        path = "$.device"
    elif where == "warnings":
        d["warnings"] = ["\udfff"] * 3
        path = "$.warnings[0]"
    else:
        d["machine"]["\ud83d"] = 1
        path = "$.machine"
    text = json.dumps(d)                 # ensure_ascii: the surrogate travels as \ud800
    with pytest.raises(anethru.ResultFormatError) as exc:
        anethru.load_results(text)
    assert exc.value.path == path and "lone surrogate" in exc.value.reason


@pytest.mark.parametrize("timeout", [float("inf"), 2 ** 64, 1e300])
def test_an_unreachable_timeout_is_refused_before_any_worker_starts(timeout, monkeypatch):
    from anethru.measure.worker import parent

    def no_start(*a, **k):
        raise AssertionError("a worker was started")

    monkeypatch.setattr(parent._Worker, "start", no_start)
    with pytest.raises(ValueError, match=r"timeout must be at most \d+ seconds .*got"):
        anethru.run_ceiling(16, 8, backend="cpu", kernels=2, repeats=1, isolate=True,
                            timeout=timeout)
