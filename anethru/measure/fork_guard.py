"""Chains across fork(): every open chain, so that a forked child disowns the ones it inherited."""

from __future__ import annotations

import os
import weakref
from typing import Any

# Weakly held: a forgotten chain still frees itself when collected.
_open_chains: "weakref.WeakSet[Any]" = weakref.WeakSet()


def opened(chain: Any) -> None:
    _open_chains.add(chain)


def closed(chain: Any) -> None:
    _open_chains.discard(chain)


def _after_fork_in_child() -> None:
    """A child of fork() gets copies of the parent's chains but not their owners: a thread that
    was inside ``measure`` (holding the chain's lock, and native locks mid-pass) does not exist
    in the child, and a device context (CUDA, the ANE) does not cross a fork.  So every
    inherited chain is disowned: a fresh lock, its native handle dropped without freeing what
    belongs to the parent, and any use raises an error saying so instead of waiting forever."""
    pid = os.getppid()
    for chain in list(_open_chains):
        chain._disown(pid)
    _open_chains.clear()


if hasattr(os, "register_at_fork"):  # POSIX
    os.register_at_fork(after_in_child=_after_fork_in_child)
