"""Builds that test modules share, made once for a given set of inputs and reused by every
pytest process: each xdist worker of a run, and later runs of an unchanged tree.

A build lives in a directory under the temporary directory named by a digest of everything it
reads (its source folders and files, the interpreter, extra facts such as the compiler), so a
changed source (a planted bug included) always gets a build of its own.  It is made under a
file lock, so two workers never build it twice or read it half-built; it counts as made only
once the build function returned (a failed build is retried by the next process that needs it).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import sys
import tempfile
import time
from typing import Callable, Iterable

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DONE = ".complete"


def _files(path: str) -> list[str]:
    if os.path.isfile(path):
        return [path]
    return sorted(os.path.join(d, f) for d, dirs, names in os.walk(path)
                  if "__pycache__" not in d.split(os.sep) for f in names)


def digest(inputs: Iterable[str], extra: Iterable[object] = ()) -> str:
    """A digest of the inputs' names and contents (folders walked), and of `extra`."""
    h = hashlib.sha256(repr((sys.version, sys.executable, *extra)).encode())
    for top in inputs:
        for f in _files(os.path.join(ROOT, top)):
            h.update(os.path.relpath(f, ROOT).encode() + b"\0")
            with open(f, "rb") as fh:
                h.update(hashlib.sha256(fh.read()).digest())
    return h.hexdigest()[:24]


def tool_facts(*names: str) -> tuple:
    """Where each tool is and when it changed: a new compiler means a new build."""
    facts = []
    for name in names:
        path = shutil.which(name)
        facts.append((name, path, os.stat(path).st_mtime_ns if path else None))
    return tuple(facts)


def shared_build(name: str, inputs: Iterable[str], build: Callable[[str], None],
                 extra: Iterable[object] = ()) -> str:
    """The directory of `name` built from `inputs` (paths relative to the repository root):
    built by build(directory) on first use, then reused."""
    base = os.path.join(tempfile.gettempdir(), f"anethru-test-builds-{os.getuid()}")
    os.makedirs(base, exist_ok=True)
    out = os.path.join(base, f"{name}-{digest(inputs, extra)}")
    with open(out + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not os.path.exists(os.path.join(out, DONE)):
            shutil.rmtree(out, ignore_errors=True)
            os.makedirs(out)
            build(out)
            with open(os.path.join(out, DONE), "w"):
                pass
            _prune(base, name, keep=out)
        os.utime(out)  # used now: not pruned for another week
    return out


def _prune(base: str, name: str, keep: str, days: float = 7.0) -> None:
    """Remove builds of `name` unused for `days` (each changed source leaves one behind; a
    recent one may still be in use by another tree's run, so only old ones go)."""
    old = time.time() - days * 86400
    for entry in os.listdir(base):
        path = os.path.join(base, entry)
        if (entry.startswith(name + "-") and path != keep and os.path.isdir(path)
                and os.path.getmtime(path) < old):
            shutil.rmtree(path, ignore_errors=True)
            if os.path.exists(path + ".lock"):
                os.remove(path + ".lock")
