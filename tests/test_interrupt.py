"""Ctrl-C: a SIGINT during a native measurement stops it between passes, leaves nothing behind,
keeps the chain usable, and reaches the handler the program had; the CLI prints what finished."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

import anethru
from anethru.native.lib import lib
from sigint import default_sigint_in_child

# A measurement that would take many minutes: 768x256 on the CPU is milliseconds per eval.
LONG = dict(iters=100_000, warmup=0, repeats=3)
# The proof that the loop stopped early, without timing anything: an eval failure injected
# thousands of passes in (tens of seconds), which a measurement that ran on would hit.
SENTINEL_EVAL = 3000


@pytest.fixture(autouse=True)
def sigint_raises_keyboard_interrupt():
    """Python's own handler, whatever this process inherited (see tests/sigint.py)."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def sigint_later(delay: float, target: str = "process") -> threading.Thread:
    def fire():
        time.sleep(delay)
        if target == "process":
            os.kill(os.getpid(), signal.SIGINT)
        else:  # to this helper thread itself: the signal lands outside the main thread
            signal.pthread_kill(threading.get_ident(), signal.SIGINT)
    t = threading.Thread(target=fire, daemon=True)
    t.start()
    return t


def assert_python_handles_sigint_again():
    # With anethru's native handler gone, Python's own turns a SIGINT into KeyboardInterrupt.
    with pytest.raises(KeyboardInterrupt):
        signal.raise_signal(signal.SIGINT)
        time.sleep(1)  # pragma: no cover - reached only if the handler did not raise


@pytest.mark.parametrize("target", ["process", "other thread"])
def test_sigint_stops_a_long_measure_and_the_chain_stays_usable(target, inject_fault, no_leaks):
    inject_fault("eval", kernel=0, after=SENTINEL_EVAL)
    with anethru.Chain(768, 256, kernels=2, backend="cpu") as chain:
        sigint_later(0.5, target)
        with pytest.raises(KeyboardInterrupt):
            chain.measure(["sequential", "serial_queue", "memcpy_only"], **LONG)
        assert_python_handles_sigint_again()
        # every lock was released and the serial-queue worker stopped: the chain still works
        assert chain.check().passed
        m = chain.measure(["sequential", "serial_queue"], iters=1, warmup=0, repeats=1)
        assert len(m.block_ns) == 2


def test_a_program_that_ignores_sigint_keeps_ignoring_it(no_leaks):
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    timer = None
    try:
        # Seconds of work (milliseconds per eval at 768x256), so the signal lands inside it.
        with anethru.Chain(768, 256, kernels=2, backend="cpu") as chain:
            timer = sigint_later(0.05)
            m = chain.measure(["run_only"], iters=150, warmup=0, repeats=2)
        assert len(m.block_ns) == 2   # ran to the end
    finally:
        if timer is not None:
            timer.join()  # never restore the handler before the signal has been sent
        signal.signal(signal.SIGINT, previous)


def test_the_programs_own_handler_gets_the_signal(inject_fault, no_leaks):
    inject_fault("eval", kernel=0, after=SENTINEL_EVAL)
    seen = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: seen.append(signum))
    try:
        with anethru.Chain(768, 256, kernels=2, backend="cpu") as chain:
            sigint_later(0.3)
            with pytest.raises(KeyboardInterrupt, match="interrupted"):
                chain.measure(["run_only"], **LONG)
        assert seen == [signal.SIGINT]
    finally:
        signal.signal(signal.SIGINT, previous)


def test_a_measurement_on_another_thread_is_not_cancelled(no_leaks):
    seen, out = [], {}
    previous = signal.signal(signal.SIGINT, lambda signum, frame: seen.append(signum))
    try:
        with anethru.Chain(64, 32, kernels=2, backend="cpu") as chain:
            def work():
                out["m"] = chain.measure(["run_only"], iters=4000, warmup=0, repeats=2)
            worker = threading.Thread(target=work)
            worker.start()
            time.sleep(0.1)
            os.kill(os.getpid(), signal.SIGINT)
            worker.join()
            time.sleep(0.05)  # let the main thread run the Python-level handler
        assert len(out["m"].block_ns) == 2 and seen == [signal.SIGINT]
    finally:
        signal.signal(signal.SIGINT, previous)


def test_run_ceiling_releases_the_chain_when_interrupted(inject_fault, no_leaks):
    inject_fault("eval", kernel=0, after=SENTINEL_EVAL)
    sigint_later(1.0)
    with pytest.raises(KeyboardInterrupt):
        anethru.run_ceiling(768, 256, kernels=2, backend="cpu", iters=100_000, repeats=2)
    assert lib.anethru_live_chains() == 0


def test_run_suite_keeps_the_configurations_that_finished(inject_fault, no_leaks):
    inject_fault("eval", kernel=3, after=SENTINEL_EVAL)  # 768x256's first kernel: compile #3
    def progress(line):
        if line.startswith("[2/2] 768x256: timing"):
            sigint_later(0.5)
    with pytest.raises(anethru.SuiteInterrupted) as info:
        # 10,000 passes: over a minute per block at 768x256; 16x8, which must finish, runs them
        # too (100,000 took seconds)
        anethru.run_suite([(16, 8), (768, 256)], kernels=2, backend="cpu", iters=10_000,
                          repeats=1, progress=progress, keep_going=True)
    stop = info.value
    assert isinstance(stop, KeyboardInterrupt)
    assert stop.config == (768, 256)
    assert [r.config.label for r in stop.results] == ["16x8"]
    assert "interrupted during 768x256; 1 configuration(s) finished" in str(stop)


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_ctrl_c_in_the_cli_prints_what_finished_and_exits_130(fmt):
    # The second configuration would run 10,000 passes per block: over a minute.
    cmd = [sys.executable, "-m", "anethru", "-b", "cpu", "-c", "16x8", "-c", "768x256", "-k", "2",
           "-n", "10000", "-r", "1"] + (["--json"] if fmt == "json" else [])
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         preexec_fn=default_sigint_in_child)
    err_lines = []
    for line in p.stderr:   # wait until the long configuration is being timed
        err_lines.append(line)
        if "[2/2] 768x256: timing" in line:
            break
    time.sleep(0.5)   # into its first block (the run's own time, on both cores, until the signal)
    assert p.poll() is None, "the long run ended by itself"
    p.send_signal(signal.SIGINT)
    sent = time.monotonic()
    out, rest = p.communicate(timeout=60)
    took = time.monotonic() - sent
    err = "".join(err_lines) + rest
    assert p.returncode == 130, err
    assert took < 2.0, f"took {took:.1f} s to stop"
    assert "Traceback" not in err
    assert "anethru: interrupted during 768x256; printed the 1 configuration(s) that finished" in err
    if fmt == "json":
        doc = json.loads(out)
        assert doc["interrupted"] == {"channels": 768, "spatial": 256}
        assert [r.config.label for r in anethru.load_results(out)] == ["16x8"]
    else:
        assert "16x8 (channels x spatial), 2 kernels" in out
        assert "768x256 (channels x spatial)" not in out
