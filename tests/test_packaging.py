"""`pip install .` installs every package of anethru (an editable install hides a missing one:
it imports from the source tree, so only a plain install would fail, on `anethru`'s first run)."""

from __future__ import annotations

import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

tomllib = pytest.importorskip("tomllib", reason="reading pyproject.toml needs Python 3.11+")


def test_pyproject_lists_every_package():
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        listed = set(tomllib.load(f)["tool"]["setuptools"]["packages"])
    on_disk = {os.path.relpath(d, ROOT).replace(os.sep, ".")
               for d, _, files in os.walk(os.path.join(ROOT, "anethru"))
               if "__init__.py" in files}
    assert on_disk == listed, f"pyproject.toml [tool.setuptools] packages should be {sorted(on_disk)}"


def test_the_test_command_runs_on_every_core_and_ci_runs_what_it_skips():
    """`python -m pytest` (the README's command): pytest-xdist in the test extra, turned on by
    tests/conftest.py; the release checks marked slow skipped, and .ci/run running them."""
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        project = tomllib.load(f)
    assert any(d.startswith("pytest-xdist") for d in project["project"]["optional-dependencies"]["test"])
    pytest_ini = project["tool"]["pytest"]["ini_options"]
    assert "-m 'not slow'" in pytest_ini["addopts"]
    assert any(m.startswith("slow:") for m in pytest_ini["markers"])
    with open(os.path.join(ROOT, ".ci", "run"), encoding="utf-8") as f:
        ci = f.read()
    assert "\npython -m pytest -m slow" in ci
    assert ci.index('eval "$TEST_COMMAND"') < ci.index("\npython -m pytest -m slow")


def test_xdist_is_on_by_default_and_off_on_request():
    """tests/conftest.py: `-n auto` unless -n is given or xdist is turned off."""
    import importlib.util
    import subprocess
    import sys

    if importlib.util.find_spec("xdist") is None:
        pytest.skip("pytest-xdist is not installed here")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_XDIST_")}

    def workers(*args) -> bool:
        p = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args,
                            "tests/test_stats.py", "-k", "not_a_test_name"], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=300)
        assert p.returncode in (0, 5), p.stdout + p.stderr   # 5: every test deselected
        return "created: " in p.stdout

    assert workers() is True
    assert workers("-n", "0") is False
    assert workers("-p", "no:xdist") is False
