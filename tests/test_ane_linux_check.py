"""The macOS Objective-C sources pass a real compiler's check on Linux, and that check can fail.

See tests/objc/check_syntax.py.  Without clang and GNUstep these tests skip, saying how to get
them (tests/objc/install_deps.sh); under CI=true that is a failure instead.
"""

import os
import re
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "objc"))
import check_syntax
import toolchain


@pytest.fixture(scope="module", autouse=True)
def _toolchain():
    if not sys.platform.startswith("linux"):
        pytest.skip("the GNUstep-based check is for Linux; on macOS the real build checks the sources")
    toolchain.require()


@pytest.mark.parametrize("source", check_syntax.SOURCES)
def test_source_passes_macos_syntax_check(source):
    ok, out = check_syntax.check(os.path.join(toolchain.ROOT, source))
    assert ok, f"{source} fails clang -fsyntax-only (ARC, -Wall -Wextra -Werror):\n{out}"


def test_check_runs_in_macos_configuration_with_arc():
    cmd = toolchain.syntax_check_command(os.path.join(toolchain.ROOT, "csrc/throughput.m"))
    for flag in ("-DANETHRU_CHECK_MACOS", "-fobjc-arc", "-fobjc-arc-exceptions", "-Werror",
                 "-Wall", "-Wextra", "-fsyntax-only"):
        assert flag in cmd


@pytest.mark.parametrize("plant", check_syntax.PLANTS, ids=lambda p: p.name)
def test_planted_error_is_rejected(plant):
    rejected, first_error = check_syntax.check_plant(plant)
    assert rejected, f"the check accepted {plant.file} with {plant.name} planted"
    assert "error" in first_error


def test_every_kind_of_mistake_is_planted():
    # Each kind planted at least once (names are the contract): typo'd methods, misspelt
    # private selectors, IOSurface misuse, casts of objc_msgSend, bridging.
    names = {p.name for p in check_syntax.PLANTS}
    assert {"nsstring_method_typo", "selector_typo_compile", "iosurfacelock_swapped_args",
            "uncast_objc_msgsend", "wrapper_wrong_argument_type", "missing_bridge_to_cf"} <= names
    assert {p.file for p in check_syntax.PLANTS} == {
        "csrc/ane/ane_framework.m", "csrc/ane/ane_kernel.m", "csrc/ane_runtime.m", "csrc/ane/ane_msg.h",
        "csrc/throughput.m"}
    for p in check_syntax.PLANTS:  # a planted header is seen through a source that includes it
        assert p.file.endswith(".m") or p.check.endswith(".m"), p.name


def _read(path):
    with open(os.path.join(toolchain.ROOT, path), encoding="utf-8") as f:
        return f.read()


def _declared_selectors(header_text):
    """Selectors of the Objective-C method declarations in a header."""
    out = set()
    for decl in re.findall(r"^[+-] \([^)]*\)([^;]*);", header_text, re.M):
        parts = re.findall(r"(\w+):", decl)
        out.add("".join(f"{p}:" for p in parts) if parts else decl.strip())
    return out


def _sent_selectors():
    """The selector of every entry of ane_msg.h's ANE_MESSAGES list."""
    text = _read("csrc/ane/ane_msg.h")
    body = text[text.index("#define ANE_MESSAGES(X)"):]
    body = body[:body.index("\n\n")].replace("\\\n", " ")
    entries = re.findall(r"X\(([^()]*)\)", body)
    return {e.split(",")[4].strip() for e in entries}


def test_every_private_selector_the_backend_sends_is_declared_in_the_shim():
    sent = _sent_selectors()
    assert len(sent) == 13 and "doEvaluateDirectWithModel:options:request:qos:error:" in sent
    declared = _declared_selectors(_read(os.path.relpath(toolchain.PRIVATE_API_HEADER, toolchain.ROOT)))
    assert sent == declared
    # ...and every @selector() in the ANE sources is one of them.
    for src in ("csrc/ane/ane_framework.m", "csrc/ane/ane_kernel.m", "csrc/ane_runtime.m", "csrc/ane/ane_bringup.m"):
        for sel in re.findall(r"@selector\(([^)]*)\)", _read(src)):
            assert sel in declared, f"{src}: @selector({sel})"
    # Misspellings planted in the wrapper list, each of a different selector.
    typos = [p for p in check_syntax.PLANTS if p.name.startswith("selector_typo") and p.file.endswith(".h")]
    assert len({next(s for s in sent if p.old.split(",")[0] in s) for p in typos}) == len(typos) >= 5


def test_check_compiles_the_ane_sources_against_the_private_api_declarations():
    cmd = toolchain.syntax_check_command(os.path.join(toolchain.ROOT, "csrc/ane/ane_kernel.m"))
    assert "-Wundeclared-selector" in cmd and "-Werror" in cmd
    assert cmd[cmd.index("-include") + 1] == toolchain.PRIVATE_API_HEADER
    header = _read(os.path.relpath(toolchain.PRIVATE_API_HEADER, toolchain.ROOT))
    # Usable over Apple's SDK headers too: Foundation only, nothing from GNUstep.
    assert re.findall(r"#(?:import|include) <([^>]+)>", header) == ["Foundation/Foundation.h"]


def test_a_plant_that_no_longer_applies_is_reported():
    stale = check_syntax.Plant("stale", "csrc/ane_runtime.m", "text that is not there", "x")
    with pytest.raises(LookupError, match="no longer occurs"):
        check_syntax.planted_source(stale)


def test_macos_build_compiles_the_ane_sources_with_arc_exceptions():
    # Without -fobjc-arc-exceptions ARC leaks every object in a frame an exception unwinds
    # (the simulated tests catch that leak); the Mac build must pass it, with every ANE source.
    with open(os.path.join(toolchain.ROOT, "anethru", "_build.py"), encoding="utf-8") as f:
        text = f.read()
    assert '"-fobjc-arc-exceptions"' in text and '"-fobjc-arc"' in text
    import runpy

    builder = runpy.run_path(os.path.join(toolchain.ROOT, "anethru", "_build.py"), run_name="builder")
    sources = set(builder["darwin_config"]()["sources"])
    for src in ("csrc/ane/ane_framework.m", "csrc/ane/ane_kernel.m", "csrc/ane_runtime.m",
                "csrc/ane/ane_bringup.m", "csrc/ane/forms/ane_mil.c", "csrc/ane/forms/ane_weights.c",
                "csrc/ane/forms/ane_forms.c", "csrc/ane/ane_tmpdir.c"):
        assert src in sources, src
