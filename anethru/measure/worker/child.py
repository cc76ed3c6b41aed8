"""The worker process behind ``isolate=True`` and ``run_in_worker`` (anethru/worker.py).

Started by the caller as a fresh interpreter; reads one request line on stdin, calls the named
function, writes progress lines and then the result (or the exception) as JSON lines on what was
its stdout (anethru/_wire.py).  Anything printed while measuring, by Python or by native code,
goes to stderr instead, so it cannot corrupt the protocol.  When the caller goes away (its end of
stdin closes) the worker ends at once: nothing is left running behind a dead caller.
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import sys
import threading
from typing import Any, Callable

from anethru.measure.worker import wire as _wire


def _resolve(target: str) -> Callable[..., Any]:
    module_name, _, qualname = target.partition(":")
    obj: Any = importlib.import_module(module_name)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


def _read_request() -> bytes:
    """The request line, read from fd 0 directly: sys.stdin's buffered reader would hold a
    lock that the watch thread below cannot release at interpreter shutdown."""
    data = b""
    while not data.endswith(b"\n"):
        chunk = os.read(0, 65536)
        if not chunk:
            break
        data += chunk
    return data


def _exit_when_caller_goes() -> None:
    while os.read(0, 4096):
        pass
    os._exit(3)  # the caller closed its end: it has what it needs, or it is gone


def _release_cached_chains() -> None:
    """ANE chains kept for reuse hold compiled programs and temporary directories: free them
    before the process ends."""
    api = sys.modules.get("anethru.measure.api")
    if api is not None:
        api.release_cached_chains()


def main() -> int:
    protocol = os.fdopen(os.dup(1), "wb", buffering=0)
    os.dup2(2, 1)  # fd 1 (Python's print and native printf alike) now goes to stderr
    lock = threading.Lock()

    def send(message: dict) -> None:
        data = _wire.dumps(message)
        with lock:
            protocol.write(data)

    # The caller passes its Ctrl-C on (worker/parent.py); honour it even where the worker was
    # started with SIGINT ignored (from a background shell).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    line = _read_request()
    if not line.strip():
        return 2  # started without a request: nothing to do
    threading.Thread(target=_exit_when_caller_goes, name="anethru-caller-watch",
                     daemon=True).start()
    try:
        request = json.loads(line)
        sys.path[:] = request.get("sys_path") or sys.path  # import what the caller would
        func = _resolve(request["call"])
        kwargs = dict(request.get("kwargs") or {})
        if request.get("progress"):
            kwargs["progress"] = lambda text: send({"progress": str(text)})
        try:
            value = func(*request.get("args", ()), **kwargs)
        finally:
            _release_cached_chains()
        send({"result": _wire.encode(value)})
    except BaseException as exc:  # SystemExit and KeyboardInterrupt too: the caller must hear
        send({"error": _wire.encode_exception(exc)})
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
