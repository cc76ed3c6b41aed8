"""Shared fixtures: leak accounting through the native counters, and fault injection."""

from __future__ import annotations

import gc
import os

import pytest

from anethru.native.lib import lib


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config):
    """`python -m pytest` runs on every core (pytest-xdist's `-n auto`) unless told otherwise:
    `-n N` (`-n 0`: in this process), `-p no:xdist`, or pytest-xdist not installed (then the
    suite runs in one process, as before).  Runs before xdist's own hook reads the option."""
    if (config.pluginmanager.hasplugin("xdist") and config.option.numprocesses is None
            and not os.environ.get("PYTEST_XDIST_WORKER")
            and not getattr(config.option, "usepdb", False)):
        config.option.numprocesses = "auto"


def pytest_collection_finish(session):
    """Everything alive once the tests are collected (modules, test functions, parameters: a
    hundred thousand objects, and no Chain yet) is moved out of the garbage collector's reach
    (gc.freeze): each full gc.collect() of a long-lived worker walked them all again, and
    no_leaks collects twice per test."""
    gc.collect()
    gc.freeze()


def live_counts() -> tuple[int, int, int]:
    gc.collect()  # a dropped Chain frees its buffers in __del__
    return lib.anethru_live_chains(), lib.anethru_live_kernels(), lib.anethru_cpu_live_buffers()


@pytest.fixture
def no_leaks():
    """Fails the test if it leaves native chains, kernels or CPU buffers alive."""
    before = live_counts()
    yield
    assert live_counts() == before, "native objects leaked (chains, kernels, buffers)"


@pytest.fixture
def inject_fault():
    """inject_fault(kind, kernel, after): arm a CPU-backend fault for the next chain opened."""
    def arm(kind: str, kernel: int, after: int = 0) -> None:
        code = getattr(lib, f"ANETHRU_FAULT_{kind.upper()}")
        lib.anethru_cpu_inject_fault(code, kernel, after)

    yield arm
    lib.anethru_cpu_inject_fault(lib.ANETHRU_FAULT_NONE, -1, 0)
