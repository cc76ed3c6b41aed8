"""What one ``Chain.measure`` call runs and returns: the shuffled schedule of its blocks, and the
raw block totals it measured (``Measurement``), turned into per-test results."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Iterable

from anethru.native.vocab import TEST_NAMES, units
from anethru.results.ceiling import TestResult


@dataclass(frozen=True)
class Measurement:
    """Raw output of one measure call: which test each block ran, and its total in ns."""

    schedule: tuple[str, ...]
    block_ns: tuple[int, ...]
    iters: dict[str, int]
    warmup: int
    repeats: int
    seed: int

    def results(self, kernels: int) -> dict[str, TestResult]:
        """Per-test results, blocks kept in repeat order."""
        out = {}
        for name in TEST_NAMES:
            blocks = tuple(ns for t, ns in zip(self.schedule, self.block_ns) if t == name)
            if blocks:
                unit, n = units(name, kernels)
                out[name] = TestResult(name, unit, n, self.iters[name], blocks)
        return out


def shuffled_schedule(tests: Iterable[str], repeats: int, seed: int) -> list[str]:
    """Each repeat runs every test once, in its own seeded random order, so no test is always
    first or last (fixed order is how the seed got a negative overhead)."""
    rng = random.Random(seed)
    schedule: list[str] = []
    for _ in range(repeats):
        block = list(tests)
        rng.shuffle(block)
        schedule += block
    return schedule


__all__ = ["Measurement", "shuffled_schedule"]
