"""Measuring in a fresh worker process: ``run_ceiling(..., isolate=True)``, ``run_suite(...,
isolate=True)``, and ``run_in_worker`` for any batch of such work (a sweep that must respect the
ANE's per-process compile limit runs each batch this way).

Why a process: on the ANE every compile counts against a per-process limit (about 119) that a
training script needs for itself, and the private framework can crash or hang.  In a worker,
none of the compiles are the caller's, a crash or a hang becomes an exception here, and the
worker is gone when the call returns.

The worker is ``python -c`` importing anethru.measure.worker.child (not multiprocessing: its spawn start
method re-runs the caller's ``__main__``, which in a training script is the training).  Arguments
go to it as JSON and results come back as their JSON (anethru/_wire.py), so only plain values
cross: numbers, strings, lists, dicts, and the results themselves.
"""

from __future__ import annotations

import collections
import functools
import importlib
import inspect
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from typing import Any, Callable, Optional

from anethru.measure.worker import wire as _wire
from anethru.errors import WorkerError, WorkerTimeoutError, WorkerUnavailableError

# A worker that sent its result but does not exit within this long is killed.
EXIT_GRACE_S = 10.0
STDERR_TAIL_LINES = 20
_BOOT = "import sys; sys.path.insert(0, sys.argv[1]); from anethru.measure.worker.child import main; sys.exit(main())"


def run_in_worker(func: Callable[..., Any], *args: Any, timeout: Optional[float] = None,
                  **kwargs: Any) -> Any:
    """``func(*args, **kwargs)`` in a fresh Python process; returns what it returned.

    ``func`` must be a function importable by its module and name (not a lambda, a nested
    function or one defined in the ``__main__`` script); arguments must be plain JSON values;
    it may return results (``CeilingResult``, ``ConfigFailure``), lists and dicts of them, and
    plain JSON values.  Results come back recorded as isolated (``"isolated"`` in
    ``result.config.options``).  A ``progress`` callable in ``kwargs`` stays here and receives
    the worker's progress lines.

    An exception in the worker is raised here as the same class (anethru's errors and Python's
    built-in ones; others become ``WorkerError``), its worker traceback in
    ``exc.worker_traceback``.  A worker that dies raises ``WorkerError`` (with its exit status
    or signal and its last lines on stderr); one still running after ``timeout`` seconds is
    killed and raises ``WorkerTimeoutError``; ``WorkerUnavailableError`` when no worker can be
    started here.  The worker never outlives this call.
    """
    target = _importable_name(func)
    timeout = _check_timeout(timeout)
    progress = kwargs.pop("progress", None)
    if progress is not None and not callable(progress):
        raise TypeError(f"progress must be callable; got {progress!r}")
    _check_plain(func, args, kwargs)
    request = {"call": target, "args": list(args), "kwargs": kwargs,
               "progress": progress is not None, "sys_path": list(sys.path)}
    worker = _Worker.start(target)
    try:
        worker.send(request)
        return worker.outcome(timeout, progress or (lambda line: None))
    finally:
        worker.stop()


def check_isolate(isolate: object, timeout: object) -> bool:
    """``isolate`` as a bool, refusing a ``timeout`` without it (a measurement in this process
    cannot be stopped from outside)."""
    if not isinstance(isolate, bool):
        raise TypeError(f"isolate must be True or False; got {isolate!r}")
    if timeout is not None and not isolate:
        raise ValueError(f"timeout={timeout!r} needs isolate=True: a measurement in this "
                         "process cannot be stopped from outside")
    return isolate


def isolatable(func: Callable[..., Any]) -> Callable[..., Any]:
    """``func`` with two more keywords: ``isolate=True`` runs the call through
    ``run_in_worker``, with ``timeout`` seconds at most.  Every other argument passes through
    untouched, so ``func`` can change its own keywords freely."""

    @functools.wraps(func)
    def call(*args: Any, isolate: bool = False, timeout: Optional[float] = None,
             **kwargs: Any) -> Any:
        if not check_isolate(isolate, timeout):
            return func(*args, **kwargs)
        return run_in_worker(func, *args, timeout=timeout, **kwargs)

    sig = inspect.signature(func)
    params = [p for p in sig.parameters.values() if p.kind != p.VAR_KEYWORD]
    params += [inspect.Parameter("isolate", inspect.Parameter.KEYWORD_ONLY, default=False,
                                 annotation="bool"),
               inspect.Parameter("timeout", inspect.Parameter.KEYWORD_ONLY, default=None,
                                 annotation="Optional[float]")]
    params += [p for p in sig.parameters.values() if p.kind == p.VAR_KEYWORD]
    call.__signature__ = sig.replace(parameters=params)  # type: ignore[attr-defined]
    return call


# ---------------------------------------------------------------------- checks on the caller's side
def _importable_name(func: Callable[..., Any]) -> str:
    module, qualname = getattr(func, "__module__", None), getattr(func, "__qualname__", None)
    if not callable(func) or not module or not qualname:
        raise TypeError(f"run_in_worker needs a function importable by name; got {func!r}")
    if module == "__main__":
        raise TypeError(f"{qualname} is defined in the __main__ script, which a worker cannot "
                        "import; move it into a module")
    if "<" in qualname:
        raise TypeError(f"{module}.{qualname} is a lambda or a nested function, which a worker "
                        "cannot import; use a module-level function")
    try:
        found: Any = importlib.import_module(module)
        for part in qualname.split("."):
            found = getattr(found, part)
    except (ImportError, AttributeError):
        raise TypeError(f"{module}.{qualname} cannot be imported by that name, so a worker "
                        "could not find it") from None
    while found is not func and hasattr(found, "__wrapped__"):
        found = found.__wrapped__  # the name may hold a decorated version (run_ceiling does)
    if found is not func:
        raise TypeError(f"{module}.{qualname} names another object than {func!r}")
    return f"{module}:{qualname}"


def _check_timeout(timeout: object) -> Optional[float]:
    if timeout is None:
        return None
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
        raise ValueError(f"timeout must be a positive number of seconds or None; got {timeout!r}")
    # Beyond threading.TIMEOUT_MAX a wait raises OverflowError, after the worker started.
    if not timeout <= threading.TIMEOUT_MAX:
        raise ValueError(f"timeout must be at most {threading.TIMEOUT_MAX:.0f} seconds (None "
                         f"waits for ever); got {timeout!r}")
    return float(timeout)


def _check_plain(func: Callable[..., Any], args: tuple, kwargs: dict) -> None:
    """Arguments travel as JSON: name the first one that cannot (numpy scalars included)."""
    named: dict[str, Any] = {}
    try:
        sig = inspect.signature(func)
        for name, value in sig.bind_partial(*args, **kwargs).arguments.items():
            kind = sig.parameters[name].kind
            if kind == inspect.Parameter.VAR_KEYWORD:
                named.update(value)
            elif kind == inspect.Parameter.VAR_POSITIONAL:
                named.update((f"{name}[{i}]", v) for i, v in enumerate(value))
            else:
                named[name] = value
    except (TypeError, ValueError):
        named = {**{f"argument {i}": a for i, a in enumerate(args)}, **kwargs}
    for name, value in named.items():
        try:
            json.dumps(value, allow_nan=False)
        except (TypeError, ValueError):
            raise TypeError(f"a worker gets its arguments as JSON, and {name}={value!r:.80} "
                            f"({type(value).__name__}) is not a plain JSON value") from None


# ---------------------------------------------------------------------- the process
class _Worker:
    """One worker process, its protocol pipe read on one thread and its stderr on another."""

    def __init__(self, proc: subprocess.Popen, protocol_r: int, target: str) -> None:
        self.proc, self.target = proc, target
        self.answered = False  # a result, an error or the end of its pipe has arrived
        self.messages: queue.Queue = queue.Queue()
        self.stderr_tail: collections.deque = collections.deque(maxlen=STDERR_TAIL_LINES)
        self.readers = [
            threading.Thread(target=self._read_protocol, args=(protocol_r,), daemon=True,
                             name="anethru-worker-protocol"),
            threading.Thread(target=self._read_stderr, daemon=True, name="anethru-worker-stderr"),
        ]
        for t in self.readers:
            t.start()

    @classmethod
    def start(cls, target: str) -> "_Worker":
        if getattr(sys, "frozen", False):
            raise WorkerUnavailableError(
                "isolate=True cannot start a worker from a frozen application (sys.frozen is "
                f"set; sys.executable {sys.executable!r} is the application, not Python)")
        if not sys.executable:
            raise WorkerUnavailableError("isolate=True cannot start a worker: sys.executable is "
                                         "empty, so there is no Python interpreter to run")
        package_parent = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        protocol_r, protocol_w = os.pipe()
        try:
            # stdout is the protocol pipe; a new session makes the worker and anything it
            # starts one process group, killed together.
            proc = subprocess.Popen([sys.executable, "-c", _BOOT, package_parent],
                                    stdin=subprocess.PIPE, stdout=protocol_w,
                                    stderr=subprocess.PIPE, close_fds=True,
                                    start_new_session=True)
        except (OSError, ValueError, NotImplementedError) as exc:
            os.close(protocol_r)
            raise WorkerUnavailableError(
                f"isolate=True could not start a worker ({sys.executable} -c ...): {exc}") from exc
        finally:
            os.close(protocol_w)
        return cls(proc, protocol_r, target)

    def send(self, request: dict) -> None:
        try:
            self.proc.stdin.write(_wire.dumps(request))
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            pass  # it died at start; outcome() reports how

    def _read_protocol(self, fd: int) -> None:
        with os.fdopen(fd, "rb") as pipe:
            for line in pipe:
                try:
                    self.messages.put(json.loads(line))
                except ValueError:
                    self.stderr_tail.append(f"(garbled protocol line: {line[:200]!r})")
        self.messages.put(None)  # the worker closed its end: it is ending

    def _read_stderr(self) -> None:
        for raw in self.proc.stderr:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            self.stderr_tail.append(line)
            print(f"[anethru worker] {line}", file=sys.stderr, flush=True)

    def outcome(self, timeout: Optional[float], progress: Callable[[str], None]) -> Any:
        try:
            return self._answer(timeout, progress)
        except KeyboardInterrupt:
            if self.answered:
                raise
            self._pass_on_interrupt()

    def _pass_on_interrupt(self) -> None:
        """Ctrl-C here reaches the worker too (it runs in a session of its own, away from the
        terminal): it stops within one pass and answers with what finished (run_suite's
        SuiteInterrupted, raised here with its results).  A second Ctrl-C, or no answer within
        EXIT_GRACE_S, and it is killed (by stop())."""
        try:
            self.proc.send_signal(signal.SIGINT)
            self._answer(EXIT_GRACE_S, lambda line: None)
        except KeyboardInterrupt:
            raise  # the worker's SuiteInterrupted, or a second Ctrl-C here
        except Exception:
            pass   # the worker ended otherwise: the interrupt is what the caller asked for
        raise KeyboardInterrupt

    def _answer(self, timeout: Optional[float], progress: Callable[[str], None]) -> Any:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            remaining = None if deadline is None else deadline - time.monotonic()
            try:
                if remaining is not None and remaining <= 0:
                    raise queue.Empty
                message = self.messages.get(timeout=remaining)
            except queue.Empty:
                self.kill()
                raise WorkerTimeoutError(
                    f"the anethru worker (pid {self.proc.pid}) running {self.target} did not "
                    f"finish within {timeout:g} s and was killed{self._tail()}") from None
            if message is None:
                self.answered = True
                raise self._died()
            if "progress" in message:
                progress(message["progress"])
            elif "result" in message:
                self.answered = True
                return _wire.decode(message["result"])
            elif "error" in message:
                self.answered = True
                raise _wire.decode_exception(message["error"])

    def _died(self) -> WorkerError:
        try:
            rc = self.proc.wait(timeout=EXIT_GRACE_S)
        except subprocess.TimeoutExpired:
            self.kill()
            rc = self.proc.returncode
        self._join_readers()
        if rc is not None and rc < 0:
            try:
                how = f"was killed by signal {signal.Signals(-rc).name}"
            except ValueError:
                how = f"was killed by signal {-rc}"
        elif rc:
            how = f"exited with status {rc}"
        else:
            how = "exited"
        return WorkerError(f"the anethru worker (pid {self.proc.pid}) running {self.target} "
                           f"{how} before returning a result{self._tail()}")

    def _tail(self) -> str:
        self._join_readers(0.5)
        lines = [ln for ln in self.stderr_tail if ln.strip()]
        return ("; its last lines on stderr:\n  " + "\n  ".join(lines)) if lines else \
            " (it wrote nothing on stderr)"

    def _join_readers(self, timeout: float = 2.0) -> None:
        for t in self.readers:
            t.join(timeout)

    def kill(self) -> None:
        """SIGKILL the worker's process group while its leader is alive (and so its id is
        still ours), then reap it."""
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError, AttributeError):
                self.proc.kill()
        self.proc.wait()

    def stop(self) -> None:
        """End of the call, however it ended.  A worker that has answered (or closed its pipe)
        gets EXIT_GRACE_S to exit on its own; one cut off mid-run (the caller's progress
        callback raised, Ctrl-C) is killed at once.  Then its stdin is closed, which a worker
        still alive anywhere takes as "exit now"."""
        try:
            if self.answered:
                try:
                    self.proc.wait(timeout=EXIT_GRACE_S)
                except subprocess.TimeoutExpired:
                    pass
            self.kill()
        finally:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
            self._join_readers()
            self.proc.stderr.close()
