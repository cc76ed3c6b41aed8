"""The cffi builder's per-platform choices, checked without building (a Mac build cannot run
here, so its configuration is at least pinned down)."""

from __future__ import annotations

import os
import runpy
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def builder_for(platform: str, monkeypatch) -> dict:
    """Run anethru/_build.py as setuptools would (cwd = project root) with sys.platform faked,
    and return the keyword arguments its set_source received."""
    monkeypatch.chdir(ROOT)
    monkeypatch.setattr(sys, "platform", platform)
    seen = {}
    import cffi

    def record(self, module_name, source, **kwargs):
        seen.update(kwargs, module_name=module_name, source=source)

    monkeypatch.setattr(cffi.FFI, "set_source", record)
    runpy.run_path(os.path.join("anethru", "_build.py"), run_name="anethru_build_check")
    return seen


def test_linux_build_needs_no_objective_c(monkeypatch):
    cfg = builder_for("linux", monkeypatch)
    assert cfg["module_name"] == "anethru._native"
    assert not any(s.endswith(".m") for s in cfg["sources"])       # gcc cannot compile .m
    assert '#include "throughput.m"' in cfg["source"]              # the harness, as plain C
    assert "csrc/cpu/cpu_backend.c" in cfg["sources"] and "csrc/cuda/cuda_backend.c" in cfg["sources"]
    assert not any("objc" in flag for flag in cfg["extra_compile_args"])
    assert ("ANETHRU_WITH_ANE", "1") not in cfg.get("define_macros", [])
    for path in cfg["sources"] + cfg["depends"]:
        assert os.path.exists(os.path.join(ROOT, path)), path      # relative, and present


def test_macos_build_compiles_the_ane_runtime_with_arc(monkeypatch):
    cfg = builder_for("darwin", monkeypatch)
    assert {"csrc/ane_runtime.m", "csrc/throughput.m"} <= set(cfg["sources"])
    assert '#include "throughput.m"' not in cfg["source"]          # compiled once, as ObjC
    assert {"-fobjc-arc", "-fobjc-arc-exceptions"} <= set(cfg["extra_compile_args"])
    assert ("ANETHRU_WITH_ANE", "1") in cfg["define_macros"]
    link = cfg["extra_link_args"]
    assert link[link.index("Foundation") - 1] == "-framework"
    assert link[link.index("IOSurface") - 1] == "-framework"
    for path in cfg["sources"]:
        assert os.path.exists(os.path.join(ROOT, path)), path


def test_cdef_is_the_header_region(monkeypatch):
    monkeypatch.chdir(ROOT)
    build = runpy.run_path(os.path.join(ROOT, "anethru", "_build.py"), run_name="anethru_build_check")
    cdef = build["CDEF"]
    assert "int anethru_chain_measure(" in cdef and "#include" not in cdef and "#if" not in cdef
