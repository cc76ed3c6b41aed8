"""Ctrl-C in tests.  A process started in the background by a non-interactive shell (``cmd &``,
nohup, some CI runners) inherits SIGINT *ignored*, and Python then leaves it ignored (as anethru
does: a program that ignores SIGINT keeps ignoring it).  Tests of Ctrl-C put back what a
terminal gives: Python's KeyboardInterrupt handler here, the default disposition in a child."""

from __future__ import annotations

import signal


def default_sigint_in_child() -> None:
    """``preexec_fn`` for a child that must see Ctrl-C as from a terminal."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
