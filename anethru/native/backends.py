"""Which backends this build has, which can run here, and why the others cannot."""

from __future__ import annotations

import os
from dataclasses import dataclass

from anethru.native.lib import ffi, lib, new_status, status_message
from anethru.errors import BackendUnavailableError


@dataclass(frozen=True)
class BackendInfo:
    name: str
    available: bool
    reason: str          # why it is unavailable; "" when available
    device: str          # what it runs on, when available
    notes: str = ""      # what it learned in this process, e.g. a program form it fell back from

    @property
    def simulated(self) -> bool:
        return "SIMULATED" in self.device.upper()

    def __str__(self) -> str:
        text = f"{self.name}: {self.device}" if self.available else f"{self.name}: unavailable -- {self.reason}"
        return text + "".join(f"\n  note: {line}" for line in self.notes.splitlines())


# Set to 1 to list the test suite's backends ("virtual") too.
TEST_BACKENDS_ENV = "ANETHRU_TEST_BACKENDS"


def _registry() -> list[tuple[str, bool]]:
    """(name, test_only) of every backend in the native registry, in its order."""
    return [(ffi.string(lib.anethru_backend_name(i)).decode(), bool(lib.anethru_backend_test_only(i)))
            for i in range(lib.anethru_backend_count())]


def backend_names(include_test: bool = False) -> list[str]:
    """Every backend this build knows, in the order backend="auto" tries them.  The test
    suite's backends (test_only in csrc/backend.h) only when ``include_test`` or
    ANETHRU_TEST_BACKENDS=1."""
    show_test = include_test or os.environ.get(TEST_BACKENDS_ENV) == "1"
    return [name for name, test_only in _registry() if show_test or not test_only]


def _describe(name: str) -> str:
    buf = ffi.new("char[]", 512)
    if lib.anethru_backend_describe(name.encode(), buf, len(buf)) != lib.ANETHRU_OK:
        return name
    return ffi.string(buf).decode("utf-8", "replace")


def _notes(name: str) -> str:
    buf = ffi.new("char[]", 4096)
    if lib.anethru_backend_notes(name.encode(), buf, len(buf)) != lib.ANETHRU_OK:
        return ""
    return ffi.string(buf).decode("utf-8", "replace").strip()


def probe(name: str) -> BackendInfo:
    st = new_status()
    rc = lib.anethru_backend_probe(name.encode(), st)
    if rc != lib.ANETHRU_OK:
        return BackendInfo(name, False, status_message(st), "")
    return BackendInfo(name, True, "", _describe(name), _notes(name))


def backends(include_test: bool = False) -> list[BackendInfo]:
    """Every backend of this build: whether it can run here, on what, or exactly why not
    (the test suite's backends only when asked, as in :func:`backend_names`)."""
    return [probe(n) for n in backend_names(include_test)]


def resolve(backend: str) -> BackendInfo:
    """The backend a name selects: "auto" picks the first available (ane, cuda, cpu), never a
    test backend; a test backend is used only when named."""
    if not isinstance(backend, str):
        raise TypeError(f"backend must be a string; got {backend!r}")
    names = backend_names()
    if backend == "auto":
        for n in (name for name, test_only in _registry() if not test_only):
            info = probe(n)
            if info.available:
                return info
        raise BackendUnavailableError("no backend is available")  # pragma: no cover - cpu always is
    if backend not in (name for name, _ in _registry()):
        raise ValueError(f"unknown backend {backend!r}; choose one of auto, {', '.join(names)}")
    info = probe(backend)
    if not info.available:
        raise BackendUnavailableError(f"backend {backend!r} is unavailable: {info.reason}")
    return info


def best_backend() -> str:
    return resolve("auto").name



__all__ = ["BackendInfo", "backends", "backend_names", "probe", "resolve", "best_backend"]
