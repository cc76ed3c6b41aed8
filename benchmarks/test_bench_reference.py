"""anethru's CPU backend measured side by side with numpy, and the default CLI's wall time.

The ratios (anethru / numpy, medians of interleaved rounds in one run) are printed in the
closing summary and stored in extra_info.  They show that the native loop costs little
(memcpy_only per copy vs numpy.copyto) and that the CPU kernel is a real one (one eval vs a
float32 numpy matmul of the same shape).  No thresholds here: read the figures.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

import numpy as np
import pytest

import anethru

from anethru.native.clock import NATIVE_CLOCK

from _ratios import RATIOS

ROUNDS = int(os.environ.get("ANETHRU_BENCH_ROUNDS", "7"))
C, S = 768, 256


@pytest.fixture(scope="module")
def chain():
    with anethru.Chain(C, S, backend="cpu", chained=False) as ch:
        ch.check()
        yield ch


def _per_call_ns(fn, calls: int) -> float:
    t0 = time.perf_counter_ns()
    for _ in range(calls):
        fn()
    return (time.perf_counter_ns() - t0) / calls


def _interleaved(benchmark, name: str, anethru_round, numpy_round, what: str) -> None:
    ours, theirs = [], []

    def one_round() -> None:
        ns = anethru_round()
        NATIVE_CLOCK.advance_ns(ns)
        ours.append(ns)
        theirs.append(numpy_round())

    benchmark.pedantic(one_round, rounds=ROUNDS, warmup_rounds=1, iterations=1)
    ratio = statistics.median(ours) / statistics.median(theirs)
    benchmark.extra_info.update({
        "anethru_ms_median": statistics.median(ours) / 1e6,
        "numpy_ms_median": statistics.median(theirs) / 1e6,
        "ratio_anethru_over_numpy": ratio,
    })
    RATIOS.append(f"{name}: anethru {statistics.median(ours) / 1e6:.4f} ms vs numpy "
                  f"{statistics.median(theirs) / 1e6:.4f} ms {what} -> ratio {ratio:.2f}")


@pytest.mark.benchmark(timer=NATIVE_CLOCK, group="cpu vs numpy 768x256")
def test_memcpy_only_vs_numpy_copyto(benchmark, chain):
    iters = 500
    src = np.random.default_rng(0).standard_normal((C, S)).astype(np.float16)
    dst = np.empty_like(src)

    def ours() -> float:  # ns per lock/memcpy/unlock copy
        m = chain.measure("memcpy_only", memcpy_iters=iters, warmup=0, repeats=1, seed=0)
        return m.block_ns[0] / iters / (chain.kernels - 1)

    def theirs() -> float:
        return _per_call_ns(lambda: np.copyto(dst, src), iters * (chain.kernels - 1))

    _interleaved(benchmark, "memcpy_only per copy vs numpy.copyto (393 KB)", ours, theirs, "per copy")


@pytest.mark.benchmark(timer=NATIVE_CLOCK, group="cpu vs numpy 768x256")
def test_one_eval_vs_numpy_matmul(benchmark, chain):
    iters = 4
    a = np.random.default_rng(1).standard_normal((C, C)).astype(np.float32)
    b = np.random.default_rng(2).standard_normal((C, S)).astype(np.float32)
    out = np.empty((C, S), np.float32)

    def ours() -> float:  # ns per kernel eval
        m = chain.measure("run_only", iters=iters, warmup=0, repeats=1, seed=0)
        return m.block_ns[0] / iters / chain.kernels

    def theirs() -> float:
        return _per_call_ns(lambda: np.matmul(a, b, out=out), iters * chain.kernels)

    _interleaved(benchmark, "run_only per kernel vs numpy float32 matmul 768x768 @ 768x256",
                 ours, theirs, "per kernel")


@pytest.mark.benchmark(group="cli")
def test_default_cli_wall_time(benchmark):
    """The README's main command: the seed's three configs on the best backend present."""
    wall = []

    def run_cli() -> None:
        t0 = time.perf_counter()
        p = subprocess.run([sys.executable, "-m", "anethru", "-q"], capture_output=True, text=True,
                           timeout=600)
        wall.append(time.perf_counter() - t0)
        assert p.returncode == 0, p.stderr

    benchmark.pedantic(run_cli, rounds=1, iterations=1)
    benchmark.extra_info["wall_s"] = wall[0]
    RATIOS.append(f"default CLI run (3 configs, best backend {anethru.best_backend()}): "
                  f"{wall[0]:.1f} s wall")
