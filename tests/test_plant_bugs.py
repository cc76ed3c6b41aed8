"""tools/plant_bugs.py itself: its --help says what it plants in its own words, and every bug
it lists can still be planted in this tree (code that moved would make it a silent no-op)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOOL = os.path.join(ROOT, "tools", "plant_bugs.py")
_spec = importlib.util.spec_from_file_location("plant_bugs", TOOL)
plant_bugs = sys.modules["plant_bugs"] = importlib.util.module_from_spec(_spec)  # dataclasses look it up
_spec.loader.exec_module(plant_bugs)


def test_help_describes_the_bugs_in_its_own_words():
    """It cited "issue #13's table", which a reader of the tool does not have."""
    p = subprocess.run([sys.executable, TOOL, "--help"], capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 0, p.stderr
    assert "issue" not in p.stdout.lower() and "#" not in p.stdout, p.stdout
    for bug in plant_bugs.BUGS:
        assert f"  {bug.name}: {bug.what} ({bug.where})" in p.stdout, bug.name


@pytest.mark.parametrize("bug", plant_bugs.BUGS, ids=[b.name for b in plant_bugs.BUGS])
def test_every_bug_can_still_be_planted_here(bug):
    for e in bug.edits:
        with open(os.path.join(ROOT, e.path), encoding="utf-8") as f:
            assert f.read().count(e.old) == e.count, (e.path, e.old)
        assert e.path.split("/")[-1] in bug.where, (bug.where, e.path)
    for t in bug.tests:
        assert os.path.isfile(os.path.join(ROOT, t)), t
