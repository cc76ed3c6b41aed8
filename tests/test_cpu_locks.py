"""The cpu backend's lock rules (IOSurface's, csrc/common/port_lock.h), call by call through its
backend table: tests/cpu_driver/cpu_calls.c runs each call and prints its status and message."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
CSRC = os.path.join(os.path.dirname(HERE), "csrc")
CC = shutil.which("gcc") or shutil.which("cc") or shutil.which("clang")

pytestmark = pytest.mark.skipif(CC is None, reason="no C compiler to build the driver")

OK, E_ARG, E_EVAL, E_LOCK = 0, 1, 6, 7


@pytest.fixture(scope="module")
def driver(tmp_path_factory):
    exe = str(tmp_path_factory.mktemp("cpu_driver") / "cpu_calls")
    sources = [os.path.join(HERE, "cpu_driver", "cpu_calls.c")] + [
        os.path.join(CSRC, f) for f in ("cpu/cpu_backend.c", "cpu/cpu_conv.c", "common/port_lock.c",
                                        "common/messages.c")]
    # -O2: the vector kernel's intrinsics need constant folding, as in the real build.
    subprocess.run([CC, "-std=gnu11", "-O2", "-Wall", "-Werror", "-I", CSRC, *sources, "-o", exe,
                    "-lm"], check=True, capture_output=True, text=True)
    return exe


def calls(driver, *lines):
    """[(status, message)] of each call, in order; and every buffer freed at the end."""
    p = subprocess.run([driver, *lines], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr
    out = p.stdout.splitlines()
    assert out[-1] == "live_buffers=0"
    rows = [line.split("|", 2) for line in out[:-1]]
    assert [r[0] for r in rows] == list(lines)
    return [(int(r[1]), r[2]) for r in rows]


def test_eval_is_refused_while_a_lock_is_held(driver):
    assert calls(driver, "lock in rw", "eval", "unlock in rw", "eval") == [
        (OK, ""), (E_EVAL, "eval while the CPU holds a lock on the kernel's input buffer"),
        (OK, ""), (OK, "")]
    assert calls(driver, "lock out ro", "eval", "unlock out ro", "eval") == [
        (OK, ""), (E_EVAL, "eval while the CPU holds a lock on the kernel's output buffer"),
        (OK, ""), (OK, "")]


def test_an_unlock_must_name_the_flags_of_its_lock(driver):
    assert calls(driver, "lock in rw", "unlock in ro", "eval", "unlock in rw", "eval") == [
        (OK, ""), (E_LOCK, "unlock flags 1 do not match the input buffer's read-write lock"),
        (E_EVAL, "eval while the CPU holds a lock on the kernel's input buffer"),  # still held
        (OK, ""), (OK, "")]
    assert calls(driver, "lock out ro", "unlock out rw", "unlock out ro") == [
        (OK, ""), (E_LOCK, "unlock flags 0 do not match the output buffer's read-only lock"), (OK, "")]
    assert calls(driver, "unlock out ro") == [(E_LOCK, "unlock of the output buffer, which is not locked")]


def test_locks_nest_only_with_the_same_flags(driver):
    # Two read-only locks need two unlocks before an eval may run.
    assert calls(driver, "lock out ro", "lock out ro", "unlock out ro", "eval", "unlock out ro",
                 "eval") == [
        (OK, ""), (OK, ""), (OK, ""),
        (E_EVAL, "eval while the CPU holds a lock on the kernel's output buffer"),
        (OK, ""), (OK, "")]
    assert calls(driver, "lock in rw", "lock in rw", "unlock in rw", "unlock in rw", "unlock in rw") == [
        (OK, ""), (OK, ""), (OK, ""), (OK, ""),
        (E_LOCK, "unlock of the input buffer, which is not locked")]
    # A write lock over a read lock (or the reverse) is refused, and leaves the first lock as it was.
    assert calls(driver, "lock out ro", "lock out rw", "unlock out ro", "eval") == [
        (OK, ""), (E_LOCK, "output buffer is locked read-only; cannot lock it read-write"),
        (OK, ""), (OK, "")]
    assert calls(driver, "lock in rw", "lock in ro", "unlock in rw") == [
        (OK, ""), (E_LOCK, "input buffer is locked read-write; cannot lock it read-only"), (OK, "")]


def test_the_two_ports_lock_independently(driver):
    assert calls(driver, "lock in rw", "lock out ro", "unlock in rw", "eval", "unlock out ro",
                 "eval") == [
        (OK, ""), (OK, ""), (OK, ""),
        (E_EVAL, "eval while the CPU holds a lock on the kernel's output buffer"),
        (OK, ""), (OK, "")]


def test_bad_ports_and_flags_are_argument_errors(driver):
    assert calls(driver, "lock 2 rw", "lock in 5", "unlock 3 ro") == [
        (E_ARG, "bad lock: port 2 flags 0"), (E_ARG, "bad lock: port 0 flags 5"),
        (E_ARG, "bad unlock: port 3")]
