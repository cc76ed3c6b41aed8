"""fork() while another thread tunes the cuda kernels: the child is never left a held lock, and
chains of other backends never take the tuner's lock (issue 22)."""

from __future__ import annotations

import os

import pytest

import cuda_helpers as H
from cuda_fixtures import build_dir, fake  # noqa: F401 (fixtures)

import anethru
from anethru.measure import chain as chain_module

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")

FORK_DURING_TUNING = """
import ctypes, os, threading, time, warnings
import anethru
from anethru.native.lib import lib
warnings.simplefilter("ignore", DeprecationWarning)  # fork() with a thread: the point here
fake = ctypes.CDLL(os.environ["ANETHRU_CUDA_LIBRARY"])
fake.fake_cuda_kernel_runs.restype = ctypes.c_long
tuner = threading.Thread(target=lambda: anethru.Chain(64, 32, kernels=2, backend="cuda").close())
tuner.start()
while fake.fake_cuda_kernel_runs() == 0:   # the tuner's first timed launch: it holds its lock
    time.sleep(0.001)
pid = os.fork()
if pid == 0:
    try:
        anethru.Chain(8, 8, kernels=2, backend="cpu").close()
        lib.anethru_cuda_choices_made()
    finally:
        os._exit(0)
deadline = time.monotonic() + 120           # a guard against a deadlocked child, not a timing
while True:
    done, status = os.waitpid(pid, os.WNOHANG)
    if done:
        print("child exit", os.waitstatus_to_exitcode(status))
        break
    if time.monotonic() > deadline:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        print("child deadlocked")
        break
    time.sleep(0.01)
tuner.join()
"""


def test_a_child_forked_while_another_thread_tunes_does_not_deadlock(fake):
    rc, out, err = H.run_python(FORK_DURING_TUNING, ANETHRU_CUDA_LIBRARY=fake,
                                FAKE_CUDA_FAST_KERNEL="anethru_conv_fma_32x32",
                                FAKE_CUDA_SLOW_US=20000)
    assert rc == 0, err
    assert out.strip() == "child exit 0"


class RecordingLib:
    """The native library, recording which functions a caller reaches."""

    def __init__(self, lib):
        self._lib, self.used = lib, []

    def __getattr__(self, name):
        self.used.append(name)
        return getattr(self._lib, name)


def test_a_cpu_chain_never_reads_the_cuda_tuner(monkeypatch, no_leaks):
    recording = RecordingLib(chain_module.lib)
    monkeypatch.setattr(chain_module, "lib", recording)
    anethru.Chain(8, 8, kernels=2, backend="cpu").close()
    assert "anethru_chain_open" in recording.used
    assert not [n for n in recording.used if n.startswith("anethru_cuda")]
