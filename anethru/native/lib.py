"""Loads the native core and turns its status structs into exceptions.

``ANETHRU_NATIVE_MODULE`` names another importable module with the same cffi interface (``ffi``
and ``lib``) to use instead of ``anethru._native``: the test build of the ANE backend against a
simulated framework is driven through the real API that way.
"""

from __future__ import annotations

import importlib
import os
from typing import Any

from anethru._version import __version__
from anethru.native import check as _native_check
from anethru.errors import error_for
from anethru.native.vocab import TEST_NAMES

_module_name = os.environ.get("ANETHRU_NATIVE_MODULE") or "anethru._native"
_package_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # anethru/
try:
    _native = importlib.import_module(_module_name)
except ImportError as exc:
    _native_check.fail(_native_check.missing_message(_package_dir, _module_name, exc))
if _module_name == "anethru._native":  # other modules (test builds) carry no stamp
    _stale = _native_check.stale_message(_native, __version__, _package_dir)
    if _stale:
        _native_check.fail(_stale)

ffi: Any = _native.ffi
lib: Any = _native.lib
# ANETHRU_E_* number -> name, read from the native module (anethru.errors maps names to classes).
STATUS_NAMES = {getattr(lib, n): n for n in dir(lib) if n.startswith("ANETHRU_E_")}


def new_status() -> Any:
    return ffi.new("anethru_status *")


def status_message(st: Any) -> str:
    return ffi.string(st.message).decode("utf-8", "replace")


def raise_for(rc: int, st: Any, context: str = "", likely_cause: str = "") -> None:
    """Raise the exception for a failed native call, naming where it failed (and, when the
    caller knows one, its likely cause)."""
    if rc == lib.ANETHRU_OK:
        return
    where = []
    if st.test >= 0:
        where.append(TEST_NAMES[st.test] if st.test < len(TEST_NAMES) else f"test {st.test}")
    if st.kernel >= 0:
        where.append(f"kernel {st.kernel}")
    prefix = context + (" (" + ", ".join(where) + ")" if where else "")
    message = status_message(st) + (f"; likely cause: {likely_cause}" if likely_cause else "")
    raise error_for(STATUS_NAMES, rc, f"{prefix}: {message}" if prefix else message)
