"""The conditions a measurement ran under that make its figures comparable or not: power source,
thermal state, Low Power Mode (a Mac's fingerprint, anethru/_macos.py), the load average, the
CPU frequency governor and the GPU's clock and temperature (machine_state, at start and end).

``state_text`` is the short description the results gallery prints per row; ``warnings`` is what
``anethru submit`` says before and after a run (anethru.results.fitness judges).  Both read only what a result recorded: a value
that was not read is left out, never guessed.
"""

from __future__ import annotations

from typing import Any, Optional

from anethru.results.fitness import machine_warnings

NOT_RECORDED = "not recorded"


def _span(start: dict, end: dict, key: str, fmt: str) -> Optional[str]:
    a, b = start.get(key), end.get(key)
    if a is None and b is None:
        return None
    # A document may hold any JSON scalar here: format numbers, show the rest as written.
    def show(v: Any) -> str:
        if v is None:
            return "?"
        return fmt.format(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else str(v)
    return show(a) if a == b or b is None else f"{show(a)} -> {show(b)}"


def state_text(machine: dict[str, Any], machine_state: dict[str, Any]) -> str:
    """"AC Power, thermal nominal, load 1.20 on 10 CPUs" and the like; NOT_RECORDED when the
    result holds none of it (files written by anethru 0.1.0 on Linux)."""
    start = (machine_state or {}).get("start", {}) or {}
    end = (machine_state or {}).get("end", {}) or {}
    parts = []
    if machine.get("power_source"):
        battery = machine.get("battery_percent")
        parts.append(str(machine["power_source"])
                     + (f" ({battery}%)" if isinstance(battery, int) else ""))
    thermal = _span(start, end, "thermal_state", "{}") or machine.get("thermal_state")
    if thermal:
        parts.append(f"thermal {thermal}")
    if machine.get("low_power_mode"):
        parts.append("Low Power Mode on")
    load = _span(start, end, "load_average_1m", "{:.2f}")
    if load:
        cpus = machine.get("cpu_count")
        parts.append(f"load {load}" + (f" on {cpus} CPUs" if isinstance(cpus, int) else ""))
    if start.get("cpu_governor"):
        parts.append(f"governor {start['cpu_governor']}")
    clock = _span(start, end, "gpu_sm_clock_mhz", "{:g}")
    temp = _span(start, end, "gpu_temperature_c", "{:g}")
    if clock or temp:
        parts.append(f"GPU SM {clock or '?'} MHz, {temp or '?'} C")
    return ", ".join(parts) if parts else NOT_RECORDED


def warnings(machine: dict[str, Any], machine_state: Optional[dict[str, Any]] = None) -> list[str]:
    """What makes figures from this machine not comparable with others', each with what to do:
    the one judgment results use too (anethru.results.fitness)."""
    return machine_warnings(machine, machine_state)


__all__ = ["state_text", "warnings", "NOT_RECORDED"]
