"""zig's clang, from the ``ziglang`` PyPI package, as a compiler and linker for macOS.

ziglang ships, beside clang and a Mach-O linker, Apple's libSystem headers for every macOS
target (``lib/libc/include/any-darwin-any``: the C library, POSIX, ``dispatch/``, ``mach/``,
``objc/``) and libSystem's export list as a text stub (``lib/libc/darwin/libSystem.tbd``).
It has no Foundation, CoreFoundation or IOSurface.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
from functools import lru_cache

HOW_TO_GET = 'pip install ziglang (it is in the test extra: pip install -e ".[test]")'


@lru_cache(maxsize=None)
def package_dir() -> str:
    spec = importlib.util.find_spec("ziglang")
    if spec is None or not spec.submodule_search_locations:
        return ""
    return list(spec.submodule_search_locations)[0]


def apple_include() -> str:
    return os.path.join(package_dir(), "lib", "libc", "include", "any-darwin-any")


def libsystem_tbd() -> str:
    return os.path.join(package_dir(), "lib", "libc", "darwin", "libSystem.tbd")


def zig() -> str:
    """The zig executable itself (what ``python -m ziglang`` runs), saving a Python start per
    compile."""
    return os.path.join(package_dir(), "zig.exe" if os.name == "nt" else "zig")


def cc(target: str) -> list[str]:
    return [zig(), "cc", "-target", target]


@lru_cache(maxsize=None)
def version() -> str:
    try:
        proc = subprocess.run([zig(), "version"], capture_output=True, text=True, check=False)
    except OSError:
        return ""
    return proc.stdout.strip() if proc.returncode == 0 else ""


@lru_cache(maxsize=None)
def missing() -> str:
    """Why the check cannot run here, saying how to fix it ("" when it can)."""
    if not package_dir():
        return f"the ziglang package is not installed: {HOW_TO_GET}"
    if not version():
        return f"ziglang is installed but `{zig()} version` fails: reinstall it ({HOW_TO_GET})"
    for path in (os.path.join(apple_include(), "dispatch", "dispatch.h"), libsystem_tbd()):
        if not os.path.exists(path):
            return (f"ziglang {version()} has no {path}: this check needs a ziglang that ships "
                    f"Apple's headers and libSystem.tbd ({HOW_TO_GET})")
    return ""


def must_fail_not_skip(environ=os.environ) -> bool:
    """CI installs the test extra, so there a missing zig is a broken setup, not a skip."""
    return environ.get("CI", "").lower() == "true"
