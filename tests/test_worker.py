"""isolate=True and run_in_worker: the measurement runs in a fresh process, comes back as the
same result (recorded as isolated), and a worker that crashes, hangs or cannot start becomes a
clear exception here with nothing left running."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import anethru
from anethru.measure.worker import wire as _wire
from anethru.measure.worker.parent import run_in_worker

pytestmark = pytest.mark.skipif(shutil.which("pgrep") is None,
                                reason="pgrep is needed to look for leftover worker processes")


def children() -> list[int]:
    """This test process's child processes (a finished worker has been reaped: none)."""
    out = subprocess.run(["pgrep", "-P", str(os.getpid())], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split()]  # pgrep never lists itself


@pytest.fixture
def no_children_left():
    before = children()
    yield
    assert children() == before, "a worker process was left running"


def test_isolated_run_returns_the_full_result_recorded_as_isolated(inject_fault,
                                                                    no_children_left):
    # Armed here: any compile in this process would fail, so the measurement's compiles can
    # only have happened in the worker.
    inject_fault("compile", kernel=0)
    lines: list[str] = []
    r = anethru.run_ceiling(64, 32, backend="cpu", repeats=3, isolate=True, progress=lines.append)

    assert isinstance(r, anethru.CeilingResult)
    assert r.config.options == ("isolated",)
    assert (r.config.backend, r.config.label, r.config.kernels) == ("cpu", "64x32", 12)
    assert list(r.tests) == ["sequential", "run_only", "memcpy_only", "serial_queue", "chained"]
    assert all(len(t.block_ns) == 3 for t in r.tests.values())
    assert "round_trip_overhead" in r.derived and r.check.passed
    assert r.device == {b.name: b for b in anethru.backends()}["cpu"].device
    assert "options: isolated" in str(r)
    assert anethru.CeilingResult.from_json(r.to_json()) == r  # survives its own JSON
    # the worker's progress lines reach the caller: each phase, then the rounds it ran
    assert [ln.split(":")[1].split()[0] for ln in lines] == ["compiling", "checking", "timing", "3"]
    assert lines[-1].startswith("64x32: 3 repeats in ")
    with pytest.raises(anethru.CompileError):  # the fault is still armed: nothing compiled here
        anethru.Chain(64, 32, backend="cpu")


def test_isolated_suite_returns_results_in_order(no_children_left):
    rs = anethru.run_suite([(64, 32), (32, 16)], backend="cpu", repeats=2, tests=["run_only"],
                           isolate=True)
    assert [r.config.label for r in rs] == ["64x32", "32x16"]
    assert all(r.config.options == ("isolated",) for r in rs)


def test_errors_in_the_worker_are_raised_as_the_same_class_and_message(no_children_left):
    with pytest.raises(ValueError) as here:
        anethru.run_ceiling(0, 32, backend="cpu")
    with pytest.raises(ValueError) as there:
        anethru.run_ceiling(0, 32, backend="cpu", isolate=True)
    assert str(there.value) == str(here.value) == "channels must be >= 1; got 0"
    assert "validate.py" in there.value.worker_traceback

    missing = [b for b in anethru.backends() if not b.available]
    if missing:
        with pytest.raises(anethru.BackendUnavailableError, match=re.escape(missing[0].reason)):
            anethru.run_ceiling(64, 32, backend=missing[0].name, isolate=True)


def test_a_worker_killed_mid_run_raises_a_clear_error(no_children_left):
    killed = []

    def kill_worker_when_timing_starts(line: str) -> None:
        if "timing" in line:
            (pid,) = children()
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

    with pytest.raises(anethru.WorkerError) as err:
        anethru.run_ceiling(768, 256, backend="cpu", isolate=True,
                            progress=kill_worker_when_timing_starts)
    assert killed
    assert f"worker (pid {killed[0]}) running anethru.measure.api:run_ceiling was killed by signal " \
           "SIGKILL before returning a result" in str(err.value)


def test_a_hung_worker_is_killed_at_its_timeout(no_children_left):
    with pytest.raises(anethru.WorkerTimeoutError, match=r"time:sleep did not finish within "
                                                         r"1\.5 s and was killed") as err:
        run_in_worker(time.sleep, 600, timeout=1.5)
    assert isinstance(err.value, TimeoutError)


def test_a_crashed_worker_reports_its_signal_status_and_stderr(no_children_left):
    with pytest.raises(anethru.WorkerError, match="killed by signal SIGABRT"):
        run_in_worker(os.abort)
    with pytest.raises(anethru.WorkerError, match="exited with status 7 before returning"):
        run_in_worker(os._exit, 7)
    # A shell prints a line and kills its parent, the worker: the line ends the message.
    with pytest.raises(anethru.WorkerError) as err:
        run_in_worker(os.system, "echo framework says boom >&2; kill -9 $PPID")
    assert "killed by signal SIGKILL" in str(err.value)
    assert str(err.value).endswith("its last lines on stderr:\n  framework says boom")


def test_worker_that_cannot_start_says_why(monkeypatch):
    monkeypatch.setattr(sys, "executable", "/nonexistent/python3")
    with pytest.raises(anethru.WorkerUnavailableError, match="could not start a worker "
                                                             r"\(/nonexistent/python3 -c"):
        anethru.run_ceiling(64, 32, backend="cpu", isolate=True)
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    with pytest.raises(anethru.WorkerUnavailableError, match="frozen application"):
        anethru.run_ceiling(64, 32, backend="cpu", isolate=True)


def test_bad_isolation_arguments_fail_before_any_worker_starts(no_children_left):
    with pytest.raises(TypeError, match=r"channels=np\.int64\(64\) \(int64\) is not a plain "
                                        "JSON value"):
        anethru.run_ceiling(np.int64(64), 32, backend="cpu", isolate=True)
    with pytest.raises(TypeError, match=r"weights=array"):
        anethru.run_suite([(64, 32)], weights=np.zeros(3), isolate=True)
    with pytest.raises(TypeError, match="isolate must be True or False; got 'yes'"):
        anethru.run_ceiling(64, 32, isolate="yes")
    with pytest.raises(ValueError, match="timeout=5 needs isolate=True"):
        anethru.run_ceiling(64, 32, backend="cpu", timeout=5)
    with pytest.raises(ValueError, match="timeout must be a positive number of seconds or "
                                         "None; got -1"):
        anethru.run_ceiling(64, 32, isolate=True, timeout=-1)
    with pytest.raises(TypeError, match="lambda or a nested function"):
        run_in_worker(lambda: 1)
    with pytest.raises(TypeError, match="progress must be callable"):
        anethru.run_ceiling(64, 32, isolate=True, progress="stderr")


def test_wire_round_trips_suite_entries_and_exceptions():
    failure = anethru.ConfigFailure(768, 256, anethru.CompileError("the chip said no"))
    back = _wire.decode(_wire.encode([failure, {"n": 1, "xs": [1.5, None]}]))
    assert back[1] == {"n": 1, "xs": [1.5, None]}
    assert (back[0].channels, back[0].spatial) == (768, 256)
    assert type(back[0].error) is anethru.CompileError and str(back[0].error) == "the chip said no"

    class Strange(Exception):
        pass

    exc = _wire.decode_exception(_wire.encode_exception(Strange("odd")))
    assert type(exc) is anethru.WorkerError
    assert str(exc) == f"{__name__}.Strange in the worker: odd"
    with pytest.raises(TypeError, match="cannot send back a ndarray"):
        _wire.encode(np.zeros(2))
