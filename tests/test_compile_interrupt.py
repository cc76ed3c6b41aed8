"""Ctrl-C while a chain compiles: the compile stops between kernels, and an interrupt that lands
just after the native open returned frees the chain instead of leaking it (issue 22)."""

from __future__ import annotations

import os
import signal

import pytest

import anethru
from anethru.measure import chain as chain_module
from anethru.native.lib import lib


@pytest.fixture(autouse=True)
def sigint_raises_keyboard_interrupt():
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


class OpenHook:
    """The native library with ``anethru_chain_open`` wrapped: ``before`` and ``after`` run
    around the real call, whose status codes are recorded."""

    def __init__(self, monkeypatch, before=None, after=None):
        self.codes: list[int] = []
        self._before, self._after = before, after
        monkeypatch.setattr(chain_module, "lib", self)

    def __getattr__(self, name):
        return getattr(lib, name)

    def anethru_chain_open(self, *args):
        if self._before:
            self._before()
        rc = lib.anethru_chain_open(*args)
        self.codes.append(rc)
        if self._after:
            self._after()
        return rc


def interrupt_now():
    raise KeyboardInterrupt  # what Python's handler does at the first bytecode after the call


def test_an_interrupt_just_after_the_open_returned_does_not_leak_the_chain(monkeypatch, no_leaks):
    hook = OpenHook(monkeypatch, after=interrupt_now)
    with pytest.raises(KeyboardInterrupt):
        anethru.Chain(64, 32, kernels=4, backend="cpu")
    assert hook.codes == [lib.ANETHRU_OK]   # the chain existed; no_leaks checks it was freed


def test_ctrl_c_during_the_compile_stops_it_between_kernels(monkeypatch, inject_fault, no_leaks):
    # The sentinel: the second compile fails, so a compile that went on would raise CompileError.
    inject_fault("compile", kernel=1)
    hook = OpenHook(monkeypatch, before=lambda: os.kill(os.getpid(), signal.SIGINT))
    with pytest.raises(KeyboardInterrupt):
        anethru.Chain(64, 32, kernels=8, backend="cpu")
    assert hook.codes == [lib.ANETHRU_E_INTERRUPTED]


def test_the_chain_compiles_normally_afterwards(no_leaks):
    with anethru.Chain(64, 32, kernels=3, backend="cpu") as c:
        assert c.check().passed
