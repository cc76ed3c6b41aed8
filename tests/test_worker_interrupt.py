"""Ctrl-C during an isolated measurement reaches the worker, which answers with what finished:
nothing measured is lost to the process boundary (issue 22)."""

from __future__ import annotations

import os
import signal

import pytest

import anethru
from test_worker import children, no_children_left  # noqa: F401 (fixture)


@pytest.fixture(autouse=True)
def sigint_raises_keyboard_interrupt():
    """Python's own handler, whatever this process inherited (see tests/sigint.py)."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def interrupted(call, **kw) -> BaseException:
    """The KeyboardInterrupt ``call`` raised, caught here so that a wrong kind fails the test
    rather than stopping pytest."""
    try:
        call(**kw)
    except KeyboardInterrupt as exc:
        return exc
    raise AssertionError("no KeyboardInterrupt")


def ctrl_c_when(prefix: str):
    def progress(line: str) -> None:
        if line.startswith(prefix):
            os.kill(os.getpid(), signal.SIGINT)
    return progress


# The second configuration would run 10,000 passes per block: over a minute (the first, which
# must finish, runs them too: 100,000 took seconds); the timeout only guards against a worker
# that never heard the Ctrl-C.
SUITE = dict(configs=[(16, 8), (768, 256)], kernels=2, backend="cpu", iters=10_000, warmup=0,
             repeats=1, isolate=True, timeout=600)


def test_ctrl_c_during_an_isolated_suite_raises_suite_interrupted_with_what_finished(
        no_children_left):
    stop = interrupted(anethru.run_suite, progress=ctrl_c_when("[2/2] 768x256: timing"), **SUITE)
    assert isinstance(stop, anethru.SuiteInterrupted), repr(stop)
    assert stop.config == (768, 256)
    assert [r.config.label for r in stop.results] == ["16x8"]
    assert "isolated" in stop.results[0].config.options
    assert stop.results[0].tests["run_only"].block_ns  # the finished measurement itself


def test_ctrl_c_during_an_isolated_run_ceiling_is_a_keyboard_interrupt(no_children_left):
    stop = interrupted(anethru.run_ceiling, channels=768, spatial=256, kernels=2, backend="cpu",
                       iters=100_000, warmup=0, repeats=1, isolate=True, timeout=600,
                       progress=ctrl_c_when("768x256: timing"))
    assert type(stop) is KeyboardInterrupt


def test_the_wire_carries_a_suite_interrupted_with_its_results():
    from anethru.measure.worker import wire
    r = anethru.run_ceiling(8, 8, kernels=2, backend="cpu", iters=1, repeats=2,
                            tests=["sequential", "run_only"])
    back = wire.decode_exception(wire.encode_exception(anethru.SuiteInterrupted([r], (64, 32))))
    assert isinstance(back, anethru.SuiteInterrupted)
    assert back.config == (64, 32)
    assert [x.to_dict()["tests"] for x in back.results] == [r.to_dict()["tests"]]
