"""Imported inside the subprocesses of tests/test_ane_simulated.py: reads the simulated
framework's counters and reports results back as one JSON line.

The subprocess runs with PYTHONPATH=<root>:<build dir>:tests/objc,
ANETHRU_NATIVE_MODULE=_anethru_sim_native and SIM_BUILD_DIR=<build dir>.
"""

from __future__ import annotations

import ctypes
import json
import os

MARK = "SIM-PROBE-RESULT "
FAKE_COUNTERS = ("fake_ane_live_objects", "fake_ane_compile_calls", "fake_ane_load_calls",
                 "fake_ane_unload_calls", "fake_ane_eval_calls", "fake_ane_rt_eval_calls",
                 "fake_ane_direct_eval_calls",
                 "fake_ane_loaded_now", "fake_ane_freed_while_loaded",
                 "fake_ane_overlapping_evals")


def _framework() -> ctypes.CDLL:
    """The fake framework the backend dlopened (dlopen of the same path returns that copy); the
    full one, untouched, when the test pointed the backend at a framework that is not there."""
    full = os.path.join(os.environ["SIM_BUILD_DIR"], "frameworks", "full",
                        "AppleNeuralEngine.framework", "AppleNeuralEngine")
    path = os.environ.get("ANETHRU_SIM_ANE_FRAMEWORK") or full
    return ctypes.CDLL(path if os.path.exists(path) else full)


def counters() -> dict[str, int]:
    fw = _framework()
    out = {name.replace("fake_ane_", ""): ctypes.c_int.in_dll(fw, name).value for name in FAKE_COUNTERS}
    system = ctypes.CDLL(os.path.join(os.environ["SIM_BUILD_DIR"], "libanesim_apple.so"))
    out["live_surfaces"] = ctypes.c_int.in_dll(system, "linux_fake_iosurface_live").value
    return out


def temporary_directory() -> str:
    buf = ctypes.create_string_buffer(4096)
    _framework().fake_ane_tmpdir(buf, ctypes.c_size_t(len(buf)))
    return buf.value.decode()


def kernel_dirs() -> dict[str, str]:
    """Kernel directories in NSTemporaryDirectory(): name -> octal mode."""
    d = temporary_directory()
    return {n: oct(os.lstat(os.path.join(d, n)).st_mode & 0o777) for n in sorted(os.listdir(d))}


def report(**values) -> None:
    print(MARK + json.dumps(values, default=str), flush=True)
