"""The precision stopping rule's predicate, per figure: what a run may stop on, computed from raw
data alone, so that a run (anethru.measure.stopping) and a loader (which recomputes the verdict
of a saved result and refuses one whose stated ``stopped_by`` its blocks contradict) share it.

Stop on precision, never on significance.  A figure is

- **resolved** when its interval's half-width is within ``precision`` of its own median (a
  per-test median), or, for the round-trip overhead, within ``overhead_within`` (ms per layer)
  where the user gives that bound, else within ``precision`` of the copy measured directly
  (memcpy_only's per-copy median; without memcpy_only, of its own median): whether the
  interval excludes zero plays no part, so repeated looks cannot manufacture a "significant"
  overhead;
- **converged (not resolved)** when its noise has stopped changing: the half-width times
  sqrt(samples) (the spread per sample, which more rounds do not shrink) varied by at most
  ``CONVERGE_TOLERANCE`` over the last ``CONVERGE_WINDOW`` rounds, after at least
  ``MIN_CONVERGE_ROUNDS`` rounds (nvbench's stdrel criterion): more rounds would narrow the
  interval only as 1/sqrt(n), so the run stops and says the figure is not resolved;
- else, when a guard ends the run, **time limit** or **repeat cap**.

A run stops when every figure is resolved (``stopped_by: "precision"``) or resolved or converged
with at least one converged (``"converged"``).
"""

from __future__ import annotations

import math
from typing import Optional

from anethru.results.derived import derive
from anethru.results.stats import Stats

RESOLVED = "resolved"
CONVERGED = "converged (not resolved)"
TIME_LIMIT = "time limit"
REPEAT_CAP = "repeat cap"
STATUSES = (RESOLVED, CONVERGED, TIME_LIMIT, REPEAT_CAP)
# The rule's name in results; a result without it (written before issue 19) is not re-checked.
RULE = "precision-or-converged/1"
CONVERGE_WINDOW = 5
CONVERGE_TOLERANCE = 0.10
MIN_CONVERGE_ROUNDS = 10
OVERHEADS = ("round_trip_overhead", "round_trip_overhead_cpu")


def _prefix_tests(tests: dict, rounds: int) -> dict:
    return {n: type(t)(t.name, t.unit, t.units_per_pass, t.iters, t.block_ns[:rounds])
            for n, t in tests.items()}


def _prefix_pairs(pairs, rounds: int):
    if pairs is None:
        return None
    n = sum(pairs.per_round[:rounds])
    return type(pairs)(pairs.seed, pairs.sequential_first[:n], pairs.wall_ns[:n],
                       pairs.per_round[:rounds],
                       None if pairs.cpu_ns is None else pairs.cpu_ns[:n], pairs.cpu_clock)


def figures(tests: dict, pairs, kernels: int) -> dict[str, Stats]:
    """Every figure the rule watches: each test's per-unit median and the overhead(s)."""
    out = {n: t.per_unit_ms for n, t in tests.items()}
    if "sequential" in tests and "run_only" in tests:
        if pairs is not None and len(pairs):
            for d, _ in pairs.overheads(kernels):
                out[d.name] = d.stats
        else:
            out["round_trip_overhead"] = derive(
                {n: tests[n] for n in ("sequential", "run_only")}, kernels)["round_trip_overhead"].stats
    return out


def _figures_at(tests: dict, pairs, kernels: int, memo: Optional[dict]):
    """figures() of the first k rounds, as a function of k.  ``memo``: a dict the caller keeps
    for one run whose rounds are only ever appended (measure_until), so that the figures of a
    prefix are computed once, not again in each of the next CONVERGE_WINDOW rounds' histories."""
    def at(k: int) -> dict[str, Stats]:
        if memo is not None and k in memo:
            return memo[k]
        out = figures(_prefix_tests(tests, k), _prefix_pairs(pairs, k), kernels)
        if memo is not None:
            memo[k] = out
        return out
    return at


def target(name: str, s: Stats, found: dict[str, Stats], precision: float,
           overhead_within: Optional[float] = None) -> float:
    """The half-width a figure must reach to be resolved (ms, or the ratio's unit)."""
    if name in OVERHEADS and overhead_within is not None:
        return overhead_within
    if name in OVERHEADS and "memcpy_only" in found:
        return precision * abs(found["memcpy_only"].median)
    return precision * abs(s.median)


def _noise(s: Stats) -> Optional[float]:
    hw = s.half_width
    return None if hw is None else hw * math.sqrt(s.n)


def statuses(tests: dict, pairs, kernels: int, rounds: int, precision: float,
             overhead_within: Optional[float] = None, memo: Optional[dict] = None
             ) -> dict[str, Optional[str]]:
    """Each figure's status after ``rounds`` rounds: RESOLVED, CONVERGED, or None (neither).
    ``memo``: see _figures_at."""
    at = _figures_at(tests, pairs, kernels, memo)
    now = at(rounds)
    history = None
    out: dict[str, Optional[str]] = {}
    for name, s in now.items():
        hw = s.half_width
        if hw is not None and hw <= target(name, s, now, precision, overhead_within):
            out[name] = RESOLVED
            continue
        out[name] = None
        if rounds < max(MIN_CONVERGE_ROUNDS, CONVERGE_WINDOW):
            continue
        if history is None:
            history = [at(k) for k in range(rounds - CONVERGE_WINDOW + 1, rounds + 1)]
        noise = [_noise(h[name]) for h in history]
        if all(x is not None and x > 0 for x in noise) and \
                max(noise) <= (1 + CONVERGE_TOLERANCE) * min(noise):
            out[name] = CONVERGED
    return out


def shortfall(tests: dict, pairs, kernels: int, rounds: int, precision: float,
              overhead_within: Optional[float] = None, memo: Optional[dict] = None
              ) -> list[str]:
    """What keeps a run from stopping, one phrase per open figure (empty when it may stop)."""
    now = _figures_at(tests, pairs, kernels, memo)(rounds)
    out = []
    for name, v in statuses(tests, pairs, kernels, rounds, precision, overhead_within,
                            memo).items():
        if v is not None:
            continue
        s = now[name]
        if s.half_width is None:
            out.append(f"{name} has no interval yet ({s.n} sample{'s' if s.n != 1 else ''})")
        elif name in OVERHEADS:
            out.append(f"{name} +/-{s.half_width:.3g} ms (target +/-"
                       f"{target(name, s, now, precision, overhead_within):.3g} ms)")
        else:
            rel = s.relative_half_width
            out.append(f"{name} +/-{rel:.1%}" if rel is not None else
                       f"{name} +/-{s.half_width:.3g} ms")
    return out


def check_stopped_by(stopping, tests: dict, pairs, kernels: int, rounds: int) -> Optional[str]:
    """Why a result's stated stopping contradicts its raw data (None when it does not): the
    predicate that stops a run, recomputed.  Results without ``stopping.rule`` are not checked."""
    if stopping.rule != RULE or stopping.criterion != "precision":
        return None
    st = statuses(tests, pairs, kernels, rounds, stopping.precision, stopping.overhead_within)
    now = finished(st)
    said = stopping.stopped_by
    if said in ("precision", "converged") and now != said:
        return (f"says {said!r}, but the raw blocks give "
                f"{repr(now) if now else 'a run that had not finished'} after {rounds} rounds")
    if said in ("max_time", "max_repeats") and now is not None and rounds >= stopping.min_repeats:
        return (f"says {said!r}, but after {rounds} rounds the raw blocks already meet the rule "
                f"({now!r}), which is checked before the limits")
    if said == "max_repeats" and rounds != stopping.max_repeats:
        return f"says 'max_repeats', but {rounds} rounds ran and the cap is {stopping.max_repeats}"
    want = final_statuses(st, said) if said != "repeats" else {}
    if dict(stopping.figures) != want:
        return f"states figures {dict(stopping.figures)}, but the raw blocks give {want}"
    return None


def finished(st: dict[str, Optional[str]]) -> Optional[str]:
    """"precision" when every figure is resolved, "converged" when every one is resolved or
    converged, None while any is neither."""
    if any(v is None for v in st.values()):
        return None
    return "precision" if all(v == RESOLVED for v in st.values()) else "converged"


def final_statuses(st: dict[str, Optional[str]], stopped_by: str) -> dict[str, str]:
    """The statuses a result states: a figure still open when a guard ended the run gets the
    guard's name."""
    guard = TIME_LIMIT if stopped_by == "max_time" else REPEAT_CAP
    return {n: (v if v is not None else guard) for n, v in st.items()}


__all__ = ["statuses", "finished", "shortfall", "check_stopped_by", "final_statuses", "figures", "target", "RULE", "STATUSES",
           "RESOLVED", "CONVERGED", "TIME_LIMIT", "REPEAT_CAP"]
