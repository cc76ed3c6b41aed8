"""The macOS Objective-C sources pass a real compiler's check on Linux, and that check can fail.

See tests/objc/check_syntax.py.  Without clang and GNUstep these tests skip, saying how to get
them (tests/objc/install_deps.sh); under CI=true that is a failure instead.
"""

import os
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
    # The brief's four kinds, each planted at least once (names are the contract).
    names = {p.name for p in check_syntax.PLANTS}
    assert {"nsstring_method_typo", "iosurfacelock_swapped_args", "uncast_objc_msgsend",
            "missing_bridge_to_cf"} <= names
    assert {p.file for p in check_syntax.PLANTS} == {"csrc/ane_runtime.m", "csrc/throughput.m"}


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
    for src in ("csrc/ane_runtime.m", "csrc/ane_mil.c", "csrc/ane_tmpdir.c"):
        assert f'"{src}"' in text
