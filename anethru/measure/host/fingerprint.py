"""A fingerprint of the machine a result came from, so results from many machines compare:
OS, CPU, Python, anethru's version (and git commit and dirty flag when run from a checkout), and
on a Mac the chip, model, memory and power state (anethru/_macos.py).  What changes during a run
(load, governor, GPU clock) is read at its start and end: anethru/machine_state.py."""

from __future__ import annotations

import datetime
import os
import platform
import subprocess
import sys
from typing import Any, Optional


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
        from anethru.measure.host.macos import macos_details
    except ImportError:
        return {}
    return macos_details()


_PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))


def git_provenance(directory: Optional[str] = None) -> dict[str, Any]:
    """``anethru_git_commit`` and ``anethru_git_dirty`` when anethru runs from a git checkout
    (an editable install); {} otherwise, or when git is missing or slow."""
    # The checkout's root: the folder that holds the anethru package (four levels above this
    # file, anethru/measure/host/fingerprint.py).
    here = directory or _PACKAGE_ROOT
    if not os.path.exists(os.path.join(here, ".git")):
        return {}
    try:
        head = subprocess.run(["git", "-C", here, "rev-parse", "HEAD"], capture_output=True,
                              text=True, timeout=5)
        status = subprocess.run(["git", "-C", here, "status", "--porcelain", "--untracked-files=no"],
                                capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return {}
    commit = head.stdout.strip()
    if head.returncode != 0 or not commit or status.returncode != 0:
        return {}
    return {"anethru_git_commit": commit, "anethru_git_dirty": bool(status.stdout.strip())}


def fingerprint() -> dict[str, Any]:
    from anethru._version import __version__

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
        **git_provenance(),
        "time_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
    info.update(_macos_details())
    return info
