"""The text report of a sweep: every size's figures, then the model in words (anethru.results.fit,
crossover and model).  Renders only: every figure comes computed from the sweep."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Optional

from anethru.results.crossover import Crossing
from anethru.results.fit import LineFit
from anethru.measure.grid import size_text
from anethru.report.common import RULE, machine_line
from anethru.units import duration, number
from anethru.results.model import Figure

if TYPE_CHECKING:
    from anethru.results.sweep import SweepResult

TABLE_TESTS = ("sequential", "run_only", "memcpy_only", "chained")


def _ci_bytes(c: Crossing, low_end: float, high_end: float) -> str:
    lo = size_text(c.ci_low) if c.ci_low is not None else f"below {size_text(low_end)}"
    hi = size_text(c.ci_high) if c.ci_high is not None else f"beyond {size_text(high_end)}"
    return f"[{lo} .. {hi}]"


def crossover_text(c: Crossing, low_end: float, high_end: float) -> str:
    """The 50% crossing in words."""
    if c.status == "crossed":
        verb = "falls below" if c.side == "below" else "exceeds"
        return (f"the round trip {verb} the kernel time from {size_text(c.bytes)} "
                f"{_ci_bytes(c, low_end, high_end)} on")
    if c.side == "below":
        return (f"below the measured range: the round trip is under the kernel time at every "
                f"size from {size_text(low_end)}")
    return (f"not reached in the measured range: the round trip exceeds the kernel time at "
            f"every size up to {size_text(high_end)}")


def small_share_text(c: Crossing, low_end: float, high_end: float,
                     last_share: Optional[float]) -> str:
    """The 10% crossing in words."""
    if c.status == "crossed":
        return f"from {size_text(c.bytes)} {_ci_bytes(c, low_end, high_end)} on"
    if c.status == "throughout":
        return f"at every measured size, from {size_text(low_end)}"
    at_end = "" if last_share is None else f" ({last_share:.0%} at {size_text(high_end)})"
    return f"not reached in the measured range{at_end}"


def _channels(c: int) -> str:
    return f"{c} channel{'' if c == 1 else 's'}"


def _beta_text(f: LineFit, bandwidth: bool) -> str:
    # beta is ms per byte: shown as ns per byte, and for a copy as the bandwidth it implies.
    lo, hi = f.beta_ci
    text = f"{number(f.beta * 1e6)} ns/B [{number(lo * 1e6)} .. {number(hi * 1e6)}]"
    if bandwidth and f.beta > 0:
        bw = 1e-6 / f.beta
        band = (f" [{number(1e-6 / hi)} .. {number(1e-6 / lo)}]" if lo > 0 else
                f" [{number(1e-6 / hi)} .. unbounded]" if hi > 0 else "")
        text += f" = {number(bw)} GB/s{band}"
    return text


def line_text(f: LineFit, bandwidth: bool = True, intercept: bool = True) -> str:
    """A line's figures; ``intercept=False`` for a region that does not start at the smallest
    size, whose intercept is an extrapolation, not a latency: its slope alone."""
    lo, hi = f.alpha_ci
    alpha = (f"alpha {duration(f.alpha)} [{duration(lo)} .. {duration(hi)}], " if intercept
             else "slope only (the region does not start at the smallest size), ")
    r2 = "-" if f.r_squared is None else f"{f.r_squared:.3f}"
    return (f"{alpha}beta {_beta_text(f, bandwidth)}, R^2 {r2} "
            f"({f.sizes} sizes, {size_text(f.bytes_range[0])} .. {size_text(f.bytes_range[1])})")


def figure_lines(title: str, fig: Figure, bandwidth: bool = True) -> list[str]:
    if fig.model is None:
        return [f" {title}: no fit ({fig.undefined})"]
    m = fig.model
    out = [f" {title}:", f"     {line_text(m.line, bandwidth)}"]
    if m.one_line:
        out.append("     one line describes the points")
    else:
        where = "; ".join(f"between {size_text(a)} and {size_text(b)}" for a, b in m.breaks)
        out.append(f"     ONE LINE DOES NOT DESCRIBE THE POINTS: a break {where}; each region "
                   "fitted apart:")
        first = m.line.bytes_range[0]
        out += [f"       {line_text(r, bandwidth, intercept=r.bytes_range[0] == first)}"
                for r in m.regions]
    for r in m.bad:
        off = (r.median / r.fitted - 1) if r.fitted else math.inf
        out.append(f"     badly explained: {r.label} ({size_text(r.bytes)}): measured "
                   f"{duration(r.median)}, the line says {duration(r.fitted)} "
                   f"({off:+.0%}, {r.z:+.1f} se)")
    return out


def _agreement(a: Figure, b: Figure) -> Optional[str]:
    if a.model is None or b.model is None:
        return None
    (lo1, hi1), (lo2, hi2) = a.model.line.beta_ci, b.model.line.beta_ci
    if lo1 <= hi2 and lo2 <= hi1:
        return "     its beta agrees with the round trip's (the intervals overlap)"
    return ("     its beta DIFFERS from the round trip's (the intervals do not overlap): the "
            "round trip is more than its copy")


def format_sweep(sw: "SweepResult") -> str:
    lines = [RULE, f" anethru sweep: how the round trip grows with size -- {sw.backend}, "
             f"{sw.kernels} kernels", f" backend {sw.backend}: {sw.device}", RULE]
    if sw.simulated:
        lines.append(" SIMULATED: these are not figures of real hardware")
    lines.append(f" machine: {machine_line(sw.machine, {})}")
    done = len(sw.results)
    lines.append(f" grid: {sw.grid_description}; {done} of {len(sw.grid)} measured"
                 + (f", {len(sw.failures)} failed" if sw.failures else ""))
    s = sw.settings
    how = (f"exactly {s['repeats']} repeats" if s.get("repeats") else
           f"until every median is within +/-{s.get('precision') or 0:.0%} or "
           f"{s.get('max_time_s') or 0:g} s per configuration")
    elapsed = "" if sw.elapsed_s is None else f"; {sw.elapsed_s:.1f} s in all"
    lines.append(f" measured: {how}{elapsed}; anethru {sw.anethru_version}, {sw.created_utc}")
    if sw.batches:
        b = sw.batches
        lines.append(f" batches: {b['count']} fresh worker process(es), up to "
                     f"{b['configs_per_batch']} configurations each ({b['compile_limit']} "
                     f"compiles per process, {b['compiles_per_config']} per configuration)")
    if sw.interrupted:
        lines.append(f" INTERRUPTED during {sw.interrupted[0]}x{sw.interrupted[1]}: the figures "
                     "are of the configurations that finished")
    lines.append("")
    lines += _table(sw)
    model = sw.model
    lines.append("")
    lines.append(f" the model ({model.ci_level:.0%} bootstrap intervals over repeats, "
                 f"{model.replicates} replicates; weighted least squares on the medians):")
    lines += figure_lines("round-trip overhead per layer = alpha + beta x bytes", model.round_trip)
    lines += figure_lines("memcpy_only per copy (an independent estimate of beta)", model.memcpy)
    agree = _agreement(model.round_trip, model.memcpy)
    if agree:
        lines.append(agree)
    for series in model.series:
        lo, hi = series.bytes[0], series.bytes[-1]
        at = _channels(series.channels)
        lines += figure_lines(f"run_only per kernel at {at}", series.kernel, bandwidth=False)
        lines.append(f" crossover at {at} (round trip = kernel time, 50% of a sequential "
                     f"layer; from {len(series.bytes)} sizes): "
                     f"{crossover_text(series.crossover, lo, hi)}")
        lines.append(f" round trip under 10% of a sequential layer at {at}: "
                     f"{small_share_text(series.small, lo, hi, series.shares[-1])}")
    noisy = [r.config.label for r in sw.results
             if r.derived.get("round_trip_overhead") and r.derived["round_trip_overhead"].stats
             and r.derived["round_trip_overhead"].stats.ci_low is not None
             and r.derived["round_trip_overhead"].stats.ci_low <= 0
             <= r.derived["round_trip_overhead"].stats.ci_high]
    if noisy:
        lines.append(f" note: at {len(noisy)} of {done} sizes the round trip's interval spans "
                     f"zero (within this machine's noise): {', '.join(noisy)}")
    if model.left_out:
        lines.append(f" left out of the model (no sequential and run_only figures): "
                     f"{', '.join(model.left_out)}")
    for f in sw.failures:
        lines.append(f" failed: {f}")
    warned = sum(1 for r in sw.results if r.warnings)
    if warned:
        lines.append(f" {warned} of {done} configurations carry warnings (see --json or each "
                     "configuration's report)")
    return "\n".join(lines)


def _table(sw: "SweepResult") -> list[str]:
    tests = [t for t in TABLE_TESTS if any(t in r.tests for r in sw.results)]
    head = (f" {'config':<12}{'bytes':>9}{'reps':>6}"
            + "".join(f"{t:>14}" for t in tests) + f"{'round trip [CI]':>34}{'share':>8}")
    out = [head]
    for r in sw.results:
        row = f" {r.config.label:<12}{size_text(r.config.bytes_per_tensor):>9}{r.config.repeats:>6}"
        row += "".join(f"{duration(r.tests[t].per_unit_ms.median) if t in r.tests else '-':>14}"
                       for t in tests)
        d = r.derived.get("round_trip_overhead")
        s = d.stats if d else None
        if s is None:
            row += f"{'-':>34}{'-':>8}"
        else:
            ci = ("" if s.ci_low is None else
                  f" [{duration(s.ci_low)} .. {duration(s.ci_high)}]")
            kernel = r.tests["run_only"].per_unit_ms.median
            share = s.median / (s.median + kernel) if s.median + kernel > 0 else None
            row += f"{duration(s.median) + ci:>34}{'-' if share is None else f'{share:.1%}':>8}"
        out.append(row)
    out.append(" (per kernel; memcpy_only per copy; round trip per layer; share: of a "
               "sequential layer, round trip / (round trip + run_only))")
    return out


__all__ = ["format_sweep", "crossover_text", "small_share_text", "line_text"]
