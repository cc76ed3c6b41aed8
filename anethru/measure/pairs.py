"""Per-pass pairs of sequential and run_only, a batch after every round (see
anethru.results.pairs for the estimator and why): the order within each pair drawn from the
round's seeded generator, the whole batch one native call."""

from __future__ import annotations

import random
from typing import Optional

from anethru.measure.chain import Chain
from anethru.native.passes import thread_cpu_clock_name
from anethru.results.pairs import PAIR_TESTS, Pairs, pair_order, schedule_of, split

# At most this many pairs per round (a round's batch stays one short native call).
MAX_PAIRS_PER_ROUND = 500
# Only where the CPU does the work is its thread CPU time the pass's cost.
CPU_TIME_BACKENDS = frozenset({"cpu"})


def pairs_per_round(iters: dict[str, int], pass_ms: Optional[dict[str, float]]) -> int:
    """Pairs per round: as long in all as the round's blocks (so the pairs get about half the
    time), from the calibration's pass times; with exact iters, sequential's passes per block."""
    if pass_ms is None:
        return max(1, min(MAX_PAIRS_PER_ROUND, iters["sequential"]))
    pair = pass_ms["sequential"] + pass_ms["run_only"]
    if pair <= 0:
        return MAX_PAIRS_PER_ROUND
    blocks = sum(iters[t] * pass_ms[t] for t in iters)
    return max(1, min(MAX_PAIRS_PER_ROUND, round(blocks / pair)))


class PairBatches:
    """Collects the pairs of every round of one measurement."""

    def __init__(self, chain: Chain, seed: int, per_round: int) -> None:
        self.chain, self.seed, self.per_round = chain, seed, per_round
        self.rng = random.Random(seed ^ 0x5EED_9A15)  # its own stream: the rounds' order is kept
        self.cpu = chain.backend in CPU_TIME_BACKENDS
        self.first: list[bool] = []
        self.wall: list[tuple[int, int]] = []
        self.cpu_ns: list[tuple[int, int]] = []
        self.counts: list[int] = []

    @staticmethod
    def wanted(tests: list[str]) -> bool:
        return all(t in tests for t in PAIR_TESTS)

    def run_round(self) -> None:
        first = pair_order(self.rng, self.per_round)
        wall, cpu = self.chain.measure_passes(schedule_of(first), cpu_time=self.cpu)
        self.first += first
        self.wall += split(first, wall)
        if cpu is not None:
            self.cpu_ns += split(first, cpu)
        self.counts.append(len(first))

    def pairs(self) -> Pairs:
        clock = thread_cpu_clock_name() if self.cpu else None
        return Pairs(self.seed, tuple(self.first), tuple(self.wall), tuple(self.counts),
                     tuple(self.cpu_ns) if self.cpu else None, clock)
