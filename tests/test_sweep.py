"""``anethru sweep`` / ``run_sweep``: the grid, the model on the virtual backend (whose figures
are exact sums of configured costs, so alpha, beta and the crossover have one right value), the
sweep document (validated, round-tripped, tampering refused), failures that do not stop it,
Ctrl-C keeping what finished, compile-limit batches in fresh worker processes, the CLI, and the
cuda backend through the fake driver."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time

import jsonschema
import pytest

import anethru
from anethru.measure import grid, sweep
from anethru.results import schema
from anethru.measure.sweep import plan_batches

import cuda_helpers
from sigint import default_sigint_in_child
from cuda_fixtures import build_dir, fake  # noqa: F401 (fixtures)
from virtual_clock import Costs, virtual_costs

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FAST = dict(repeats=3, iters=2, warmup=1)
MODEL_TESTS = ["sequential", "run_only", "memcpy_only"]
# Costs whose crossover falls inside a small grid: one eval 2003 ns, one round trip
# 2 * 29 + 2 * 31 + 5 per byte = 120 + 5 b ns, equal at b = (2003 - 120) / 5 = 376.6 bytes.
COSTS = Costs()
ALPHA_NS = 2 * COSTS.lock + 2 * COSTS.unlock
BETA_NS = COSTS.copy_byte
CROSSOVER = (COSTS.eval - ALPHA_NS) / BETA_NS
SPATIAL = [32, 64, 96, 128, 160, 192, 256, 320]          # at 1 channel: 64 .. 640 bytes


def virtual_sweep(**kw):
    with virtual_costs(COSTS):
        return anethru.run_sweep(channels=[1], spatial=SPATIAL, backend="virtual",
                                 tests=MODEL_TESTS, **FAST, **kw)


@pytest.fixture(scope="module")
def exact():
    return virtual_sweep()


# ---------------------------------------------------------------------- the grid

def test_the_default_grid_is_log_spaced_from_the_seeds_smallest_to_past_its_largest():
    configs, how = grid.sweep_grid()
    assert configs[0] == (64, 32) and configs[-1] == (64, 16384)   # 4 KiB and 2 MiB
    assert len(configs) == grid.DEFAULT_POINTS == 12
    assert all(c == 64 and s % grid.SPATIAL_STEP == 0 for c, s in configs)
    sizes = [2 * c * s for c, s in configs]
    assert sizes[-1] > 5 * 768 * 256 * 2                              # past the seed's largest
    steps = [b / a for a, b in zip(sizes, sizes[1:])]
    target = (sizes[-1] / sizes[0]) ** (1 / 11)
    assert all(abs(s / target - 1) < 0.25 for s in steps), steps     # log-spaced (rounded)
    assert how == "12 sizes log-spaced from 4 KiB to 2 MiB at 64 channels"


def test_grid_forms_and_their_errors():
    assert grid.sweep_grid(channels=[64, 128], spatial=[32, 64])[0] == [
        (64, 32), (64, 64), (128, 32), (128, 64)]
    assert grid.sweep_grid([(768, 256), (64, 32)])[0] == [(768, 256), (64, 32)]
    assert grid.sweep_grid(points=3, bytes_range=(4096, 16384), channels=[128])[0] == [
        (128, 32), (128, 64)]   # 4 KiB, 8 KiB, 16 KiB at 128 channels: 16, 32, 64 -> 32 (x2), 64
    with pytest.raises(ValueError, match="not both"):
        grid.sweep_grid([(64, 32)], points=3)
    with pytest.raises(ValueError, match="more than once: 64x32"):
        grid.sweep_grid([(64, 32), (64, 32)])
    with pytest.raises(ValueError, match="points must be a positive integer; got 0"):
        grid.sweep_grid(points=0)
    with pytest.raises(ValueError, match="0 < MIN <= MAX; got 8192:4096"):
        grid.sweep_grid(bytes_range=(8192, 4096))


@pytest.mark.parametrize("text, value", [("4096", 4096), ("4K", 4096), ("4KiB", 4096),
                                         ("2M", 2 ** 21), ("1.5M", 3 * 2 ** 19), ("3kb", 3072)])
def test_sizes_parse(text, value):
    assert grid.parse_bytes(text) == value


def test_a_bad_size_names_itself():
    with pytest.raises(ValueError, match="invalid size '4Q'"):
        grid.parse_bytes("4Q")


def test_bad_sweep_arguments_raise_before_anything_runs():
    with pytest.raises(ValueError, match="needs the sequential test"):
        anethru.run_sweep([(64, 32)], backend="cpu", tests=["run_only", "memcpy_only"])
    with pytest.raises(ValueError, match="repeats is an exact count"):
        anethru.run_sweep([(64, 32)], backend="cpu", repeats=3, max_time=5)
    with pytest.raises(ValueError, match="channels must be"):
        anethru.run_sweep([(0, 32)], backend="cpu")


# ---------------------------------------------------------------------- the model, exactly

def test_alpha_beta_and_the_crossover_are_the_virtual_costs(exact):
    m = exact.model
    line = m.round_trip.model.line
    assert line.alpha == pytest.approx(ALPHA_NS * 1e-6, rel=1e-6)       # ms
    assert line.beta == pytest.approx(BETA_NS * 1e-6, rel=1e-9)         # ms per byte
    assert line.alpha_ci == pytest.approx((ALPHA_NS * 1e-6,) * 2, rel=1e-6)
    assert line.r_squared == pytest.approx(1.0) and m.round_trip.model.one_line
    copy = m.memcpy.model.line                                          # the same copy, alone
    assert (copy.alpha, copy.beta) == (pytest.approx(ALPHA_NS * 1e-6, rel=1e-6),
                                       pytest.approx(BETA_NS * 1e-6, rel=1e-9))
    (series,) = m.series
    assert series.channels == 1 and series.bytes == tuple(2 * s for s in SPATIAL)
    kernel = series.kernel.model.line                                   # a flat eval cost
    assert kernel.alpha == pytest.approx(COSTS.eval * 1e-6, rel=1e-9)
    assert kernel.beta == pytest.approx(0, abs=1e-15)
    c = series.crossover
    assert (c.status, c.side) == ("crossed", "above")
    assert c.bytes == pytest.approx(CROSSOVER, rel=1e-9)
    assert (c.ci_low, c.ci_high) == (pytest.approx(CROSSOVER, rel=1e-9),) * 2
    assert series.small.status == "not_reached"          # the share grows: never under 10%
    text = str(exact)
    assert "the round trip exceeds the kernel time from 377 B [377 B .. 377 B] on" in text
    assert "alpha 120.0 ns [120.0 ns .. 120.0 ns], beta 5.000 ns/B" in text
    assert "SIMULATED" in text


def test_the_document_round_trips_validates_and_refuses_a_tampered_model(exact, tmp_path):
    doc = json.loads(exact.to_json())
    assert doc["schema"] == "anethru.sweep/3"
    jsonschema.Draft202012Validator(schema.json_schema()).validate(doc)
    schema.validate(doc, "sweep")
    again = anethru.load_sweep(json.dumps(doc))
    assert again.to_dict() == doc
    path = tmp_path / "sweep.json"
    path.write_text(exact.to_json())
    points = anethru.load_results(path)                # a sweep's points, in grid order
    assert [r.config.label for r in points] == [f"1x{s}" for s in SPATIAL]
    assert points == list(exact.results)
    tampered = json.loads(json.dumps(doc))
    tampered["model"]["round_trip"]["fit"]["line"]["alpha"] *= 1.01
    with pytest.raises(anethru.ResultFormatError,
                       match=re.escape("$.model.round_trip.fit.line.alpha: states")):
        anethru.load_sweep(json.dumps(tampered))
    moved = json.loads(json.dumps(doc))
    moved["points"][0]["config"]["spatial"] = 999
    moved["points"][0]["config"]["bytes_per_tensor"] = 2 * 999
    with pytest.raises(anethru.ResultFormatError,
                       match=re.escape("$.points[0]: is 1x999, which is not in the sweep's grid")):
        anethru.load_sweep(json.dumps(moved))
    swapped = json.loads(json.dumps(doc))
    swapped["points"][:2] = swapped["points"][1::-1]
    with pytest.raises(anethru.ResultFormatError, match=re.escape("$.points[1]: is out of grid order")):
        anethru.load_sweep(json.dumps(swapped))


def test_a_sweep_is_not_a_suite():
    with pytest.raises(anethru.ResultFormatError, match="expected an anethru sweep"):
        anethru.SweepResult.from_json('{"schema": "anethru.suite/2", "results": [], "failures": []}')


# ---------------------------------------------------------------------- failures, Ctrl-C

def test_a_failing_configuration_is_recorded_and_the_sweep_goes_on(inject_fault, no_leaks):
    inject_fault("compile", kernel=3)          # the next chain opened: the first configuration
    lines = []
    sw = anethru.run_sweep(channels=[1], spatial=[32, 64, 96, 128], backend="cpu",
                           tests=MODEL_TESTS, progress=lines.append, **FAST)
    assert [f.label for f in sw.failures] == ["1x32"] and sw.failures[0].error == "CompileError"
    assert [r.config.label for r in sw.results] == ["1x64", "1x96", "1x128"]
    assert any(line.startswith("[1/4, 64 B] 1x32: failed (CompileError") for line in lines)
    assert any(line.startswith("[4/4, 256 B] 1x128: compiling") for line in lines)
    assert sw.model.round_trip.model is not None            # three sizes still fit a line
    assert "failed: 1x32: CompileError" in str(sw)
    assert anethru.load_sweep(sw.to_json()).failures == sw.failures


def test_ctrl_c_keeps_what_finished(no_leaks):
    def progress(line):
        if line.startswith("[3/8"):
            raise KeyboardInterrupt
    with pytest.raises(anethru.SweepInterrupted) as info:
        virtual_sweep(progress=progress)
    stop = info.value
    assert isinstance(stop, KeyboardInterrupt) and stop.config == (1, 96)
    assert [r.config.label for r in stop.sweep.results] == ["1x32", "1x64"]
    assert stop.sweep.interrupted == (1, 96)
    again = anethru.load_sweep(stop.sweep.to_json())     # the partial sweep is a document too
    assert again.interrupted == (1, 96) and again.model.round_trip.model is None
    assert "INTERRUPTED during 1x96" in str(again)


# ---------------------------------------------------------------------- compile limits

def test_the_ane_limit_is_the_native_one():
    header = open(os.path.join(ROOT, "csrc", "ane_runtime.h")).read()
    native = int(re.search(r"#define ANETHRU_ANE_MAX_COMPILES (\d+)", header).group(1))
    assert sweep.ANE_COMPILE_LIMIT == native
    assert sweep.compile_limit("ane") == native and sweep.compile_limit("cpu") is None


def test_batches_hold_as_many_configurations_as_the_limit_allows():
    assert sweep.compiles_per_config(12, None) == 13                  # 12 kernels + chained
    assert sweep.compiles_per_config(12, ["sequential", "run_only"]) == 12
    assert [len(b) for b in plan_batches(20, 13, 115)] == [8, 8, 4]   # 8 x 13 = 104 <= 115
    assert plan_batches(5, 13, None) == [range(5)]
    with pytest.raises(ValueError, match="needs 130 compiles, more than the 115"):
        plan_batches(3, 130, 115)


def test_a_lowered_limit_runs_batches_in_fresh_workers_and_keeps_every_figure(monkeypatch):
    monkeypatch.setenv(sweep.COMPILE_LIMIT_ENV, "25")    # 2 configurations of 12 compiles
    lines = []
    configs = [(1, s) for s in (32, 64, 96, 128, 160)]
    sw = anethru.run_sweep(configs, backend="virtual", tests=MODEL_TESTS, progress=lines.append,
                           **FAST)
    assert sw.batches == {"compile_limit": 25, "compiles_per_config": 12,
                          "configs_per_batch": 2, "count": 3}
    assert [r.config.label for r in sw.results] == [f"{c}x{s}" for c, s in configs]
    assert all("isolated" in r.config.options for r in sw.results)
    assert sum(line.startswith("batch ") for line in lines) == 3
    assert any(line.startswith("[5/5, 320 B] 1x160: compiling") for line in lines)
    assert "3 fresh worker process(es), up to 2 configurations each" in str(sw)
    monkeypatch.delenv(sweep.COMPILE_LIMIT_ENV)
    here = anethru.run_sweep(configs, backend="virtual", tests=MODEL_TESTS, **FAST)
    assert here.batches is None
    for a, b in zip(sw.results, here.results):   # the virtual clock: the same exact figures
        assert a.tests["sequential"].block_ns == b.tests["sequential"].block_ns


def test_ctrl_c_during_a_worker_batch_keeps_the_configurations_that_came_back(monkeypatch):
    monkeypatch.setenv(sweep.COMPILE_LIMIT_ENV, "36")    # 3 per worker
    def progress(line):
        if line.startswith("[3/4"):
            raise KeyboardInterrupt
    with pytest.raises(anethru.SweepInterrupted) as info:
        anethru.run_sweep([(1, s) for s in (32, 64, 96, 128)], backend="virtual",
                          tests=MODEL_TESTS, progress=progress, **FAST)
    assert [r.config.label for r in info.value.sweep.results] == ["1x32", "1x64"]
    assert info.value.config == (1, 96)


def test_a_bad_limit_override_is_named(monkeypatch):
    monkeypatch.setenv(sweep.COMPILE_LIMIT_ENV, "lots")
    with pytest.raises(ValueError, match="ANETHRU_TEST_COMPILE_LIMIT must be a positive integer"):
        anethru.run_sweep([(1, 32)], backend="virtual", **FAST)


# ---------------------------------------------------------------------- the command line

def cli(*args, env=None, timeout=300):
    return subprocess.run([sys.executable, "-m", "anethru", *args], capture_output=True,
                          text=True, timeout=timeout, env=env)


def test_cli_json_round_trips_through_load_results_and_load_sweep():
    p = cli("sweep", "--backend", "virtual", "--channels", "1", "--spatial", "32,64,96",
            "-r", "2", "-n", "2", "-t", "sequential,run_only", "--json")
    assert p.returncode == 0, p.stderr
    sw = anethru.load_sweep(p.stdout)
    assert [r.config.label for r in anethru.load_results(p.stdout)] == ["1x32", "1x64", "1x96"]
    assert sw.model.memcpy.undefined == "memcpy_only was not measured"
    assert "anethru: [2/3, 128 B] 1x64: compiling" in p.stderr


def test_cli_text_report_and_exit_status_on_failure():
    p = cli("sweep", "--backend", "virtual", "--configs", "1x32,1x64,1x96", "-r", "2", "-n", "2",
            "-q")
    assert p.returncode == 0 and p.stderr == ""
    assert "round-trip overhead per layer = alpha + beta x bytes" in p.stdout
    assert "crossover at 1 channel (round trip = kernel time" in p.stdout


@pytest.mark.parametrize("args, message", [
    (["--configs", "64x32", "--points", "3"], "--configs lists the grid itself"),
    (["--bytes", "4K"], "invalid range '4K': use MIN:MAX"),
    (["--bytes", "4K:1Q"], "invalid size '1Q'"),
    (["--channels", "a,b"], "invalid list 'a,b'"),
    (["-t", "memcpy_only,run_only"], "a sweep needs the sequential test"),
    (["--points", "0"], "points must be a positive integer; got 0"),
])
def test_cli_usage_errors_are_one_line_and_exit_2(args, message):
    p = cli("sweep", "--backend", "cpu", *args)
    assert p.returncode == 2, p.stderr
    assert message in p.stderr and p.stderr.count("\n") == 1 and "Traceback" not in p.stderr


def test_cli_ctrl_c_prints_what_finished_and_exits_130():
    proc = subprocess.Popen([sys.executable, "-m", "anethru", "sweep", "--backend", "cpu",
                             "--configs", "64x32,768x256", "-r", "50", "-t",
                             "sequential,run_only", "--json"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, preexec_fn=default_sigint_in_child)
    seen = ""
    deadline = time.monotonic() + 240
    while "768x256: timing" not in seen and time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        seen += line
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, seen + err
    doc = json.loads(out)
    assert [p["config"]["channels"] for p in doc["points"]] == [64]
    assert doc["interrupted"] == {"channels": 768, "spatial": 256}
    assert "interrupted during 768x256; printed the 1 configuration(s) that finished" in err
    anethru.load_sweep(out)


def test_import_and_a_sweep_never_load_matplotlib():
    code = ("import sys, anethru; "
            "sw = anethru.run_sweep([(1, 32), (1, 64), (1, 96)], backend='virtual', repeats=2, "
            "iters=2); str(sw); sw.to_json(); "
            "print('matplotlib' in sys.modules)")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "False"


# ---------------------------------------------------------------------- cuda, without a GPU

@pytest.mark.skipif(cuda_helpers.CC is None, reason="no C compiler to build the fake driver")
def test_a_cuda_sweep_runs_through_the_fake_driver(fake, tmp_path):
    env = cuda_helpers.env_with(ANETHRU_CUDA_LIBRARY=fake)
    p = subprocess.run([sys.executable, "-m", "anethru", "sweep", "--backend", "cuda",
                        "--configs", "64x32,64x64,64x128", "-r", "2", "-n", "2", "--json"],
                       capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    sw = anethru.load_sweep(p.stdout)
    assert sw.backend == "cuda" and sw.simulated and len(sw.results) == 3
    assert all(r.config.backend == "cuda" for r in sw.results)
    assert sw.model.round_trip.model is not None
