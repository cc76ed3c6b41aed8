"""cffi builder (out-of-line, API mode) for ``anethru._native``.

setuptools runs this file from the project root through ``cffi_modules`` in setup.py, so it must
not import ``anethru`` and every path here is relative to the root.

Per platform:

* macOS: the Objective-C sources (``ane_runtime.m``, ``throughput.m``) are compiled as sources
  with ARC; ``-fobjc-arc-exceptions`` keeps ARC from leaking objects when the private framework
  throws through an ``@try``.  Links Foundation and IOSurface.
* everywhere else: no Objective-C compiler is needed.  gcc cannot compile a ``.m`` file, so the
  plain-C harness ``throughput.m`` is included textually into the generated C module, and the ANE
  runtime is left out (``ane_absent.c`` then explains why the ``ane`` backend is missing).  The
  ANE's program forms are plain C and built everywhere.

Other helpers (tests/objc's simulated-ANE build) reuse ``CDEF``, ``C_SOURCES`` and
``HEADERS`` so that every build of the native core has the same interface; tests/macos compiles
and links ``darwin_config()`` for macOS against Apple's headers on any host.

The extension is stamped with the version and digests of its interface and sources
(``anethru_build_stamp()``, see ``anethru/native/stamp.py``); importing anethru refuses a stale build.
"""

import importlib.util
import os
import platform
import re
import sys

from cffi import FFI

CSRC = "csrc"


# Listed from the tree this file sits in; the paths stay relative to the root, as setuptools wants.
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _in(folder, suffixes):
    """The sources of one folder of csrc/ (not its sub-folders), sorted: the folders are the lists."""
    full = os.path.join(_ROOT, folder)
    return sorted(f"{folder}/{n}" for n in os.listdir(full)
                  if n.endswith(suffixes) and os.path.isfile(os.path.join(full, n)))


def _headers():
    found = []
    for folder, _, names in os.walk(os.path.join(_ROOT, CSRC)):
        rel = os.path.relpath(folder, _ROOT).replace(os.sep, "/")
        found += [f"{rel}/{n}" for n in names if n.endswith(".h")]
    return sorted(found)


HEADERS = _headers()
# Plain C compiled on every platform: the shared core, each backend that needs no Objective-C,
# and the ANE's program forms and class names (csrc/ane/forms/), built everywhere so that
# anethru.ane_programs() shows what the backend compiles on any OS.
PORTABLE_DIRS = ["csrc/common", "csrc/cpu", "csrc/virtual", "csrc/cuda", "csrc/ane/forms"]
C_SOURCES = [src for folder in PORTABLE_DIRS for src in _in(folder, (".c",))]
# The ANE runtime (macOS only): csrc/ane/'s Objective-C, the runtime's entry points and the
# timing loops (throughput.m is also plain C, included textually elsewhere).
ANE_DIR = "csrc/ane"
OBJC_SOURCES = _in(ANE_DIR, (".m",)) + ["csrc/ane_runtime.m", "csrc/throughput.m"]
# Where the ANE runtime is not built: the "ane" backend that says why, and its bring-up stubs.
ANE_ABSENT_SOURCES = ["csrc/ane/ane_absent.c"]
# Plain C helpers of the ANE backend (its private temp directories): built with it.
ANE_C_SOURCES = [c for c in _in(ANE_DIR, (".c",)) if c not in ANE_ABSENT_SOURCES]
C_FLAGS = ["-O3", "-std=gnu11"]


def _read_cdef(header):
    """The declarations between the CDEF markers of a header (cffi cannot parse #include)."""
    with open(header, encoding="utf-8") as f:
        text = f.read()
    match = re.search(r"/\* CDEF-BEGIN \*/(.*?)/\* CDEF-END \*/", text, re.S)
    if not match:
        raise RuntimeError(f"{header} has no CDEF-BEGIN/CDEF-END region")
    return match.group(1)


CDEF = _read_cdef("csrc/anethru.h")


def _load_stamp_module():
    # By path: the package itself cannot be imported before its extension exists.
    spec = importlib.util.spec_from_file_location("_anethru_stamp", os.path.join("anethru", "native", "stamp.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


STAMP = _load_stamp_module().make(".")
# Declared apart from CDEF: only anethru._native carries the stamp.
STAMP_CDEF = "const char *anethru_build_stamp(void);"
STAMP_SOURCE = f'\nconst char *anethru_build_stamp(void) {{ return "{STAMP}"; }}\n'


def _existing(paths):
    return [p for p in paths if os.path.exists(p)]


def darwin_config():
    """The macOS build's set_source arguments (besides the module name and its C source).
    tests/test_macos_apple_headers.py compiles exactly these against Apple's headers."""
    return dict(
        sources=C_SOURCES + ANE_C_SOURCES + OBJC_SOURCES,
        include_dirs=[CSRC],
        depends=_existing(HEADERS),
        define_macros=[("ANETHRU_WITH_ANE", "1")],
        extra_compile_args=C_FLAGS + ["-fobjc-arc", "-fobjc-arc-exceptions", "-fblocks"],
        extra_link_args=["-framework", "Foundation", "-framework", "IOSurface"],
    )


DARWIN_MODULE_SOURCE = '#include "anethru.h"'


def make_ffibuilder():
    ffi = FFI()
    ffi.cdef(CDEF)
    ffi.cdef(STAMP_CDEF)
    if sys.platform == "darwin":
        ffi.set_source("anethru._native", DARWIN_MODULE_SOURCE + STAMP_SOURCE, **darwin_config())
    else:
        ffi.set_source(
            "anethru._native",
            '#include "anethru.h"\n#include "throughput.m"\n' + STAMP_SOURCE,
            sources=C_SOURCES + ANE_ABSENT_SOURCES,
            include_dirs=[CSRC],
            depends=_existing(HEADERS + ["csrc/throughput.m"]),
            extra_compile_args=C_FLAGS,
            libraries=["dl", "pthread", "m"],
        )
    return ffi


ffibuilder = make_ffibuilder()

if __name__ == "__main__":
    print(f"building anethru._native for {sys.platform} {platform.machine()}")
    ffibuilder.compile(verbose=True)
