"""Bad input: a clear exception naming the value, nothing leaked, and the next call works."""

from __future__ import annotations

import numpy as np
import pytest

import anethru
from anethru.validate import INT32_MAX


@pytest.mark.parametrize("kwargs,exc,pattern", [
    (dict(channels=0), ValueError, r"channels must be >= 1; got 0"),
    (dict(channels=-64), ValueError, r"channels must be >= 1; got -64"),
    (dict(spatial=0), ValueError, r"spatial must be >= 1; got 0"),
    (dict(channels=64.0), TypeError, r"channels must be an integer; got 64.0 \(float\)"),
    (dict(spatial="32"), TypeError, r"spatial must be an integer; got '32' \(str\)"),
    (dict(channels=True), TypeError, r"channels must be an integer; got True \(bool\)"),
    (dict(kernels=1), ValueError, r"kernels must be >= 2; got 1"),
    (dict(kernels=False), TypeError, r"kernels must be an integer; got False"),
    (dict(iters=0), ValueError, r"iters must be >= 1; got 0"),
    (dict(iters=2.5), TypeError, r"iters must be an integer; got 2.5"),
    (dict(warmup=-1), ValueError, r"warmup must be >= 0; got -1"),
    (dict(repeats=0), ValueError, r"repeats must be >= 1; got 0"),
    (dict(repeats="5"), TypeError, r"repeats must be an integer; got '5'"),
    (dict(repeats=10**7), ValueError, r"repeats must be <= 1000000; got 10000000"),
    (dict(repeats=None, precision=0), ValueError, r"precision must be a fraction in \(0, 1\]"),
    (dict(repeats=None, precision=5), ValueError, r"precision must be a fraction in \(0, 1\], e.g. 0.05 for 5%; got 5"),
    (dict(repeats=None, precision="5%"), TypeError, r"precision must be a number; got '5%'"),
    (dict(repeats=None, precision=float("nan")), ValueError, r"precision must be finite; got nan"),
    (dict(repeats=None, max_time=0), ValueError, r"max_time must be a positive number of seconds; got 0"),
    (dict(repeats=None, max_time=float("inf")), ValueError, r"max_time must be finite; got inf"),
    (dict(repeats=None, max_time=True), TypeError, r"max_time must be a number; got True"),
    (dict(repeats=3, precision=0.05), ValueError, r"repeats is an exact count; give repeats, or precision"),
    (dict(repeats=3, max_time=10), ValueError, r"repeats is an exact count"),
    (dict(seed=-3), ValueError, r"seed must be >= 0; got -3"),
    (dict(channels=INT32_MAX + 1), ValueError, r"channels must be <= 2147483647; got 2147483648"),
    (dict(channels=2**40, spatial=2**40), ValueError, r"channels must be <= 2147483647"),
    (dict(tests=["sequential", "bogus"]), ValueError, r"unknown test 'bogus'; choose from sequential"),
    (dict(tests=[]), ValueError, r"tests is empty"),
    (dict(weights="ones"), ValueError, r"weights must be one of identity, random; got 'ones'"),
    (dict(backend="tpu"), ValueError, r"unknown backend 'tpu'; choose one of auto, ane, cuda, cpu"),
    (dict(backend=3), TypeError, r"backend must be a string; got 3"),
])
def test_bad_arguments_name_the_value(kwargs, exc, pattern, no_leaks):
    args = dict(channels=64, spatial=32, backend="cpu", repeats=1, iters=1)
    args.update(kwargs)
    c, s = args.pop("channels"), args.pop("spatial")
    with pytest.raises(exc, match=pattern):
        anethru.run_ceiling(c, s, **args)


def test_sizes_beyond_this_machine_are_refused_before_allocating(no_leaks):
    # 2e9 x 2e9 fits int32 but its weights alone would need exabytes.
    with pytest.raises(MemoryError, match=r"channels=2000000000, spatial=2000000000"):
        anethru.run_ceiling(2_000_000_000, 2_000_000_000, backend="cpu")


def test_unavailable_backend_says_why(no_leaks):
    unavailable = [b for b in anethru.backends() if not b.available]
    if not unavailable:
        pytest.skip("every backend is available on this machine")
    b = unavailable[0]
    assert b.reason
    with pytest.raises(anethru.BackendUnavailableError, match=f"backend '{b.name}' is unavailable: "):
        anethru.run_ceiling(64, 32, backend=b.name)


def test_unsupported_test_explicitly_asked_for(no_leaks):
    with anethru.Chain(64, 32, kernels=2, backend="cpu", chained=False) as chain:
        ok, why = chain.supports("chained")
        assert not ok and why == "the chained test was not requested"
        with pytest.raises(anethru.UnsupportedError, match="cpu cannot run the chained test: the chained test was not requested"):
            chain.measure(["run_only", "chained"])


def test_custom_weight_array_shape_is_checked(no_leaks):
    with pytest.raises(ValueError, match=r"weights array has shape \(2, 4, 4\); need .* = \(2, 8, 8\)"):
        anethru.Chain(8, 16, kernels=2, backend="cpu", weights=np.zeros((2, 4, 4), np.float16))
    w = np.zeros((2, 8, 8), np.float16)
    w[0, 0, 0] = np.inf
    with pytest.raises(ValueError, match="inf or NaN"):
        anethru.Chain(8, 16, kernels=2, backend="cpu", weights=w)


def test_measure_arguments(no_leaks):
    with anethru.Chain(64, 32, kernels=2, backend="cpu") as chain:
        with pytest.raises(ValueError, match="max_block_ms must be a positive number; got 0"):
            chain.measure("run_only", max_block_ms=0)
        with pytest.raises(ValueError, match="memcpy_iters must be >= 1; got 0"):
            chain.measure("memcpy_only", memcpy_iters=0)
        # and the chain still works
        assert len(chain.measure("run_only", iters=2, repeats=2, warmup=0).block_ns) == 2


def test_next_call_works_after_bad_input(no_leaks):
    with pytest.raises(ValueError):
        anethru.run_ceiling(64, 0, backend="cpu")
    r = anethru.run_ceiling(64, 32, backend="cpu", iters=2, repeats=2)
    assert r.config.label == "64x32"


def test_native_allocation_failure_is_an_exception_and_frees_everything():
    # Under a 1.5 GiB address-space limit the Python pre-check passes (it knows only physical
    # memory) but the native allocations cannot all succeed.
    import subprocess
    import sys
    import textwrap

    code = textwrap.dedent("""
        import resource, gc
        import anethru
        from anethru._lib import lib
        resource.setrlimit(resource.RLIMIT_AS, (1536 << 20, resource.RLIM_INFINITY))
        try:
            anethru.Chain(8192, 8192, kernels=4, backend="cpu")
        except anethru.NativeMemoryError as exc:
            print("ERR", exc)
        gc.collect()
        print("LIVE", lib.anethru_live_chains(), lib.anethru_live_kernels(), lib.anethru_cpu_live_buffers())
        r = anethru.run_ceiling(16, 8, backend="cpu", iters=1, repeats=1)
        print("NEXT", r.check.passed)
    """)
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    out = p.stdout.splitlines()
    assert out[0].startswith("ERR compiling 8192x8192 on cpu (kernel ")
    assert "cannot allocate" in out[0]
    assert out[1:] == ["LIVE 0 0 0", "NEXT True"]
