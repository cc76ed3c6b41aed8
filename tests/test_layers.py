"""The package's layers, as import-linter's contracts in pyproject.toml state them: the contracts
hold on this tree, and a planted upward import breaks them (so the check can fail)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# import-linter is in the test extra: a missing one is an error here, never a skip.
LINT = shutil.which("lint-imports") or os.path.join(os.path.dirname(sys.executable), "lint-imports")


def lint(root: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=root)
    return subprocess.run([LINT, "--no-cache"], cwd=root, env=env, capture_output=True, text=True,
                          timeout=120)


def copy_package(tmp_path) -> str:
    root = str(tmp_path / "tree")
    shutil.copytree(os.path.join(ROOT, "anethru"), os.path.join(root, "anethru"),
                    ignore=shutil.ignore_patterns("*.so", "__pycache__"))
    shutil.copy(os.path.join(ROOT, "pyproject.toml"), root)
    return root


def test_the_contracts_hold():
    p = lint(ROOT)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "Contracts: 3 kept, 0 broken." in p.stdout


@pytest.mark.parametrize("module,planted,contract", [
    ("results/stats.py", "import anethru.report.text", "results is not allowed to import anethru.report"),
    ("native/tensors.py", "import anethru.measure.chain", "native is not allowed to import anethru.measure"),
    ("commands/plot.py", "import anethru.cli", "anethru.commands is not allowed to import anethru.cli"),
    ("measure/grid.py", "import anethru.measure.sweep", "No cycles are allowed in anethru.measure"),
])
def test_a_planted_import_breaks_its_contract(tmp_path, module, planted, contract):
    root = copy_package(tmp_path)
    path = os.path.join(root, "anethru", module)
    with open(path, "a", encoding="utf-8") as f:
        f.write(f"\n{planted}  # planted\n")
    p = lint(root)
    assert p.returncode != 0
    assert contract in p.stdout, p.stdout


def test_every_sub_package_says_its_job():
    for folder, _, names in os.walk(os.path.join(ROOT, "anethru")):
        if "__init__.py" in names:
            with open(os.path.join(folder, "__init__.py"), encoding="utf-8") as f:
                text = f.read()
            assert text.lstrip().startswith('"""'), folder
