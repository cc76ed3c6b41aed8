"""Compile-check the macOS sources on Linux, and prove the check can fail.

    python tests/objc/check_syntax.py          # exit 0 when every source passes and every
                                               # planted error is rejected

1. ``clang -fsyntax-only`` of the ANE backend's Objective-C files and csrc/throughput.m in their
   macOS configuration (ANETHRU_CHECK_MACOS), ARC on, -Wall -Wextra -Werror, against GNUstep's
   Foundation and the shim (IOSurface, CoreFoundation, mach_time, dispatch, sysctl, and an
   arm64-style ``objc_msgSend`` that must be cast at every call), with the shim's declarations of
   the private framework force-included and -Wundeclared-selector; the ANE's C helpers too.
2. Negative cases: copies of the real sources, each with one planted mistake, must be rejected.
   A case whose text no longer occurs in the source fails loudly: update the case, never drop it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import toolchain as tc

SOURCES = ["csrc/ane/ane_framework.m", "csrc/ane/ane_kernel.m", "csrc/ane_runtime.m",
           "csrc/ane/ane_bringup.m", "csrc/throughput.m", "csrc/ane/forms/ane_forms.c", "csrc/ane/forms/ane_mil.c",
           "csrc/ane/forms/ane_weights.c", "csrc/ane/forms/ane_classes.c", "csrc/ane/ane_tmpdir.c", "csrc/ane/ane_absent.c"]


@dataclass(frozen=True)
class Plant:
    name: str
    file: str
    old: str      # exact text in the real source
    new: str      # the mistake put in its place (first occurrence only)
    check: str = ""  # the source compiled to see it, when `file` is a header


F, K, R, T = "csrc/ane/ane_framework.m", "csrc/ane/ane_kernel.m", "csrc/ane_runtime.m", "csrc/throughput.m"
M = "csrc/ane/ane_msg.h"  # the typed wrappers: every private selector the backend sends
PLANTS = [
    # typo'd methods
    Plant("nsstring_method_typo", F, "[msg UTF8String]", "[msg UTF8Strng]"),
    Plant("nsstring_path_typo", K, "stringByAppendingPathComponent:hex]",
          "stringByAppendingPathComponents:hex]"),
    # misspelt private selectors: only -Wundeclared-selector against the shim's declarations
    # of the private classes can see these (the framework is looked up at run time)
    Plant("selector_typo_compile", M, "compileWithQoS:options:error:,", "compileWithQos:options:error:,", K),
    Plant("selector_typo_hex", M, "hexStringIdentifier, 0", "hexStringIdentifer, 0", K),
    Plant("selector_typo_request", M, "weightsBuffer:perfStats:procedureIndex:,",
          "weightBuffer:perfStats:procedureIndex:,", K),
    Plant("selector_typo_realtime", M, "evaluateRealTimeWithModel:options:request:error:,",
          "evaluateRealtimeWithModel:options:request:error:,", K),
    Plant("selector_typo_direct", M, "doEvaluateDirectWithModel:options:request:qos:error:,",
          "doEvaluateDirectWithModel:options:request:qoS:error:,", K),
    Plant("selector_typo_init", M, "initWithRestrictedAccessAllowed:, 1",
          "initWithRestrictedAccess:, 1", K),
    Plant("selector_typo_responds_check", K, "@selector(evaluateRealTimeWithModel:options:request:error:)",
          "@selector(evaluateRealTimeWithModel:option:request:error:)"),
    # IOSurface C API misuse
    Plant("iosurfacelock_swapped_args", R, "IOSurfaceLock(s, opts, NULL)", "IOSurfaceLock(s, NULL, opts)"),
    Plant("iosurfacelock_string_options", R, "IOSurfaceLock(s, opts, NULL)", 'IOSurfaceLock(s, "ro", NULL)'),
    Plant("iosurfacelock_object_as_surface", R, "IOSurfaceLock(s, opts, NULL)",
          "IOSurfaceLock((__bridge id)s, opts, NULL)"),
    Plant("iosurfacelock_wrong_seed_type", R, "kern_return_t kr = IOSurfaceUnlock(s, opts, NULL);",
          "uint64_t seed = 0;\n    kern_return_t kr = IOSurfaceUnlock(s, opts, &seed);"),
    Plant("undeclared_lock_constant", R, "? kIOSurfaceLockReadOnly : 0", "? kIOSurfaceLockReadonly : 0"),
    Plant("undeclared_function", R, "*addr = IOSurfaceGetBaseAddress(s)", "*addr = IOSurfaceGetBaseAdress(s)"),
    # objc_msgSend must be cast to the exact function type, and the typed wrappers hold it to
    # the declared signature
    Plant("uncast_objc_msgsend", M, "return ((ret(*)(id, SEL ANE_TYPES_##n(__VA_ARGS__)))objc_msgSend)(",
          "return objc_msgSend(", K),
    Plant("nserror_not_by_address", K, "ANE_QOS, @{}, &e)", "ANE_QOS, @{}, e)"),
    Plant("wrapper_wrong_argument_type", K, "ane_msg_model_compile(k->model, ANE_QOS, @{}, &e)",
          "ane_msg_model_compile(k->model, @21, @{}, &e)"),
    # ARC bridging and ownership
    # (a plain C cast straight into the call is legal: IOSurfaceCreate is CF-audited)
    Plant("missing_bridge_to_cf", K, "return IOSurfaceCreate((__bridge CFDictionaryRef)props);",
          "CFDictionaryRef cf = (CFDictionaryRef)props;\n    return IOSurfaceCreate(cf);"),
    Plant("implicit_bridge_to_cf", K, "IOSurfaceCreate((__bridge CFDictionaryRef)props)",
          "IOSurfaceCreate(props)"),
    Plant("missing_bridge_retained", R, "*kernel = (__bridge_retained void *)k;", "*kernel = (void *)k;"),
    Plant("missing_bridge_transfer", R, "(__bridge_transfer ANEThruKernel *)kernel",
          "(ANEThruKernel *)kernel"),
    Plant("release_under_arc", R, "        k = nil;\n    }\n}", "        [k release];\n    }\n}"),
    # wrong types into C APIs
    Plant("format_mismatch", K, '"IOSurfaceCreate(%zu bytes) failed", alloc',
          '"IOSurfaceCreate(%d bytes) failed", alloc'),
    Plant("object_to_dlopen", F, "dlopen(path, RTLD_NOW)", 'dlopen(@"AppleNeuralEngine", RTLD_NOW)'),
    Plant("sysctl_length_by_value", F, "sysctlbyname(name, buf, &len, NULL, 0)",
          "sysctlbyname(name, buf, len, NULL, 0)"),
    Plant("misspelt_import", M, "#import <IOSurface/IOSurface.h>\n", "#import <IOSurface/IOSurfaceAPI.h>\n", K),
    Plant("unused_variable", F, "    size_t len = buflen;", "    size_t len = buflen, spare = 0;"),
    # throughput.m in its macOS configuration (GCD, mach_time)
    Plant("gcd_bridge_missing", T, "#define GCD_KEEP(obj) ((__bridge_retained void *)(obj))",
          "#define GCD_KEEP(obj) ((void *)(obj))"),
    Plant("dispatch_release_under_arc", T, "    q->queue = q->last_done = NULL;",
          "    dispatch_release(GCD_USE(dispatch_queue_t, q->queue));\n    q->queue = q->last_done = NULL;"),
    Plant("dispatch_async_f_wrong_function", T, "ctx, fn);", "ctx, q);"),
    Plant("semaphore_without_bridge", T,
          "dispatch_semaphore_signal(GCD_USE(dispatch_semaphore_t, q->last_done))",
          "dispatch_semaphore_signal(q->last_done)"),
    Plant("mach_timebase_by_value", T, "mach_timebase_info(&tb)", "mach_timebase_info(tb)"),
    Plant("mach_time_typo", T, "mach_absolute_time() *", "mach_absolute_tim() *"),
]


def check(path: str, csrc: str = tc.CSRC) -> tuple[bool, str]:
    """(passed, compiler output) for one file checked as the real source it stands for."""
    proc = subprocess.run(tc.syntax_check_command(path, csrc), capture_output=True, text=True,
                          cwd=tc.ROOT, check=False)
    return proc.returncode == 0, proc.stdout + proc.stderr


def check_sources() -> dict[str, tuple[bool, str]]:
    return {src: check(os.path.join(tc.ROOT, src)) for src in SOURCES}


def planted_source(plant: Plant) -> str:
    with open(os.path.join(tc.ROOT, plant.file), encoding="utf-8") as f:
        text = f.read()
    if plant.old not in text:
        raise LookupError(f"{plant.name}: {plant.old!r} no longer occurs in {plant.file}; "
                          "update the case to plant the same mistake")
    return text.replace(plant.old, plant.new, 1)


def check_plant(plant: Plant) -> tuple[bool, str]:
    """(rejected, first error line).  The mistake goes into a copy of the whole source tree, so
    every file that includes a planted header sees it."""
    text = planted_source(plant)
    with tempfile.TemporaryDirectory() as d:
        csrc = os.path.join(d, "csrc")
        shutil.copytree(tc.CSRC, csrc)
        with open(os.path.join(d, plant.file), "w", encoding="utf-8") as f:
            f.write(text)
        ok, out = check(os.path.join(d, plant.check or plant.file), csrc)
    first = next((ln for ln in out.splitlines() if "error" in ln), out.strip()[:200])
    return not ok, first


def main() -> int:
    if tc.missing():
        print(tc.missing())
        return 2
    failed = 0
    for src, (ok, out) in check_sources().items():
        print(f"{'ok  ' if ok else 'FAIL'} {src}")
        if not ok:
            print(out)
            failed += 1
    for plant in PLANTS:
        try:
            rejected, first = check_plant(plant)
        except LookupError as exc:
            rejected, first = False, str(exc)
        print(f"{'ok  ' if rejected else 'MISS'} planted {plant.name}: {first}")
        failed += not rejected
    print(f"{len(SOURCES)} sources, {len(PLANTS)} planted errors, {failed} problems")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
