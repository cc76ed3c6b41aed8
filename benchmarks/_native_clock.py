"""A pytest-benchmark timer that advances only by native-measured time.

``@pytest.mark.benchmark(timer=NATIVE_CLOCK)`` plus ``benchmark.pedantic``: each round's target
runs one native measure call and advances the clock by what the native loop timed, so the
statistics pytest-benchmark reports are anethru's own, free of Python call overhead.
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
# Lines for the terminal summary: ratios measured side by side in this run.
RATIOS: list[str] = []
