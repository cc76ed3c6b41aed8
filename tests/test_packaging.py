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
