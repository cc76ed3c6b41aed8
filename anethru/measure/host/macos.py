"""macOS-only facts that decide whether two ANE results are comparable: chip, model
(``hw.model``), memory size, OS version and build, power source, thermal state, low-power mode.  ``macos_details()`` is {} elsewhere.

Everything comes from stock command-line tools (sysctl, sw_vers, pmset) with short timeouts;
a value that cannot be read is left out rather than guessed.
"""

from __future__ import annotations

import re
import subprocess
import sys
from typing import Any, Optional


def _run(*cmd: str) -> Optional[str]:
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return proc.stdout if proc.returncode == 0 else None


def parse_pmset_batt(text: str) -> dict[str, Any]:
    """``pmset -g batt``: "Now drawing from 'AC Power'" (+ a battery line on laptops)."""
    out: dict[str, Any] = {}
    m = re.search(r"drawing from '([^']+)'", text)
    if m:
        out["power_source"] = m.group(1)
    m = re.search(r"InternalBattery.*?(\d+)%", text)
    if m:
        out["battery_percent"] = int(m.group(1))
    return out


def parse_pmset_therm(text: str) -> dict[str, Any]:
    """``pmset -g therm``: recorded thermal warning level and the CPU speed limit, summarised
    as ``thermal_state`` ("nominal", "throttled (CPU speed limit N%)" or "warning level N")."""
    out: dict[str, Any] = {}
    level = None
    m = re.search(r"thermal warning level\s*(?:[:=]|is)?\s*(\d+)", text, re.I)
    if m:
        level = int(m.group(1))
    elif re.search(r"No thermal warning level has been recorded", text, re.I):
        level = 0
    m = re.search(r"CPU_Speed_Limit\s*=\s*(\d+)", text)
    limit = int(m.group(1)) if m else None
    if limit is not None:
        out["cpu_speed_limit_percent"] = limit
    if level is not None:
        out["thermal_warning_level"] = level
    if level:
        out["thermal_state"] = f"warning level {level}"
    elif limit is not None and limit < 100:
        out["thermal_state"] = f"throttled (CPU speed limit {limit}%)"
    elif level == 0 or limit == 100:
        out["thermal_state"] = "nominal"
    return out


def parse_low_power_mode(text: str) -> Optional[bool]:
    """``pmset -g``: the "lowpowermode" line, where the Mac has one."""
    m = re.search(r"^\s*lowpowermode\s+(\d)", text, re.M)
    return None if m is None else m.group(1) == "1"


def thermal_state() -> dict[str, Any]:
    """The thermal fields of ``pmset -g therm`` alone (read at the start and end of a run)."""
    if sys.platform != "darwin":
        return {}
    therm = _run("pmset", "-g", "therm")
    return parse_pmset_therm(therm) if therm else {}


def macos_details() -> dict[str, Any]:
    if sys.platform != "darwin":
        return {}
    info: dict[str, Any] = {}
    for key, cmd in (("chip", ("sysctl", "-n", "machdep.cpu.brand_string")),
                     ("hw_model", ("sysctl", "-n", "hw.model")),
                     ("macos_version", ("sw_vers", "-productVersion")),
                     ("macos_build", ("sw_vers", "-buildVersion"))):
        value = _run(*cmd)
        if value and value.strip():
            info[key] = value.strip()
    memsize = _run("sysctl", "-n", "hw.memsize")
    if memsize and memsize.strip().isdigit():
        info["memory_bytes"] = int(memsize.strip())
    batt = _run("pmset", "-g", "batt")
    if batt:
        info.update(parse_pmset_batt(batt))
    therm = _run("pmset", "-g", "therm")
    if therm:
        info.update(parse_pmset_therm(therm))
    settings = _run("pmset", "-g")
    low = parse_low_power_mode(settings) if settings else None
    if low is not None:
        info["low_power_mode"] = low
    return info


__all__ = ["macos_details", "thermal_state", "parse_pmset_batt", "parse_pmset_therm", "parse_low_power_mode"]
