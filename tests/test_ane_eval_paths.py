"""Eval paths: standard, realtime and direct, one at a time or all side by side.

Against the simulated framework (tests/sim_ane.py) for the ANE, whose counters say which path
every eval really took; on the CPU backend for what every backend must do (only the standard
path, the others reported unsupported, never a fallback).
"""

import contextlib
import io
import json

import pytest

import anethru
from sim_ane import run, sim  # noqa: F401 (fixtures)
from anethru.cli import main
from sim_ane import assert_clean


UNITS = 13                 # 12 kernels and the chained program, each probed once
CHECK_EVALS = 12 + 1       # the chain check: one sequential pass and one chained pass


def test_direct_path_evaluates_through_the_restricted_client(run):
    r = run("""
        res = anethru.run_ceiling(64, 32, backend="ane", iters=2, warmup=1, repeats=2,
                                  tests=["run_only", "chained"], ane_eval="direct", seed=1)
        anethru.release_cached_chains()
        report(options=list(res.config.options), after=counters(), check=res.check.passed)
    """)
    assert r["options"] == ["ane_eval=direct"] and r["check"] is True
    # probes + check + per test (1 warm-up + 2 blocks x 2 passes) x evals per pass
    assert r["after"]["direct_eval_calls"] == UNITS + CHECK_EVALS + 5 * 12 + 5 * 1
    assert r["after"]["eval_calls"] == 0 and r["after"]["rt_eval_calls"] == 0
    assert_clean(r["after"])


@pytest.mark.parametrize("stage,words", [
    ("direct_eval", "[[_ANEClient alloc] initWithRestrictedAccessAllowed:YES]: ANE direct eval "
                    "failed: "),
])
def test_a_direct_path_that_fails_its_probe_is_unsupported_never_a_fallback(run, stage, words):
    r = run("""
        try:
            anethru.run_ceiling(64, 32, backend="ane", iters=1, warmup=0, repeats=1,
                                tests=["run_only"], ane_eval="direct")
        except anethru.UnsupportedError as exc:
            report(error=str(exc))
        report(after=counters(), dirs=kernel_dirs())
    """, FAKE_ANE_FAIL_AT=stage)
    assert "cannot evaluate 64x32 through the direct eval path: " in r["error"]
    assert words in r["error"]
    if stage == "direct_eval":
        assert "injected failure in direct_eval" in r["error"]           # the framework's message
        assert "; [_ANEClient sharedConnection]: ANE direct eval failed: " in r["error"]
        assert r["after"]["direct_eval_calls"] == 24      # one probe per client per compile
    assert r["after"]["eval_calls"] == 0                                 # nothing measured instead
    assert_clean(r["after"])
    assert r["dirs"] == {}


def test_an_exception_setting_up_a_path_makes_it_unsupported_not_the_compile_fail(run):
    r = run("""
        with anethru.Chain(64, 32, kernels=2, backend="ane", chained=False, ane_eval="all") as c:
            report(support=c.eval_path_support(), check=c.check().passed)
        report(after=counters())
    """, FAKE_ANE_FAIL_AT="shared_connection", FAKE_ANE_FAIL_HOW="raise")
    assert r["support"]["realtime"] == ("[_ANEClient sharedConnection]: Objective-C exception "
                                        "FakeANEInjectedException: injected exception in shared_connection")
    assert r["support"]["standard"] == r["support"]["direct"] == "" and r["check"] is True
    assert_clean(r["after"])


def test_all_paths_measured_interleaved_side_by_side(run):
    r = run("""
        res = anethru.run_ceiling(64, 32, backend="ane", iters=2, warmup=1, repeats=3,
                                  tests=["run_only", "chained"], ane_eval="all", seed=11)
        anethru.release_cached_chains()
        again = anethru.CeilingResult.from_json(res.to_json())
        e = res.eval_paths
        report(rounds=e["rounds"], unsupported=e["unsupported"],
               blocks={p: {n: [len(t.block_ns), t.iters] for n, t in x.items()}
                       for p, x in res.eval_path_tests().items()},
               schedules={p: x["schedule"] for p, x in e["results"].items()},
               main=list(res.config.schedule), options=list(res.config.options),
               text=str(res), same=again.to_dict() == res.to_dict(), after=counters())
    """)
    assert r["options"] == ["ane_eval=all"] and r["unsupported"] == {}
    assert len(r["rounds"]) == 3 and all(sorted(x) == ["direct", "realtime", "standard"]
                                         for x in r["rounds"])
    assert r["blocks"] == {p: {"run_only": [3, 2], "chained": [3, 2]}
                           for p in ("standard", "realtime", "direct")}
    assert sorted(r["main"]) == sorted(r["schedules"]["realtime"]) == ["chained"] * 3 + ["run_only"] * 3
    # Every eval went through the path it was counted for: per path, 3 rounds of (1 warm-up
    # + 2 passes) per test, plus its check; the non-standard ones also their probes.
    rounds = 3 * 3 * (12 + 1)
    assert r["after"]["eval_calls"] == CHECK_EVALS + rounds
    assert r["after"]["rt_eval_calls"] == UNITS + CHECK_EVALS + rounds
    assert r["after"]["direct_eval_calls"] == UNITS + CHECK_EVALS + rounds
    assert "eval paths side by side" in r["text"]
    assert r["text"].count("x)") >= 4                          # ratios to standard, per path
    assert r["same"] is True
    assert_clean(r["after"])


def test_all_reports_a_path_the_framework_lacks_and_measures_the_rest(run):
    r = run("""
        res = anethru.run_ceiling(64, 32, backend="ane", iters=1, warmup=0, repeats=2,
                                  tests=["run_only"], ane_eval="all")
        anethru.release_cached_chains()
        report(unsupported=res.eval_paths["unsupported"], measured=sorted(res.eval_path_tests()),
               text=str(res), after=counters())
    """, ANETHRU_SIM_ANE_FRAMEWORK=run.framework("no_direct"))
    lacks = "_ANEClient does not respond to doEvaluateDirectWithModel:options:request:qos:error:"
    assert r["unsupported"] == {"direct": f"[[_ANEClient alloc] initWithRestrictedAccessAllowed:YES]: "
                                          f"{lacks}; [_ANEClient sharedConnection]: {lacks}"}
    assert r["measured"] == ["realtime", "standard"]
    assert "direct        not usable: [[_ANEClient alloc] initWithRestrictedAccessAllowed:YES]: " \
           "_ANEClient does not respond to" in r["text"]
    assert r["after"]["direct_eval_calls"] == 0
    assert_clean(r["after"])


def test_all_never_measures_a_path_whose_output_is_wrong(run):
    r = run("""
        res = anethru.run_ceiling(64, 32, backend="ane", iters=1, warmup=0, repeats=1,
                                  tests=["run_only"], ane_eval="all")
        anethru.release_cached_chains()
        report(unsupported=res.eval_paths["unsupported"], measured=sorted(res.eval_path_tests()),
               after=counters())
    """, FAKE_ANE_CORRUPT="rt_eval")
    (why,) = r["unsupported"].values()
    assert list(r["unsupported"]) == ["realtime"]
    assert why.startswith("its output failed the chain check: ")
    assert "the sequential chain's output is wrong" in why
    assert r["measured"] == ["direct", "standard"]
    assert_clean(r["after"])


def test_a_path_not_set_up_at_compile_is_unsupported(run):
    r = run("""
        with anethru.Chain(64, 32, kernels=2, backend="ane", chained=False) as c:
            support = c.eval_path_support()
            try:
                c.set_eval_path("direct")
            except anethru.UnsupportedError as exc:
                report(error=str(exc))
            report(support=support, path=c.eval_path)
    """)
    assert r["support"]["standard"] == ""
    assert r["support"]["realtime"].startswith("the realtime eval path was not set up")
    assert "the direct eval path was not set up when this kernel was compiled" in r["error"]
    assert r["path"] == "standard"


# ---------------------------------------------------------------------------- any backend

def test_all_on_a_backend_with_one_path_measures_it_and_says_why_not_the_others(no_leaks):
    res = anethru.run_ceiling(16, 8, backend="cpu", kernels=2, iters=1, warmup=0, repeats=2,
                              tests=["run_only"], ane_eval="all", seed=2)
    assert res.eval_paths["unsupported"] == {
        "realtime": "the cpu backend has only the standard eval path",
        "direct": "the cpu backend has only the standard eval path"}
    assert list(res.eval_path_tests()) == ["standard"]
    assert len(res.tests["run_only"].block_ns) == 2 and res.eval_paths["rounds"] == [["standard"]] * 2
    assert "realtime      not usable: the cpu backend has only the standard eval path" in str(res)


def test_a_single_other_path_on_the_cpu_is_unsupported(no_leaks):
    with pytest.raises(anethru.UnsupportedError,
                       match=r"cpu cannot evaluate 16x8 through the realtime eval path: the cpu "
                             r"backend has only the standard eval path"):
        anethru.Chain(16, 8, kernels=2, backend="cpu", ane_eval="realtime")


@pytest.mark.parametrize("kwargs,error,match", [
    (dict(ane_eval="fast"), ValueError, r"ane_eval must be one of standard, realtime, direct, all; got 'fast'"),
    (dict(ane_eval="direct", ane_realtime=True), ValueError, r"ane_realtime=True means ane_eval='realtime'"),
    (dict(ane_realtime="yes"), TypeError, r"ane_realtime must be True or False"),
])
def test_bad_eval_choices_name_the_value(kwargs, error, match):
    with pytest.raises(error, match=match):
        anethru.run_ceiling(16, 8, backend="cpu", kernels=2, iters=1, repeats=1, **kwargs)


def test_cli_eval_options(capsys):
    assert main(["-b", "cpu", "-c", "16x8", "-k", "2", "-n", "1", "-r", "1", "-w", "0", "-q",
                 "--ane-realtime", "--ane-eval", "direct"]) == 2
    assert "--ane-realtime means --ane-eval realtime" in capsys.readouterr().err
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        rc = main(["-b", "cpu", "-c", "16x8", "-k", "2", "-n", "1", "-r", "1", "-w", "0", "-q",
                   "-t", "run_only", "--ane-eval", "all", "--json"])
    assert rc == 0
    (res,) = json.loads(out.getvalue())["results"]
    assert res["config"]["options"] == ["ane_eval=all"]
    assert set(res["eval_paths"]["unsupported"]) == {"realtime", "direct"}


def test_side_by_side_table_and_json_from_the_raw_blocks(no_leaks):
    """A realtime path's blocks put beside a real standard run: the table's figures and ratios
    are the medians of the raw blocks, and they survive JSON."""
    import dataclasses

    res = anethru.run_ceiling(16, 8, backend="cpu", kernels=3, iters=2, warmup=0, repeats=3,
                              tests=["sequential", "run_only"], ane_eval="all", seed=5)
    # 3 blocks of 2 passes of 3 kernels: per kernel = block_ns / 6 / 1e6 ms; medians 0.5 and 0.3 ms
    fast = {"sequential": anethru.TestResult("sequential", "kernel", 3, 2, (2_700_000, 3_000_000, 3_300_000)),
            "run_only": anethru.TestResult("run_only", "kernel", 3, 2, (1_800_000, 1_500_000, 1_200_000))}
    eval_paths = dict(res.eval_paths, rounds=[["standard", "realtime"]] * 3,
                      unsupported={"direct": res.eval_paths["unsupported"]["direct"]},
                      results={"realtime": {"schedule": ["sequential", "run_only"] * 3,
                                            "tests": fast}})
    res = dataclasses.replace(res, eval_paths=eval_paths)
    from anethru.units import duration, row_unit as _row_unit

    std = {n: res.tests[n].per_unit_ms.median for n in ("sequential", "run_only")}
    text = str(res)
    row = next(ln for ln in text.splitlines() if ln.startswith(" sequential") and "x)" in ln)
    unit = _row_unit(std["sequential"], 0.5)  # one unit per row, the one that shows the largest
    assert row.split()[1:] == [*duration(std["sequential"], unit).split(),
                               *duration(0.5, unit).split(), f"({0.5 / std['sequential']:.2f}x)"]
    row = next(ln for ln in text.splitlines() if ln.startswith(" round_trip_overhead"))
    # (sequential - run_only) per pass / 2 boundaries, block by block (paired in repeat order):
    # (1.35-0.90, 1.50-0.75, 1.65-0.60) / 2 = 0.225, 0.375, 0.525 ms: median 0.375
    rto = res.derived["round_trip_overhead"].stats.median
    assert row.split()[-2:] == duration(0.375, _row_unit(rto, 0.375)).split()
    again = anethru.CeilingResult.from_json(res.to_json())
    assert again.eval_paths["results"]["realtime"]["tests"]["run_only"].block_ns == (1_800_000, 1_500_000, 1_200_000)
    assert again.to_dict() == res.to_dict()
