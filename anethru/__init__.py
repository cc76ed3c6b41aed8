"""anethru: when a chain of kernels runs on an accelerator with the CPU between every pair,
how much of the time is the round trip, and what would chaining save?

    >>> import anethru
    >>> print(anethru.run_ceiling(768, 256))          # doctest: +SKIP

See ``run_ceiling``, ``run_suite``, ``Chain``, ``backends``, ``doctor`` and ``ane_programs``.
"""

__version__ = "0.1.0"

from .api import SEED_CONFIGS, ConfigFailure, SEED_KERNELS, release_cached_chains, run_ceiling, run_suite
from .backends import BackendInfo, backends, best_backend
from .bringup import DoctorReport, doctor
from .chain import Chain, Measurement
from .programs import AneProgram, ane_programs
from .errors import (AnethruError, BackendUnavailableError, ChainCheckError, CompileError,
                     EvalError, InternalError, LimitError, NativeMemoryError, UnsupportedError)
from .result import CeilingResult, ChainCheck, Config, Derived, TestResult, load_results
from .stats import Stats
from .testnames import DEFAULT_TESTS, TEST_NAMES

__all__ = [
    "__version__", "run_ceiling", "run_suite", "ane_programs", "AneProgram", "doctor", "DoctorReport", "ConfigFailure", "release_cached_chains", "SEED_CONFIGS",
    "SEED_KERNELS", "backends", "best_backend", "BackendInfo", "Chain", "Measurement",
    "CeilingResult", "load_results", "ChainCheck", "Config", "Derived", "TestResult", "Stats", "TEST_NAMES",
    "DEFAULT_TESTS", "AnethruError", "BackendUnavailableError", "ChainCheckError", "CompileError",
    "EvalError", "InternalError", "LimitError", "NativeMemoryError", "UnsupportedError",
]
