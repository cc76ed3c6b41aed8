"""The work behind the ``anethru_benchmark`` pytest fixture (anethru/pytest_plugin.py): chains
compiled once per configuration per session, and one benchmark fed to pytest-benchmark through
the native clock.

A round is one native measure call of the test and, for the derived round-trip overhead, its
partners (sequential and run_only), in a shuffled order; the clock advances by the test's own
block only, per pass (all kernels), so pytest-benchmark's statistics, saved runs, comparisons
and histograms are anethru's figures.  ``extra_info`` holds the per-kernel figures of every test
measured, the derived figures, the chain check, the device and the machine fingerprint.
"""

from __future__ import annotations

from typing import Any, Optional, Union

import pytest

from anethru.native import validate
from anethru.native.lib import ffi, lib
from anethru.native.backends import resolve
from anethru.measure.calibration import calibrate
from anethru.measure.chain import Chain, Measurement
from anethru.errors import AnethruError, BackendUnavailableError
from anethru.measure.host.fingerprint import fingerprint
from anethru.native.clock import NATIVE_CLOCK
from anethru.results.ceiling import ChainCheck, TestResult, derive
from anethru.native.vocab import units

# Measured beside any test so that round_trip_overhead = (sequential - run_only) per layer can be
# derived from blocks of the same rounds.
OVERHEAD_PARTNERS = ("sequential", "run_only")


class SessionChains:
    """Chains compiled in one pytest session, one per configuration, each checked once; a
    configuration that failed to compile or check fails again without recompiling (on the ANE
    every compile counts against a per-process limit).  ``close()`` frees them all."""

    def __init__(self) -> None:
        self._chains: dict[tuple, Union[tuple[Chain, ChainCheck], AnethruError]] = {}

    def get(self, channels: int, spatial: int, kernels: int, backend: str) -> tuple[Chain, ChainCheck]:
        key = (channels, spatial, kernels, backend)
        if key not in self._chains:
            chain: Optional[Chain] = None
            try:
                chain = Chain(channels, spatial, kernels=kernels, backend=backend, chained=True)
                self._chains[key] = (chain, chain.check())
            except AnethruError as exc:
                if chain is not None:
                    chain.close()
                self._chains[key] = exc
        entry = self._chains[key]
        if isinstance(entry, AnethruError):
            raise entry
        return entry

    def close(self) -> None:
        for entry in self._chains.values():
            if not isinstance(entry, AnethruError):
                entry[0].close()
        self._chains.clear()


def run_benchmark(benchmark: Any, chains: SessionChains, channels: int, spatial: int, *,
                  test: str = "sequential", backend: str = "auto", kernels: int = 12,
                  rounds: int = 5, overhead: bool = True) -> dict[str, Any]:
    """One pytest-benchmark benchmark of ``test`` on a chain of ``kernels`` at ``channels`` x
    ``spatial``; returns the figures it put in ``benchmark.extra_info``.  Skips the test, with
    the reason, when ``backend`` is unavailable here or cannot run ``test``."""
    if not isinstance(test, str):
        raise TypeError(f"test must be one test name; got {test!r}")
    (test,) = validate.check_tests([test])
    c, s, k = validate.check_sizes(channels, spatial, kernels)
    rounds = validate.positive_int("rounds", rounds)
    if not isinstance(overhead, bool):
        raise TypeError(f"overhead must be True or False; got {overhead!r}")
    try:
        info = resolve(backend)
    except BackendUnavailableError as exc:
        pytest.skip(str(exc))
    chain, check = chains.get(c, s, k, info.name)
    ok, why = chain.supports(test)
    if not ok:
        pytest.skip(f"{info.name} cannot run the {test} test: {why}")
    tests = [test]
    if overhead:
        tests += [t for t in OVERHEAD_PARTNERS if t != test and chain.supports(t)[0]]

    # Passes per block by run_ceiling's rule (anethru.measure.calibration), chosen once by a
    # calibration call; every round then runs exactly that many.  The test and its partners
    # share one count, the smallest the rule gives them (memcpy_only keeps its own), on purpose:
    # a round is one native call with one iters, so no partner's block outlasts the budget, and
    # sequential and run_only, whose difference is the overhead, run the same passes.
    chosen = calibrate(chain, tests, warmup=1)
    eval_iters = [n for t, n in chosen.items() if t != "memcpy_only"]
    iters = min(eval_iters) if eval_iters else chosen["memcpy_only"]
    memcpy_iters = chosen.get("memcpy_only", iters)

    measured: list[Measurement] = []

    def one_round() -> None:
        m = chain.measure(tests, iters=iters, memcpy_iters=memcpy_iters, warmup=0, repeats=1,
                          seed=len(measured))
        measured.append(m)
        NATIVE_CLOCK.advance_ns(m.block_ns[m.schedule.index(test)] / m.iters[test])

    if benchmark.group is None:
        benchmark.group = f"{info.name} {c}x{s} x{k}"
    benchmark.pedantic(one_round, rounds=rounds, warmup_rounds=0, iterations=1)
    # pytest-benchmark's rounds come first; --benchmark-cprofile may call the target again.
    timed = measured[:1] if benchmark.disabled else measured[:rounds]
    figures = _figures(timed, test, tests, k, info, chain, check)
    benchmark.extra_info.update(figures)
    return figures


def _figures(rounds: list[Measurement], test: str, tests: list[str], kernels: int, info: Any,
             chain: Chain, check: ChainCheck) -> dict[str, Any]:
    per_test = {}
    for name in tests:
        blocks = tuple(m.block_ns[m.schedule.index(name)] for m in rounds)
        unit, per_pass = units(name, kernels)
        per_test[name] = TestResult(name, unit, per_pass, rounds[0].iters[name], blocks)
    derived = derive(per_test, kernels)
    unit = per_test[test].unit
    out: dict[str, Any] = {
        "anethru_test": test,
        "figure": f"seconds per pass of {test} ({units(test, kernels)[1]} {unit}s), native clock",
        f"ms_per_{unit}_median": per_test[test].per_unit_ms.median,
    }
    if "round_trip_overhead" in derived:
        out["round_trip_overhead_ms_median"] = derived["round_trip_overhead"].stats.median
    out.update({
        "backend": info.name, "device": info.device, "simulated": info.simulated,
        "channels": chain.channels, "spatial": chain.spatial, "kernels": kernels,
        "compile_ms": chain.compile_ms, "check": check.to_dict(),
        "clock": ffi.string(lib.anethru_clock_name()).decode(),
        "tests": {n: t.to_dict() for n, t in per_test.items()},
        "derived": {n: d.to_dict() for n, d in derived.items()},
        "machine": fingerprint(),
    })
    return out
