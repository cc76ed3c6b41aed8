"""Bring-up steps, run one at a time: each ok, failed or skipped, with its time and message.

A step is a name, a function that does one thing and returns what it saw (raising StepFailed,
or any anethru error, when it fails), and the steps it needs.  A step whose needs did not all
pass (or, for ``needs_any``, none passed) is skipped with the reason, so one failure is
reported once, where it happened, and never as a cascade of confusing ones.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable

OK, FAILED, SKIPPED = "ok", "failed", "skipped"


class StepFailed(Exception):
    """A step saw something wrong; the message says what (in the framework's words if any)."""


@dataclass(frozen=True)
class Step:
    name: str
    run: Callable[[Any], str]          # (context) -> the message of a step that passed
    needs: tuple[str, ...] = ()        # every one of these must have passed
    needs_any: tuple[str, ...] = ()    # at least one of these must have passed


@dataclass(frozen=True)
class StepResult:
    name: str
    status: str                        # OK, FAILED or SKIPPED
    ms: float
    message: str

    def to_dict(self) -> dict:
        return {"name": self.name, "status": self.status, "ms": round(self.ms, 3),
                "message": self.message}


def _blocked(step: Step, done: dict[str, StepResult]) -> str:
    """Why a step cannot run ("" if it can)."""
    for need in step.needs:
        r = done.get(need)
        if r is None or r.status != OK:
            return f"needs {need}, which {'failed' if r and r.status == FAILED else 'was skipped'}"
    if step.needs_any and not any(done.get(n) and done[n].status == OK for n in step.needs_any):
        return f"needs one of {', '.join(step.needs_any)} to have passed; none did"
    return ""


def run_steps(steps: Iterable[Step], context: Any) -> list[StepResult]:
    """Every step in order; never raises for a step's sake (a bug in one is its failure)."""
    done: dict[str, StepResult] = {}
    for step in steps:
        why = _blocked(step, done)
        if why:
            done[step.name] = StepResult(step.name, SKIPPED, 0.0, why)
            continue
        t0 = time.perf_counter()
        try:
            status, message = OK, step.run(context)
        except StepFailed as exc:
            status, message = FAILED, str(exc)
        except Exception as exc:  # an anethru error carries the native message; anything else is ours
            from anethru.errors import AnethruError

            status = FAILED
            message = str(exc) if isinstance(exc, AnethruError) else \
                f"internal error in this step: {type(exc).__name__}: {exc}"
        done[step.name] = StepResult(step.name, status, (time.perf_counter() - t0) * 1e3, message)
    return list(done.values())


class NativeSession:
    """A backend's native bring-up session (``anethru_<backend>_bringup_open/_step/_close``):
    the state its steps share; closing it undoes everything they made."""

    def __init__(self, backend: str, channels: int, spatial: int, layers: int,
                 message_size: int = 1024) -> None:
        from anethru.native.lib import ffi, lib

        self._ffi = ffi
        self._step = getattr(lib, f"anethru_{backend}_bringup_step")
        self._close = getattr(lib, f"anethru_{backend}_bringup_close")
        self._message_size = message_size
        self.handle = getattr(lib, f"anethru_{backend}_bringup_open")(channels, spatial, layers)
        if self.handle == ffi.NULL:
            raise MemoryError(f"cannot open a {backend} bring-up session")

    def step(self, step: int, arg: int = 0) -> str:
        msg = self._ffi.new("char[]", self._message_size)
        rc = self._step(self.handle, step, arg, msg, len(msg))
        text = self._ffi.string(msg).decode("utf-8", "replace")
        if rc != 0:  # ANETHRU_OK
            raise StepFailed(text or f"native error {rc}")
        return text

    def close(self) -> None:
        if self.handle not in (None, self._ffi.NULL):
            self._close(self.handle)
        self.handle = None


def native_step(step: int, arg: int = 0) -> Callable[[NativeSession], str]:
    """A step that is one native call of the session."""
    return lambda session: session.step(step, arg)
