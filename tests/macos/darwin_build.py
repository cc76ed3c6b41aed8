"""The macOS build of anethru._native, compiled and linked on any host with zig's clang and
Apple's own system headers, then checked symbol by symbol.

    python tests/macos/darwin_build.py      # prints every source, target and stray symbol

What it does, per target (arm64 and x86_64 macOS, both slices of a universal2 wheel):

1. Compiles every source of ``anethru/_build.py``'s ``darwin_config()`` and the cffi module
   itself with exactly that configuration's flags, macros and include dirs, plus
   ``-Wall -Werror``.  Headers: Apple's libSystem headers (C library, POSIX, dispatch, mach,
   objc) for everything; for a source that imports a framework, Foundation from
   ``foundation/`` and CoreFoundation and IOSurface from ``tests/objc/shim`` (declarations
   only: no Apple copy of those exists here).  Every header a compile read is checked to come
   from one of those places.
2. Links the objects into one Mach-O dylib with ``-undefined dynamic_lookup`` (as Python's own
   extension link does) and reads its symbol table.
3. Requires every symbol left undefined to be provided by libSystem (its export list, zig's
   ``libSystem.tbd``), libobjc (declared in Apple's ``objc/`` headers, or emitted by clang's
   Objective-C code generation, measured by compiling ``objc_abi_probe.m``), a framework the
   build links with ``-framework`` (declared in its headers above), or Python (``PyAPI_FUNC``/
   ``PyAPI_DATA`` in Python's headers).  Anything else, a glibc-only call for one, would fail
   only when a Mac imports the module.
"""

from __future__ import annotations

import contextlib
import glob
import io
import os
import re
import runpy
import subprocess
import sys
import sysconfig
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import macho  # noqa: E402
import tbd  # noqa: E402
import zig_cc  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(HERE))
# Oldest macOS each slice is built for by python.org's installers (MACOSX_DEPLOYMENT_TARGET):
# an API newer than these without an availability check fails -Werror here, as it should.
TARGETS = {"aarch64-macos.11.0": "arm64", "x86_64-macos.10.13": "x86_64"}
CHECK_FLAGS = ["-Wall", "-Werror"]
LINK_FLAGS = ["-shared", "-nostdlib", "-Wl,-undefined,dynamic_lookup"]
MODULE = "anethru._native (cffi module)"
PROBE = os.path.join(HERE, "objc_abi_probe.m")
FOUNDATION_SHIM = os.path.join(HERE, "foundation")
OBJC_SHIM = os.path.join(ROOT, "tests", "objc", "shim")
# Header directories standing in for each framework the build links, and what includes them.
FRAMEWORK_HEADERS = {
    "Foundation": [os.path.join(FOUNDATION_SHIM, "Foundation"),
                   os.path.join(OBJC_SHIM, "CoreFoundation")],  # Foundation re-exports CF
    "IOSurface": [os.path.join(OBJC_SHIM, "IOSurface")],
}
FRAMEWORK_IMPORT = re.compile(r"^\s*#\s*(?:import|include)\s*<(?:Foundation|CoreFoundation|IOSurface)/",
                              re.M)

_chdir_lock = threading.Lock()


@lru_cache(maxsize=None)
def builder() -> dict:
    """anethru/_build.py's globals, loaded the way setuptools runs it (cwd = project root)."""
    with _chdir_lock:
        old = os.getcwd()
        os.chdir(ROOT)
        try:
            return runpy.run_path(os.path.join(ROOT, "anethru", "_build.py"),
                                  run_name="anethru_build_macos_check")
        finally:
            os.chdir(old)


def darwin_config() -> dict:
    return builder()["darwin_config"]()


def linked_frameworks(config: dict) -> list[str]:
    args = config["extra_link_args"]
    return [args[i + 1] for i, a in enumerate(args[:-1]) if a == "-framework"]


def python_include() -> str:
    return sysconfig.get_paths()["include"]


def needs_frameworks(path: str) -> bool:
    with open(path, encoding="utf-8") as f:
        return bool(FRAMEWORK_IMPORT.search(f.read()))


def compile_command(target: str, src: str, obj: str, config: dict) -> list[str]:
    """zig cc for one source: the darwin configuration's flags, macros and include dirs, as
    setuptools passes them (plus Python's include dir, which it adds), and -Wall -Werror."""
    macros = [f"-D{k}" if v is None else f"-D{k}={v}" for k, v in config["define_macros"]]
    includes = [f"-I{os.path.join(ROOT, d)}" for d in config["include_dirs"]] + [f"-I{python_include()}"]
    frameworks = []
    if needs_frameworks(src):
        # Ours before the system directories (Apple ships no Foundation here); the objc shim
        # after them, so only what Apple's headers lack (CoreFoundation, IOSurface) comes from it.
        frameworks = ["-isystem", FOUNDATION_SHIM, "-idirafter", OBJC_SHIM]
    return (zig_cc.cc(target) + ["-c"] + config["extra_compile_args"] + macros + includes +
            frameworks + CHECK_FLAGS + ["-MD", "-MF", obj + ".d", src, "-o", obj])


def allowed_header_roots(src: str) -> list[str]:
    roots = [zig_cc.package_dir(), os.path.join(ROOT, "csrc"), python_include(),
             os.path.dirname(os.path.abspath(src))]
    if needs_frameworks(src):
        roots += [FOUNDATION_SHIM, OBJC_SHIM]
    return roots


def shadows_apple(header: str) -> bool:
    """A shim header read in place of one Apple's headers provide (the include order is meant
    to make that impossible: this says so if it ever happens)."""
    if not header.startswith(OBJC_SHIM + os.sep):
        return False
    return os.path.exists(os.path.join(zig_cc.apple_include(), os.path.relpath(header, OBJC_SHIM)))


def headers_read(depfile: str) -> list[str]:
    with open(depfile, encoding="utf-8") as f:
        text = f.read().replace("\\\n", " ").replace("\\ ", "\0")  # make's escaped spaces
    paths = [p.replace("\0", " ") for p in text.split(": ", 1)[1].split()]
    return [os.path.normpath(os.path.join(ROOT, p)) for p in paths[1:]]


@dataclass
class Compiled:
    label: str          # the source as _build.py names it (or MODULE / the probe)
    target: str
    ok: bool
    output: str
    obj: str
    foreign_headers: list[str] = field(default_factory=list)   # read from outside their roots
    headers: list[str] = field(default_factory=list)


def compile_source(target: str, label: str, src: str, workdir: str, config: dict) -> Compiled:
    stem = label.replace("/", "_").replace(" ", "_").replace("(", "").replace(")", "")
    obj = os.path.join(workdir, f"{stem}.{TARGETS[target]}.o")
    proc = subprocess.run(compile_command(target, src, obj, config), capture_output=True,
                          text=True, cwd=ROOT, check=False)
    result = Compiled(label, target, proc.returncode == 0, proc.stdout + proc.stderr, obj)
    if result.ok:
        result.headers = headers_read(obj + ".d")
        roots = allowed_header_roots(src)
        result.foreign_headers = [h for h in result.headers if shadows_apple(h) or
                                  not any(h.startswith(r + os.sep) for r in roots)]
    return result


def first_error(output: str) -> str:
    return next((ln for ln in output.splitlines() if "error" in ln), output.strip()[:300])


# ------------------------------------------------------------------ who provides a symbol

_COMMENT = re.compile(r"/\*.*?\*/|//[^\n]*", re.S)
_DIRECTIVE = re.compile(r"^\s*#(?:[^\n]*\\\n)*[^\n]*", re.M)
_FUNCTION = re.compile(r"\b([A-Za-z_]\w*)\s*\(")
_VARIABLE = re.compile(r"\b(?:extern|[A-Z]+_EXPORT)\s+[^;(){}]*?\b([A-Za-z_]\w*)\s*(?:\[[^\]]*\])?"
                       r"\s*(?:[A-Z_]+\s*\([^()]*\)\s*)*;")
_CLASS = re.compile(r"@interface\s+(\w+)")
_PYAPI = re.compile(r"\bPyAPI_(?:FUNC|DATA)\s*\((?:[^()]|\([^()]*\))*\)\s*(\w+)")
_ZIG_RT_SYMBOL = re.compile(r'\bsymbol\(\s*&?[\w.]+\s*,\s*"(__\w+)"')


def _decl_text(path: str) -> str:
    with open(path, encoding="utf-8", errors="replace") as f:
        return _DIRECTIVE.sub("", _COMMENT.sub(" ", f.read()))


@lru_cache(maxsize=None)
def declared_in(directory: str) -> frozenset[str]:
    """Mach-O names of the functions, variables and classes the headers under a directory
    declare (a C name gets its leading underscore)."""
    names: set[str] = set()
    for path in glob.glob(os.path.join(directory, "**", "*.h"), recursive=True):
        text = _decl_text(path)
        names.update("_" + n for n in _FUNCTION.findall(text) + _VARIABLE.findall(text))
        for cls in _CLASS.findall(text):
            names.update({f"_OBJC_CLASS_$_{cls}", f"_OBJC_METACLASS_$_{cls}"})
    return frozenset(names)


@lru_cache(maxsize=None)
def python_api() -> frozenset[str]:
    names: set[str] = set()
    for path in glob.glob(os.path.join(python_include(), "**", "*.h"), recursive=True):
        names.update("_" + n for n in _PYAPI.findall(_decl_text(path)))
    return frozenset(names)


@lru_cache(maxsize=None)
def compiler_rt() -> frozenset[str]:
    """compiler-rt's builtins (``__cpu_model``, ``__udivti3``...), which the Mac's clang links
    statically into every image (libclang_rt.osx.a): the ``__`` names zig's own compiler_rt
    sources export.  Its other exports are libm functions zig supplies for bare targets, some
    of them GNU-only (``sincos``), so they are not taken."""
    names: set[str] = set()
    for path in glob.glob(os.path.join(zig_cc.package_dir(), "lib", "compiler_rt", "*.zig")):
        with open(path, encoding="utf-8") as f:
            names.update("_" + n for n in _ZIG_RT_SYMBOL.findall(f.read()))
    return frozenset(names)


def compiler_emitted(probe: Compiled, workdir: str) -> frozenset[str]:
    """What clang's Objective-C code generation references for this target (ARC entry points,
    class metadata, literal singletons, exception personality...): the probe's imports that
    libSystem does not export."""
    if not probe.ok:
        raise RuntimeError(f"{PROBE} does not compile for {probe.target}:\n{probe.output}")
    dylib = os.path.join(workdir, f"probe.{TARGETS[probe.target]}.dylib")
    ok, out = link(probe.target, [probe.obj], dylib)
    if not ok:
        raise RuntimeError(f"{PROBE} does not link for {probe.target}:\n{out}")
    system = tbd.exports(zig_cc.libsystem_tbd(), TARGETS[probe.target])
    return frozenset(i.name for i in macho.read(dylib).imports if i.name not in system)


def providers(target: str, config: dict, emitted: frozenset[str]) -> dict[str, frozenset[str]]:
    """Each allowed provider of undefined symbols with everything it provides, in the order a
    symbol is attributed (declared by a header first, measured from the compiler last)."""
    found = {
        "libSystem (zig's libSystem.tbd)": tbd.exports(zig_cc.libsystem_tbd(), TARGETS[target]),
        "libobjc (Apple's objc/ headers)": declared_in(os.path.join(zig_cc.apple_include(), "objc")),
    }
    for framework in linked_frameworks(config):
        dirs = FRAMEWORK_HEADERS.get(framework)
        if dirs is None:
            raise LookupError(f"_build.py links -framework {framework}, which this check has "
                              "no headers for: add them to FRAMEWORK_HEADERS")
        found[f"{framework} (-framework; shim declarations)"] = frozenset().union(
            *(declared_in(d) for d in dirs))
    found["Python (PyAPI declarations)"] = python_api()
    found["compiler-rt builtins (zig's compiler_rt sources)"] = compiler_rt()
    found["Objective-C code generation (objc_abi_probe.m)"] = emitted
    return found


def provider_of(symbol: str, allowed: dict[str, frozenset[str]]) -> str:
    return next((name for name, symbols in allowed.items() if symbol in symbols), "")


# ------------------------------------------------------------------ linking

def link(target: str, objects: list[str], out: str) -> tuple[bool, str]:
    proc = subprocess.run(zig_cc.cc(target) + LINK_FLAGS + objects + ["-o", out],
                          capture_output=True, text=True, cwd=ROOT, check=False)
    return proc.returncode == 0, proc.stdout + proc.stderr


@dataclass
class Build:
    target: str
    compiled: dict[str, Compiled]        # by label: every source, then MODULE
    allowed: dict[str, frozenset[str]]
    dylib: str = ""
    link_ok: bool = False
    link_output: str = ""
    image: macho.Image | None = None

    @property
    def strays(self) -> list[str]:
        """Undefined symbols nothing allowed provides."""
        if not self.image:
            return []
        return sorted({i.name for i in self.image.imports if not provider_of(i.name, self.allowed)})


def module_source(workdir: str) -> str:
    """The C file cffi generates for the darwin build (its cdef and module source)."""
    from cffi import FFI

    b = builder()
    ffi = FFI()
    ffi.cdef(b["CDEF"])
    ffi.set_source("anethru._native", b["DARWIN_MODULE_SOURCE"])
    path = os.path.join(workdir, "_native.c")
    with contextlib.redirect_stdout(io.StringIO()):  # cffi says "generating ..."
        ffi.emit_c_code(path)
    return path


def sources(config: dict) -> dict[str, str]:
    """label -> path of everything the darwin build compiles, in _build.py's order."""
    return {s: os.path.join(ROOT, s) for s in config["sources"]}


def build_all(workdir: str, replace: dict[str, str] | None = None,
              targets: tuple[str, ...] = tuple(TARGETS)) -> dict[str, Build]:
    """Compile (in parallel), link and classify for every target.  ``replace`` maps a source
    label to another file compiled in its place (a planted copy)."""
    config = darwin_config()
    todo = dict(sources(config), **(replace or {}))
    todo[MODULE] = module_source(workdir)
    todo["probe"] = PROBE
    jobs = [(t, label, path) for t in targets for label, path in todo.items()]
    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        done = list(pool.map(lambda j: compile_source(j[0], j[1], j[2], workdir, config), jobs))
    builds = {}
    for target in targets:
        mine = {c.label: c for c in done if c.target == target}
        probe = mine.pop("probe")
        build = Build(target, mine, providers(target, config, compiler_emitted(probe, workdir)))
        if all(c.ok for c in mine.values()):
            build.dylib = os.path.join(workdir, f"_native.{TARGETS[target]}.dylib")
            build.link_ok, build.link_output = link(target, [c.obj for c in mine.values()],
                                                    build.dylib)
            if build.link_ok:
                build.image = macho.read(build.dylib)
        builds[target] = build
    return builds


def problems(build: Build) -> list[str]:
    """Everything wrong with one target's build, one line each (empty: it passes)."""
    found = []
    for c in build.compiled.values():
        if not c.ok:
            found.append(f"{build.target}: {c.label} does not compile: {first_error(c.output)}")
        for h in c.foreign_headers:
            found.append(f"{build.target}: {c.label} read {h}, not Apple's header nor a framework shim's")
    if all(c.ok for c in build.compiled.values()) and not build.link_ok:
        found.append(f"{build.target}: link failed: {first_error(build.link_output)}")
    found += [f"{build.target}: undefined symbol {s} is provided by no macOS library the build "
              "links (libSystem, libobjc, its frameworks) nor by Python" for s in build.strays]
    return found


def rebuild_with(build: Build, label: str, text: str, workdir: str) -> Build:
    """``build`` again with one source replaced by ``text`` (a planted copy, written to its
    own folder under the source's file name): that one file is compiled, the rest reused."""
    folder = tempfile.mkdtemp(prefix="planted-", dir=workdir)
    path = os.path.join(folder, os.path.basename(label))
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    compiled = dict(build.compiled)
    config = darwin_config()
    # The copy lives elsewhere: its own folder's headers ("cpu_conv.h" beside cpu_backend.c)
    # are found through the original folder.
    config["include_dirs"] = list(config["include_dirs"]) + [os.path.dirname(label)]
    compiled[label] = compile_source(build.target, label, path, folder, config)
    again = Build(build.target, compiled, build.allowed)
    if compiled[label].ok:
        again.dylib = os.path.join(folder, "_native.dylib")
        again.link_ok, again.link_output = link(build.target, [c.obj for c in compiled.values()],
                                                again.dylib)
        if again.link_ok:
            again.image = macho.read(again.dylib)
    return again


def main() -> int:
    reason = zig_cc.missing()
    if reason:
        print(reason)
        return 2
    with tempfile.TemporaryDirectory() as workdir:
        builds = build_all(workdir)
        failed = 0
        for build in builds.values():
            for c in build.compiled.values():
                print(f"{'ok  ' if c.ok and not c.foreign_headers else 'FAIL'} {build.target} {c.label}")
            if build.image:
                counts: dict[str, int] = {}
                for i in build.image.imports:
                    p = provider_of(i.name, build.allowed) or "NOBODY"
                    counts[p] = counts.get(p, 0) + 1
                for p, n in sorted(counts.items()):
                    print(f"     {build.target} {n:4d} undefined symbols from {p}")
            for line in problems(build):
                print("FAIL " + line)
                failed += 1
    print(f"zig {zig_cc.version()}: {failed} problems")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
