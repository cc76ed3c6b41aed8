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
HEADERS = [
    "csrc/anethru.h",
    "csrc/backend.h",
    "csrc/cpu_conv.h",
    "csrc/port_lock.h",
    "csrc/ane_runtime.h",
    "csrc/ane_internal.h",
    "csrc/ane_msg.h",
    "csrc/ane_classes.h",
    "csrc/ane_forms.h",
    "csrc/ane_mil.h",
    "csrc/ane_weights.h",
    "csrc/ane_tmpdir.h",
    "csrc/cuda_api.h",
    "csrc/cuda_driver.h",
    "csrc/cuda_kernels.h",
    "csrc/cuda_kernels_ptx.h",
    "csrc/cuda_tuner.h",
    "csrc/cuda_variants.h",
]
# Plain C sources compiled on every platform.
C_SOURCES = [
    "csrc/backends.c",
    "csrc/messages.c",
    "csrc/cpu_backend.c",
    "csrc/cpu_conv.c",
    "csrc/port_lock.c",
    "csrc/cuda_backend.c",
    "csrc/cuda_bringup.c",
    "csrc/cuda_driver.c",
    "csrc/cuda_tuner.c",
    "csrc/cuda_variants.c",
    "csrc/virtual_backend.c",
    # The ANE's program forms (MIL text, weight files) and class names: plain C, built
    # everywhere so that anethru.ane_programs() shows what the backend compiles on any OS.
    "csrc/ane_forms.c",
    "csrc/ane_mil.c",
    "csrc/ane_weights.c",
    "csrc/ane_classes.c",
]
OBJC_SOURCES = ["csrc/ane_framework.m", "csrc/ane_kernel.m", "csrc/ane_runtime.m",
                "csrc/ane_bringup.m", "csrc/throughput.m"]
# Plain C helper of the ANE backend (its private temp directories): built with it.
ANE_C_SOURCES = ["csrc/ane_tmpdir.c"]
# Where the ANE runtime is not built: the "ane" backend that says why, and its bring-up stubs.
ANE_ABSENT_SOURCES = ["csrc/ane_absent.c"]
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
