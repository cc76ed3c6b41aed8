"""Writing a file whole or not at all: the gallery's page, a submission, and any --out FILE.

Atomic replacement (write beside, then rename) only ever lands on a regular file or a new
path: renaming onto a device node (``--out /dev/full`` as root) would replace the device with
a regular file and report success.  Anything else that exists (a device, a pipe, a link) is
written in place, so that its write errors are errors."""

from __future__ import annotations

import os
import stat


def _temporary_beside(path: str, data: bytes) -> str:
    """``data`` in a new file in ``path``'s folder, on disk (fsync: a full disk fails here)."""
    tmp = os.path.join(os.path.dirname(path) or ".",
                       f".{os.path.basename(path)}.{os.getpid()}.tmp")
    try:
        with open(tmp, "xb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        _remove(tmp)
        raise
    return tmp


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def write_new(path: str, data: bytes) -> None:
    """Create ``path`` holding ``data``; FileExistsError if it exists; on any error nothing is
    left behind (a link makes the whole file appear at once, and never replaces one)."""
    tmp = _temporary_beside(path, data)
    try:
        os.link(tmp, path)
    finally:
        _remove(tmp)


def replace_file(path: str, data: bytes) -> None:
    """``path`` now holds ``data``: renamed into place over a regular file or a new path, a
    failed write leaving the old file as it was; written in place into anything else."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        mode = None
    if mode is not None and not stat.S_ISREG(mode):
        with open(path, "wb") as f:   # a device, a pipe or a link: its own write errors
            f.write(data)
            f.flush()
        return
    tmp = _temporary_beside(path, data)
    try:
        os.replace(tmp, path)
    except BaseException:
        _remove(tmp)
        raise


__all__ = ["write_new", "replace_file"]
