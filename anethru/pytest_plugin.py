"""anethru's pytest plugin (entry point ``pytest11``: ``anethru = anethru.pytest_plugin``): the
``anethru_benchmark`` fixture, for tracking the round trip with pytest-benchmark.

    def test_round_trip(anethru_benchmark):
        anethru_benchmark(768, 256, test="sequential", backend="auto", kernels=12)

pytest loads this module in every session wherever anethru is installed, so it imports nothing
native (anethru/__init__.py loads names lazily) and does nothing unless a test asks for the
fixture.  Without pytest-benchmark (or with ``-p no:benchmark``) the fixture skips the test,
saying why; ``-p no:anethru`` turns the plugin off.  The work is in anethru/benchmarking.py.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

import pytest

FIXTURE = "anethru_benchmark"


def pytest_configure(config: pytest.Config) -> None:
    active = config.pluginmanager.hasplugin("benchmark")
    config.pluginmanager.register(_WithBenchmark() if active else _WithoutBenchmark(),
                                  "anethru-benchmark")


# A module-level function, not a method of _WithBenchmark: pytest 9 warns
# (PytestRemovedIn10Warning) about session-scoped fixtures defined as instance methods, and a
# user's suite must see no warning from this plugin.  Only anethru_benchmark requests it.
@pytest.fixture(scope="session")
def _anethru_session_chains() -> Any:
    from anethru.measure.benchmarking import SessionChains

    chains = SessionChains()
    yield chains
    chains.close()


class _WithBenchmark:
    """Registered when pytest-benchmark is active."""

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        from anethru.native.clock import NATIVE_CLOCK

        # Tests using the fixture time with the native clock: the test's own benchmark marker
        # (group, ...) is kept, its timer replaced.
        for item in items:
            if FIXTURE in getattr(item, "fixturenames", ()):
                mark = item.get_closest_marker("benchmark")
                kwargs = dict(mark.kwargs) if mark else {}
                kwargs["timer"] = NATIVE_CLOCK
                item.add_marker(pytest.mark.benchmark(**kwargs), append=False)

    @pytest.fixture
    def anethru_benchmark(self, benchmark: Any, _anethru_session_chains: Any,
                          request: pytest.FixtureRequest) -> Callable[..., dict]:
        """anethru_benchmark(channels, spatial, test="sequential", backend="auto",
        kernels=12, rounds=None, overhead=True) -> the figures put in extra_info.

        Compiles (once per configuration per session) and checks the chain, then runs
        ``rounds`` native rounds (default: --benchmark-min-rounds) through pytest-benchmark
        with anethru's native clock: its figures are seconds per pass (all kernels) of
        ``test``; ``extra_info`` holds per-kernel figures, the derived round-trip overhead
        (``overhead=True`` measures sequential and run_only beside the test), the device and
        the machine fingerprint.  Skips with the reason where the backend is missing or cannot
        run ``test``.  Usable once per test, like ``benchmark``.
        """
        from anethru.measure.benchmarking import run_benchmark

        default_rounds = request.config.getoption("benchmark_min_rounds", 5)

        def measure(channels: int, spatial: int, test: str = "sequential",
                    backend: str = "auto", kernels: int = 12, *, rounds: Optional[int] = None,
                    overhead: bool = True) -> dict:
            return run_benchmark(benchmark, _anethru_session_chains, channels, spatial,
                                 test=test, backend=backend, kernels=kernels,
                                 rounds=default_rounds if rounds is None else rounds,
                                 overhead=overhead)

        return measure


class _WithoutBenchmark:
    """Registered when pytest-benchmark is missing or disabled: silent until used."""

    @pytest.fixture
    def anethru_benchmark(self) -> None:
        """Skips: anethru_benchmark needs pytest-benchmark."""
        pytest.skip("anethru_benchmark needs pytest-benchmark, which is not installed or is "
                    "disabled (pip install pytest-benchmark)")
