"""anethru: when a chain of kernels runs on an accelerator with the CPU between every pair,
how much of the time is the round trip, and what would chaining save?

    >>> import anethru
    >>> print(anethru.run_ceiling(768, 256))          # doctest: +SKIP

See ``run_ceiling``, ``run_suite``, ``run_sweep``, ``Chain``, ``backends``, ``load_results``,
``compare``, ``doctor`` and ``ane_programs``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._version import __version__

# Public name -> the submodule that defines it.  Loaded on first use (PEP 562): pytest imports
# anethru.pytest_plugin (and so this package) in every session wherever anethru is installed,
# and that must not load the native core.
_EXPORTS = {
    "run_ceiling": "measure.api", "run_suite": "measure.suite", "ConfigFailure": "results.failure",
    "release_cached_chains": "measure.api", "SEED_CONFIGS": "measure.api", "SEED_KERNELS": "measure.api",
    "run_in_worker": "measure.worker.parent",
    "run_sweep": "measure.sweep", "SweepInterrupted": "measure.sweep",
    "SweepResult": "results.sweep", "SweepFailure": "results.failure", "load_sweep": "results.sweep",
    "backends": "native.backends", "best_backend": "native.backends", "BackendInfo": "native.backends",
    "Chain": "measure.chain", "Measurement": "measure.chain",
    "AnethruError": "errors", "BackendUnavailableError": "errors", "ChainCheckError": "errors",
    "CompileError": "errors", "EvalError": "errors", "InternalError": "errors",
    "LimitError": "errors", "LockError": "errors", "NativeMemoryError": "errors",
    "UnsupportedError": "errors",
    "WorkerError": "errors", "WorkerTimeoutError": "errors", "WorkerUnavailableError": "errors",
    "CeilingResult": "results.ceiling", "ChainCheck": "results.ceiling", "Config": "results.ceiling", "Derived": "results.ceiling",
    "TestResult": "results.ceiling", "load_results": "results.loader",
    "ResultFormatError": "errors", "SuiteInterrupted": "errors",
    "compare": "results.compare", "Comparison": "results.compare",
    "Stats": "results.stats",
    "DEFAULT_TESTS": "native.vocab", "TEST_NAMES": "native.vocab",
    "doctor": "bringup", "DoctorReport": "bringup",
    "ane_programs": "native.programs", "AneProgram": "native.programs",
}

if TYPE_CHECKING:  # what static checkers and IDEs see; at run time __getattr__ loads them
    from anethru.measure.api import SEED_CONFIGS, SEED_KERNELS, release_cached_chains, run_ceiling
    from anethru.measure.suite import run_suite
    from anethru.results.failure import ConfigFailure
    from anethru.native.backends import BackendInfo, backends, best_backend
    from anethru.bringup import DoctorReport, doctor
    from anethru.measure.chain import Chain, Measurement
    from anethru.results.compare import Comparison, compare
    from anethru.native.programs import AneProgram, ane_programs
    from anethru.errors import (AnethruError, BackendUnavailableError, ChainCheckError,
                                CompileError, EvalError, InternalError, LimitError, LockError,
                                NativeMemoryError, ResultFormatError, SuiteInterrupted,
                                UnsupportedError, WorkerError, WorkerTimeoutError,
                                WorkerUnavailableError)
    from anethru.results.ceiling import CeilingResult, ChainCheck, Config, Derived, TestResult
    from anethru.results.loader import load_results
    from anethru.results.stats import Stats
    from anethru.measure.sweep import SweepInterrupted, run_sweep
    from anethru.results.failure import SweepFailure
    from anethru.results.sweep import SweepResult, load_sweep
    from anethru.native.vocab import DEFAULT_TESTS, TEST_NAMES
    from anethru.measure.worker.parent import run_in_worker


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'anethru' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # the next lookup is a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))


__all__ = ["__version__", *_EXPORTS]
