"""Everything a reader should distrust in a result, each with what to do about it: recomputed
from the result's contents whenever one is built or loaded."""

from __future__ import annotations

from typing import Any, Optional

from anethru.results import verdict
from anethru.results.derived import Derived
from anethru.results.fitness import machine_warnings
from anethru.results.pairs import Pairs
from anethru.results.stats import precision_shortfall



def result_warnings(tests: dict[str, Any], derived: dict[str, Derived], config: Any,
                    stopping: Any, machine: dict, machine_state: dict,
                    pairs: Optional[Pairs] = None) -> list[str]:
    """Everything a reader should distrust in a result, each with what to do about it (tests:
    TestResult by name, config: Config, stopping: Stopping, from results.ceiling, which imports
    this module).  The time-limit warning names what the stopping rule still waited for."""
    out: list[str] = []
    if config.repeats == 1:
        out.append("1 repeat: no spread and no confidence interval; give more repeats "
                   "(or --precision) for figures you can compare")
    for t in tests.values():
        out += t.per_unit_ms.noise_warnings(t.name)
    rto = derived.get("round_trip_overhead")
    s = rto.stats if rto else None
    if s is not None and s.ci_low is not None and s.ci_high is not None:
        if rto.not_resolved:
            out.append(f"round_trip_overhead is not resolved: {rto.not_resolved} (its "
                       f"{s.ci_level:.0%} CI [{s.ci_low:.4g} .. {s.ci_high:.4g}] ms spans zero): "
                       f"the round trip is within this machine's noise here, so memcpy_share is "
                       f"undefined; the copy measured directly (memcpy_only) is the figure to use")
        elif s.ci_high < 0:
            out.append("round_trip_overhead is negative (its whole CI is below zero): sequential "
                       "ran faster than run_only; look for interference")
    if stopping.stopped_by == "converged":
        open_ = [n for n, v in stopping.figures.items() if v == verdict.CONVERGED]
        out.append(f"converged, not resolved: {', '.join(open_)}: the noise stopped shrinking "
                   f"before the precision target (+/-{stopping.precision:.1%}) was reached; more "
                   f"time narrows an interval only as 1/sqrt(rounds) (--max-time, --precision)")
    if stopping.stopped_by in ("max_time", "max_repeats") and stopping.criterion == "precision":
        if stopping.rule == verdict.RULE:
            missing = verdict.shortfall(tests, pairs, config.kernels, config.repeats,
                                        stopping.precision, stopping.overhead_within)
        else:   # a result written before the rule: its own predicate
            missing = precision_shortfall(
                {n: t.per_unit_ms for n, t in tests.items()}, s,
                tests["run_only"].per_unit_ms if "run_only" in tests else None,
                stopping.precision or 0.0)
        limit = (f"the time limit ({stopping.max_time_s:g} s) ran out"
                 if stopping.stopped_by == "max_time"
                 else f"the cap of {stopping.max_repeats} repeats was reached")
        out.append(f"{limit} after {config.repeats} repeats, before the precision target "
                   f"(+/-{stopping.precision:.1%}) was reached"
                   + (": " + "; ".join(missing) if missing else "")
                   + "; allow more time (--max-time) or accept a looser --precision")
    row = config.spatial * 2
    if config.backend == "ane" and row % 64:
        out.append(f"spatial {config.spatial}: a row is {row} bytes, not a multiple of 64; no run "
                   f"on an ANE with such rows has been seen (the chain check above is what "
                   f"vouches for the layout)")
    out += machine_warnings(machine, machine_state)
    return out
