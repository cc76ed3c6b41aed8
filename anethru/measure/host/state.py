"""What the machine was doing when a measurement started and ended: the things that change
under a run and change its figures.  ``snapshot(backend)`` returns only what could be read:

- Linux: ``load_average_1m`` (and 5m, 15m) and ``cpu_governor`` (the scaling governor of
  the CPUs, "mixed: a, b" when they differ; absent on VMs without cpufreq);
- macOS: ``load_average_1m`` (5m, 15m), ``thermal_state`` (pmset);
- CUDA: ``gpu_name``, ``gpu_sm_clock_mhz``, ``gpu_temperature_c`` through NVML (anethru/_nvml.py).

Readings that fail are left out, never guessed; nothing here raises.
"""

from __future__ import annotations

import glob
import os
import sys
from typing import Any

GOVERNOR_GLOB = "/sys/devices/system/cpu/cpu[0-9]*/cpufreq/scaling_governor"


def cpu_governor(pattern: str = GOVERNOR_GLOB) -> str | None:
    found = set()
    for path in glob.glob(pattern):
        try:
            with open(path, encoding="ascii", errors="replace") as f:
                found.add(f.read().strip())
        except OSError:
            continue
    found.discard("")
    if not found:
        return None
    return found.pop() if len(found) == 1 else "mixed: " + ", ".join(sorted(found))


def snapshot(backend: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    try:
        one, five, fifteen = os.getloadavg()
        out.update(load_average_1m=round(one, 2), load_average_5m=round(five, 2),
                   load_average_15m=round(fifteen, 2))
    except (OSError, AttributeError):
        pass
    if sys.platform.startswith("linux"):
        governor = cpu_governor()
        if governor:
            out["cpu_governor"] = governor
    elif sys.platform == "darwin":
        from anethru.measure.host.macos import thermal_state

        out.update(thermal_state())
    if backend == "cuda":
        from anethru.measure.host.nvml import gpu_reading

        out.update(gpu_reading())
    return out


__all__ = ["snapshot", "cpu_governor"]
