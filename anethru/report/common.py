"""What every rendering of a result says the same way: the machine line, provenance, how the
run stopped, its intervals, its chain check, a derived figure's value."""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from anethru.units import duration, figure

if TYPE_CHECKING:
    from anethru.results.ceiling import CeilingResult, Derived

RULE = "=" * 78

DERIVED_TEXT = {
    "round_trip_overhead": "round-trip overhead per layer (what chaining would eliminate)",
    "round_trip_overhead_cpu": "the same on the thread's CPU time (leaves out time descheduled)",
    "memcpy_share": "memcpy's share of that overhead",
    "serial_queue_vs_direct": "serial queue / direct evals",
    "chaining_saves": "chaining saves per layer (sequential - chained)",
    "dispatch_saved": "dispatch saved per layer (run_only - chained)",
}


def machine_line(m: dict, state: dict) -> str:
    """OS, CPU and, on a Mac, what throttles an accelerator: power source, thermal state,
    Low Power Mode; the load, governor and GPU clock at start -> end (a throttled or shared run
    must be recognisable from its report)."""
    parts = [f"{m.get('os', '?')} {m.get('macos_version') or m.get('os_release', '')}".strip(),
             f"{m.get('cpu_model', '?')}, {m.get('cpu_count', '?')} cores"]
    if "hw_model" in m:
        parts.append(str(m["hw_model"]))
    if isinstance(m.get("memory_bytes"), int):
        parts.append(f"{m['memory_bytes'] / 2**30:.0f} GiB")
    if "power_source" in m:
        parts.append(m["power_source"])
    if "thermal_state" in m:
        parts.append(f"thermal {m['thermal_state']}")
    if m.get("low_power_mode"):
        parts.append("LOW POWER MODE")
    start, end = state.get("start", {}), state.get("end", {})

    def span(key: str, fmt: str = "{}") -> Optional[str]:
        a, b = start.get(key), end.get(key)
        if a is None and b is None:
            return None
        show = (lambda v: "?" if v is None else fmt.format(v)
                if isinstance(v, (int, float)) and not isinstance(v, bool) else str(v))
        return show(a) if a == b or b is None else f"{show(a)} -> {show(b)}"

    load = span("load_average_1m", "{:.2f}")
    if load:
        parts.append(f"load {load}")
    if start.get("cpu_governor"):
        parts.append(f"governor {start['cpu_governor']}")
    clock, temp = span("gpu_sm_clock_mhz"), span("gpu_temperature_c")
    if clock or temp:
        parts.append(f"GPU SM {clock or '?'} MHz, {temp or '?'} C")
    return "; ".join(parts)


def provenance(r: "CeilingResult") -> str:
    m = r.machine
    text = f"anethru {r.anethru_version}"
    if m.get("anethru_git_commit"):
        dirty = ", uncommitted changes" if m.get("anethru_git_dirty") else ""
        text += f" (git {str(m['anethru_git_commit'])[:12]}{dirty})"
    return text


def stopping_text(r: "CeilingResult") -> str:
    s, n = r.stopping, r.config.repeats
    if s is None or s.criterion == "repeats":
        took = f" in {s.elapsed_s:.1f} s" if s is not None and s.elapsed_s is not None else ""
        return f"{n} repeat{'s' if n != 1 else ''}{took} (an exact count)"
    took = f" in {s.elapsed_s:.1f} s" if s.elapsed_s is not None else ""
    target = f"+/-{s.precision:.1%}"
    if s.overhead_within is not None:
        target += f"; the round trip +/-{duration(s.overhead_within)} per layer"
    if s.stopped_by == "precision":
        return f"{n} repeats{took}: every figure resolved ({target})"
    if s.stopped_by == "converged":
        return (f"{n} repeats{took}: every figure resolved ({target}) or converged; NOT resolved: "
                + ", ".join(k for k, v in s.figures.items() if v != "resolved"))
    if s.stopped_by == "max_time":
        return (f"{n} repeats{took}: the {s.max_time_s:g} s time limit ran out BEFORE the "
                f"{target} target was reached (see the warning)")
    return (f"{n} repeats{took}: the cap of {s.max_repeats} repeats was reached BEFORE the "
            f"{target} target was reached (see the warning)")


def intervals_text(r: "CeilingResult") -> str:
    n = r.config.repeats
    if n < 2:
        return "none (1 repeat)"
    level = next(iter(r.tests.values())).per_unit_ms.ci_level
    if n <= 5:
        return (f"{level:.2%} for each median: [min .. max] of {n} repeats (6 or more give 95%)")
    return (f"{level:.1%} for each median (order statistics of the {n} repeats, "
            f"distribution-free)")


def check_text(r: "CeilingResult") -> str:
    chk = r.check
    how = "output == input, bit for bit" if chk.exact else (
        f"max |err| {chk.max_abs_error:.3g} <= {chk.tolerance:.3g} x max |ref|")
    return f"{' + '.join(chk.tests)} {'passed' if chk.passed else 'FAILED'} ({how})"


def derived_value(d: "Derived") -> str:
    if d.stats is None:
        return f"undefined: {d.undefined}"
    if d.not_resolved:
        return f"not resolved: {d.not_resolved}"
    return figure(d.stats, d.unit)


# ---------------------------------------------------------------------- text
