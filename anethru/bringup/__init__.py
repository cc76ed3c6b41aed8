"""``anethru doctor``: a backend's bring-up, one step at a time, as a report to act on or paste.

Each backend's steps live in their own module here (``ane``, ``cpu``, ``cuda``), each with
``steps()`` (the list, in order, with what each needs) and ``open_context()`` (the state the
steps share, closed at the end whatever happened).  Adding a backend's doctor is adding a
module and a line to ``STEP_MODULES``.
"""

from __future__ import annotations

import importlib
import sys
from typing import Optional

from anethru.bringup.report import SCHEMA, DoctorReport
from anethru.bringup.steps import FAILED, OK, SKIPPED, Step, StepFailed, StepResult, run_steps

STEP_MODULES = {"ane": "ane", "cuda": "cuda", "cpu": "cpu"}


def default_backend() -> str:
    """On a Mac the ANE (the backend most worth diagnosing there); elsewhere the best available."""
    if sys.platform == "darwin":
        return "ane"
    from anethru.native.backends import resolve

    return resolve("auto").name


def doctor(backend: Optional[str] = None, shape: Optional[tuple[int, int]] = None) -> DoctorReport:
    """Run ``backend``'s bring-up (default: see :func:`default_backend`) and report every step:
    ok, failed (with the message, the framework's or driver's own where there is one) or
    skipped (because a step it needs did not pass).  Never raises for what a step finds.
    ``shape`` (channels, spatial), the ANE only: the 1-layer programs' shape (default 64x32)."""
    from anethru._version import __version__
    from anethru.native.lib import _module_name
    from anethru.measure.host.fingerprint import fingerprint

    name = default_backend() if backend is None else backend
    if name not in STEP_MODULES:
        raise ValueError(f"backend must be one of {', '.join(STEP_MODULES)}; got {name!r}")
    module = importlib.import_module(f"{__name__}.{STEP_MODULES[name]}")
    sizes = _shape(name, shape)
    context = module.open_context(*sizes)
    try:
        results = run_steps(module.steps(), context)
    finally:
        context.close()
    hints = module.hints(results, *sizes) if hasattr(module, "hints") else []
    native = "" if _module_name == "anethru._native" else f"{_module_name} (not the installed core)"
    return DoctorReport(name, results, fingerprint(), __version__, native, hints)


def _shape(backend: str, shape: Optional[tuple[int, int]]) -> tuple[int, ...]:
    """open_context's arguments: (channels, spatial) when a shape was given."""
    if shape is None:
        return ()
    if backend != "ane":
        raise ValueError(f"only the ane doctor takes a shape; got shape={shape!r} for {backend}")
    from anethru.native.validate import positive_int

    if not isinstance(shape, (tuple, list)) or len(shape) != 2:
        raise ValueError(f"shape must be (channels, spatial); got {shape!r}")
    return positive_int("channels", shape[0]), positive_int("spatial", shape[1])


__all__ = ["doctor", "default_backend", "DoctorReport", "Step", "StepResult", "StepFailed",
           "run_steps", "OK", "FAILED", "SKIPPED", "SCHEMA", "STEP_MODULES"]
