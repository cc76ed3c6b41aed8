"""How many repeats a measurement runs: named stopping criteria, and the loop that measures in
rounds until one is met or a limit ends it.

The loop (``measure_until``), on an open and checked :class:`~anethru.measure.chain.Chain`:

1. Decides passes per block once, by the rule every loop uses (anethru.measure.calibration):
   with ``iters=None``, a calibration call runs the warm-up and one pass of each test, and each
   test gets a block of about 200 ms, never fewer than 5 passes unless one pass alone is longer,
   never more than the seed's 50 (500 for memcpy_only): the time budget decides the repeats.
   Explicit ``iters`` are used as given, and the first round does the warm-up.
2. Runs rounds: every test once, in a fresh order shuffled from one seeded generator (the whole
   schedule equals ``chain.shuffled_schedule(tests, repeats, seed)``), as one native
   ``Chain.measure`` call with fixed passes and no warm-up.
3. After each round asks the criterion whether it is finished (not before ``min_repeats``), then
   the guards: ``max_repeats``, and the time limit, which ends the run when the next round (as
   long as the last) would overrun it.  The criterion never sees the clock.

Criteria are small objects with a ``name`` and ``is_finished(state)`` (``CRITERIA`` maps names
to them): ``repeats`` (an exact count) and ``precision`` (every figure resolved or converged:
``anethru.results.verdict``, the predicate a loader re-checks).  Every round also runs a batch
of per-pass pairs of sequential and run_only (anethru.measure.pairs) for the round trip.  A sweep or a worker process reuses this loop with its
own chain and limits.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from typing import Callable, ClassVar, Iterable, Optional, Protocol

from anethru.native import validate
# calibrate and passes_per_block stay importable here (anethru.stopping's documented names).
from anethru.measure.calibration import calibrate, passes_per_block  # noqa: F401
from anethru.measure.calibration import choose, exact_passes, pass_times
from anethru.measure.chain import Chain, Measurement
from anethru.measure.pairs import PairBatches, pairs_per_round
from anethru.results.pairs import Pairs
from anethru.results.ceiling import Stopping, TestResult
from anethru.results import verdict
from anethru.results.stats import Stats, paired_difference, per_pass_ms

# Defaults of a precision run: +/-5% on every median, within 15 s per configuration (the
# seed's three configurations end within a minute on a 2-core CPU).
from anethru.native.vocab import DEFAULT_MAX_TIME, DEFAULT_PRECISION  # noqa: E402
# A precision run never stops before 6 repeats (the fewest whose median interval reaches 95%)
# and never runs more than 500 (past that the interval barely narrows and documents grow).
MIN_REPEATS = 6
MAX_REPEATS = 500
PROGRESS_EVERY_S = 5.0


@dataclass(frozen=True)
class State:
    """What a criterion sees after each round."""

    tests: dict[str, TestResult]
    kernels: int
    repeats: int
    pairs: Optional[Pairs] = None
    # The figures of each prefix of rounds, shared by the States of one run (its rounds are
    # only appended): each round computes its own figures once, not the last five rounds' again.
    memo: Optional[dict] = field(default=None, compare=False, repr=False)

    def per_unit(self) -> dict[str, Stats]:
        return {n: t.per_unit_ms for n, t in self.tests.items()}

    def overhead(self) -> Optional[Stats]:
        """round_trip_overhead (ms per layer), when sequential and run_only both ran."""
        if "sequential" not in self.tests or "run_only" not in self.tests:
            return None
        if self.pairs is not None and len(self.pairs):
            return self.pairs.overheads(self.kernels)[0][0].stats
        seq, run = self.tests["sequential"], self.tests["run_only"]
        return Stats.of(paired_difference(per_pass_ms(seq.block_ns, seq.iters),
                                          per_pass_ms(run.block_ns, run.iters), self.kernels - 1))


class Criterion(Protocol):
    name: str

    def is_finished(self, state: State) -> bool: ...

    def shortfall(self, state: State) -> list[str]: ...


@dataclass(frozen=True)
class FixedRepeats:
    """Exactly ``repeats`` rounds."""

    repeats: int
    name: ClassVar[str] = "repeats"

    def is_finished(self, state: State) -> bool:
        return state.repeats >= self.repeats

    def shortfall(self, state: State) -> list[str]:
        return [] if self.is_finished(state) else [f"{state.repeats} of {self.repeats} repeats"]


@dataclass(frozen=True)
class Precision:
    """Every figure resolved (within +/- ``precision``) or converged: the predicate of
    anethru.results.verdict, which a loader re-checks."""

    precision: float
    overhead_within: Optional[float] = None   # ms per layer: the user's bound for the overhead
    name: ClassVar[str] = "precision"

    def statuses(self, state: State) -> dict:
        return verdict.statuses(state.tests, state.pairs, state.kernels, state.repeats,
                                self.precision, self.overhead_within, memo=state.memo)

    def shortfall(self, state: State) -> list[str]:
        return verdict.shortfall(state.tests, state.pairs, state.kernels, state.repeats,
                                 self.precision, self.overhead_within, memo=state.memo)

    def is_finished(self, state: State) -> bool:
        return verdict.finished(self.statuses(state)) is not None


CRITERIA: dict[str, Callable[..., Criterion]] = {"repeats": FixedRepeats, "precision": Precision}


@dataclass(frozen=True)
class Limits:
    """Guards outside the criterion: seconds from ``started`` (time.monotonic), and rounds."""

    max_time: Optional[float] = None
    min_repeats: int = 1
    max_repeats: Optional[int] = None


@dataclass(frozen=True)
class Outcome:
    measurement: Measurement   # every round's blocks, in the order they ran
    stopping: Stopping
    pairs: Optional[Pairs] = None   # the per-pass pairs of every round (sequential, run_only)


def measure_until(chain: Chain, tests: Iterable[str], criterion: Criterion, *,
                  iters: Optional[int] = None, warmup: int = 5, seed: Optional[int] = None,
                  limits: Limits = Limits(), started: Optional[float] = None,
                  progress: Optional[Callable[[str], None]] = None) -> Outcome:
    """Measure ``tests`` on ``chain`` in rounds until ``criterion`` is met or a limit ends it.

    ``started`` (a time.monotonic() value; default now) is when the time limit began counting,
    so a caller can include its own compile and check.  ``seed`` orders the rounds (None draws
    one; it is recorded).  Ctrl-C raises KeyboardInterrupt (from inside a round within one pass).
    """
    names = list(validate.check_tests(list(tests)))
    t0 = time.monotonic()
    started = t0 if started is None else started
    if seed is None:
        seed = random.SystemRandom().randrange(2**31)
    rng = random.Random(seed)
    say = progress or (lambda line: None)
    pass_ms = None
    if iters is None:
        pass_ms = pass_times(chain, names, warmup)
        per_test = choose(pass_ms)
        first_warmup = 0
    else:
        per_test = exact_passes(names, iters)
        first_warmup = warmup
    batches = (PairBatches(chain, seed, pairs_per_round(per_test, pass_ms))
               if PairBatches.wanted(names) else None)
    schedule: list[str] = []
    block_ns: list[int] = []
    rounds, last_said = 0, time.monotonic()
    memo: dict = {}   # figures per prefix of rounds (State.memo)
    while True:
        order = list(names)
        rng.shuffle(order)
        r0 = time.monotonic()
        total = f" of {criterion.repeats}" if isinstance(criterion, FixedRepeats) else ""
        m = chain.measure(order, iters=per_test, warmup=first_warmup if rounds == 0 else 0,
                          repeats=1, shuffle=False, where=f"repeat {rounds + 1}{total}")
        if batches is not None:
            batches.run_round()
        round_s = time.monotonic() - r0
        rounds += 1
        schedule += m.schedule
        block_ns += m.block_ns
        state = State(Measurement(tuple(schedule), tuple(block_ns), per_test, warmup, rounds,
                                  seed).results(chain.kernels), chain.kernels, rounds,
                      None if batches is None else batches.pairs(), memo)
        now = time.monotonic()
        if rounds >= limits.min_repeats and criterion.is_finished(state):
            stopped_by = criterion.name
            if isinstance(criterion, Precision):   # "precision" or "converged"
                stopped_by = verdict.finished(criterion.statuses(state))
            break
        if limits.max_repeats is not None and rounds >= limits.max_repeats:
            stopped_by = "max_repeats"
            break
        if limits.max_time is not None and (now - started) + round_s > limits.max_time:
            stopped_by = "max_time"
            break
        if now - last_said >= PROGRESS_EVERY_S:
            missing = criterion.shortfall(state)
            say(f"{rounds} repeats in {now - t0:.0f} s" + (f"; still {', '.join(missing[:3])}"
                                                            if missing else ""))
            last_said = now
    elapsed = time.monotonic() - t0
    measurement = Measurement(tuple(schedule), tuple(block_ns), per_test, warmup, rounds, seed)
    figures, rule = {}, None
    if isinstance(criterion, Precision):
        figures = verdict.final_statuses(criterion.statuses(state), stopped_by)
        rule = verdict.RULE
    stopping = Stopping(criterion=criterion.name, stopped_by=stopped_by,
                        precision=getattr(criterion, "precision", None),
                        overhead_within=getattr(criterion, "overhead_within", None),
                        max_time_s=limits.max_time, min_repeats=limits.min_repeats,
                        max_repeats=limits.max_repeats, elapsed_s=round(elapsed, 3),
                        figures=figures, rule=rule)
    return Outcome(measurement, stopping, None if batches is None else batches.pairs())


__all__ = ["measure_until", "calibrate", "passes_per_block", "Criterion", "FixedRepeats",
           "Precision", "CRITERIA", "Limits", "Outcome", "State", "DEFAULT_PRECISION",
           "DEFAULT_MAX_TIME", "MIN_REPEATS", "MAX_REPEATS"]
