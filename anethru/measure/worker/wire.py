"""What crosses between a caller and its worker process (anethru/worker.py, anethru/_worker.py):
one JSON line per message, results as their own JSON (``CeilingResult.to_dict``/``from_dict``),
exceptions as class name and message.

Caller -> worker (stdin, one line):  {"call": "module:qualname", "args": [...], "kwargs": {...},
                                      "progress": bool, "sys_path": [...]}
Worker -> caller (protocol pipe):    {"progress": "line"} ... then {"result": value}
                                      or {"error": exception}
"""

from __future__ import annotations

import builtins
import json
import traceback
from typing import Any

from anethru import errors
from anethru.results.failure import ConfigFailure

TAG = "__anethru__"  # marks an encoded object in a result; plain dicts never carry it
ISOLATED = "isolated"  # recorded in Config.options of a result measured in a worker


def dumps(message: dict) -> bytes:
    return (json.dumps(message, separators=(",", ":")) + "\n").encode()


def encode(value: Any) -> Any:
    """A worker's return value as JSON-ready data: results, suite entries, lists and dicts of
    them, and plain JSON values."""
    from anethru.results.ceiling import CeilingResult

    if isinstance(value, CeilingResult):
        return {TAG: "ceiling", "data": value.to_dict()}
    if isinstance(value, ConfigFailure):
        return {TAG: "config_failure", "channels": value.channels, "spatial": value.spatial,
                "error": encode_exception(value.error)}
    if isinstance(value, (list, tuple)):
        return [encode(v) for v in value]
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise TypeError("a worker can return dicts with string keys only; got keys "
                            f"{sorted(map(repr, value))[:5]}")
        return {k: encode(v) for k, v in value.items()}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"a worker cannot send back a {type(value).__name__} ({value!r:.80}): "
                    "return results, lists, dicts and plain JSON values")


def decode(data: Any, mark_isolated: bool = True) -> Any:
    """The value ``encode`` turned into data; results come back recorded as isolated."""
    if isinstance(data, list):
        return [decode(v, mark_isolated) for v in data]
    if not isinstance(data, dict):
        return data
    kind = data.get(TAG)
    if kind is None:
        return {k: decode(v, mark_isolated) for k, v in data.items()}
    if kind == "ceiling":
        return _ceiling(data["data"], mark_isolated)
    if kind == "config_failure":

        return ConfigFailure(data["channels"], data["spatial"], decode_exception(data["error"]))
    raise ValueError(f"unknown object {kind!r} from an anethru worker")


def _ceiling(d: dict, mark_isolated: bool):
    import dataclasses

    from anethru.results.ceiling import CeilingResult

    result = CeilingResult.from_dict(d)
    if not mark_isolated or ISOLATED in result.config.options:
        return result
    config = dataclasses.replace(result.config, options=(*result.config.options, ISOLATED))
    return dataclasses.replace(result, config=config)


def encode_exception(exc: BaseException) -> dict:
    out = {"type": type(exc).__name__, "module": type(exc).__module__, "message": str(exc),
           "traceback": "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))}
    if isinstance(exc, errors.SuiteInterrupted):  # what finished before the Ctrl-C travels too
        out["results"] = encode(exc.results)
        out["config"] = None if exc.config is None else list(exc.config)
    return out


def decode_exception(d: dict) -> BaseException:
    """The same exception class where the caller has it (anethru's own, Python's built-in
    ones, a Ctrl-C with the configurations that finished), else a WorkerError naming the
    class; the worker's traceback is kept on it as ``worker_traceback``."""
    name, module, message = d["type"], d["module"], d["message"]
    home = {"anethru.errors": errors, "builtins": builtins}.get(module)
    cls = getattr(home, name, None) if home else None
    exc: BaseException
    if cls is errors.SuiteInterrupted:
        config = d.get("config")
        exc = errors.SuiteInterrupted(decode(d.get("results") or []),
                                      None if config is None else tuple(config))
    elif cls is KeyboardInterrupt:
        exc = KeyboardInterrupt(message)
    elif isinstance(cls, type) and issubclass(cls, Exception):
        try:
            exc = cls(message)
        except Exception:  # a built-in whose constructor wants other arguments
            exc = errors.WorkerError(f"{name}: {message}")
    else:
        exc = errors.WorkerError(f"{module}.{name} in the worker: {message}")
    exc.worker_traceback = d.get("traceback", "")  # type: ignore[attr-defined]
    return exc
