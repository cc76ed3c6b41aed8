"""The real csrc/ane_runtime.m, built with ARC against a simulated AppleNeuralEngine.framework
(tests/objc/fake_ane.m), driven through the real Python API in subprocesses.

How the build and the scripts run: tests/sim_ane.py (without clang and GNUstep these tests
skip, saying how to get them; under CI=true they fail; off Linux x86_64 they skip).  Program
forms and their fallbacks, eval paths and the doctor have their own modules (test_ane_forms.py,
test_ane_eval_paths.py, test_doctor_ane.py).
"""

import os
import re
import subprocess

import pytest

from sim_ane import ROOT, assert_clean, sim_build, run, sim  # noqa: F401 (run, sim: fixtures)

EVALS_PER_PASS = {"sequential": 12, "run_only": 12, "memcpy_only": 0, "serial_queue": 12,
                  "chained": 1}


# ---------------------------------------------------------------------------- the program

def test_the_files_compiled_are_the_ones_ane_programs_shows(run):
    """What tests/test_ane_programs.py checks against the seed and Apple's writer is exactly what
    the backend stages for the compiler: the files in each kernel's directory, byte for byte."""
    r = run("""
        import os
        from anethru.native import tensors
        w = tensors.make_weights("random", 36, 3, 4)
        with anethru.Chain(36, 7, kernels=3, backend="ane", weights=w) as c:
            d = temporary_directory()
            staged = {}
            for name in kernel_dirs():
                root = os.path.join(d, name)
                staged[name] = {os.path.relpath(os.path.join(p, f), root):
                                open(os.path.join(p, f), "rb").read().hex()
                                for p, _, fs in os.walk(root) for f in fs}
            forms = c.forms()
        def as_hex(p):
            return {k: (v.encode() if isinstance(v, str) else v).hex() for k, v in p.files().items()}
        expected = [as_hex(p) for i in range(3)
                    for p in anethru.ane_programs(36, 7, layers=1, weights=w[i:i + 1]) if p.form == "ios16"]
        chained = [as_hex(p) for p in anethru.ane_programs(36, 7, layers=3, weights=w)
                   if p.form == "ios16-files"]
        report(staged=list(staged.values()), expected=expected + chained, forms=forms)
    """)
    assert r["forms"] == {"kernels": {"form": "ios16", "rejected": []},
                          "chained": {"form": "ios16-files", "rejected": []}}
    staged = sorted(r["staged"], key=lambda d: sorted(d.items()))
    assert staged == sorted(r["expected"], key=lambda d: sorted(d.items()))
    assert len(staged) == 4  # three kernels (random weights differ) and the chained program


# ---------------------------------------------------------------------------- happy paths

def test_backends_report_the_simulation(run):
    r = run("""
        info = {b.name: b for b in anethru.backends()}["ane"]
        report(available=info.available, device=info.device, simulated=info.simulated,
               tmp=temporary_directory())
    """)
    assert r["available"] and r["simulated"]
    assert "SIMULATED (Linux, fake AppleNeuralEngine)" in r["device"]
    assert "not ANE figures" in r["device"]
    assert os.path.realpath(r["tmp"]) == os.path.realpath(run.nstmp)  # tests stay hermetic


def test_run_ceiling_end_to_end(run):
    r = run("""
        res = anethru.run_ceiling(64, 32, backend="ane", iters=3, warmup=1, repeats=2, seed=7)
        during = counters()
        dirs = kernel_dirs()
        closed = anethru.release_cached_chains()
        report(tests={n: [len(t.block_ns), t.iters] for n, t in res.tests.items()},
               check=list(res.check.tests), exact=res.check.exact, simulated=res.simulated,
               device=res.device, text=str(res), warmup=res.config.warmup, during=during,
               dirs=dirs, closed=closed, after=counters(), dirs_after=kernel_dirs(),
               pairs=len(res.pairs))
    """)
    assert set(r["tests"]) == {"sequential", "run_only", "memcpy_only", "serial_queue", "chained"}
    assert r["check"] == ["sequential", "chained"] and r["exact"]
    assert r["simulated"] and "SIMULATED" in r["device"] and "SIMULATED" in r["text"]
    # 12 kernels + the chained program: compiled, loaded, then unloaded exactly once each.
    assert r["during"]["compile_calls"] == 13 and r["during"]["load_calls"] == 13
    assert r["during"]["loaded_now"] == 13 and r["during"]["live_surfaces"] == 26
    assert r["closed"] == 1 and r["after"]["unload_calls"] == 13
    assert_clean(r["after"])
    # Every eval the harness claims to have timed reached the framework, and no more.
    passes = {n: blocks * iters + r["warmup"] for n, (blocks, iters) in r["tests"].items()}
    expected = sum(EVALS_PER_PASS[n] * p for n, p in passes.items()) + 12 + 1  # + the check
    # + the per-pass pairs of sequential and run_only (issue 19): one pass of each per pair
    expected += r["pairs"] * (EVALS_PER_PASS["sequential"] + EVALS_PER_PASS["run_only"])
    assert r["after"]["eval_calls"] == expected
    assert r["after"]["rt_eval_calls"] == 0
    # Identical kernels share one owner-only directory; the chained program has its own.
    assert len(r["dirs"]) == 2 and set(r["dirs"].values()) == {"0o700"}
    assert r["dirs_after"] == {}


def test_isolated_run_spends_no_compile_in_the_caller(run):
    """isolate=True: the 13 compiles happen in the worker, none in the calling process, and no
    kernel directory is left behind when the worker has ended."""
    r = run("""
        res = anethru.run_ceiling(64, 32, backend="ane", iters=3, warmup=1, repeats=2,
                                  isolate=True)
        report(backend=res.config.backend, options=list(res.config.options),
               simulated=res.simulated, tests=sorted(res.tests), here=counters(),
               dirs=kernel_dirs())
    """)
    assert r["backend"] == "ane" and r["options"] == ["isolated"] and r["simulated"]
    assert r["tests"] == sorted(["sequential", "run_only", "memcpy_only", "serial_queue",
                                 "chained"])
    assert r["here"]["compile_calls"] == 0 and r["here"]["load_calls"] == 0
    assert r["dirs"] == {}


@pytest.mark.parametrize("channels,spatial", [(36, 7), (64, 32)])
def test_random_weights_compute_the_real_conv(run, channels, spatial):
    """Odd sizes exercise the blob's 64-byte padding and the 128-byte surface rounding."""
    r = run(f"""
        import numpy as np
        from anethru.native import tensors
        w = tensors.make_weights("random", {channels}, 3, 11)
        x = tensors.make_input({channels}, {spatial}, 5)
        with anethru.Chain({channels}, {spatial}, kernels=3, backend="ane", weights=w) as ane, \\
             anethru.Chain({channels}, {spatial}, kernels=3, backend="cpu", weights=w) as cpu:
            ys = ane.roundtrip(x, "sequential").astype(np.float32)
            yc = ane.roundtrip(x, "chained").astype(np.float32)
            ref = cpu.roundtrip(x, "sequential").astype(np.float32)
        report(seq=float(np.max(np.abs(ys - ref))), chained=float(np.max(np.abs(yc - ref))),
               scale=float(np.max(np.abs(ref))), moved=float(np.max(np.abs(ref - x.astype(np.float32)))),
               after=counters())
    """)
    assert r["moved"] > 0.1 * r["scale"]          # random weights really change the data
    assert r["seq"] <= 2e-3 * r["scale"] and r["chained"] <= 2e-3 * r["scale"]
    assert_clean(r["after"])


def test_realtime_option_uses_the_client(run):
    r = run("""
        res = anethru.run_ceiling(64, 32, backend="ane", iters=2, warmup=1, repeats=1,
                                  tests=["run_only", "chained"], ane_realtime=True)
        anethru.release_cached_chains()
        report(options=list(res.config.options), after=counters())
    """)
    assert r["options"] == ["ane_eval=realtime"]
    assert r["after"]["eval_calls"] == 0 and r["after"]["rt_eval_calls"] > 0
    assert_clean(r["after"])


def test_concurrent_evals_of_one_kernel_never_overlap(run):
    """Three threads measuring the same chain (bypassing Chain's own lock): the backend must
    serialise evals per kernel, since they share the kernel's surfaces."""
    r = run("""
        import threading
        from anethru.native.lib import ffi, lib
        chain = anethru.Chain(64, 32, kernels=2, backend="ane", chained=False)
        ids = {n: i for i, n in enumerate(anethru.TEST_NAMES)}
        def worker(results):
            sched = ffi.new("int[]", [ids["run_only"]] * 20)
            iters = ffi.new("int[]", [40] * len(anethru.TEST_NAMES))
            ns = ffi.new("uint64_t[]", 20)
            st = ffi.new("anethru_status *")
            results.append(lib.anethru_chain_measure(chain._handle, sched, 20, iters, 0, ns, st))
        results = []
        threads = [threading.Thread(target=worker, args=(results,)) for _ in range(3)]
        [t.start() for t in threads]
        [t.join() for t in threads]
        chain.close()
        report(results=results, after=counters())
    """)
    assert r["results"] == [0, 0, 0]
    assert r["after"]["eval_calls"] == 3 * 20 * 40 * 2
    assert_clean(r["after"])


def test_cli_json_marks_the_figures_simulated(run):
    r = run("""
        import contextlib, io, json
        from anethru.cli import main
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            rc = main(["--backend", "ane", "-c", "64x32", "-n", "2", "-w", "0", "-r", "1", "--json", "-q"])
        doc = json.loads(out.getvalue())
        (res,) = doc["results"]
        report(rc=rc, simulated=res["simulated"], device=res["device"])
    """)
    assert r["rc"] == 0 and r["simulated"] is True
    assert "SIMULATED" in r["device"] and "not ANE figures" in r["device"]


# ---------------------------------------------------------------------------- failure paths

def test_real_build_probe_says_this_is_not_macos(sim):
    """The backend compiled as for a Mac (no simulation define) answers for itself here."""
    out = subprocess.run([os.path.join(sim, "probe_host")], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "2 the ANE needs macOS; this is Linux"        # ANETHRU_E_UNAVAILABLE


def test_framework_missing_is_explained(run):
    r = run("""
        info = {b.name: b for b in anethru.backends()}["ane"]
        try:
            anethru.run_ceiling(64, 32, backend="ane")
        except anethru.BackendUnavailableError as exc:
            report(error=str(exc))
        report(available=info.available, reason=info.reason)
    """, ANETHRU_SIM_ANE_FRAMEWORK="/nonexistent/AppleNeuralEngine.framework/AppleNeuralEngine")
    assert not r["available"]
    assert "AppleNeuralEngine.framework could not be loaded" in r["reason"]
    assert "/nonexistent/" in r["reason"] and "No such file" in r["reason"]  # dlerror()
    assert "could not be loaded" in r["error"]


def test_class_missing_is_explained(run):
    r = run("""
        info = {b.name: b for b in anethru.backends()}["ane"]
        try:
            anethru.Chain(64, 32, backend="ane")
        except anethru.BackendUnavailableError as exc:
            report(error=str(exc))
        report(available=info.available, reason=info.reason)
    """, ANETHRU_SIM_ANE_FRAMEWORK=run.framework("no_request"))
    assert not r["available"]
    assert "lacks _ANERequest" in r["reason"] and "unsupported macOS version" in r["reason"]
    assert "_ANEInMemoryModel," not in r["reason"]          # only the missing one is named
    assert "_ANERequest" in r["error"]


def test_realtime_without_client_is_unsupported_but_plain_eval_works(run):
    r = run("""
        try:
            anethru.Chain(64, 32, kernels=2, backend="ane", ane_realtime=True)
        except anethru.UnsupportedError as exc:
            report(error=str(exc))
        with anethru.Chain(64, 32, kernels=2, backend="ane") as c:
            report(check=c.check().passed)
        report(after=counters())
    """, ANETHRU_SIM_ANE_FRAMEWORK=run.framework("no_client"))
    assert "_ANEClient" in r["error"]
    assert r["check"] is True
    assert_clean(r["after"])


def test_compile_error_carries_the_nserror_and_the_suite_goes_on(run):
    r = run("""
        out = anethru.run_suite([(64, 32), (32, 16)], backend="ane", keep_going=True, iters=2,
                                warmup=0, repeats=1, tests=["run_only"])
        anethru.release_cached_chains()
        report(first=[type(out[0]).__name__, type(out[0].error).__name__, str(out[0].error)],
               second=type(out[1]).__name__, after=counters(), dirs=kernel_dirs())
    """, FAKE_ANE_FAIL_AT="compile", FAKE_ANE_FAIL_CHANNELS=64)
    kind, error, message = r["first"]
    assert (kind, error) == ("ConfigFailure", "CompileError")
    assert "ANE compile of a 64x32 kernel (1 layer): this chip rejected every program form for 64x32" in message
    assert "injected failure in compile" in message          # the NSError's own text
    assert r["second"] == "CeilingResult"
    assert_clean(r["after"])
    assert r["dirs"] == {}


def test_compile_failure_midway_frees_the_kernels_already_made(run):
    r = run("""
        try:
            anethru.Chain(64, 32, backend="ane")
        except anethru.CompileError as exc:
            report(error=str(exc))
        report(after=counters(), dirs=kernel_dirs())
    """, FAKE_ANE_FAIL_AT="load", FAKE_ANE_FAIL_AFTER=4)
    assert "kernel 4" in r["error"] and "ANE load of a 64x32 kernel (1 layer) failed" in r["error"]
    assert "injected failure in load" in r["error"] and "returned NO twice, 100 ms apart" in r["error"]
    # Kernels 0-3 loaded; kernel 4's load failed, was retried once, and failed again.
    assert r["after"]["load_calls"] == 6 and r["after"]["unload_calls"] == 4
    assert_clean(r["after"])
    assert r["dirs"] == {}


def test_eval_failure_stops_the_run_naming_test_and_kernel(run):
    r = run("""
        with anethru.Chain(64, 32, backend="ane", chained=False) as c:
            try:
                c.measure(["run_only"], iters=3, warmup=0, repeats=2)
            except anethru.EvalError as exc:
                report(error=str(exc))
        report(after=counters())
    """, FAKE_ANE_FAIL_AT="eval", FAKE_ANE_FAIL_AFTER=12 * 3 + 5)
    assert "run_only, kernel 5" in r["error"]
    assert "ANE eval failed" in r["error"] and "injected failure in eval" in r["error"]
    assert "repeat 2 of 2" in r["error"]                     # the second block, not the first
    assert r["after"]["eval_calls"] == 12 * 3 + 6           # the first failure ended the run
    assert_clean(r["after"])


@pytest.mark.parametrize("stage", ["descriptor", "compile", "surface_object", "request"])
def test_exception_in_the_framework_becomes_an_error(run, stage):
    r = run("""
        try:
            anethru.Chain(64, 32, kernels=2, backend="ane")
        except anethru.AnethruError as exc:
            report(kind=type(exc).__name__, error=str(exc))
        report(after=counters(), dirs=kernel_dirs())
    """, FAKE_ANE_FAIL_AT=stage, FAKE_ANE_FAIL_HOW="raise")
    assert r["kind"] == "InternalError"
    assert f"FakeANEInjectedException: injected exception in {stage}" in r["error"]
    assert_clean(r["after"])
    assert r["dirs"] == {}


def test_exception_during_eval_and_unload(run):
    r = run("""
        c = anethru.Chain(64, 32, kernels=2, backend="ane", chained=False)
        try:
            c.measure(["sequential"], iters=2, warmup=0, repeats=1)
        except anethru.AnethruError as exc:
            report(kind=type(exc).__name__, error=str(exc))
        c.close()
        report(after=counters(), dirs=kernel_dirs())
    """, FAKE_ANE_FAIL_AT="eval", FAKE_ANE_FAIL_HOW="raise", FAKE_ANE_FAIL_AFTER=1)
    assert r["kind"] == "InternalError" and "sequential, kernel 1" in r["error"]
    assert "FakeANEInjectedException" in r["error"]
    assert_clean(r["after"])

    r = run("""
        c = anethru.Chain(64, 32, kernels=2, backend="ane", chained=False)
        c.close()                                  # unload raises inside release: survived
        report(after=counters(), dirs=kernel_dirs(), live=anethru.native.lib.lib.anethru_live_kernels())
    """, FAKE_ANE_FAIL_AT="unload", FAKE_ANE_FAIL_HOW="raise")
    assert r["live"] == 0 and r["after"]["live_surfaces"] == 0 and r["after"]["live_objects"] == 0
    assert r["dirs"] == {}


def test_compile_limit_stops_before_the_runtime_fails(run):
    with open(os.path.join(ROOT, "csrc", "ane_runtime.h"), encoding="utf-8") as f:
        header = f.read()
    limit = int(re.search(r"#define ANETHRU_ANE_MAX_COMPILES (\d+)", header).group(1))
    assert limit < 119
    r = run("""
        made = 0
        while True:
            try:
                anethru.Chain(64, 32, kernels=12, backend="ane").close()
                made += 13
            except anethru.LimitError as exc:
                report(error=str(exc), made=made)
                break
        report(after=counters())
    """)
    assert r["after"]["compile_calls"] == limit            # never past the limit
    assert f"anethru stops at {limit}" in r["error"] and "about 119" in r["error"]
    assert r["made"] == limit // 13 * 13
    assert_clean(r["after"])


def test_loaded_limit_and_release_frees_a_slot(run):
    r = run("""
        first = anethru.Chain(64, 32, kernels=12, backend="ane", chained=False)
        second = anethru.Chain(64, 32, kernels=12, backend="ane", chained=False)
        try:
            anethru.Chain(64, 32, kernels=12, backend="ane", chained=False)
        except anethru.LimitError as exc:
            report(error=str(exc), loaded=counters()["loaded_now"])
        first.close()
        third = anethru.Chain(64, 32, kernels=12, backend="ane", chained=False)
        report(third=third.check().passed)
        second.close(); third.close()
        report(after=counters())
    """)
    limit = sim_build.SIM_MAX_LOADED
    assert f"{limit} ANE programs are loaded" in r["error"] and "close chains" in r["error"]
    assert f"kernel {limit - 24}" in r["error"]              # 24 loaded + 6 more = the limit
    assert r["loaded"] == 24                                 # the failed chain freed its 6
    assert r["third"] is True
    assert_clean(r["after"])


# ---------------------------------------------------------------------------- temp directory

def _kernel_dir_name(run):
    r = run("""
        with anethru.Chain(64, 32, kernels=2, backend="ane", chained=False):
            report(dirs=kernel_dirs())
    """)
    (name,) = r["dirs"]
    return name


def test_refuses_a_symlink_in_place_of_the_kernel_directory(run, tmp_path):
    name = _kernel_dir_name(run)
    victim = tmp_path / "victim"
    victim.mkdir()
    link = os.path.join(run.nstmp, name)
    os.symlink(victim, link)
    r = run("""
        try:
            anethru.Chain(64, 32, kernels=2, backend="ane", chained=False)
        except anethru.CompileError as exc:
            report(error=str(exc))
        report(after=counters())
    """)
    assert "symbolic link" in r["error"] and name in r["error"]
    assert os.listdir(victim) == [] and os.path.islink(link)   # nothing written, nothing removed
    assert r["after"]["compile_calls"] == 0
    assert_clean(r["after"])


def test_adopts_our_own_leftover_tightened_and_refuses_another_users(run):
    name = _kernel_dir_name(run)
    path = os.path.join(run.nstmp, name)
    if os.geteuid() == 0:  # only root can make a directory that belongs to someone else
        os.mkdir(path, 0o700)
        os.chown(path, 65534, 65534)
        r = run("""
            try:
                anethru.Chain(64, 32, kernels=2, backend="ane", chained=False)
            except anethru.CompileError as exc:
                report(error=str(exc), after=counters())
        """)
        assert "belongs to uid 65534" in r["error"] and r["after"]["compile_calls"] == 0
        assert os.stat(path).st_uid == 65534                 # left alone
        os.rmdir(path)
    # A leftover of ours that others may read (another tool made it 0755, with its own files):
    # used, after tightening it (and its weights directory) to 0700; removed afterwards.
    os.makedirs(os.path.join(path, "weights"))
    os.chmod(path, 0o755)
    os.chmod(os.path.join(path, "weights"), 0o755)
    with open(os.path.join(path, "stale"), "w") as f:
        f.write("from an earlier run")
    r = run("""
        with anethru.Chain(64, 32, kernels=2, backend="ane", chained=False) as c:
            report(check=c.check().passed, during=kernel_dirs())
        report(dirs=kernel_dirs())
    """)
    assert r["check"] is True and r["during"] == {name: "0o700"} and r["dirs"] == {}


@pytest.mark.parametrize("hex_id", ["../escape", "..", "a/b"])
def test_refuses_an_identifier_that_is_not_one_path_component(run, hex_id):
    r = run("""
        try:
            anethru.Chain(64, 32, kernels=2, backend="ane", chained=False)
        except anethru.AnethruError as exc:
            report(kind=type(exc).__name__, error=str(exc))
        report(after=counters())
    """, FAKE_ANE_HEX=hex_id)
    assert r["kind"] == "InternalError" and "hexStringIdentifier is unusable" in r["error"]
    assert r["after"]["compile_calls"] == 0
    assert os.listdir(os.path.dirname(run.nstmp)) == ["nstmp"]   # nothing written beside it
    assert_clean(r["after"])
