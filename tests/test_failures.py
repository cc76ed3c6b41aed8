"""Failures inside a run: the right exception, the native message, and nothing left behind."""

from __future__ import annotations

import numpy as np
import pytest

import anethru
from anethru.native import tensors


def test_chain_check_catches_a_wrong_kernel(inject_fault, no_leaks):
    inject_fault("wrong", kernel=5)  # kernel 5 corrupts one element of its output
    with pytest.raises(anethru.ChainCheckError, match=r"64x32 on cpu: the sequential chain's output is wrong"):
        anethru.run_ceiling(64, 32, backend="cpu", repeats=1, iters=1)


def test_chain_check_catches_a_wrong_chained_program(inject_fault, no_leaks):
    inject_fault("wrong", kernel=12)  # compile #12 is the chained program of 12 kernels
    with pytest.raises(anethru.ChainCheckError, match="the chained chain's output is wrong"):
        anethru.run_ceiling(64, 32, backend="cpu", repeats=1, iters=1)


def test_chain_check_with_random_weights_catches_a_wrong_kernel(inject_fault, no_leaks):
    inject_fault("wrong", kernel=0)
    with pytest.raises(anethru.ChainCheckError, match="weights=random"):
        anethru.run_ceiling(64, 32, backend="cpu", weights="random", repeats=1, iters=1)


def test_eval_failure_mid_run_names_test_kernel_and_repeat(inject_fault, no_leaks):
    # Kernel 3 fails on its 40th eval: after the check and warm-up, inside a timed block.
    inject_fault("eval", kernel=3, after=39)
    with pytest.raises(anethru.EvalError) as info:
        anethru.run_ceiling(64, 32, backend="cpu", tests=["run_only"], iters=10, warmup=5,
                            repeats=5, seed=1)
    msg = str(info.value)
    assert "run_only, kernel 3" in msg
    assert "injected eval failure (eval #40 of this kernel)" in msg
    # 1 check eval + 5 warm-up + 10 per block: the 40th eval is in the 4th block.
    assert "repeat 4 of 5" in msg


def test_eval_failure_on_the_serial_queue_worker(inject_fault, no_leaks):
    inject_fault("eval", kernel=7, after=10)
    with pytest.raises(anethru.EvalError, match=r"serial_queue, kernel 7\): injected eval failure"):
        anethru.run_ceiling(64, 32, backend="cpu", tests=["serial_queue"], iters=5, repeats=3)


def test_lock_failure_during_memcpy_names_the_kernel(inject_fault, no_leaks):
    inject_fault("lock", kernel=2, after=30)
    with pytest.raises(anethru.EvalError, match=r"memcpy_only, kernel 2\): injected lock failure"):
        anethru.run_ceiling(64, 32, backend="cpu", tests=["memcpy_only"], iters=5, repeats=3)


def test_compile_failure_frees_the_kernels_already_built(inject_fault, no_leaks):
    inject_fault("compile", kernel=4)
    with pytest.raises(anethru.CompileError, match=r"compiling 64x32 on cpu \(kernel 4\): injected compile failure"):
        anethru.Chain(64, 32, backend="cpu")


def test_the_next_call_works_after_a_failure(inject_fault, no_leaks):
    inject_fault("eval", kernel=0, after=0)
    with pytest.raises(anethru.EvalError):
        anethru.run_ceiling(64, 32, backend="cpu", repeats=1, iters=1)
    inject_fault("none", kernel=-1)
    r = anethru.run_ceiling(64, 32, backend="cpu", repeats=2, iters=2)
    assert r.check.passed and set(r.tests) >= {"sequential", "run_only"}


def test_closed_chain_refuses_work(no_leaks):
    chain = anethru.Chain(64, 32, kernels=2, backend="cpu")
    chain.close()
    chain.close()  # idempotent
    with pytest.raises(anethru.AnethruError, match="closed"):
        chain.measure("run_only")
    with pytest.raises(anethru.AnethruError, match="closed"):
        chain.roundtrip(tensors.make_input(64, 32))


def test_roundtrip_rejects_a_wrong_shape(no_leaks):
    with anethru.Chain(64, 32, kernels=2, backend="cpu") as chain:
        with pytest.raises(ValueError, match=r"input shape \(32, 64\) does not match"):
            chain.roundtrip(np.zeros((32, 64), np.float16))
