"""Each test's native pass through a chain on the CPU backend, at the seed's configs, through
anethru's own pytest plugin (the anethru_benchmark fixture, anethru/pytest_plugin.py).

    pytest benchmarks --benchmark-autosave          # save a run
    pytest benchmarks --benchmark-compare           # compare with the last saved run

A round is one native measure call (the test, with sequential and run_only beside it for the
round-trip overhead); pytest-benchmark's figures are per pass (all 12 kernels), from the native
clock; rounds are --benchmark-min-rounds (5 by default).  anethru's own per-kernel figures, the
derived overhead, the device and the machine are in extra_info.  Each configuration is compiled
once for the whole session.
"""

from __future__ import annotations

import pytest

import anethru

TESTS = ("sequential", "run_only", "memcpy_only", "serial_queue", "chained", "null_eval")


@pytest.mark.parametrize("test", TESTS)
@pytest.mark.parametrize("config", anethru.SEED_CONFIGS, ids=lambda c: f"{c[0]}x{c[1]}")
def test_native_pass(anethru_benchmark, config, test):
    figures = anethru_benchmark(*config, test=test, backend="cpu")
    assert figures["tests"][test]["block_ns"], "no timed block was recorded"
