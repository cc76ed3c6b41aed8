"""``anethru doctor --backend cuda`` against the fake driver (tests/cuda_fake): every step passes
on a driver that works; and each step's failure, driven through the fake, is reported failed
with the driver's message (its error name, code and text, and the entry point that failed), the
steps that need it skipped, the others run, and nothing left behind: no driver object, module or
reference to the primary context, no native chain or kernel.  Each run is its own process: the
fake's knobs and failure counters are per process."""

import json
import os

import pytest

import cuda_helpers as H
from cuda_fixtures import build_dir, fake  # noqa: F401 (fixtures)
from anethru.bringup import cuda as cuda_steps
from anethru.cli import main

pytestmark = pytest.mark.skipif(H.CC is None, reason="no C compiler to build the fake driver")

DOCTOR = """
import contextlib, ctypes, io, json, os
import anethru
from anethru.native.lib import lib as native
{prepare}
if {cli}:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        rc = main(["doctor", "--backend", "cuda", "--json"])
    doc = json.loads(out.getvalue())
    steps = {{s["name"]: [s["status"], s["message"]] for s in doc["steps"]}}
    result = dict(steps=steps, ok=doc["ok"], rc=rc)
else:
    rep = anethru.doctor("cuda")
    result = dict(steps={{s.name: [s.status, s.message] for s in rep.steps}}, ok=rep.ok,
                  text=str(rep))
{cleanup}
path = os.environ["DOCTOR_FAKE"]  # the same file as the library the doctor loaded, if any
fake = ctypes.CDLL(path) if os.path.exists(path) else None
result["after"] = dict(
    objects=fake.fake_cuda_live_objects() if fake else 0,
    modules=fake.fake_cuda_loaded_modules() if fake else 0,
    context_refs=fake.fake_cuda_context_refs() if fake else 0,
    chains=native.anethru_live_chains(), kernels=native.anethru_live_kernels())
print(json.dumps(result))
"""
CLEAN = dict(objects=0, modules=0, context_refs=0, chains=0, kernels=0)
# What the backend keeps for the life of the process once a chain was compiled through it (the
# doctor's last step does): its two modules and one context reference.
BACKEND_KEPT = dict(CLEAN, modules=2, context_refs=1)


def left_behind(r, knobs=None) -> dict:
    if r["steps"].get("backend chain", ["skipped"])[0] == "skipped":
        return CLEAN
    # a GPU that refuses the sm_80 module: the backend runs with the base module alone
    return dict(BACKEND_KEPT, modules=1) if (knobs or {}).get("FAKE_CUDA_REJECT_TARGET") else BACKEND_KEPT


def doctor(library, prepare="", cleanup="", cli=False, **env):
    code = ("from anethru.cli import main\n" +
            DOCTOR.format(prepare=prepare, cleanup=cleanup, cli=cli))
    env = dict(dict(ANETHRU_CUDA_LIBRARY=library, DOCTOR_FAKE=library), **env)
    rc, out, err = H.run_python(code, **env)
    assert rc == 0, out + err
    return json.loads(out.splitlines()[-1])


def expected_statuses(failed: set[str]) -> dict[str, str]:
    """What the report must say when exactly `failed` fail: a step that needs one that did not
    pass is skipped, every other step passes."""
    status: dict[str, str] = {}
    for step in cuda_steps.steps():
        if step.name in failed:
            status[step.name] = "failed"
        elif any(status.get(n) != "ok" for n in step.needs):
            status[step.name] = "skipped"
        else:
            status[step.name] = "ok"
    return status


SIM = "SIMULATED (fake CUDA driver, no GPU): "
FMA = "anethru_conv_fma_32x32"
TUNED = "mma_16x16_k16_g4"   # made the fastest on the fake driver, so the tuner picks it
# The variant forced: no tuning launches, so the fake's kernel runs are the steps' alone.
FORCED = dict(ANETHRU_CUDA_KERNEL=TUNED)


def test_every_step_passes_on_a_working_driver(fake):
    r = doctor(fake)
    assert {n: s for n, (s, _) in r["steps"].items()} == expected_statuses(set())
    assert r["ok"] is True and r["after"] == left_behind(r)
    msg = {n: m for n, (_, m) in r["steps"].items()}
    assert all(m.startswith(SIM) for m in msg.values())    # nothing here ran on a GPU
    assert msg["driver library"] == f"{SIM}{fake} (from ANETHRU_CUDA_LIBRARY), CUDA driver 13.0"
    assert msg["entry points"] == f"{SIM}all 33 entry points found (27 required, 6 of the CUDA graph API)"
    assert msg["device"] == (f"{SIM}device 0 of 1: Fake GPU (tests/cuda_fake), compute capability 9.0; "
                             "can map host memory")
    variants = H.variant_table()
    base = sum(not n.startswith("async_") for n in variants)
    assert msg["PTX sm_75"] == (f"{SIM}the sm_75 module loaded on compute capability 9.0: all {base} "
                                "conv kernels and anethru_null found")
    assert msg["PTX sm_80"] == (f"{SIM}the sm_80 module loaded on compute capability 9.0: all "
                                f"{len(variants) - base} conv kernels found")
    assert msg["launch"] == (f"{SIM}{FMA} on 64x32 (grid 1x2, block 16x16): cuLaunchKernel and "
                             "cuStreamSynchronize succeeded")
    # The tuner timed every variant that fits 64x32 (and said its times are the fake's)
    fits = [n for n, v in variants.items() if H.variant_fits(v, 64, 32)]
    head, detail = msg["conv variant"][len(SIM):].split("): ", 1)
    chosen, rest = head.split(" ", 1)
    assert chosen in fits
    assert rest.startswith("for 64x32 (tuned in ") and rest.endswith("; the fake driver's times, on the CPU")
    assert sorted(e.split(" ")[0] for e in detail.split("; ")) == sorted(fits)
    # the graph and the identity check run the variant the tuner chose, as the backend does
    assert msg["graph"] == (f"{SIM}12 launches of {chosen} captured into one graph, instantiated, "
                            "launched and synchronized")
    assert msg["identity"] == (f"{SIM}12 identity layers of {chosen} through the graph: output == "
                               "input, bit for bit (2048 fp16 values)")
    assert "result: all 12 steps passed" in r["text"]


def test_a_gpu_older_than_sm80_passes_without_the_cp_async_module(fake):
    r = doctor(fake, FAKE_CUDA_COMPUTE_CAPABILITY=75)
    assert r["ok"] is True and r["after"] == dict(BACKEND_KEPT, modules=1)   # the base module alone
    n_async = sum(n.startswith("async_") for n in H.variant_table())
    assert r["steps"]["PTX sm_80"][1] == (
        f"{SIM}not loaded, as this GPU cannot take it: needs compute capability 8.0+ (cp.async), "
        f"and Fake GPU (tests/cuda_fake) is 7.5; its {n_async} conv variants are left out and the "
        "others run")
    detail = r["steps"]["conv variant"][1][len(SIM):].split("): ", 1)[1]
    for entry in detail.split("; "):   # the cp.async variants: skipped, with the reason
        assert not entry.startswith("async_") or entry.endswith(
            ": skipped, not loaded: needs compute capability 8.0+ (cp.async), and Fake GPU "
            "(tests/cuda_fake) is 7.5")


def test_the_library_step_names_the_file_the_loader_found(fake, tmp_path):
    """Without ANETHRU_CUDA_LIBRARY, libcuda.so.1 wherever the loader finds it: here the fake,
    by that name, on LD_LIBRARY_PATH."""
    (tmp_path / "libcuda.so.1").symlink_to(fake)
    r = doctor("", DOCTOR_FAKE=str(tmp_path / "libcuda.so.1"), LD_LIBRARY_PATH=str(tmp_path))
    assert r["ok"] is True and r["after"] == left_behind(r)
    assert r["steps"]["driver library"][1] == f"{SIM}libcuda.so.1 = {os.path.realpath(fake)}, CUDA driver 13.0"


def test_beside_the_backend_in_one_process(fake):
    """The doctor's session and the backend's own driver share the library and the primary
    context: the session gives back only what it took, and the variant is the one the backend
    chose earlier."""
    r = doctor(fake, prepare="chain = anethru.Chain(64, 32, kernels=2, backend='cuda')",
               cleanup="result['kernel'] = chain.cuda_kernel\nchain.close()")
    assert r["ok"] is True
    assert r["steps"]["conv variant"][1].startswith(f"{SIM}{r['kernel']} for 64x32 (chosen earlier "
                                                    "in this process): ")
    # what the backend keeps for the life of the process: its two modules and one reference
    assert r["after"] == BACKEND_KEPT


# (the failing step, the library (None: the fake; "drop:X": the fake without entry point X),
#  knobs, its message[, {other step that fails with it: its message}])
FAILURES = [
    ("driver library", "/nonexistent/libcuda.so.1", {},
     "cannot load the CUDA driver library /nonexistent/libcuda.so.1 (from ANETHRU_CUDA_LIBRARY): "
     "/nonexistent/libcuda.so.1: cannot open shared object file: No such file or directory"),
    ("driver library", None, dict(FAKE_CUDA_VERSION_ERROR=3),
     "cuDriverGetVersion ({lib}) failed: CUDA_ERROR_NOT_INITIALIZED (3: initialization error)"),
    ("entry points", "drop:cuLaunchKernel", {},
     "the CUDA driver {lib} lacks the entry point cuLaunchKernel (driver too old?): "),
    ("cuInit", None, dict(FAKE_CUDA_INIT_ERROR=100),
     "cuInit (driver {lib}) failed: CUDA_ERROR_NO_DEVICE (100: no CUDA-capable device is detected)"),
    ("device", None, dict(FAKE_CUDA_DEVICE_COUNT=0),
     "no CUDA device: driver 13.0 ({lib}) sees 0 GPUs (check CUDA_VISIBLE_DEVICES and nvidia-smi)"),
    ("context", None, dict(FAKE_CUDA_CONTEXT_ERROR=2),
     "cuDevicePrimaryCtxRetain(Fake GPU (tests/cuda_fake)) failed: CUDA_ERROR_OUT_OF_MEMORY (2: out "
     "of memory)"),
    ("PTX sm_75", None, dict(FAKE_CUDA_MODULE_ERROR=222),
     "loading anethru's PTX (sm_75+, PTX ISA 7.0) on Fake GPU (tests/cuda_fake) (compute capability "
     "9.0, driver 13.0) failed: CUDA_ERROR_UNSUPPORTED_PTX_VERSION (222: the provided PTX was "
     "compiled with an unsupported toolchain.)"),
    ("PTX sm_75", None, dict(FAKE_CUDA_MISSING_FUNCTION=FMA),
     f"cuModuleGetFunction({FMA}) failed: CUDA_ERROR_NOT_FOUND (500: named symbol not found)"),
    ("PTX sm_75", None, dict(FAKE_CUDA_MISSING_FUNCTION="anethru_null"),
     "cuModuleGetFunction(anethru_null) failed: CUDA_ERROR_NOT_FOUND (500: named symbol not found)"),
    ("PTX sm_75", None, dict(FAKE_CUDA_MISSING_FUNCTION="anethru_conv_mma_32x32_k64_g1"),
     "the sm_75 module loaded, but 1 of its 15 conv kernels are missing (left out of tuning); the "
     "first: cuModuleGetFunction(anethru_conv_mma_32x32_k64_g1) failed: CUDA_ERROR_NOT_FOUND (500: "
     "named symbol not found)"),
    ("PTX sm_80", None, dict(FAKE_CUDA_REJECT_TARGET="sm_80"),
     "loading the sm_80 PTX module failed: CUDA_ERROR_INVALID_PTX (218: a PTX JIT compilation failed)"),
    # allocations: the kernel's weights, input, output, 2 intermediates, 2 staging buffers
    ("launch", None, dict(FAKE_CUDA_FAIL_ALLOC=2),
     "cuMemAlloc(input) failed: CUDA_ERROR_OUT_OF_MEMORY (2: out of memory)"),
    # kernel runs: the launch is the 1st, then tuning's from the 2nd (none when FORCED), the
    # graph step's next 12, the identity's 12 after those
    ("launch", None, dict(FAKE_CUDA_FAIL_LAUNCH=1),
     f"cuLaunchKernel({FMA}, layer 0, grid 1x2) failed: CUDA_ERROR_LAUNCH_FAILED (719: unspecified "
     "launch failure)"),
    ("launch", None, dict(FAKE_CUDA_FAIL_LAUNCH=1, FAKE_CUDA_FAIL_AT_SYNC=1),
     f"cuStreamSynchronize after {FMA} failed: CUDA_ERROR_LAUNCH_FAILED (719: unspecified launch failure)"),
    ("conv variant", None, dict(ANETHRU_CUDA_KERNEL="no_such_kernel"),
     "ANETHRU_CUDA_KERNEL=no_such_kernel names no CUDA kernel variant; choose one of: "),
    ("conv variant", None, dict(FAKE_CUDA_FAIL_LAUNCH=2, FAKE_CUDA_FAIL_AT_SYNC=1),
     "tuning the CUDA kernel for 64x32: cuStreamSynchronize after timing "),
    # the tuner captures its launches: none can be timed, and it says so
    ("conv variant", None, dict(FAKE_CUDA_FAIL_CAPTURE=1),
     "none of the 4 CUDA kernel variants for 64x32 could be launched; the first: "),
    ("graph", "drop:cuGraphLaunch", {},
     "the CUDA driver has no CUDA graph API (cuGraphLaunch and friends, CUDA 11.4+), so the whole "
     "chain cannot be submitted as one graph (missing: cuGraphLaunch)"),
    ("graph", None, dict(FORCED, FAKE_CUDA_FAIL_CAPTURE=1),
     f"cuLaunchKernel(anethru_conv_{TUNED}, layer 0, grid 2x4) failed: CUDA_ERROR_INVALID_VALUE (1: "
     "invalid argument)"),
    ("graph", None, dict(FORCED, FAKE_CUDA_FAIL_LAUNCH=7),
     "cuGraphLaunch(chain) failed: CUDA_ERROR_LAUNCH_FAILED (719: unspecified launch failure)"),
    ("identity", None, dict(FAKE_CUDA_CORRUPT=1),
     "the output differs from the input in 1 of 2048 values; first at [c=0, s=0]"),
    ("identity", None, dict(FORCED, FAKE_CUDA_FAIL_LAUNCH=20, FAKE_CUDA_FAIL_AT_SYNC=1),
     "cuStreamSynchronize after the chain's graph failed: CUDA_ERROR_LAUNCH_FAILED (719: "
     "unspecified launch failure)"),
    # the native steps passed; the backend's own compile (the allocation after the doctor's 7)
    # runs out of memory, and frees what it took
    ("backend chain", None, dict(FAKE_CUDA_FAIL_ALLOC=8),
     "the backend's chain failed: compiling 64x32 on cuda (kernel 0): cuMemAlloc(weights) failed: "
     "CUDA_ERROR_OUT_OF_MEMORY (2: out of memory)"),
]


def library_for(spec, fake, build_dir):
    if spec is None:
        return fake
    if spec.startswith("drop:"):
        return H.build_fake(build_dir, drop=spec[5:])
    return spec


@pytest.mark.parametrize("failure", FAILURES, ids=[f"{f[0]}-{i}" for i, f in enumerate(FAILURES)])
def test_a_failing_step_is_named_and_what_needs_it_is_skipped(fake, build_dir, failure):
    step, library, knobs, words, *more = failure
    also = more[0] if more else {}
    lib = library_for(library, fake, build_dir)
    r = doctor(lib, **knobs)
    assert {n: s for n, (s, _) in r["steps"].items()} == expected_statuses({step, *also})
    for name, text in {step: words, **also}.items():
        message = r["steps"][name][1]
        assert text.format(lib=lib) in message, message
        if os.path.exists(lib):   # the fake says so, whatever failed
            assert message.startswith(SIM)
    skipped = [n for n, (s, m) in r["steps"].items() if s == "skipped"]
    for name in skipped:
        assert r["steps"][name][1].startswith("needs ")
    assert r["ok"] is False
    assert f"first failure: {step}: " in r["text"]
    assert r["after"] == left_behind(r, knobs)


def test_every_step_has_its_failure_driven():
    assert {f[0] for f in FAILURES} == {s.name for s in cuda_steps.steps()}


def test_the_dependencies_are_the_ones_a_bring_up_has():
    needs = {s.name: s.needs for s in cuda_steps.steps()}
    assert needs == {"driver library": (), "entry points": ("driver library",),
                     "cuInit": ("entry points",), "device": ("cuInit",), "context": ("device",),
                     "PTX sm_75": ("context",), "PTX sm_80": ("PTX sm_75",),
                     "launch": ("PTX sm_75",), "conv variant": ("launch",),
                     "graph": ("conv variant",), "identity": ("graph",),
                     "backend chain": ("identity",)}
    assert list(needs)[-1] == "backend chain"   # the backend itself, after every native step


@pytest.mark.parametrize("knobs,rc", [({}, 0), (dict(FAKE_CUDA_CORRUPT=1), 1)])
def test_command_line_exit_status(fake, knobs, rc):
    r = doctor(fake, cli=True, **knobs)
    assert r["rc"] == rc and r["ok"] is (rc == 0)
    assert {n: s for n, (s, _) in r["steps"].items()} == expected_statuses(set() if rc == 0 else {"identity"})
    assert r["after"] == left_behind(r)


def test_without_a_driver_the_library_step_fails_and_the_rest_is_skipped(capsys, monkeypatch):
    """This machine has no NVIDIA driver: exit 1, the driver library failed with dlopen's
    reason, every other step skipped."""
    import ctypes
    try:
        ctypes.CDLL("libcuda.so.1")
        pytest.skip("this machine has libcuda.so.1")
    except OSError:
        pass
    monkeypatch.delenv("ANETHRU_CUDA_LIBRARY", raising=False)
    assert main(["doctor", "--backend", "cuda", "--json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["schema"] == "anethru.doctor/1" and doc["backend"] == "cuda" and doc["ok"] is False
    (library, *rest) = doc["steps"]
    assert library["name"] == "driver library" and library["status"] == "failed"
    assert library["message"].startswith(
        "cannot load the CUDA driver library libcuda.so.1 (no NVIDIA driver installed? set "
        "ANETHRU_CUDA_LIBRARY to its path): libcuda.so.1: ")
    assert [s["name"] for s in rest] == [s.name for s in cuda_steps.steps()][1:]
    assert {s["status"] for s in rest} == {"skipped"}
    assert doc["counts"] == {"ok": 0, "failed": 1, "skipped": len(rest)}


def test_a_step_out_of_order_says_what_it_needs():
    """The native steps check their own prerequisites (nothing is loaded here)."""
    from anethru.native.lib import ffi, lib
    assert lib.anethru_cuda_bringup_open(64, 32, 1) == ffi.NULL            # a graph needs 2+
    session = lib.anethru_cuda_bringup_open(64, 32, 12)
    msg = ffi.new("char[]", 256)
    try:
        for step, arg, words in [(lib.ANETHRU_CUDA_STEP_LAUNCH, 0, "needs the base PTX module"),
                                 (lib.ANETHRU_CUDA_STEP_GRAPH, 0, "needs the conv variant"),
                                 (lib.ANETHRU_CUDA_STEP_INIT, 0, "needs the entry points first"),
                                 (lib.ANETHRU_CUDA_STEP_MODULE, 7, "needs a known module index first"),
                                 (99, 0, "needs a known step first")]:
            assert lib.anethru_cuda_bringup_step(session, step, arg, msg, len(msg)) == lib.ANETHRU_E_ARG
            assert words in ffi.string(msg).decode()
    finally:
        lib.anethru_cuda_bringup_close(session)
    assert [lib.anethru_cuda_module_sm(i) for i in range(lib.anethru_cuda_module_count())] == [75, 80]


def test_the_doctor_fails_where_only_the_tuned_variant_fails(fake):
    """The backend measures with the variant the tuner picks; the native steps build and run the
    chain with it too.  With only that one computing wrong, the native identity step fails (the
    backend's chain, which needs it, is skipped), naming the variant."""
    r = doctor(fake, FAKE_CUDA_FAST_KERNEL=f"anethru_conv_{TUNED}",
               FAKE_CUDA_CORRUPT_KERNEL=f"anethru_conv_{TUNED}")
    statuses = {n: s for n, (s, _) in r["steps"].items()}
    assert statuses == expected_statuses({"identity"}), statuses
    assert r["ok"] is False and r["steps"]["conv variant"][1].startswith(f"{SIM}{TUNED} for 64x32")
    assert r["steps"]["graph"][1].startswith(f"{SIM}12 launches of {TUNED} captured")
    assert r["steps"]["identity"][1].startswith(
        f"{SIM}12 identity layers of {TUNED}: the output differs from the input in 1 of 2048 "
        "values; first at [c=0, s=0]: "), r["steps"]["identity"][1]
    assert r["steps"]["backend chain"][1] == "needs identity, which failed"
    assert r["after"] == CLEAN


def test_a_forced_variant_that_computes_wrong_fails_the_identity_step(fake):
    """ANETHRU_CUDA_KERNEL's variant is the one the backend would run: the doctor checks it."""
    r = doctor(fake, FAKE_CUDA_CORRUPT_KERNEL=f"anethru_conv_{TUNED}", **FORCED)
    assert {n: s for n, (s, _) in r["steps"].items()} == expected_statuses({"identity"})
    assert r["steps"]["conv variant"][1] == f"{SIM}{TUNED} for 64x32: forced by ANETHRU_CUDA_KERNEL"
    assert f"12 identity layers of {TUNED}: the output differs" in r["steps"]["identity"][1]
