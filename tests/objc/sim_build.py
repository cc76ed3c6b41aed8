"""Build the simulated-ANE native module: the REAL csrc/ane_runtime.m (ARC, macOS code paths)
and the real harness, against a fake AppleNeuralEngine.framework on Linux.

    python tests/objc/sim_build.py BUILD_DIR

Produces, in BUILD_DIR:
  libanesim_apple.so        the "system": IOSurface, CoreFoundation, GCD, mach_time and sysctl
                            fakes plus the runtime glue that runs clang's ARC code on gcc's libobjc
  frameworks/<variant>/AppleNeuralEngine.framework/AppleNeuralEngine
                            the fake private framework that ane_runtime.m dlopens by path:
                            "full", "no_request" (_ANERequest missing), "no_client" (_ANEClient missing)
  _anethru_sim_native*.so   the cffi module, with the same CDEF and C sources as anethru._native
                            plus ANETHRU_WITH_ANE and ANETHRU_SIMULATED_ANE (probe and describe
                            say SIMULATED, so its figures never pass as ANE figures)
  probe_host                the backend built as for a Mac (no simulation define): prints
                            its probe's answer on this machine
Use it with PYTHONPATH=BUILD_DIR ANETHRU_NATIVE_MODULE=_anethru_sim_native; the
ANETHRU_SIM_ANE_FRAMEWORK variable picks another framework variant.  Test-only: never shipped.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import toolchain as tc

MODULE = "_anethru_sim_native"
# Lower than the real 120 so a test can reach the loaded-programs limit before the compile
# limit (115 per process) runs out.
SIM_MAX_LOADED = 30
FRAMEWORK_VARIANTS = {
    "full": [],
    "no_descriptor": ["-D_ANEInMemoryModelDescriptor=FakeHidden_ANEInMemoryModelDescriptor"],
    "no_model": ["-D_ANEInMemoryModel=FakeHidden_ANEInMemoryModel"],
    "no_request": ["-D_ANERequest=FakeHidden_ANERequest"],
    "no_surface_object": ["-D_ANEIOSurfaceObject=FakeHidden_ANEIOSurfaceObject"],
    "no_client": ["-D_ANEClient=FakeHidden_ANEClient"],
    # a class that lacks one method the backend sends
    "no_direct": ["-DdoEvaluateDirectWithModel=doEvaluateDirectWithModelRenamed"],
    "no_unload": ["-DunloadWithQoS=unloadWithQoSRenamed"],
    # a method whose signature differs from csrc/ane/ane_msg.h's declaration
    "mistyped": ["-DFAKE_ANE_QOS_T=long"],
}


def framework_path(build_dir: str, variant: str = "full") -> str:
    return os.path.join(build_dir, "frameworks", variant, "AppleNeuralEngine.framework",
                        "AppleNeuralEngine")


def _run(cmd: list[str], cwd: str | None = None) -> None:
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"command failed ({proc.returncode}): {' '.join(cmd)}\n"
                           f"{proc.stdout}{proc.stderr}")


def _load_build_module():
    """anethru/_build.py, run from the root as setuptools does (it reads csrc/ relatively)."""
    spec = importlib.util.spec_from_file_location("_anethru_build",
                                                  os.path.join(tc.ROOT, "anethru", "_build.py"))
    mod = importlib.util.module_from_spec(spec)
    cwd = os.getcwd()
    os.chdir(tc.ROOT)
    try:
        spec.loader.exec_module(mod)
    finally:
        os.chdir(cwd)
    return mod


def _system_library(out: str, objdir: str) -> str:
    rt = os.path.join(tc.HERE, "linuxrt")
    objs = [os.path.join(objdir, n) for n in ("objc2_compat.o", "objc_msgsend.o", "apple_fakes.o")]
    _run(tc.c_compile_command(os.path.join(rt, "objc2_compat.c"), objs[0]))
    _run(["clang", "-c", "-fPIC", os.path.join(rt, "objc_msgsend_x86_64.S"), "-o", objs[1]])
    _run(tc.objc_compile_command(os.path.join(rt, "apple_fakes.m"), objs[2], arc=False))  # MRC
    lib = os.path.join(out, "libanesim_apple.so")
    _run(["clang", "-shared", "-o", lib] + objs + ["-Wl,-soname,libanesim_apple.so"] + tc.OBJC_LINK)
    return lib


def _link_system(out: str) -> list[str]:
    return [f"-L{out}", "-lanesim_apple", f"-Wl,-rpath,{out}"] + tc.OBJC_LINK


def _frameworks(out: str, objdir: str) -> None:
    program_o = os.path.join(objdir, "fake_ane_program.o")
    _run(tc.c_compile_command(os.path.join(tc.HERE, "fake_ane_program.c"), program_o))
    for variant, defines in FRAMEWORK_VARIANTS.items():
        obj = os.path.join(objdir, f"fake_ane_{variant}.o")
        _run(tc.objc_compile_command(os.path.join(tc.HERE, "fake_ane.m"), obj,
                                     extra=defines + ["-I", tc.CSRC]))
        path = framework_path(out, variant)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        _run(["clang", "-shared", "-o", path, obj, program_o] + _link_system(out))


def _objc_objects(objdir: str, defines: list[str], suffix: str) -> list[str]:
    """The ANE backend's Objective-C files, compiled as on a Mac (ARC + exceptions) and checked
    as the Linux check does (the private API's declarations, -Wundeclared-selector)."""
    build = _load_build_module()
    objs = []
    for src in build.OBJC_SOURCES:
        if src.endswith("throughput.m"):
            continue
        obj = os.path.join(objdir, os.path.basename(src).replace(".m", suffix + ".o"))
        _run(tc.objc_compile_command(os.path.join(tc.ROOT, src), obj,
                                     extra=defines + tc.SELECTOR_FLAGS + ["-I", tc.CSRC]))
        objs.append(obj)
    return objs


def _c_objects(objdir: str, sources: list[str]) -> list[str]:
    objs = []
    for src in sources:
        obj = os.path.join(objdir, os.path.basename(src).replace(".c", ".o"))
        _run(tc.c_compile_command(os.path.join(tc.ROOT, src), obj, extra=["-I", tc.CSRC]))
        objs.append(obj)
    return objs


def _ane_objects(out: str, objdir: str) -> list[str]:
    """The real macOS sources, compiled as on a Mac plus the simulation define; throughput.m
    in its macOS configuration (GCD, mach_absolute_time) too."""
    defines = ["-DANETHRU_WITH_ANE=1", "-DANETHRU_SIMULATED_ANE=1",
               f"-DANETHRU_ANE_MAX_LOADED={SIM_MAX_LOADED}",
               f'-DANETHRU_ANE_FRAMEWORK_PATH="{framework_path(out)}"']
    objs = _objc_objects(objdir, defines, "")
    obj = os.path.join(objdir, "throughput.o")
    _run(tc.objc_compile_command(os.path.join(tc.CSRC, "throughput.m"), obj,
                                 extra=defines + ["-DANETHRU_CHECK_MACOS", "-I", tc.CSRC]))
    objs.append(obj)
    return objs + _c_objects(objdir, _load_build_module().ANE_C_SOURCES)


def _host_probe(out: str, objdir: str) -> str:
    """probe_host: the backend compiled as for a Mac (no simulation define), probed here."""
    build = _load_build_module()
    real = _objc_objects(objdir, ["-DANETHRU_WITH_ANE=1"], "_real")
    helpers = _c_objects(objdir, build.ANE_C_SOURCES + [s for s in build.C_SOURCES if "/ane_" in s]
                         + ["csrc/common/messages.c"])
    main_o = os.path.join(objdir, "probe_main.o")
    _run(tc.c_compile_command(os.path.join(tc.HERE, "probe_main.c"), main_o, extra=["-I", tc.CSRC]))
    exe = os.path.join(out, "probe_host")
    _run(["clang", "-o", exe, main_o] + real + helpers + _link_system(out))
    return exe


def _native_module(out: str, objdir: str, objects: list[str]) -> str:
    from cffi import FFI

    build = _load_build_module()
    ffi = FFI()
    ffi.cdef(build.CDEF)
    ffi.set_source(
        MODULE,
        '#include "anethru.h"',
        sources=[os.path.join(tc.ROOT, s) for s in build.C_SOURCES],
        include_dirs=[tc.CSRC],
        define_macros=[("ANETHRU_WITH_ANE", "1"), ("ANETHRU_SIMULATED_ANE", "1")],
        extra_compile_args=list(build.C_FLAGS),
        extra_objects=objects,
        extra_link_args=_link_system(out),
    )
    return ffi.compile(tmpdir=out, verbose=False)


def build(out: str) -> str:
    """Build everything into ``out``; returns the path of the extension module."""
    if tc.missing():
        raise RuntimeError(tc.missing())
    out = os.path.abspath(out)
    objdir = os.path.join(out, "obj")
    os.makedirs(objdir, exist_ok=True)
    _system_library(out, objdir)
    _frameworks(out, objdir)
    objects = _ane_objects(out, objdir)
    _host_probe(out, objdir)
    return _native_module(out, objdir, objects)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    print(build(sys.argv[1]))
