"""Compilers and flags for checking and running the macOS Objective-C sources on Linux.

clang + GNUstep Base (gcc's libobjc underneath) + the declarations-only shim in ``shim/``.
Install the packages with ``tests/objc/install_deps.sh``.  Without them the tests that need them
skip, saying how to get them; under ``CI=true`` they fail instead (see ``require``).
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
from functools import lru_cache
from typing import NoReturn

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CSRC = os.path.join(ROOT, "csrc")
SHIM = os.path.join(HERE, "shim")
GNUSTEP_INCLUDE = "/usr/include/GNUstep"
APT_PACKAGES = "clang libgnustep-base-dev libblocksruntime-dev"


def linux_x86_64() -> bool:
    """The platform CI runs the check on, where it must run (the run-time layer is x86_64-only)."""
    return sys.platform.startswith("linux") and platform.machine() in ("x86_64", "AMD64")


@lru_cache(maxsize=None)
def missing() -> str:
    """Why the toolchain cannot run here ("" when it can)."""
    needs = []
    if not shutil.which("clang"):
        needs.append("clang")
    if not shutil.which("gcc"):
        needs.append("gcc (for its objc headers)")
    if not os.path.exists(os.path.join(GNUSTEP_INCLUDE, "Foundation", "Foundation.h")):
        needs.append("GNUstep Base headers")
    if not os.path.exists("/usr/include/Block.h"):
        needs.append("BlocksRuntime headers")
    if not needs:
        return ""
    return (f"the Objective-C checks need clang and GNUstep; missing {', '.join(needs)}: on "
            f"Debian or Ubuntu run `sudo bash tests/objc/install_deps.sh` (apt-get install "
            f"{APT_PACKAGES}), elsewhere install clang, GNUstep Base and BlocksRuntime with the "
            f"system's package manager")


def in_ci() -> bool:
    """CI=true (what CI services and .ci/run set): a check that cannot run is a failure there."""
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def unavailable(reason: str) -> NoReturn:
    """Skip the calling test, saying why and how to get the toolchain; under CI=true, fail it:
    CI must not pass with the Objective-C checks silently skipped."""
    import pytest

    if in_ci():
        pytest.fail(f"CI=true and {reason}", pytrace=False)
    pytest.skip(reason)


def require() -> None:
    """The toolchain, or a skip (a failure under CI=true) saying how to get it."""
    reason = missing()
    if reason:
        unavailable(reason)


@lru_cache(maxsize=None)
def gcc_include() -> str:
    return subprocess.check_output(["gcc", "-print-file-name=include"], text=True).strip()


def common_flags() -> list[str]:
    """What every Objective-C compile here needs: GNUstep's ABI, the shim before the system
    headers (its objc_msgSend prototype must win), gcc's objc headers last."""
    return ["-std=gnu11", "-fblocks", "-fobjc-exceptions", "-fexceptions",
            "-fobjc-runtime=gnustep-1.9",
            "-isystem", SHIM, "-isystem", GNUSTEP_INCLUDE, "-idirafter", gcc_include(),
            "-DGNUSTEP", "-DGNUSTEP_BASE_LIBRARY=1", "-DGNU_RUNTIME=1",
            "-Wall", "-Wextra", "-Werror"]


# What the macOS build passes (anethru/_build.py): ARC, and ARC that survives exceptions.
ARC_FLAGS = ["-fobjc-arc", "-fobjc-arc-exceptions"]


# AppleNeuralEngine.framework ships no headers: the shim declares what the backend sends it,
# and the ANE sources are checked with it force-included and -Wundeclared-selector, so a
# misspelt selector is a compile error.  Plain Objective-C on Foundation: usable over Apple's
# SDK headers too.
PRIVATE_API_HEADER = os.path.join(SHIM, "AppleNeuralEngine", "AppleNeuralEngine.h")
SELECTOR_FLAGS = ["-include", PRIVATE_API_HEADER, "-Wundeclared-selector"]


def syntax_check_command(path: str, csrc: str = CSRC) -> list[str]:
    """clang -fsyntax-only of one source in its macOS configuration (csrc: the source tree its
    includes come from; a planted copy's own)."""
    if path.endswith(".m"):
        return (["clang", "-fsyntax-only", "-x", "objective-c"] + common_flags() + ARC_FLAGS +
                SELECTOR_FLAGS + ["-DANETHRU_CHECK_MACOS", "-DANETHRU_WITH_ANE=1", "-I", csrc,
                                  path])
    return ["clang", "-fsyntax-only", "-x", "c", "-std=gnu11", "-Wall", "-Wextra", "-Werror",
            "-I", csrc, path]


def objc_compile_command(src: str, obj: str, arc: bool = True, extra: list[str] | None = None) -> list[str]:
    flags = ["-x", "objective-c", "-fPIC", "-O1", "-g", "-fconstant-string-class=NSConstantString"]
    return (["clang", "-c"] + flags + common_flags() + (ARC_FLAGS if arc else []) +
            (extra or []) + [src, "-o", obj])


def c_compile_command(src: str, obj: str, extra: list[str] | None = None) -> list[str]:
    return (["clang", "-c", "-x", "c", "-std=gnu11", "-fPIC", "-O1", "-g", "-Wall", "-Wextra",
             "-Werror", "-idirafter", gcc_include()] + (extra or []) + [src, "-o", obj])


# Linked into everything holding Objective-C: clang's modules are rewritten for gcc's
# runtime on load (linuxrt/objc2_compat.c).
OBJC_LINK = ["-Wl,--wrap=__objc_exec_class", "-lgnustep-base", "-lobjc", "-lBlocksRuntime",
             "-lpthread", "-ldl", "-lm"]
