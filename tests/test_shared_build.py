"""tests/shared_build.py: a build shared by xdist workers and runs is made once per set of
inputs, never read half-made, and made anew when an input changes."""

from __future__ import annotations

import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

SCRIPT = """
import os, sys, time
sys.path.insert(0, {here!r})
from shared_build import shared_build

def make(out):
    with open(os.path.join(os.environ["COUNT"], str(os.getpid())), "w"):
        pass
    time.sleep(1)          # the other process arrives while this one builds
    with open(os.path.join(out, "made"), "w") as f:
        f.write("whole")

out = shared_build("selftest", ["tests/shared_build.py"], make, (sys.argv[1],))
with open(os.path.join(out, "made")) as f:
    print(out, f.read())
"""


def _run_two(tmp_path, extra: str) -> list[str]:
    env = dict(os.environ, TMPDIR=str(tmp_path / "tmp"), COUNT=str(tmp_path / "count"))
    procs = [subprocess.Popen([sys.executable, "-c", SCRIPT.format(here=HERE), extra], env=env,
                              stdout=subprocess.PIPE, text=True) for _ in range(2)]
    return [p.communicate(timeout=120)[0].split() for p in procs]


def test_two_processes_share_one_build_and_a_changed_input_gets_its_own(tmp_path):
    (tmp_path / "tmp").mkdir()
    (tmp_path / "count").mkdir()
    first = _run_two(tmp_path, "inputs-1")
    assert first[0] == first[1] and first[0][1] == "whole"   # the same, whole build
    assert len(os.listdir(tmp_path / "count")) == 1           # made once
    again = _run_two(tmp_path, "inputs-1")
    assert again == first and len(os.listdir(tmp_path / "count")) == 1   # reused by a later run
    changed = _run_two(tmp_path, "inputs-2")
    assert changed[0][0] != first[0][0] and len(os.listdir(tmp_path / "count")) == 2
