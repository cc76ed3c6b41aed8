"""cuda_memory="mapped": kernel inputs and outputs in mapped pinned host memory, without a GPU.

Through tests/cuda_fake, which maps host memory allocated with CU_MEMHOSTALLOC_DEVICEMAP and
refuses kernels any other host memory: data through every path, the lock rules, no copy ever
made once compiled (lock/unlock only order CPU and GPU), failures, and what the result, report,
JSON and CLI say.  What the mode costs on a real GPU is measured only there
(benchmarks/test_bench_cuda.py).
"""
import ctypes
import json
import re

import numpy as np
import pytest

import cuda_helpers as H
from cuda_fixtures import build_dir, fake, vtable  # noqa: F401 (fixtures)

pytestmark = pytest.mark.skipif(H.CC is None, reason="no C compiler to build the fake driver")

E = H.E
SHAPES = [(64, 32), (128, 64), (48, 20), (5, 3)]


@pytest.mark.parametrize("c,s", SHAPES)
@pytest.mark.parametrize("layers", [1, 3])
def test_mapped_kernel_output_matches_reference(vtable, fake, tmp_path, c, s, layers):
    rng = np.random.default_rng(c + s + layers)
    weights = [H.random_fp16(rng, (c, c), 1 / np.sqrt(c)) for _ in range(layers)]
    x = H.random_fp16(rng, (c, s), 1.0)
    inp, out = H.write_case(tmp_path, weights, x)
    kv = H.run_vtable(vtable, "run", c, s, layers, inp, out, ANETHRU_CUDA_LIBRARY=fake,
                      VTABLE_MAPPED=1)
    assert kv["live"] == "0"
    np.testing.assert_array_equal(H.read_out(out, c, s).view(np.uint16),
                                  H.reference_chain(weights, x).view(np.uint16))


def test_mapped_sequential_equals_chained(vtable, fake, tmp_path):
    c, s, n = 64, 32, 4
    rng = np.random.default_rng(3)
    weights = [H.random_fp16(rng, (c, c), 1 / np.sqrt(c)) for _ in range(n)]
    x = H.random_fp16(rng, (c, s), 1.0)
    inp, out = H.write_case(tmp_path, weights, x)
    kv = H.run_vtable(vtable, "seq", c, s, n, inp, out, ANETHRU_CUDA_LIBRARY=fake, VTABLE_MAPPED=1)
    assert kv["live"] == "0"
    np.testing.assert_array_equal(H.read_out(out, c, s).view(np.uint16),
                                  H.reference_chain(weights, x).view(np.uint16))


def test_mapped_lock_discipline_and_threads(vtable, fake):
    H.check_locks(H.run_vtable(vtable, "locks", ANETHRU_CUDA_LIBRARY=fake, VTABLE_MAPPED=1))
    kv = H.run_vtable(vtable, "thread", ANETHRU_CUDA_LIBRARY=fake, VTABLE_MAPPED=1)
    assert (kv["thread_eval"], kv["thread_eval_null"], kv["live"]) == ("0", "0", "0"), kv


def test_gpu_that_cannot_map_host_memory(vtable, fake):
    kv = H.run_vtable(vtable, "evals", 64, 32, 1, 1, ANETHRU_CUDA_LIBRARY=fake, VTABLE_MAPPED=1,
                      FAKE_CUDA_NO_MAP_HOST=1)
    assert int(kv["compile"]) == E["UNSUPPORTED"]
    assert kv["error"] == ("cuda_memory='mapped': this GPU cannot map host memory "
                           "(CU_DEVICE_ATTRIBUTE_CAN_MAP_HOST_MEMORY is 0); use 'device'")
    assert kv["live"] == "0"


FAKE_PTX = b".version 7.0\n.target sm_75\n.entry anethru_conv_fma_32x32(\n"


def test_fake_lets_kernels_reach_only_mapped_host_memory(fake):
    """So a backend that handed a kernel unmapped host memory (or its host pointer for a
    device one) fails here as it would on a GPU."""
    lib = ctypes.CDLL(fake)
    ctx, mod, fn, stream = (ctypes.c_void_p() for _ in range(4))
    assert lib.cuInit(0) == 0 and lib.cuDevicePrimaryCtxRetain(ctypes.byref(ctx), 0) == 0
    assert lib.cuCtxSetCurrent(ctx) == 0 and lib.cuStreamCreate(ctypes.byref(stream), 0) == 0
    assert lib.cuModuleLoadData(ctypes.byref(mod), FAKE_PTX) == 0
    assert lib.cuModuleGetFunction(ctypes.byref(fn), mod, b"anethru_conv_fma_32x32") == 0
    w = ctypes.c_ulonglong()
    pinned, mapped = ctypes.c_void_p(), ctypes.c_void_p()
    dev_alias = ctypes.c_ulonglong()
    assert lib.cuMemAlloc_v2(ctypes.byref(w), 2) == 0
    assert lib.cuMemAllocHost_v2(ctypes.byref(pinned), 2) == 0
    assert lib.cuMemHostAlloc(ctypes.byref(mapped), 2, 2) == 0  # CU_MEMHOSTALLOC_DEVICEMAP
    assert lib.cuMemHostGetDevicePointer_v2(ctypes.byref(dev_alias), pinned, 0) == 1
    assert lib.cuMemHostGetDevicePointer_v2(ctypes.byref(dev_alias), mapped, 0) == 0
    assert dev_alias.value == mapped.value

    def launch(x, y):
        c = s = ctypes.c_int(1)
        args = [w, ctypes.c_ulonglong(x), ctypes.c_ulonglong(y), c, s]
        params = (ctypes.c_void_p * 5)(*[ctypes.cast(ctypes.byref(a), ctypes.c_void_p)
                                         for a in args])
        return lib.cuLaunchKernel(fn, 1, 1, 1, 16, 16, 1, 0, stream, params, None)

    assert launch(pinned.value, mapped.value) == 1      # CUDA_ERROR_INVALID_VALUE
    assert launch(mapped.value, pinned.value) == 1
    assert launch(mapped.value, dev_alias.value) == 0


NO_COPIES = """
import anethru, ctypes, json, os
lib = ctypes.CDLL(os.environ["ANETHRU_CUDA_LIBRARY"])
lib.fake_cuda_copies.restype = ctypes.c_long
out = {}
for mode in ("mapped", "device"):
    with anethru.Chain(64, 32, kernels=4, backend="cuda", weights="random",
                       cuda_memory=mode) as ch:
        before = lib.fake_cuda_copies()
        check = ch.check()
        ch.measure(["sequential", "memcpy_only", "run_only", "chained", "null_eval"], iters=3,
                   warmup=1, repeats=2)
        out[mode] = dict(copies=lib.fake_cuda_copies() - before, checked=list(check.tests),
                         options=list(ch.options))
print(json.dumps(out))
"""


def test_mapped_memory_is_never_copied(fake):
    """Once compiled, a mapped chain's data moves only by the kernels and the host memcpy:
    no driver copy at any lock, unlock or test (device memory copies at every round trip)."""
    rc, out, err = H.run_python(NO_COPIES, ANETHRU_CUDA_LIBRARY=fake)
    assert rc == 0, err
    r = json.loads(out)
    assert r["mapped"]["copies"] == 0 and r["device"]["copies"] > 0
    assert r["mapped"]["checked"] == ["sequential", "chained"]
    assert r["mapped"]["options"][0] == "cuda_memory=mapped"
    assert r["device"]["options"][0] == "cuda_memory=device"


def test_mapped_full_run_reports_its_mode(fake):
    code = ("import anethru, json\n"
            "r = anethru.run_ceiling(48, 20, backend='cuda', kernels=4, iters=2, warmup=1,\n"
            "                        repeats=2, weights='random', cuda_memory='mapped',\n"
            "                        tests=anethru.TEST_NAMES)\n"
            "print(json.dumps(dict(ok=r.check.passed, tests=list(r.tests), report=str(r),\n"
            "                      config=r.to_dict()['config'])))\n")
    rc, out, err = H.run_python(code, ANETHRU_CUDA_LIBRARY=fake)
    assert rc == 0, err
    r = json.loads(out)
    assert r["ok"] and len(r["tests"]) == 6
    assert "cuda_memory=mapped" in r["config"]["options"]
    assert re.search(r"options: cuda_memory=mapped, cuda_kernel=fma_32x32", r["report"])


def test_cli_cuda_memory_flag(fake):
    code = ("import sys\nfrom anethru.cli import main\n"
            "sys.exit(main(['--backend', 'cuda', '-c', '64x32', '-k', '3', '-n', '2', '-w', '1',\n"
            "               '-r', '1', '--cuda-memory', 'mapped', '--json', '-q']))\n")
    rc, out, err = H.run_python(code, ANETHRU_CUDA_LIBRARY=fake)
    assert rc == 0, err
    (result,) = json.loads(out)["results"]
    assert result["config"]["options"][0] == "cuda_memory=mapped"


@pytest.mark.parametrize("argv,code,msg", [
    (["--backend", "cpu", "--cuda-memory", "mapped"], 2,
     "anethru: usage error: --cuda-memory mapped needs the cuda backend; this chain runs on 'cpu'"),
    (["--cuda-memory", "unified"], 2, "invalid choice: 'unified'"),
])
def test_cli_rejects_bad_cuda_memory(argv, code, msg):
    rc, out, err = H.run_python("import sys\nfrom anethru.cli import main\n"
                                f"sys.exit(main({argv + ['-c', '8x4', '-k', '2', '-q']!r}))\n")
    assert rc == code and msg in err and "Traceback" not in err


@pytest.mark.parametrize("kw,exc,msg", [
    (dict(cuda_memory="unified"), ValueError,
     "cuda_memory must be one of device, mapped; got 'unified'"),
    (dict(cuda_memory=None), ValueError, "cuda_memory must be one of device, mapped; got None"),
    (dict(cuda_memory="mapped", backend="cpu"), ValueError,
     "cuda_memory='mapped' needs the cuda backend; this chain runs on 'cpu'"),
])
def test_bad_cuda_memory_is_refused_before_compiling(kw, exc, msg):
    import anethru
    from conftest import live_counts

    before = live_counts()
    with pytest.raises(exc, match=re.escape(msg)):
        anethru.Chain(8, 4, kernels=2, **{"backend": "cpu", **kw})
    with pytest.raises(exc, match=re.escape(msg)):
        anethru.run_ceiling(8, 4, kernels=2, iters=1, warmup=0, repeats=1,
                            **{"backend": "cpu", **kw})
    assert live_counts() == before
