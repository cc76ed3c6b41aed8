"""JSON text as anethru reads it: strict parsing (non-finite numbers kept as markers for the
validator to name), JSON paths for messages, and the package's JSON Schema file.  Shared by the
validator (validation.py) and the versions and upgrades (schema.py)."""

from __future__ import annotations

import json
import math
import re
from functools import lru_cache
from importlib import resources
from typing import Any, Union

from anethru.errors import ResultFormatError

SCHEMA_FILE = "results.schema.json"


class NonFinite:
    """Where a document held Infinity, -Infinity, NaN or an out-of-range number: kept as a
    marker so that the validator can say where (and so 0.1.0 documents can drop theirs)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


def _no_duplicates(pairs: list) -> dict:
    out: dict = {}
    for k, v in pairs:
        if k in out:
            raise ValueError(f"duplicate key {k!r}")
        out[k] = v
    return out


def _float(text: str) -> Union[float, NonFinite]:
    x = float(text)
    return x if math.isfinite(x) else NonFinite(text)


def parse_json(text: Union[str, bytes, bytearray]) -> Any:
    """JSON text -> Python, refusing what is not JSON (Infinity, NaN, duplicate keys, numbers out
    of range are kept as markers for the validator to name; nesting too deep is refused here)."""
    if not isinstance(text, (str, bytes, bytearray)):
        raise TypeError(f"expected JSON text (str or bytes); got {type(text).__name__}")
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates, parse_float=_float,
                          parse_constant=NonFinite)
    except RecursionError:
        raise ResultFormatError("$", "nested too deeply to be an anethru document") from None
    except json.JSONDecodeError as exc:
        raise ResultFormatError("$", f"not valid JSON ({exc.msg} at line {exc.lineno} column "
                                     f"{exc.colno})") from None
    except ValueError as exc:  # a duplicate key, an integer of thousands of digits, bad UTF-8
        raise ResultFormatError("$", f"not valid JSON ({exc})") from None


# ---------------------------------------------------------------------- paths

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def child(path: str, key: Union[str, int]) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if _IDENT.fullmatch(key) else f"{path}[{json.dumps(key)}]"


def show(value: Any) -> str:
    if isinstance(value, NonFinite):
        return value.text
    text = json.dumps(value) if isinstance(value, (str, int, float, bool, type(None))) else None
    if text is None:
        text = {dict: "an object", list: "an array"}.get(type(value), type(value).__name__)
    return text if len(text) <= 60 else text[:57] + "..."


@lru_cache(maxsize=1)
def json_schema() -> dict:
    """The JSON Schema of the current format (package data)."""
    text = resources.files("anethru.results").joinpath(SCHEMA_FILE).read_text(encoding="utf-8")
    return json.loads(text)


def fail(path: str, reason: str) -> None:
    raise ResultFormatError(path, reason)


__all__ = ["NonFinite", "parse_json", "child", "show", "json_schema", "fail", "SCHEMA_FILE"]
