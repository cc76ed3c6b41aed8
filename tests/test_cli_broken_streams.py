"""Progress is best effort: a closed, full or broken stderr never costs the result nor leaks into
stdout, and a closed stdout is one clear error (issue 22)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

import anethru

RUN = [sys.executable, "-m", "anethru", "-b", "cpu", "-c", "16x8", "-k", "2", "--repeats", "2",
       "--json"]


def env() -> dict:
    return {**os.environ, "PYTHONPATH": os.path.dirname(os.path.dirname(os.path.abspath(__file__)))}


def run_shell(redirect: str) -> subprocess.CompletedProcess:
    cmd = " ".join(f"'{a}'" for a in RUN) + " " + redirect
    return subprocess.run(["bash", "-c", cmd], capture_output=True, env=env(), timeout=600)


def assert_the_result_on_stdout(p: subprocess.CompletedProcess) -> None:
    assert p.returncode == 0, p.stderr
    [r] = anethru.load_results(p.stdout)   # nothing but the document
    assert r.config.label == "16x8"


def test_with_stderr_closed_stdout_holds_only_the_result():
    assert_the_result_on_stdout(run_shell("2>&-"))


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_with_stderr_full_the_run_completes():
    assert_the_result_on_stdout(run_shell("2>/dev/full"))


def test_with_a_closed_pipe_on_stderr_the_run_completes():
    p = subprocess.Popen(RUN, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env())
    p.stderr.close()                        # the reader of stderr went away
    out, _ = p.communicate(timeout=600)
    assert_the_result_on_stdout(subprocess.CompletedProcess(RUN, p.returncode, out, b""))


def test_with_stdout_closed_it_says_so_and_fails():
    p = run_shell(">&-")
    err = p.stderr.decode()
    assert p.returncode == 1
    assert "anethru: error: cannot write the output: stdout is closed" in err
    assert "internal error" not in err and "Traceback" not in err
