"""Every number and duration formatter, once: durations in the unit that shows them, ratios,
percentages, ``median [low .. high]``. A leaf module: every layer may format a figure."""

from __future__ import annotations

from typing import Any, Optional


def time_unit(ms: float) -> tuple[float, str]:
    """(factor, unit) that shows a duration given in ms with a few digits before the point:
    s, ms, us or ns (CPU memcpy and null_eval figures are microseconds or less)."""
    x = abs(ms)
    if x >= 1000:
        return 1e-3, "s"
    if x >= 1 or x == 0:
        return 1.0, "ms"
    if x >= 1e-3:
        return 1e3, "us"
    return 1e6, "ns"


def number(v: float) -> str:
    x = abs(v)
    if x == 0:
        return "0"
    if x >= 100:
        return f"{v:.1f}"
    if x >= 10:
        return f"{v:.2f}"
    if x >= 0.01:
        return f"{v:.3f}"
    return f"{v:.3g}"


def duration(ms: Optional[float], unit: Optional[tuple[float, str]] = None) -> str:
    """A duration in ms, in the unit that shows it (or the one given): "3.473 ms", "9.21 us"."""
    if ms is None:
        return "-"
    f, u = unit or time_unit(ms)
    return f"{number(ms * f)} {u}"


def ratio(x: Optional[float]) -> str:
    return "-" if x is None else f"{number(x)}x"


def row_unit(*values: Optional[float]) -> tuple[float, str]:
    return time_unit(max((abs(v) for v in values if v is not None), default=0.0))


def figure(s: Any, unit: str = "ms", shown: Optional[tuple[float, str]] = None) -> str:
    """A Stats (anethru.results.stats) as ``median [ci_low .. ci_high]`` in one unit (or the
    median alone, saying why): the one that shows them, or ``shown`` (a row's unit)."""
    if unit == "ratio":
        if s.ci_low is None:
            return f"{ratio(s.median)} (1 repeat: no interval)"
        return f"{ratio(s.median)} [{number(s.ci_low)} .. {number(s.ci_high)}]"
    u = shown or row_unit(s.median, s.ci_low, s.ci_high)
    if s.ci_low is None:
        return f"{duration(s.median, u)} (1 repeat: no interval)"
    return f"{number(s.median * u[0])} [{number(s.ci_low * u[0])} .. {number(s.ci_high * u[0])}] {u[1]}"


def percent(x: Optional[float]) -> str:
    return "-" if x is None else f"{x:.0%}"


__all__ = ["time_unit", "number", "duration", "ratio", "row_unit", "figure", "percent"]
