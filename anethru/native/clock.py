"""A pytest-benchmark timer that advances only by native-measured time.

With ``@pytest.mark.benchmark(timer=NATIVE_CLOCK)`` and ``benchmark.pedantic``, each round's
target runs native measure calls and advances the clock by what the native loop timed, so the
statistics pytest-benchmark reports (and saves, compares, plots) are anethru's own, free of
Python call overhead.  The ``anethru_benchmark`` fixture (anethru/pytest_plugin.py) does this
for you; use the clock directly only to replay figures measured some other way.

Pure Python on purpose: the pytest plugin imports it in every session.
"""

from __future__ import annotations


class NativeClock:
    def __init__(self) -> None:
        self.seconds = 0.0

    def __call__(self) -> float:
        return self.seconds

    def advance_ns(self, ns: float) -> None:
        self.seconds += ns / 1e9

    def __repr__(self) -> str:  # pytest-benchmark records the timer's name in saved runs
        return "anethru.native_clock"


NATIVE_CLOCK = NativeClock()
