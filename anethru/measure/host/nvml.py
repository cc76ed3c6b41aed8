"""NVIDIA's management library (NVML), loaded at run time with ctypes, for the GPU's SM clock and
temperature at the start and end of a measurement.  Nothing is needed to install anethru: where
``libnvidia-ml.so.1`` (or the file named by ``ANETHRU_NVML_LIBRARY``) is missing or fails, the
readings are simply absent.

Which GPU: the one the CUDA backend uses is CUDA device 0, the first of ``CUDA_VISIBLE_DEVICES``
when it is set (an index or a ``GPU-...`` UUID), else NVML device 0.  NVML numbers devices in PCI
order and CUDA by default fastest-first, so on a machine with different GPUs these can differ;
the reading records the device's name so that a mismatch shows.
"""

from __future__ import annotations

import ctypes
import os
import threading
from typing import Any, Optional

NVML_SUCCESS = 0
NVML_CLOCK_SM = 1
NVML_TEMPERATURE_GPU = 0
_lock = threading.Lock()
_lib: Optional[Any] = None
_tried = False


def _load() -> Optional[Any]:
    """The initialised library, or None (tried once per process)."""
    global _lib, _tried
    with _lock:
        if _tried:
            return _lib
        _tried = True
        name = os.environ.get("ANETHRU_NVML_LIBRARY") or "libnvidia-ml.so.1"
        try:
            lib = ctypes.CDLL(name)
            init = getattr(lib, "nvmlInit_v2", None) or lib.nvmlInit
            init.restype = ctypes.c_int
            if init() != NVML_SUCCESS:
                return None
        except (OSError, AttributeError):
            return None
        _lib = lib
        return _lib


def _device(lib: Any) -> Optional[ctypes.c_void_p]:
    handle = ctypes.c_void_p()
    visible = os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",")[0].strip()
    try:
        if visible.startswith("GPU-"):
            rc = lib.nvmlDeviceGetHandleByUUID(visible.encode(), ctypes.byref(handle))
        else:
            index = int(visible) if visible.isdigit() else 0
            get = getattr(lib, "nvmlDeviceGetHandleByIndex_v2", None) or lib.nvmlDeviceGetHandleByIndex
            rc = get(ctypes.c_uint(index), ctypes.byref(handle))
    except AttributeError:
        return None
    return handle if rc == NVML_SUCCESS else None


def gpu_reading() -> dict[str, Any]:
    """{"gpu_name", "gpu_sm_clock_mhz", "gpu_temperature_c"} of the CUDA backend's GPU, with
    whatever NVML could read; {} without NVML."""
    lib = _load()
    if lib is None:
        return {}
    out: dict[str, Any] = {}
    with _lock:
        handle = _device(lib)
        if handle is None:
            return {}
        try:
            name = ctypes.create_string_buffer(96)
            if lib.nvmlDeviceGetName(handle, name, ctypes.c_uint(len(name))) == NVML_SUCCESS:
                out["gpu_name"] = name.value.decode("utf-8", "replace")
            value = ctypes.c_uint()
            if lib.nvmlDeviceGetClockInfo(handle, NVML_CLOCK_SM, ctypes.byref(value)) == NVML_SUCCESS:
                out["gpu_sm_clock_mhz"] = int(value.value)
            if lib.nvmlDeviceGetTemperature(handle, NVML_TEMPERATURE_GPU,
                                            ctypes.byref(value)) == NVML_SUCCESS:
                out["gpu_temperature_c"] = int(value.value)
        except AttributeError:  # a library without one of these functions
            pass
    return out


def _reset_for_tests() -> None:
    """Forget the loaded library, so a test can point ANETHRU_NVML_LIBRARY elsewhere."""
    global _lib, _tried
    with _lock:
        _lib, _tried = None, False
