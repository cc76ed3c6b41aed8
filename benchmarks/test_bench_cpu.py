"""Each test's native pass through a reusable chain on the CPU backend, at the seed's configs.

    pytest benchmarks --benchmark-autosave          # save a run
    pytest benchmarks --benchmark-compare           # compare with the last saved run

A round is one native measure call of one block; pytest-benchmark's figures are per pass (all
12 kernels), from the native clock.  anethru's own per-kernel figures are in extra_info.
"""

from __future__ import annotations

import os
import statistics

import pytest

import anethru

from _native_clock import NATIVE_CLOCK

ROUNDS = int(os.environ.get("ANETHRU_BENCH_ROUNDS", "5"))
TESTS = ("sequential", "run_only", "memcpy_only", "serial_queue", "chained", "null_eval")


@pytest.fixture(scope="module")
def chain_for():
    chains: dict[tuple[int, int], anethru.Chain] = {}

    def get(channels: int, spatial: int) -> anethru.Chain:
        if (channels, spatial) not in chains:
            chain = anethru.Chain(channels, spatial, backend="cpu")
            chain.check()
            chains[channels, spatial] = chain
        return chains[channels, spatial]

    yield get
    for chain in chains.values():
        chain.close()


@pytest.mark.benchmark(timer=NATIVE_CLOCK)
@pytest.mark.parametrize("test", TESTS)
@pytest.mark.parametrize("config", anethru.SEED_CONFIGS, ids=lambda c: f"{c[0]}x{c[1]}")
def test_native_pass(benchmark, chain_for, config, test):
    chain = chain_for(*config)
    # Pick passes per block the way run_ceiling does (the seed's 50, capped at ~200 ms).
    iters = chain.measure(test, repeats=1, warmup=1, seed=0).iters[test]
    per_unit: list[float] = []

    def one_block() -> None:
        m = chain.measure(test, iters=iters, memcpy_iters=iters, warmup=0, repeats=1, seed=0)
        (ns,) = m.block_ns
        NATIVE_CLOCK.advance_ns(ns / iters)
        per_unit.append(m.results(chain.kernels)[test].per_unit_ms.median)

    benchmark.group = f"cpu {config[0]}x{config[1]}"
    benchmark.pedantic(one_block, rounds=ROUNDS, warmup_rounds=1, iterations=1)
    unit = "copy" if test == "memcpy_only" else "kernel"
    benchmark.extra_info.update({
        "backend": "cpu", "device": chain.backend_info.device, "kernels": chain.kernels,
        "iters_per_round": iters, f"ms_per_{unit}_median": statistics.median(per_unit),
        f"ms_per_{unit}_samples": per_unit,
    })
