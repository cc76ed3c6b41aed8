"""Every public argument is checked with a message naming it; the memory guard compares with the
memory available now; weights that underflow fp16 are reported by index (issue 22)."""

from __future__ import annotations

import numpy as np
import pytest

import anethru
from anethru.native import validate

QUICK = dict(backend="cpu", kernels=2, iters=1, warmup=0, repeats=1)


@pytest.mark.parametrize("tests,error,words", [
    (True, TypeError, "tests must be a list; got True"),
    (5, TypeError, "tests must be a list; got 5"),
    (b"run_only", TypeError, "tests must be a list"),
    ([1], ValueError, "unknown test 1"),
    ([None], ValueError, "unknown test None"),
])
def test_tests_of_a_wrong_type_are_named(tests, error, words, no_leaks):
    with pytest.raises(error, match=words):
        anethru.run_ceiling(16, 8, tests=tests, **QUICK)


@pytest.mark.parametrize("configs,words", [
    ([(16, 8), (16,)], r"configs\[1\] must be a \(channels, spatial\) pair; got \(16,\)"),
    ([64], r"configs\[0\] must be a \(channels, spatial\) pair; got 64"),
    (["16x8"], r"configs\[0\] must be a \(channels, spatial\) pair; got '16x8'"),
    ([(16, 8.0)], r"configs\[0\]\[1\] must be an integer; got 8.0"),
    ("16x8", r"configs must be a list of \(channels, spatial\) pairs"),
    (None, r"configs must be a list of \(channels, spatial\) pairs; got None"),
])
def test_malformed_suite_configs_are_named(configs, words, no_leaks):
    with pytest.raises((TypeError, ValueError), match=words):
        anethru.run_suite(configs, **QUICK)


@pytest.mark.parametrize("call", [
    lambda: anethru.run_ceiling(16, 8, progress="loud", **QUICK),
    lambda: anethru.run_suite([(16, 8)], progress=1, **QUICK),
    lambda: anethru.run_sweep(configs=[(16, 32), (16, 64)], progress=True, **QUICK),
])
def test_a_progress_that_cannot_be_called_is_refused_before_anything_runs(call, no_leaks):
    with pytest.raises(TypeError, match="progress must be a function taking one line of text"):
        call()


def test_shuffle_must_be_a_flag(no_leaks):
    with anethru.Chain(16, 8, kernels=2, backend="cpu") as c:
        with pytest.raises(TypeError, match="shuffle must be True or False; got 'no'"):
            c.measure("run_only", repeats=1, warmup=0, iters=1, shuffle="no")


def test_the_memory_guard_compares_with_the_memory_available_now(tmp_path, monkeypatch,
                                                                 no_leaks):
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:       99999999 kB\nMemAvailable:     262144 kB\n")
    monkeypatch.setattr(validate, "MEMINFO", str(meminfo), raising=False)
    need = validate.chain_bytes(1, 1, 100_000)
    assert (256 << 20) < need < validate._physical_memory()   # total RAM would accept it
    with pytest.raises(MemoryError, match=r"this machine has 0\.2 GiB available now"):
        anethru.Chain(1, 1, kernels=100_000, backend="cpu")


def test_weights_that_underflow_fp16_are_reported_by_index(no_leaks):
    w = np.stack([np.eye(4, dtype=np.float32)] * 2)
    w[1, 2, 3] = 1e-8            # below half the smallest fp16 subnormal (about 6e-08)
    w[1, 3, 0] = -2e-9
    with pytest.warns(validate.Fp16UnderflowWarning,
                      match=r"2 nonzero value\(s\) that are 0 as fp16.*\[kernel, out, in\] = "
                            r"\(1, 2, 3\), is 9\.99"):
        anethru.Chain(4, 8, kernels=2, backend="cpu", weights=w).close()


def test_weights_that_fp16_holds_give_no_warning(recwarn, no_leaks):
    w = np.stack([np.eye(4, dtype=np.float32)] * 2)
    w[0, 1, 2] = 6e-8            # the smallest fp16 subnormal: kept
    anethru.Chain(4, 8, kernels=2, backend="cpu", weights=w).close()
    assert not [x for x in recwarn if issubclass(x.category, validate.Fp16UnderflowWarning)]
