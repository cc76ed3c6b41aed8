"""Exceptions, and the one place that maps native status codes to them."""

from __future__ import annotations


class AnethruError(Exception):
    """Base class of every error anethru raises on purpose."""


class BackendUnavailableError(AnethruError):
    """The requested backend cannot run on this machine; the message says why."""


class UnsupportedError(AnethruError):
    """The backend cannot do what was asked (for example, chain kernels)."""


class NativeMemoryError(AnethruError, MemoryError):
    """Native code could not allocate a buffer."""


class CompileError(AnethruError):
    """Compiling or loading a kernel failed; the message is the backend's."""


class EvalError(AnethruError):
    """An eval (or a buffer lock around it) reported failure during a run."""


class LockError(EvalError):
    """Locking or unlocking a kernel's buffer failed during a run (an EvalError, as it always was:
    the run stopped inside a pass)."""


class LimitError(AnethruError):
    """A per-process limit of the backend would be exceeded (ANE compiles, loaded programs)."""


class ChainCheckError(AnethruError):
    """The chain's output did not match the expected values: timing it would be meaningless."""


class AneShapeWarning(UserWarning):
    """An ANE configuration that public reports say fails at eval; it is tried anyway."""


class InternalError(AnethruError):
    """Unexpected native failure (for example an exception caught inside a backend)."""


class WorkerError(AnethruError):
    """An isolated measurement's worker process died or broke off before returning a result;
    the message says how (exit status or signal) and ends with its last lines on stderr."""


class WorkerTimeoutError(WorkerError, TimeoutError):
    """The worker did not return within its timeout; it was killed."""


class WorkerUnavailableError(WorkerError):
    """No worker process can be started here (a frozen application, no interpreter to run)."""


class SuiteInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped ``run_suite``: ``results`` holds every configuration that finished
    (results and failures, in order), ``config`` the (channels, spatial) it interrupted (None
    when it came between two configurations)."""

    def __init__(self, results: list, config: "tuple[int, int] | None") -> None:
        where = f" during {config[0]}x{config[1]}" if config else ""
        super().__init__(f"interrupted{where}; {len(results)} configuration(s) finished")
        self.results = results
        self.config = config


class ResultFormatError(AnethruError, ValueError):
    """A results document is malformed, inconsistent or of an unknown version.

    ``path`` is the JSON path of the first bad field (``$.results[0].tests.run_only.iters``),
    ``reason`` what is wrong with it; ``str()`` is both."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


# Native status names (csrc/anethru.h) -> exception classes; the numbers come from the native
# module itself (anethru.native.lib), so none is copied here, and tests/test_vocab.py checks that
# every ANETHRU_E_* of the header has its own entry.  ANETHRU_E_ARG becomes ValueError because
# Python validates arguments first; reaching it means a value slipped past that validation.
# ANETHRU_E_INTERRUPTED is Ctrl-C, stopped between passes: KeyboardInterrupt, as Python's own.
BY_NATIVE_NAME: dict[str, type[BaseException]] = {
    "ANETHRU_E_ARG": ValueError,
    "ANETHRU_E_UNAVAILABLE": BackendUnavailableError,
    "ANETHRU_E_UNSUPPORTED": UnsupportedError,
    "ANETHRU_E_NOMEM": NativeMemoryError,
    "ANETHRU_E_COMPILE": CompileError,
    "ANETHRU_E_EVAL": EvalError,
    "ANETHRU_E_LOCK": LockError,
    "ANETHRU_E_LIMIT": LimitError,
    "ANETHRU_E_INTERNAL": InternalError,
    "ANETHRU_E_INTERRUPTED": KeyboardInterrupt,
}


def error_for(codes: dict[int, str], code: int, message: str) -> BaseException:
    """The exception for a native status code (``codes``: number -> ANETHRU_E_* name, as the
    native module defines them), carrying the native message; an unknown code is internal."""
    cls = BY_NATIVE_NAME.get(codes.get(code, ""), InternalError)
    return cls(message)
