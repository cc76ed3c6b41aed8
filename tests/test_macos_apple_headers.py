"""The macOS build compiles and links against Apple's own system headers, on any host.

tests/macos/darwin_build.py compiles every source of anethru/_build.py's darwin_config() (and
the cffi module) for arm64 and x86_64 macOS with zig's clang and Apple's libSystem headers,
with that configuration's exact flags plus -Wall -Werror, links them, and checks that every
undefined symbol is one macOS (libSystem, libobjc, the linked frameworks) or Python provides.
Planted mistakes in scratch copies prove each part can fail.

Needs the ``ziglang`` package (in the test extra).  Without it these tests skip, saying how to
get it, except under CI=true, where a missing zig is a broken setup and fails.
"""

from __future__ import annotations

import os
import pickle
import re
import sys
from dataclasses import dataclass

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "macos"))
import darwin_build as db  # noqa: E402
import zig_cc  # noqa: E402
from shared_build import shared_build  # noqa: E402

CONFIG = db.darwin_config()
LABELS = list(db.sources(CONFIG)) + [db.MODULE]
TARGETS = list(db.TARGETS)
PLANT_TARGET = "aarch64-macos.11.0"


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    if sys.platform == "darwin":
        pytest.skip("on a Mac, `pip install .` compiles with the real SDK; this check is for "
                    "hosts without one")
    reason = zig_cc.missing()
    if reason:
        if zig_cc.must_fail_not_skip():
            pytest.fail(f"CI=true and {reason}")
        pytest.skip(reason)
    return str(tmp_path_factory.mktemp("macos-build"))


# Everything the check compiles and reads: the sources, the builder's flags, the shims, zig.
MACOS_INPUTS = ("csrc", "anethru/_build.py", "anethru/_version.py", "tests/macos")


@pytest.fixture(scope="module")
def builds(workdir):
    """Built once per source digest for every xdist worker and later run
    (tests/shared_build.py), then read back: the same Build objects build_all returns."""
    def make(out: str) -> None:
        with open(os.path.join(out, "builds.pickle"), "wb") as f:
            pickle.dump(db.build_all(out), f)

    out = shared_build("macos", MACOS_INPUTS, make, (zig_cc.__file__, _zig_version()))
    with open(os.path.join(out, "builds.pickle"), "rb") as f:
        return pickle.load(f)


def _zig_version() -> str:
    try:
        from importlib.metadata import version
        return version("ziglang")
    except Exception:  # noqa: BLE001 - not installed: the workdir fixture has skipped already
        return "none"


# ------------------------------------------------------------------ what is compiled, and how

def test_the_check_compiles_what_the_darwin_build_compiles():
    assert {"csrc/ane_runtime.m", "csrc/throughput.m", "csrc/cpu/cpu_conv.c"} <= set(CONFIG["sources"])
    assert list(db.sources(CONFIG)) == CONFIG["sources"]


def test_compile_commands_carry_the_darwin_flags_plus_wall_werror():
    for src in ("csrc/throughput.m", "csrc/cpu/cpu_conv.c", "csrc/ane_runtime.m"):
        cmd = db.compile_command(TARGETS[0], os.path.join(db.ROOT, src), "x.o", CONFIG)
        for flag in CONFIG["extra_compile_args"] + ["-Wall", "-Werror"]:
            assert flag in cmd, (src, flag)
        assert "-DANETHRU_WITH_ANE=1" in cmd and f"-I{os.path.join(db.ROOT, 'csrc')}" in cmd
        assert ("-isystem" in cmd) == (src == "csrc/ane_runtime.m")   # framework shims: only there
    assert {"-fobjc-arc", "-fobjc-arc-exceptions"} <= set(CONFIG["extra_compile_args"])


def test_every_linked_framework_has_headers_here():
    assert set(db.linked_frameworks(CONFIG)) == {"Foundation", "IOSurface"} == set(db.FRAMEWORK_HEADERS)


# ------------------------------------------------------------------ the real sources

@pytest.mark.parametrize("label", LABELS)
@pytest.mark.parametrize("target", TARGETS)
def test_source_compiles_for_macos(builds, target, label):
    c = builds[target].compiled[label]
    assert c.ok, f"{label} for {target} (-Wall -Werror, Apple's headers):\n{c.output}"
    assert not c.foreign_headers, f"{label} read headers that are neither Apple's nor a shim's"


@pytest.mark.parametrize("target", TARGETS)
def test_system_headers_are_apples(builds, target):
    apple = zig_cc.apple_include() + os.sep

    def read(label, suffix):
        hits = [h for h in builds[target].compiled[label].headers if h.endswith(suffix)]
        assert len(hits) == 1, (label, suffix, hits)
        return hits[0]

    for suffix in ("/dispatch/dispatch.h", "/mach/mach_time.h"):
        assert read("csrc/throughput.m", suffix).startswith(apple)
    for suffix in ("/objc/message.h", "/objc/NSObject.h", "/pthread.h", "/mach/kern_return.h"):
        assert read("csrc/ane_runtime.m", suffix).startswith(apple)
    for suffix in ("/dlfcn.h", "/sys/sysctl.h"):  # the framework's loader (csrc/ane/ane_framework.m)
        assert read("csrc/ane/ane_framework.m", suffix).startswith(apple)
    shimmed = {os.path.relpath(h, db.OBJC_SHIM).split(os.sep)[0]
               for h in builds[target].compiled["csrc/ane_runtime.m"].headers
               if h.startswith(db.OBJC_SHIM + os.sep)}
    assert {"CoreFoundation", "IOSurface"} <= shimmed                 # frameworks Apple lacks here
    assert not {"dispatch", "mach", "objc", "sys"} & shimmed
    assert read("csrc/ane_runtime.m", "/Foundation/Foundation.h").startswith(db.FOUNDATION_SHIM)


@pytest.mark.parametrize("target", TARGETS)
def test_links_with_only_symbols_macos_or_python_provide(builds, target):
    build = builds[target]
    assert build.link_ok, build.link_output
    assert build.image.arch == db.TARGETS[target]
    assert "_PyInit__native" in build.image.exports                   # a loadable module
    assert build.strays == [], db.problems(build)
    assert db.problems(build) == []


# ------------------------------------------------------------------ the allowed symbols

# glibc-only (strchrnul and pipe2 are not: libSystem exports them since macOS 15.4 / 26, and
# Apple's headers mark them so, which -Werror turns into an error below those versions).
GNU_ONLY = ["_sched_getcpu", "_mempcpy", "_memrchr", "_sincos", "_pthread_tryjoin_np",
            "_secure_getenv", "_get_nprocs", "_malloc_usable_size", "_getauxval", "_sem_clockwait",
            "_pthread_setaffinity_np", "_memfd_create", "_gettid"]
MACOS_PROVIDES = {"_dispatch_async_f": "libSystem", "_mach_absolute_time": "libSystem",
                  "_pthread_once": "libSystem", "_objc_msgSend": "libobjc",
                  "_objc_retain": "Objective-C code generation", "_IOSurfaceLock": "IOSurface",
                  "_NSTemporaryDirectory": "Foundation", "_CFRelease": "Foundation",
                  "_PyLong_FromLong": "Python"}


@pytest.mark.parametrize("target", TARGETS)
def test_gnu_extensions_are_provided_by_nothing(builds, target):
    allowed = builds[target].allowed
    assert {s: db.provider_of(s, allowed) for s in GNU_ONLY} == {s: "" for s in GNU_ONLY}
    for symbol, provider in MACOS_PROVIDES.items():
        assert db.provider_of(symbol, allowed).startswith(provider), symbol


@pytest.mark.parametrize("target", TARGETS)
def test_the_probe_yields_only_objective_c_runtime_names(builds, target):
    allowed = builds[target].allowed
    emitted = allowed["Objective-C code generation (objc_abi_probe.m)"]
    declared = set().union(*(v for k, v in allowed.items() if "objc_abi_probe" not in k))
    only_measured = emitted - declared
    assert {"_objc_retain", "_objc_release", "___objc_personality_v0"} <= only_measured  # ARC on
    assert [s for s in only_measured if not re.match(r"_+(objc_|OBJC_|NS|CF)", s)] == []


# ------------------------------------------------------------------ planted mistakes

@dataclass(frozen=True)
class Plant:
    name: str
    file: str
    old: str        # exact text in the real source ("" appends `new` at the end instead)
    new: str
    expect: str     # a fragment of the problem the check must report


PLANTS = [
    # Linux-only calls: declared by hand it compiles and links, and only the symbol check sees it;
    # through glibc's header it stops at the compile.
    Plant("linux_only_call_declared", "csrc/common/messages.c", "",
          "\nextern int sched_getcpu(void);\nint anethru_planted_cpu(void) { return sched_getcpu(); }\n",
          "undefined symbol _sched_getcpu"),
    Plant("linux_only_header", "csrc/cpu/cpu_backend.c", "",
          "\n#include <malloc.h>\n"
          "size_t anethru_planted_usable(void *p) { return malloc_usable_size(p); }\n",
          "malloc.h"),
    Plant("gnu_secure_getenv", "csrc/cpu/cpu_conv.c", "",
          "\nextern char *secure_getenv(const char *name);\n"
          "const char *anethru_planted_env(void) { return secure_getenv(\"ANETHRU_CPU_KERNEL\"); }\n",
          "undefined symbol _secure_getenv"),
    # throughput.m in its macOS configuration: GCD and ARC as Apple's headers declare them.
    Plant("misspelled_dispatch_function", "csrc/throughput.m",
          "dispatch_semaphore_signal(", "dispatch_semaphore_signl(", "dispatch_semaphore_signl"),
    Plant("arc_bridge_missing", "csrc/throughput.m",
          "#define GCD_KEEP(obj) ((__bridge_retained void *)(obj))",
          "#define GCD_KEEP(obj) ((void *)(obj))", "bridge"),
    Plant("arc_dispatch_release", "csrc/throughput.m", "    q->queue = q->last_done = NULL;",
          "    dispatch_release(GCD_USE(dispatch_queue_t, q->queue));\n"
          "    q->queue = q->last_done = NULL;", "'release' is unavailable"),
    # ane_runtime.m against Apple's objc headers (appended: that file is being rewritten).
    Plant("arc_release_in_ane_runtime", "csrc/ane_runtime.m", "",
          "\nvoid anethru_planted_release(id o);\nvoid anethru_planted_release(id o) { [o release]; }\n",
          "'release' is unavailable"),
    Plant("objc_msgsend_uncast", "csrc/ane_runtime.m", "",
          "\nid anethru_planted_send(id o);\n"
          "id anethru_planted_send(id o) { return objc_msgSend(o, @selector(self)); }\n",
          "too many arguments to function call, expected 0"),
]


def planted_text(plant: Plant) -> str:
    with open(os.path.join(db.ROOT, plant.file), encoding="utf-8") as f:
        text = f.read()
    if not plant.old:
        return text + plant.new
    if plant.old not in text:
        raise LookupError(f"{plant.name}: {plant.old!r} no longer occurs in {plant.file}; "
                          "update the case to plant the same mistake")
    return text.replace(plant.old, plant.new, 1)


@pytest.mark.parametrize("plant", PLANTS, ids=lambda p: p.name)
def test_planted_mistake_fails_the_check(builds, workdir, plant):
    again = db.rebuild_with(builds[PLANT_TARGET], plant.file, planted_text(plant), workdir)
    found = db.problems(again)
    assert found, f"the check accepted {plant.file} with {plant.name} planted"
    assert any(plant.expect in line for line in found), found


def test_the_demanded_kinds_of_mistake_are_planted():
    names = {p.name: p.file for p in PLANTS}
    assert names["linux_only_call_declared"].startswith("csrc/")
    assert names["misspelled_dispatch_function"] == names["arc_bridge_missing"] == "csrc/throughput.m"


def test_a_plant_that_no_longer_applies_is_reported():
    stale = Plant("stale", "csrc/throughput.m", "text that is not there", "x", "x")
    with pytest.raises(LookupError, match="no longer occurs"):
        planted_text(stale)


# ------------------------------------------------------------------ skip or fail

def test_without_zig_ci_fails_and_elsewhere_the_skip_says_how_to_get_it(monkeypatch):
    assert zig_cc.must_fail_not_skip({"CI": "true"}) is True
    assert zig_cc.must_fail_not_skip({"CI": "false"}) is False
    assert zig_cc.must_fail_not_skip({}) is False
    monkeypatch.setattr(zig_cc, "package_dir", lambda: "")
    reason = zig_cc.missing.__wrapped__()
    assert "ziglang" in reason and "pip install" in reason


def test_a_shim_header_standing_in_for_apples_is_caught(workdir):
    assert db.shadows_apple(os.path.join(db.OBJC_SHIM, "dispatch", "dispatch.h"))
    assert db.shadows_apple(os.path.join(db.OBJC_SHIM, "objc", "message.h"))
    assert not db.shadows_apple(os.path.join(db.OBJC_SHIM, "IOSurface", "IOSurfaceRef.h"))
