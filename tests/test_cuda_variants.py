"""The cuda backend's kernel variants and the tuner that picks one per shape, without a GPU.

Through tests/cuda_fake: every variant's launch geometry (the fake restates cuda_kernels.h's
rules and refuses any other launch) and output; the tuner timing every variant that fits and
keeping the fastest (the fake makes one variant fast on request), skipping with its reason a
variant that cannot load or launch, failing cleanly when the GPU fails while timing;
ANETHRU_CUDA_KERNEL; the per-shape cache; what the result and report say.  The variants' own
arithmetic is checked in the emulator (tests/test_cuda.py, section e); their speed only on a GPU
(benchmarks/test_bench_cuda.py).
"""
import json

import numpy as np
import pytest

import cuda_helpers as H
from cuda_fixtures import build_dir, fake, vtable  # noqa: F401 (fixtures)

pytestmark = pytest.mark.skipif(H.CC is None, reason="no C compiler to build the fake driver")

E = H.E
VARIANTS = H.variant_table()


def fitting(c, s, cc=90):
    return [n for n, v in VARIANTS.items()
            if H.variant_fits(v, c, s) and (cc >= 80 or not n.startswith("async_"))]


def detail_entries(kv):
    """The tuner's record: {variant: "12.34 us" or "skipped, why"}."""
    out = {}
    for part in kv["detail"].split("; "):
        name, _, rest = part.partition(" ")
        out[name.rstrip(":")] = rest
    return out


# ---------------------------------------------------------------- every variant through the fake


def variant_shape(name):
    """The smallest shape with several tiles each way that the variant fits."""
    tm, tn, bk, groups, _ = VARIANTS[name]
    if groups == 0:
        return 33, 70
    c = max(tm, bk * groups)
    c = c * 2 if c * 2 % tm == 0 and (c * 2) % (bk * groups) == 0 else c
    return c, 3 * tn


@pytest.mark.parametrize("mapped", ["0", "1"])
@pytest.mark.parametrize("name", list(VARIANTS))
def test_every_variant_launches_as_its_kernel_needs(vtable, fake, tmp_path, name, mapped):
    """Forced to each variant, a 3-layer graph's output is the fake's conv, bit for bit: the
    backend launched it with the geometry the kernel needs (else the fake refuses the launch)."""
    c, s = variant_shape(name)
    rng = np.random.default_rng(len(name) + c)
    weights = [H.random_fp16(rng, (c, c), 1 / np.sqrt(c)) for _ in range(3)]
    x = H.random_fp16(rng, (c, s), 1.0)
    inp, out = H.write_case(tmp_path, weights, x)
    kv = H.run_vtable(vtable, "run", c, s, 3, inp, out, ANETHRU_CUDA_LIBRARY=fake,
                      ANETHRU_CUDA_KERNEL=name, VTABLE_MAPPED=mapped)
    assert kv["live"] == "0"
    np.testing.assert_array_equal(H.read_out(out, c, s).view(np.uint16),
                                  H.reference_chain(weights, x).view(np.uint16))


# ---------------------------------------------------------------- the tuner


@pytest.mark.parametrize("fast", ["mma_16x16_k16_g4", "async_32x32_k32_g2_s3", "fma_32x32",
                                  "mma_32x32_k64_g1"])
def test_tuner_times_every_fitting_variant_and_keeps_the_fastest(vtable, fake, fast):
    kv = H.run_vtable(vtable, "compile", 64, 32, 1, ANETHRU_CUDA_LIBRARY=fake,
                      FAKE_CUDA_FAST_KERNEL=f"anethru_conv_{fast}")
    assert (int(kv["compile"]), kv["kernel"], kv["forced"], kv["serial"]) == (0, fast, "0", "1")
    timed = detail_entries(kv)
    assert sorted(timed) == sorted(fitting(64, 32))
    assert all(v.endswith(" us") and float(v.split()[0]) > 0 for v in timed.values()), timed
    assert min(timed, key=lambda n: float(timed[n].split()[0])) == fast
    assert float(kv["tuning_ms"]) > 0 and kv["live"] == "0"


def test_variant_that_fails_to_launch_is_skipped_with_its_reason(vtable, fake):
    bad = "mma_16x16_k16_g4"
    kv = H.run_vtable(vtable, "compile", 64, 32, 1, ANETHRU_CUDA_LIBRARY=fake,
                      FAKE_CUDA_FAST_KERNEL=f"anethru_conv_{bad}",
                      FAKE_CUDA_FAIL_KERNEL=f"anethru_conv_{bad}")
    assert int(kv["compile"]) == 0 and kv["kernel"] != bad and kv["kernel"] in fitting(64, 32)
    assert detail_entries(kv)[bad] == (
        f"skipped, cuLaunchKernel(anethru_conv_{bad}) failed: CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES "
        "(701: too many resources requested for launch)")


def test_module_the_driver_rejects_is_skipped_with_its_reason(vtable, fake):
    kv = H.run_vtable(vtable, "compile", 64, 32, 1, ANETHRU_CUDA_LIBRARY=fake,
                      FAKE_CUDA_REJECT_TARGET="sm_80")
    assert int(kv["compile"]) == 0
    skipped = {n: v for n, v in detail_entries(kv).items() if v.startswith("skipped")}
    assert sorted(skipped) == sorted(n for n in fitting(64, 32) if n.startswith("async_"))
    for why in skipped.values():
        assert why == ("skipped, not loaded: loading the sm_80 PTX module failed: "
                       "CUDA_ERROR_INVALID_PTX (218: a PTX JIT compilation failed)")


def test_gpu_older_than_sm80_skips_the_cp_async_variants(vtable, fake):
    kv = H.run_vtable(vtable, "compile", 64, 32, 1, ANETHRU_CUDA_LIBRARY=fake,
                      FAKE_CUDA_COMPUTE_CAPABILITY=75)
    entries = detail_entries(kv)
    assert kv["kernel"] in fitting(64, 32, cc=75)
    for name in (n for n in fitting(64, 32) if n.startswith("async_")):
        assert entries[name] == ("skipped, not loaded: needs compute capability 8.0+ (cp.async), and "
                                 "Fake GPU (tests/cuda_fake) is 7.5")


def test_entry_point_missing_from_the_module_is_skipped(vtable, fake):
    kv = H.run_vtable(vtable, "compile", 64, 32, 1, ANETHRU_CUDA_LIBRARY=fake,
                      FAKE_CUDA_MISSING_FUNCTION="anethru_conv_mma_32x32_k64_g1")
    assert int(kv["compile"]) == 0
    assert detail_entries(kv)["mma_32x32_k64_g1"] == (
        "skipped, not loaded: cuModuleGetFunction(anethru_conv_mma_32x32_k64_g1) failed: "
        "CUDA_ERROR_NOT_FOUND (500: named symbol not found)")


def test_without_the_fma_kernel_the_backend_is_unavailable(vtable, fake):
    kv = H.run_vtable(vtable, "probe", ANETHRU_CUDA_LIBRARY=fake,
                      FAKE_CUDA_MISSING_FUNCTION="anethru_conv_fma_32x32")
    assert int(kv["probe"]) == E["UNAVAILABLE"]
    assert kv["reason"].startswith("cuModuleGetFunction(anethru_conv_fma_32x32) failed: "
                                   "CUDA_ERROR_NOT_FOUND")


def test_a_shape_only_one_variant_fits_is_not_timed(vtable, fake):
    kv = H.run_vtable(vtable, "compile", 48, 20, 1, ANETHRU_CUDA_LIBRARY=fake)
    assert (kv["kernel"], float(kv["tuning_ms"])) == ("fma_32x32", 0.0)
    assert kv["detail"] == "fma_32x32: the only variant for 48x20"


def test_gpu_failure_while_tuning_fails_the_compile_and_frees(vtable, fake):
    """A fault reported at synchronize may have lost the context: not a variant to skip."""
    kv = H.run_vtable(vtable, "compile", 64, 32, 1, ANETHRU_CUDA_LIBRARY=fake,
                      FAKE_CUDA_FAIL_LAUNCH=1, FAKE_CUDA_FAIL_AT_SYNC=1)
    assert int(kv["compile"]) == E["COMPILE"]
    first = fitting(64, 32)[0]
    assert kv["error"] == (f"tuning the CUDA kernel for 64x32: cuStreamSynchronize after timing "
                           f"anethru_conv_{first} failed: CUDA_ERROR_LAUNCH_FAILED (719: "
                           "unspecified launch failure)")
    assert kv["live"] == "0"


def test_no_variant_launchable_fails_the_compile_naming_each(vtable, fake):
    kv = H.run_vtable(vtable, "compile", 64, 32, 1, ANETHRU_CUDA_LIBRARY=fake,
                      FAKE_CUDA_FAIL_CAPTURE=1)
    assert int(kv["compile"]) == E["COMPILE"]
    first = fitting(64, 32)[0]
    assert kv["error"] == (f"none of the {len(fitting(64, 32))} CUDA kernel variants for 64x32 "
                           f"could be launched; the first: {first}: cuLaunchKernel(anethru_conv_"
                           f"{first}) failed: CUDA_ERROR_INVALID_VALUE (1: invalid argument)")
    assert kv["live"] == "0"


# ---------------------------------------------------------------- ANETHRU_CUDA_KERNEL


def test_forced_variant_is_used_without_timing(vtable, fake):
    kv = H.run_vtable(vtable, "compile", 64, 32, 1, ANETHRU_CUDA_LIBRARY=fake,
                      ANETHRU_CUDA_KERNEL="mma_16x16_k16_g4")
    assert (kv["kernel"], kv["forced"], float(kv["tuning_ms"])) == ("mma_16x16_k16_g4", "1", 0.0)


def test_forced_unknown_name_lists_every_name(vtable, fake):
    kv = H.run_vtable(vtable, "compile", 64, 32, 1, ANETHRU_CUDA_LIBRARY=fake,
                      ANETHRU_CUDA_KERNEL="mma_fastest")
    assert int(kv["compile"]) == E["ARG"]
    assert kv["error"] == ("ANETHRU_CUDA_KERNEL=mma_fastest names no CUDA kernel variant; "
                           "choose one of: " + ", ".join(VARIANTS))


def test_forced_variant_that_cannot_take_the_shape(vtable, fake):
    kv = H.run_vtable(vtable, "compile", 64, 32, 1, ANETHRU_CUDA_LIBRARY=fake,
                      ANETHRU_CUDA_KERNEL="mma_32x32_k64_g4")
    assert int(kv["compile"]) == E["ARG"]
    assert kv["error"] == ("ANETHRU_CUDA_KERNEL=mma_32x32_k64_g4 cannot run 64x32: it needs "
                           "channels % 32 == 0, spatial % 32 == 0 and channels % 256 == 0")


def test_forced_variant_this_gpu_could_not_load(vtable, fake):
    kv = H.run_vtable(vtable, "compile", 64, 32, 1, ANETHRU_CUDA_LIBRARY=fake,
                      ANETHRU_CUDA_KERNEL="async_32x32_k32_g2_s3", FAKE_CUDA_COMPUTE_CAPABILITY=80,
                      FAKE_CUDA_REJECT_TARGET="sm_80")
    assert int(kv["compile"]) == E["UNSUPPORTED"]
    assert kv["error"].startswith("ANETHRU_CUDA_KERNEL=async_32x32_k32_g2_s3 is unavailable on "
                                  "this GPU: loading the sm_80 PTX module failed")


# ---------------------------------------------------------------- through Python

CHOICES = """
import anethru, ctypes, json, os
lib = ctypes.CDLL(os.environ["ANETHRU_CUDA_LIBRARY"])
lib.fake_cuda_kernel_runs.restype = ctypes.c_long
out = []
def chain(c, s, **kw):
    runs = lib.fake_cuda_kernel_runs()
    with anethru.Chain(c, s, kernels=2, backend="cuda", **kw) as ch:
        out.append(dict(t=ch.cuda_tuning, options=list(ch.options),
                        runs=lib.fake_cuda_kernel_runs() - runs))
chain(64, 32)
chain(64, 32)
chain(64, 32, cuda_memory="mapped")
chain(128, 64)
os.environ["ANETHRU_CUDA_KERNEL"] = "mma_32x32_k64_g1"
chain(64, 32)
del os.environ["ANETHRU_CUDA_KERNEL"]
chain(64, 32)
chain(48, 20)
print(json.dumps(out))
"""


def test_choice_is_cached_per_shape_and_memory_mode(fake):
    rc, out, err = H.run_python(CHOICES, ANETHRU_CUDA_LIBRARY=fake,
                                FAKE_CUDA_FAST_KERNEL="anethru_conv_mma_16x16_k16_g4")
    assert rc == 0, err
    first, again, mapped, other, forced, retuned, only = json.loads(out)
    assert first["t"]["how"] == "tuned" and first["t"]["kernel"] == "mma_16x16_k16_g4"
    assert first["t"]["tuning_ms"] > 0
    assert first["options"] == ["cuda_memory=device", "cuda_kernel=mma_16x16_k16_g4",
                                "cuda_kernel_chosen=tuned",
                                f"cuda_tuning_ms={first['t']['tuning_ms']:.2f}"]
    # The same shape again: no timing launches (a chained graph of 2 compiles, no runs).
    assert again["t"]["how"] == "cached" and again["t"]["tuning_ms"] == 0 and again["runs"] == 0
    assert again["options"][1:] == ["cuda_kernel=mma_16x16_k16_g4", "cuda_kernel_chosen=cached",
                                    "cuda_tuning_ms=0.00"]
    assert mapped["t"]["how"] == "tuned" and mapped["options"][0] == "cuda_memory=mapped"
    assert mapped["runs"] > 0 and other["t"]["how"] == "tuned" and other["runs"] > 0
    assert forced["t"]["how"] == "forced" and forced["t"]["kernel"] == "mma_32x32_k64_g1"
    assert forced["runs"] == 0
    # A forced choice is not reused once the variable is gone: the shape is timed again.
    assert retuned["t"]["how"] == "tuned" and retuned["t"]["kernel"] == "mma_16x16_k16_g4"
    assert only["t"] == {"kernel": "fma_32x32", "how": "only", "tuning_ms": 0.0,
                         "detail": "fma_32x32: the only variant for 48x20"}


RESULT = """
import anethru, json
r = anethru.run_ceiling(64, 32, backend="cuda", kernels=3, iters=2, warmup=1, repeats=1)
again = anethru.CeilingResult.from_json(r.to_json())
print(json.dumps(dict(options=list(r.config.options), back=list(again.config.options),
                      report=str(r))))
"""


def test_result_and_report_name_the_variant_and_tuning_time(fake):
    rc, out, err = H.run_python(RESULT, ANETHRU_CUDA_LIBRARY=fake)
    assert rc == 0, err
    r = json.loads(out)
    opts = dict(o.split("=", 1) for o in r["options"])
    assert opts["cuda_memory"] == "device" and opts["cuda_kernel"] in fitting(64, 32)
    assert opts["cuda_kernel_chosen"] == "tuned" and float(opts["cuda_tuning_ms"]) > 0
    assert r["back"] == r["options"]
    assert f"options: {', '.join(r['options'])}" in r["report"]


def test_bad_forced_name_reaches_python_as_value_error(fake):
    code = ("import anethru\n"
            "try:\n"
            "    anethru.run_ceiling(64, 32, backend='cuda', iters=1, warmup=0, repeats=1)\n"
            "except ValueError as e:\n"
            "    print(e)\n")
    rc, out, err = H.run_python(code, ANETHRU_CUDA_LIBRARY=fake, ANETHRU_CUDA_KERNEL="nope")
    assert rc == 0, err
    assert "ANETHRU_CUDA_KERNEL=nope names no CUDA kernel variant; choose one of: " in out
    assert all(name in out for name in VARIANTS)
