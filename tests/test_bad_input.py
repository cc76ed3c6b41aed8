"""Bad input: a clear exception naming the value, nothing leaked, and the next call works."""

from __future__ import annotations

import os
import re

import numpy as np
import pytest

import anethru
from anethru.native.validate import INT32_MAX


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
        from anethru.native.lib import lib
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


@pytest.mark.parametrize("name,value", [
    ("channels", np.int64(16)), ("spatial", np.int32(8)), ("kernels", np.int64(3)),
    ("iters", np.int16(2)), ("repeats", np.uint8(2)), ("seed", np.int64(7)), ("warmup", np.int32(0)),
])
def test_numpy_integers_are_integers(name, value, no_leaks):
    args = dict(channels=16, spatial=8, backend="cpu", repeats=1, iters=1, tests=["run_only"])
    args[name] = value
    r = anethru.run_ceiling(args.pop("channels"), args.pop("spatial"), **args)
    got = {**r.config.to_dict(), "seed": r.config.test_order_seed, "iters": r.tests["run_only"].iters}
    assert got[name] == int(value) and type(got[name]) is int
    assert anethru.CeilingResult.from_json(r.to_json()) == r  # plain ints all the way to JSON
    with anethru.Chain(np.int64(8), np.int32(4), kernels=np.int64(2), seed=np.uint16(3),
                       backend="cpu") as chain:
        assert (chain.channels, chain.spatial, chain.kernels, chain.seed) == (8, 4, 2, 3)
        assert type(chain.channels) is int
        chain.check(seed=np.int64(5))
        m = chain.measure("run_only", iters=np.int64(2), repeats=np.int32(2),
                          warmup=np.uint8(0), seed=np.int64(9))
        assert (m.iters, m.repeats, m.seed) == ({"run_only": 2}, 2, 9)


@pytest.mark.parametrize("name,value,pattern", [
    ("channels", np.float64(16.0), r"channels must be an integer; got .*16\.0.* \(float64\)"),
    ("kernels", np.bool_(True), r"kernels must be an integer; got .*True.* \(bool_?\)"),
    ("iters", 2.0, r"iters must be an integer; got 2\.0 \(float\)"),
    ("seed", True, r"seed must be an integer; got True \(bool\)"),
])
def test_bools_and_floats_are_still_not_integers(name, value, pattern, no_leaks):
    args = dict(channels=16, spatial=8, backend="cpu", repeats=1, iters=1)
    args[name] = value
    with pytest.raises(TypeError, match=pattern):
        anethru.run_ceiling(args.pop("channels"), args.pop("spatial"), **args)


def test_weights_not_finite_in_fp16_are_refused_naming_the_first(no_leaks):
    # 1e5 is finite as float32 but inf as fp16 (largest 65504): the chain would compute inf/NaN.
    w = np.zeros((3, 8, 8), np.float32)
    w[:] = np.eye(8, dtype=np.float32)
    w[1, 2, 3] = 1e5
    w[2, 0, 0] = -7e4
    with pytest.raises(ValueError, match=r"weights array holds 2 value\(s\) that are inf or NaN "
                                         r"as fp16 .* at \[kernel, out, in\] = \(1, 2, 3\), is 100000\.0"):
        anethru.Chain(8, 4, kernels=3, backend="cpu", weights=w)
    w[1, 2, 3] = 65504.0  # the largest fp16 is fine
    w[2, 0, 0] = 1.0
    with anethru.Chain(8, 4, kernels=3, backend="cpu", weights=w) as chain:
        assert chain.weights.dtype == np.float16 and chain.weights[1, 2, 3] == 65504.0
    with pytest.raises(TypeError, match=r"weights array must hold real numbers; got dtype complex128"):
        anethru.Chain(8, 4, kernels=3, backend="cpu", weights=w.astype(np.complex128))


def test_run_ceiling_says_that_only_chain_takes_a_weights_array(no_leaks):
    for call in (lambda w: anethru.run_ceiling(8, 4, backend="cpu", weights=w),
                 lambda w: anethru.run_suite([(8, 4)], backend="cpu", weights=w)):
        with pytest.raises(TypeError, match=r"run_ceiling and run_suite take weights='identity' "
                                            r"or 'random'; an array of your own weights goes to "
                                            r"anethru\.Chain\(\.\.\., weights=array\)"):
            call(np.eye(8))


@pytest.mark.parametrize("seed,exc,message", [
    (-1, ValueError, "seed must be >= 0; got -1"),
    (1.5, TypeError, "seed must be an integer; got 1.5 (float)"),
])
def test_check_seed_is_validated(seed, exc, message, no_leaks):
    with anethru.Chain(8, 4, kernels=2, backend="cpu") as chain:
        with pytest.raises(exc) as info:
            chain.check(seed=seed)
        assert str(info.value) == message


@pytest.mark.parametrize("where,name", [("Chain", "chained"), ("Chain", "ane_realtime"),
                                        ("run_ceiling", "ane_realtime")])
@pytest.mark.parametrize("value", [1, "yes", None, [True]])
def test_flags_must_be_bools(where, name, value, no_leaks):
    call = anethru.Chain if where == "Chain" else anethru.run_ceiling
    with pytest.raises(TypeError, match=rf"{name} must be True or False; got {re.escape(repr(value))}"):
        call(8, 4, backend="cpu", **{name: value})


def test_flags_accept_numpy_bools(no_leaks):
    with anethru.Chain(8, 4, kernels=2, backend="cpu", chained=np.bool_(False)) as chain:
        assert not chain.supports("chained")[0]


@pytest.mark.parametrize("value,exc,message", [
    (9.9e-7, ValueError, "max_block_ms must be at least 1e-06 (1 ns, the clock's unit); got 9.9e-07"),
    (float("inf"), ValueError, "max_block_ms must be finite and at most"),
    (1e300, ValueError, "max_block_ms must be finite and at most"),
    (float("nan"), ValueError, "max_block_ms must be a positive number; got nan"),
    (-1.0, ValueError, "max_block_ms must be a positive number; got -1.0"),
    (True, TypeError, "max_block_ms must be a number of milliseconds; got True (bool)"),
    ("5", TypeError, "max_block_ms must be a number of milliseconds; got '5' (str)"),
])
def test_max_block_ms_is_a_usable_cap(value, exc, message, no_leaks):
    with anethru.Chain(8, 4, kernels=2, backend="cpu") as chain:
        with pytest.raises(exc) as info:
            chain.measure("run_only", repeats=1, warmup=0, max_block_ms=value)
        assert str(info.value).startswith(message)
        # the smallest accepted cap really caps: one pass per block
        m = chain.measure("run_only", repeats=1, warmup=1, max_block_ms=1e-6)
        assert m.iters == {"run_only": 1}


def test_memory_guard_counts_page_aligned_buffers(monkeypatch, no_leaks):
    # A 1x1 kernel's two buffers are a page each, whatever the tensor's 2 bytes.
    from anethru.native import validate

    page = validate._page_size()
    assert validate.chain_bytes(1, 1, 100_000) >= 100_000 * 2 * page
    monkeypatch.setattr(validate, "_physical_memory", lambda: 512 << 20)
    with pytest.raises(MemoryError, match=r"a chain of 100000 kernels at 1x1 needs about 0\.\d GiB; "
                                          r"this machine has 0\.5 GiB"):
        anethru.Chain(1, 1, kernels=100_000, backend="cpu")


def test_memory_guard_matches_what_a_chain_really_takes():
    # Resident memory grown by opening a chain of many tiny kernels, against the guard's estimate
    # (a separate process, so nothing else of the test run is counted).
    import subprocess
    import sys
    import textwrap

    code = textwrap.dedent("""
        import anethru
        from anethru.native import validate
        def rss():
            with open("/proc/self/status") as f:
                return next(int(l.split()[1]) * 1024 for l in f if l.startswith("VmRSS"))
        before = rss()
        chain = anethru.Chain(1, 1, kernels=20_000, backend="cpu")
        print(rss() - before, validate.chain_bytes(1, 1, 20_000))
    """)
    if not os.path.exists("/proc/self/status"):
        pytest.skip("needs /proc to read resident memory")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    used, estimate = map(int, p.stdout.split())
    assert used <= estimate <= 3 * used, (used, estimate)


def test_cpu_panel_rows_match_the_c_source():
    from anethru.native import validate

    with open(os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "csrc",
                           "cpu_conv.h"), encoding="utf-8") as f:
        assert f"#define CPU_CONV_PANEL {validate.CPU_CONV_PANEL}\n" in f.read()
