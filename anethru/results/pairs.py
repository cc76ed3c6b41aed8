"""The round trip from per-pass pairs (issue 19, section 1).

Subtracting two blocks' means cannot resolve a ~10 us round trip under a 45 ms CPU pass whose
time wanders by 10-20% between blocks.  So every round also runs single passes of
``sequential`` and ``run_only`` in pairs, the order within each pair drawn from a seeded
generator, in one native call; each pair gives one difference.  Differences of adjacent passes
are nearly uncorrelated even when the pass times are not, so the estimate is the median of the
per-pair differences per layer, with its distribution-free order-statistic interval.

The estimand: the median, over pairs of adjacent passes, of (sequential pass - run_only pass)
/ (kernels - 1), in ms per layer: what one CPU round trip between kernels adds to a pass.

On the CPU backend each pass is also timed on the thread's CPU clock (CLOCK_THREAD_CPUTIME_ID),
which leaves out the time the thread was descheduled: a second estimate of the same figure,
``round_trip_overhead_cpu``.  Never on a GPU or the ANE, where the CPU only waits.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Optional, Sequence

from anethru.results.derived import Derived
from anethru.results.stats import Stats

PAIR_TESTS = ("sequential", "run_only")


@dataclass(frozen=True)
class Pairs:
    """Raw per-pass pairs: ``wall_ns[i]`` = (sequential, run_only) ns of pair i on the chain's
    clock, ``cpu_ns`` the same on the thread CPU clock (CPU backend only), ``sequential_first[i]``
    the order the pair ran in, ``per_round`` how many pairs each round ran."""

    seed: int
    sequential_first: tuple[bool, ...]
    wall_ns: tuple[tuple[int, int], ...]
    per_round: tuple[int, ...]
    cpu_ns: Optional[tuple[tuple[int, int], ...]] = None
    cpu_clock: Optional[str] = None

    def __len__(self) -> int:
        return len(self.wall_ns)

    def differences_ms(self, kernels: int, cpu: bool = False) -> list[float]:
        """(sequential - run_only) / (kernels - 1) per pair, in ms per layer."""
        source = self.cpu_ns if cpu else self.wall_ns
        if source is None:
            raise ValueError("these pairs have no thread CPU times")
        layers = kernels - 1
        return [(s - r) / 1e6 / layers for s, r in source]

    def overheads(self, kernels: int) -> list[tuple[Derived, list[float]]]:
        """round_trip_overhead (and round_trip_overhead_cpu where CPU times were taken), each
        with its samples."""
        out = []
        layers = kernels - 1
        for name, cpu, clock in (("round_trip_overhead", False, "the chain's clock"),
                                 ("round_trip_overhead_cpu", True, self.cpu_clock)):
            if cpu and self.cpu_ns is None:
                continue
            d = self.differences_ms(kernels, cpu)
            formula = (f"median over {len(d)} pairs of single passes (sequential - run_only) / "
                       f"{layers}, on {clock}")
            out.append((Derived(name, formula, "ms", Stats.of_series(d)), d))
        return out

    def to_dict(self) -> dict:
        return {"seed": self.seed, "sequential_first": list(self.sequential_first),
                "wall_ns": [list(p) for p in self.wall_ns], "per_round": list(self.per_round),
                "cpu_ns": None if self.cpu_ns is None else [list(p) for p in self.cpu_ns],
                "cpu_clock": self.cpu_clock}

    @classmethod
    def from_dict(cls, d: dict) -> "Pairs":
        cpu = d.get("cpu_ns")
        return cls(d["seed"], tuple(d["sequential_first"]),
                   tuple(tuple(p) for p in d["wall_ns"]), tuple(d["per_round"]),
                   None if cpu is None else tuple(tuple(p) for p in cpu), d.get("cpu_clock"))


def pair_order(rng: random.Random, npairs: int) -> list[bool]:
    """Which test of each pair runs first (True: sequential), drawn from ``rng``."""
    return [rng.random() < 0.5 for _ in range(npairs)]


def schedule_of(first: Sequence[bool]) -> list[str]:
    """The passes, in the order they run, for pairs in the order ``first`` gives."""
    out: list[str] = []
    for f in first:
        out += list(PAIR_TESTS) if f else list(reversed(PAIR_TESTS))
    return out


def split(first: Sequence[bool], values: Sequence[int]) -> list[tuple[int, int]]:
    """Per-pass values, as run, back into (sequential, run_only) per pair."""
    out = []
    for i, f in enumerate(first):
        a, b = values[2 * i], values[2 * i + 1]
        out.append((a, b) if f else (b, a))
    return out


__all__ = ["Pairs", "PAIR_TESTS", "pair_order", "schedule_of", "split"]
