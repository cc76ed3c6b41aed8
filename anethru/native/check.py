"""Why anethru's native core cannot be used here, in one line that names the fix.

The traps of a first hour: running from the clone's root after ``pip install .`` (the source
folder, first on ``sys.path``, hides the installed package and has no build of its own), and a
``_native*.so`` left stale by an editable install that was not rebuilt after the C sources
changed.  Both end as :class:`NativeCoreError`, an ImportError whose message says what is
happening and what to do; left uncaught (``python -m anethru``, ``python -c "import anethru"``)
it prints as that one line, without a traceback.
"""

from __future__ import annotations

import importlib.machinery
import os
import sys
from typing import Any, NoReturn, Optional

from anethru.native import stamp as _stamp

PREFIX = "the native core (anethru._native) cannot be loaded: "


class NativeCoreError(ImportError):
    """The native core is missing, cannot be loaded, or is stale; the message says what to do."""


def _has_build(package_dir: str) -> bool:
    return any(os.path.isfile(os.path.join(package_dir, "_native" + suffix))
               for suffix in importlib.machinery.EXTENSION_SUFFIXES)


def _installed_elsewhere(package_dir: str) -> Optional[str]:
    """Another anethru package with a build, further down sys.path than the one imported."""
    here = os.path.realpath(os.path.dirname(package_dir))
    for entry in sys.path:
        base = os.path.realpath(entry or os.getcwd())
        candidate = os.path.join(base, "anethru")
        if base != here and os.path.isfile(os.path.join(candidate, "__init__.py")) \
                and _has_build(candidate):
            return candidate
    return None


def missing_message(package_dir: str, module_name: str, exc: ImportError) -> str:
    """What went wrong when ``module_name`` could not be imported, and the fix."""
    if module_name != "anethru._native":
        return (f"the native module {module_name} named by ANETHRU_NATIVE_MODULE cannot be "
                f"imported: {exc}")
    root = os.path.dirname(package_dir)
    not_built = isinstance(exc, ModuleNotFoundError) and exc.name == module_name
    if not not_built:  # it is there but the loader refused it (wrong platform, missing symbol)
        return (f"{PREFIX}{exc}; rebuild it: `pip install -e .` in the clone, or reinstall "
                f"anethru")
    if _stamp.is_source_tree(root):
        other = _installed_elsewhere(package_dir)
        if other:
            return (f"{PREFIX}{package_dir} is the source folder, which has no build and hides "
                    f"the installed anethru ({other}) because Python looks in the current "
                    f"directory first; run from another directory, or build in place with "
                    f"`pip install -e .`")
        return (f"{PREFIX}{package_dir} is the source folder and has no build; build in place "
                f"with `pip install -e .` in {root} (or `pip install .` there and run from "
                f"another directory)")
    return f"{PREFIX}it is missing from {package_dir}; reinstall anethru"


def stale_message(native: Any, version: str, package_dir: str) -> Optional[str]:
    """Why the loaded anethru._native does not belong to this package, or None when it does."""
    path = getattr(native, "__file__", "anethru._native")
    root = os.path.dirname(package_dir)
    in_tree = _stamp.is_source_tree(root)
    fix = (f"rebuild it with `pip install -e .` in {root} (an editable install does not rebuild "
           f"by itself)" if in_tree else "reinstall anethru")
    try:
        text = native.ffi.string(native.lib.anethru_build_stamp()).decode("ascii", "replace")
    except AttributeError:
        return f"{PREFIX}{path} was built by an older anethru (it has no build stamp); {fix}"
    stamp = _stamp.parse(text)
    if stamp is None:
        return f"{PREFIX}{path} has an unreadable build stamp {text!r}; {fix}"
    built_version, cdef, sources = stamp
    if built_version != version:
        return f"{PREFIX}{path} was built for anethru {built_version}, this is {version}; {fix}"
    if in_tree:
        if cdef != _stamp.cdef_digest(root):
            return (f"{PREFIX}{path} was built before the interface in csrc/anethru.h changed "
                    f"(calling it could crash); {fix}")
        if sources != _stamp.sources_digest(root):
            return f"{PREFIX}{path} was built from other C sources than {root}/csrc now holds; {fix}"
    return None


def _one_line_hook(previous: Any) -> Any:
    def hook(exc_type: type, exc: BaseException, tb: Any) -> None:
        if issubclass(exc_type, NativeCoreError):
            print(f"anethru: error: {exc}", file=sys.stderr, flush=True)
        else:
            previous(exc_type, exc, tb)

    hook.anethru_one_line = True  # type: ignore[attr-defined]
    return hook


def fail(message: str) -> NoReturn:
    """Raise NativeCoreError; if nothing catches it, it prints as one line (no traceback).
    The hook handles this exception alone and passes every other one to the previous hook."""
    if not getattr(sys.excepthook, "anethru_one_line", False):
        sys.excepthook = _one_line_hook(sys.excepthook)
    raise NativeCoreError(message) from None
