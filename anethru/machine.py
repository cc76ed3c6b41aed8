"""A fingerprint of the machine a result came from, so results from many machines compare."""

from __future__ import annotations

import datetime
import os
import platform
import subprocess
import sys
from typing import Any


def _cpu_model() -> str:
    if sys.platform == "darwin":
        try:
            return subprocess.run(["sysctl", "-n", "machdep.cpu.brand_string"], capture_output=True,
                                  text=True, timeout=5).stdout.strip() or platform.processor()
        except (OSError, subprocess.SubprocessError):
            return platform.processor()
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.lower().startswith(("model name", "hardware", "cpu model")):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _macos_details() -> dict[str, Any]:
    try:
        from ._macos import macos_details
    except ImportError:
        return {}
    return macos_details()


def fingerprint() -> dict[str, Any]:
    from . import __version__

    info: dict[str, Any] = {
        "platform": sys.platform,
        "os": platform.system(),
        "os_release": platform.release(),
        "os_version": platform.version(),
        "machine": platform.machine(),
        "cpu_model": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "anethru_version": __version__,
        "time_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
    info.update(_macos_details())
    return info
