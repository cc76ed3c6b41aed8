"""Ctrl-C during a native measurement.

While the main thread is inside a native call, Python's SIGINT handler cannot run: the
KeyboardInterrupt would wait until the whole measurement returned (minutes, for a long one).
``sigint_stops_native_loops()`` arms a native handler for the length of the call (see
``anethru_interrupt_arm`` in csrc/anethru.h): the native loop stops before its next pass, and on
the way out the previous handler is restored and the signal re-raised to it, so Python's own
handler (or the one the program installed) decides what happens, as it would have without us.
A process that ignores SIGINT keeps ignoring it.

Only the main thread arms it: Python delivers signals to the main thread only, and a measurement
running on another thread must not be cancelled by a Ctrl-C meant for the main one.
"""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from typing import Iterator

from anethru.native.lib import lib


@contextmanager
def sigint_stops_native_loops() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    armed = lib.anethru_interrupt_arm()
    try:
        yield
    finally:
        if armed and lib.anethru_interrupt_disarm():
            # Hand the signal to the handler it was meant for (by default: KeyboardInterrupt,
            # raised from here, after the native call has returned and released everything).
            signal.raise_signal(signal.SIGINT)


__all__ = ["sigint_stops_native_loops"]
