"""anethru: when a chain of kernels runs on an accelerator with the CPU between every pair,
how much of the time is the round trip, and what would chaining save?

    >>> import anethru
    >>> print(anethru.run_ceiling(768, 256))          # doctest: +SKIP

See ``run_ceiling``, ``run_suite``, ``run_sweep``, ``Chain``, ``backends``, ``load_results``,
``compare``, ``doctor`` and ``ane_programs``.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

__version__ = "0.2.0"

# Public name -> the submodule that defines it.  Loaded on first use (PEP 562): pytest imports
# anethru.pytest_plugin (and so this package) in every session wherever anethru is installed,
# and that must not load the native core.
_EXPORTS = {
    "run_ceiling": "api", "run_suite": "api", "ConfigFailure": "api",
    "release_cached_chains": "api", "SEED_CONFIGS": "api", "SEED_KERNELS": "api",
    "run_in_worker": "worker",
    "run_sweep": "sweep", "SweepInterrupted": "sweep",
    "SweepResult": "sweep_result", "SweepFailure": "sweep_result", "load_sweep": "sweep_result",
    "backends": "backends", "best_backend": "backends", "BackendInfo": "backends",
    "Chain": "chain", "Measurement": "chain",
    "AnethruError": "errors", "BackendUnavailableError": "errors", "ChainCheckError": "errors",
    "CompileError": "errors", "EvalError": "errors", "InternalError": "errors",
    "LimitError": "errors", "NativeMemoryError": "errors", "UnsupportedError": "errors",
    "WorkerError": "errors", "WorkerTimeoutError": "errors", "WorkerUnavailableError": "errors",
    "CeilingResult": "result", "ChainCheck": "result", "Config": "result", "Derived": "result",
    "TestResult": "result", "load_results": "result",
    "ResultFormatError": "errors", "SuiteInterrupted": "errors",
    "compare": "compare", "Comparison": "compare",
    "Stats": "stats",
    "DEFAULT_TESTS": "testnames", "TEST_NAMES": "testnames",
    "doctor": "bringup", "DoctorReport": "bringup",
    "ane_programs": "programs", "AneProgram": "programs",
}

if TYPE_CHECKING:  # what static checkers and IDEs see; at run time __getattr__ loads them
    from .api import (SEED_CONFIGS, SEED_KERNELS, ConfigFailure, release_cached_chains,
                      run_ceiling, run_suite)
    from .backends import BackendInfo, backends, best_backend
    from .bringup import DoctorReport, doctor
    from .chain import Chain, Measurement
    from .compare import Comparison, compare
    from .programs import AneProgram, ane_programs
    from .errors import (AnethruError, BackendUnavailableError, ChainCheckError, CompileError,
                         EvalError, InternalError, LimitError, NativeMemoryError,
                         ResultFormatError, SuiteInterrupted, UnsupportedError, WorkerError,
                         WorkerTimeoutError, WorkerUnavailableError)
    from .result import CeilingResult, ChainCheck, Config, Derived, TestResult, load_results
    from .stats import Stats
    from .sweep import SweepInterrupted, run_sweep
    from .sweep_result import SweepFailure, SweepResult, load_sweep
    from .testnames import DEFAULT_TESTS, TEST_NAMES
    from .worker import run_in_worker


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'anethru' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # the next lookup is a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))


class _Package(types.ModuleType):
    def __setattr__(self, name: str, value: Any) -> None:
        # Importing the submodule anethru.backends sets the package attribute "backends" to it;
        # the public anethru.backends is the function of that name (as the eager imports had it).
        if isinstance(value, types.ModuleType) and name in _EXPORTS:
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


__all__ = ["__version__", *_EXPORTS]
