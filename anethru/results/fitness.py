"""Is the machine fit to measure?  One judgment of what a run recorded about its machine (power
source, Low Power Mode, thermal state, load, frequency governor, GPU clock), each finding with
what to do: a result's warnings, `anethru submit`'s preflight and its closing check all use it.
Reads only what was recorded; a value that was not read is never guessed."""

from __future__ import annotations

from typing import Any, Optional

# A GPU whose SM clock fell by more than this during a run was throttled.
SM_CLOCK_DROP_WARN = 0.10


def busy(load: Any, cpus: Any) -> bool:
    """A load average above all but one CPU (at least 1): other work shares the machine."""
    return isinstance(load, (int, float)) and not isinstance(load, bool) \
        and isinstance(cpus, int) and cpus > 0 and load > max(1, cpus - 1)


def _power(machine: dict) -> list[str]:
    out = []
    if str(machine.get("power_source", "")).lower().startswith("battery"):
        out.append("running on battery power: the chip may be slowed to save power; plug in the "
                   "power adapter and run again")
    if machine.get("low_power_mode"):
        out.append("Low Power Mode is on: it lowers clock speeds; turn it off (System Settings > "
                   "Battery) and run again")
    return out


def _thermal(machine: dict, start: dict, end: dict) -> list[str]:
    for when, state in (("", machine.get("thermal_state")),
                        (" at the start of the run", start.get("thermal_state")),
                        (" at the end of the run", end.get("thermal_state"))):
        if isinstance(state, str) and state and state != "nominal":
            return [f"thermal state {state!r}{when}: the machine is throttling; let it cool "
                    f"down and run again"]
    return []


def _clocks(machine: dict, start: dict, end: dict) -> list[str]:
    out = []
    load, cpus = start.get("load_average_1m"), machine.get("cpu_count")
    if busy(load, cpus):
        out.append(f"load average {load:.2f} at start on {cpus} CPUs: other work shared the "
                   f"machine, so figures may be slower and noisier than on an idle one")
    governor = start.get("cpu_governor")
    if isinstance(governor, str) and governor not in ("performance", ""):
        out.append(f"CPU frequency governor is {governor!r}: clock speed may change during the "
                   f"run (the 'performance' governor gives steadier figures)")
    sm0, sm1 = start.get("gpu_sm_clock_mhz"), end.get("gpu_sm_clock_mhz")
    if isinstance(sm0, (int, float)) and isinstance(sm1, (int, float)) and sm0 > 0 \
            and sm1 < (1 - SM_CLOCK_DROP_WARN) * sm0:
        out.append(f"GPU SM clock fell from {sm0:g} to {sm1:g} MHz during the run "
                   f"(temperature {start.get('gpu_temperature_c', '?')} -> "
                   f"{end.get('gpu_temperature_c', '?')} C): throttling may have slowed it")
    return out


def machine_warnings(machine: dict[str, Any],
                     machine_state: Optional[dict[str, Any]] = None) -> list[str]:
    """Every reason, found in what a run recorded, that its figures may not compare with an
    idle, cool, plugged-in machine's."""
    start = (machine_state or {}).get("start") or {}
    end = (machine_state or {}).get("end") or {}
    return _power(machine) + _thermal(machine, start, end) + _clocks(machine, start, end)


__all__ = ["machine_warnings", "busy", "SM_CLOCK_DROP_WARN"]
