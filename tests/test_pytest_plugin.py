"""The pytest plugin (anethru/pytest_plugin.py): a user's test file using the anethru_benchmark
fixture, run by pytest with pytest-benchmark, saves, compares and fails on anethru's figures."""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
from importlib.metadata import entry_points

import pytest

import anethru
import anethru.measure.benchmarking as benchmarking
#                            modules first imported inside them, and numpy cannot load twice

pytest_plugins = ["pytester"]

USER_TESTS = """
import pytest

def test_sequential(anethru_benchmark):
    anethru_benchmark(64, 32, test="sequential", backend="cpu")

def test_run_only(anethru_benchmark):
    anethru_benchmark(64, 32, test="run_only", backend="cpu")

@pytest.mark.benchmark(group="copies")
def test_memcpy(anethru_benchmark):
    anethru_benchmark(32, 16, test="memcpy_only", backend="cpu", kernels=4, overhead=False)

def test_missing_backend(anethru_benchmark):
    anethru_benchmark(64, 32, backend=MISSING)

def test_not_a_benchmark():
    pass
"""


@pytest.fixture(autouse=True)
def _outside_xdist(monkeypatch):
    """The user's pytest runs here as a user runs it, not as an xdist worker: pytest-benchmark
    disables itself where PYTEST_XDIST_WORKER is set, and an xdist worker of this suite
    passes its environment on to pytester's runs."""
    for name in [n for n in os.environ if n.startswith("PYTEST_XDIST_")]:
        monkeypatch.delenv(name)


def _missing_backend() -> anethru.BackendInfo:
    missing = [b for b in anethru.backends() if not b.available]
    if not missing:
        pytest.skip("every backend is available here: none to see skipped")
    return missing[0]


def _benchmarks(path) -> dict[str, dict]:
    with open(path) as f:
        return {b["name"]: b for b in json.load(f)["benchmarks"]}


def test_entry_point_loads_the_plugin_under_pytest11():
    (ep,) = [e for e in entry_points(group="pytest11") if e.name == "anethru"]
    assert ep.value == "anethru.pytest_plugin"


def test_plugin_import_loads_nothing_native():
    """pytest imports the plugin in every session: with the native module made unimportable,
    importing it must still work and load none of anethru's native-backed modules."""
    code = ("import sys, anethru.pytest_plugin, anethru.native_clock; "
            "print(sorted(m for m in sys.modules if m.startswith('anethru')))")
    env = dict(os.environ, ANETHRU_NATIVE_MODULE="no_such_native_module")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == ["['anethru',", "'anethru._version',", "'anethru.native',",
                                "'anethru.native.clock',", "'anethru.native_clock',",
                                "'anethru.pytest_plugin']"]


def test_package_names_stay_functions_after_their_modules_load():
    """anethru.backends is a function, defined in anethru.native.backends: loading that module
    (as Chain does) must not replace the function in the lazily loaded package."""
    code = ("import anethru.measure.chain, anethru; print(callable(anethru.backends), "
            "type(anethru.backends).__name__, anethru.backends()[-1].name)")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == ["True", "function", "cpu"]


def test_fixture_writes_anethrus_figures_into_the_benchmark_json(pytester, no_leaks):
    missing = _missing_backend()
    pytester.makepyfile(test_user=USER_TESTS.replace("MISSING", repr(missing.name)))
    result = pytester.runpytest("--benchmark-json=out.json", "--benchmark-min-rounds=3",
                                "--benchmark-only", "-rs")
    result.assert_outcomes(passed=3, skipped=2)
    result.stdout.fnmatch_lines([f"*{missing.reason[:60]}*",
                                 "*Skipping non-benchmark (--benchmark-only active)*"])
    b = _benchmarks(pytester.path / "out.json")
    assert sorted(b) == ["test_memcpy", "test_run_only", "test_sequential"]
    assert {n: x["group"] for n, x in b.items()} == {
        "test_sequential": "cpu 64x32 x12", "test_run_only": "cpu 64x32 x12",
        "test_memcpy": "copies"}
    cpu_device = {i.name: i for i in anethru.backends()}["cpu"].device

    for name, test in [("test_sequential", "sequential"), ("test_run_only", "run_only"),
                       ("test_memcpy", "memcpy_only")]:
        x, info = b[name], b[name]["extra_info"]
        assert x["options"]["timer"] == "anethru.native_clock"
        assert (info["anethru_test"], info["backend"], info["device"]) == (test, "cpu", cpu_device)
        assert info["check"]["passed"] and info["machine"]["platform"] == sys.platform
        # pytest-benchmark's samples are the native blocks of the test, per pass.
        t = info["tests"][test]
        assert x["stats"]["rounds"] == len(t["block_ns"]) == 3
        assert x["stats"]["data"] == pytest.approx([ns / t["iters"] / 1e9 for ns in t["block_ns"]],
                                                   rel=1e-12)
        per_unit = [ns / t["iters"] / t["units_per_pass"] / 1e6 for ns in t["block_ns"]]
        unit = "copy" if test == "memcpy_only" else "kernel"
        assert info[f"ms_per_{unit}_median"] == pytest.approx(statistics.median(per_unit))

    # The overhead is derived from sequential and run_only blocks measured in the same rounds.
    info = b["test_sequential"]["extra_info"]
    seq, run = info["tests"]["sequential"], info["tests"]["run_only"]
    expected = [(s / seq["iters"] - r / run["iters"]) / 1e6 / 11
                for s, r in zip(seq["block_ns"], run["block_ns"])]
    assert info["derived"]["round_trip_overhead"]["stats"]["samples"] == pytest.approx(expected)
    assert info["round_trip_overhead_ms_median"] == pytest.approx(statistics.median(expected))
    assert set(b["test_memcpy"]["extra_info"]["tests"]) == {"memcpy_only"}  # overhead=False
    # One compile per configuration per session: both 64x32 tests used the same chain.
    compile_ms = {n: x["extra_info"]["compile_ms"] for n, x in b.items()}
    assert compile_ms["test_sequential"] == compile_ms["test_run_only"]
    assert compile_ms["test_memcpy"] != compile_ms["test_sequential"]


def _doctor(saved, factor: float) -> None:
    """Rewrite a saved run as if every round had taken `factor` times its fastest round.

    Relative to the fastest round, not the median: on this shared machine a median of a few
    rounds moved 2x between two runs; the fastest of many rounds (the uncontended cost)
    hardly moves."""
    with open(saved) as f:
        doc = json.load(f)
    for bench in doc["benchmarks"]:
        stats = bench["stats"]
        figure = stats["min"] * factor
        for key in ("min", "max", "mean", "median", "q1", "q3", "ld15iqr", "hd15iqr"):
            stats[key] = figure
        stats.update(stddev=0.0, iqr=0.0, total=figure * stats["rounds"], ops=1 / figure)
    with open(saved, "w") as f:
        json.dump(doc, f)


# Saved 2x faster than the first run's fastest round: the new run is a 2x regression and must
# fail.  The control, saved 1000x slower, must pass.
@pytest.mark.parametrize("factor,fails", [(0.5, True), (1000.0, False)],
                         ids=["saved-run-2x-faster", "saved-run-1000x-slower"])
def test_compare_fails_on_a_2x_regression_of_the_native_figure(pytester, factor, fails):
    pytester.makepyfile(test_user="""
        def test_round_trip(anethru_benchmark):
            anethru_benchmark(64, 32, test="sequential", backend="cpu")
    """)
    storage = f"file://{pytester.path / 'runs'}"
    # 25 rounds of ~2 ms: some of them run uncontended even when the machine is busy.
    first = pytester.runpytest("--benchmark-autosave", f"--benchmark-storage={storage}",
                               "--benchmark-min-rounds=25")
    first.assert_outcomes(passed=1)
    (saved,) = (pytester.path / "runs").glob("*/0001_*.json")
    _doctor(saved, factor)

    # In a process of its own, as a user runs it: the regression fails the pytest command.
    again = pytester.runpytest_subprocess(
        "--benchmark-compare=0001", f"--benchmark-storage={storage}",
        "--benchmark-compare-fail=median:10%", "--benchmark-min-rounds=25")
    output = again.stdout.str() + again.stderr.str()
    if fails:
        assert again.ret != 0
        assert "Performance has regressed:" in output
        assert re.search(r"test_round_trip \(0001_\w*\) - Field 'median' has failed "
                         r"PercentageRegressionCheck", output), output
    else:
        assert again.ret == 0, output
        assert "Performance has regressed" not in output


def test_without_pytest_benchmark_the_fixture_skips_and_nothing_else_changes(pytester):
    pytester.makepyfile(test_user="""
        def test_uses_it(anethru_benchmark):
            anethru_benchmark(64, 32, backend="cpu")

        def test_plain():
            pass
    """)
    result = pytester.runpytest("-p", "no:benchmark", "-rs")
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(["*anethru_benchmark needs pytest-benchmark*"])
    assert "warning" not in result.stdout.str().lower()


def test_a_users_suite_sees_no_warning_from_the_plugin(pytester):
    """Under -W error every warning fails the test that raised it: pytest 9 warned
    (PytestRemovedIn10Warning) about the plugin's session fixture defined as an instance
    method."""
    pytester.makepyfile(test_user="""
        def test_round_trip(anethru_benchmark):
            anethru_benchmark(32, 16, test="sequential", backend="cpu", kernels=2, rounds=2)
    """)
    result = pytester.runpytest("-W", "error", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, warnings=0)
    out = result.stdout.str()
    assert "warnings summary" not in out and "Warning:" not in out, out
