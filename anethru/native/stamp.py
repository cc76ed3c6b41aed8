"""The build stamp: which version and which native sources ``anethru._native`` was built from.

``_build.py`` compiles the stamp into the extension (``anethru_build_stamp()``) and ``_lib.py``
compares it on import with the package version and, when the package sits in a source tree (an
editable install, or a clone on ``sys.path``), with the sources there: editable installs do not
rebuild, so a stale ``_native*.so`` would otherwise run old code, or crash on a changed
interface.

Standalone on purpose: ``_build.py`` loads this file by path during the build, before the
package can be imported, so it imports nothing from anethru.
"""

from __future__ import annotations

import hashlib
import os
import re
from typing import Optional

# Relative to the source tree's root.
INTERFACE_HEADER = os.path.join("csrc", "anethru.h")
NATIVE_DIR = "csrc"
BUILDER = os.path.join("anethru", "_build.py")
SOURCE_SUFFIXES = (".c", ".h", ".m")  # what the compiler reads (an editor's backup is not)
INIT = os.path.join("anethru", "_version.py")
CDEF_RE = re.compile(r"/\* CDEF-BEGIN \*/(.*?)/\* CDEF-END \*/", re.S)
STAMP_RE = re.compile(r"anethru (\S+) cdef:([0-9a-f]+) sources:([0-9a-f]+)")
DIGEST_CHARS = 16


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:DIGEST_CHARS]


def is_source_tree(root: str) -> bool:
    return os.path.isfile(os.path.join(root, INTERFACE_HEADER)) and \
        os.path.isfile(os.path.join(root, BUILDER))


def cdef_digest(root: str) -> str:
    """Digest of the cffi interface: the CDEF region of csrc/anethru.h."""
    with open(os.path.join(root, INTERFACE_HEADER), encoding="utf-8") as f:
        match = CDEF_RE.search(f.read())
    return _digest(match.group(1).encode() if match else b"")


def sources_digest(root: str) -> str:
    """Digest of everything the extension is compiled from: the C, Objective-C and header files
    in csrc/ (all sub-folders) and the builder (its flags), names included."""
    h = hashlib.sha256()
    paths = []
    # Recursive: a source moved into a sub-folder must not drop out of the stale-build check.
    for folder, dirs, names in os.walk(os.path.join(root, NATIVE_DIR)):
        dirs.sort()
        rel = os.path.relpath(folder, root)
        paths += [os.path.join(rel, n) for n in sorted(names) if n.endswith(SOURCE_SUFFIXES)]
    paths.append(BUILDER)
    for rel in paths:
        with open(os.path.join(root, rel), "rb") as f:
            data = f.read()
        h.update(rel.replace(os.sep, "/").encode() + b"\0" + str(len(data)).encode() + b"\0" + data)
    return h.hexdigest()[:DIGEST_CHARS]


def source_version(root: str) -> str:
    with open(os.path.join(root, INIT), encoding="utf-8") as f:
        match = re.search(r'^__version__ = "([^"]+)"', f.read(), re.M)
    return match.group(1) if match else "unknown"


def make(root: str) -> str:
    """The stamp of a build from the source tree at ``root``."""
    return f"anethru {source_version(root)} cdef:{cdef_digest(root)} sources:{sources_digest(root)}"


def parse(stamp: str) -> Optional[tuple[str, str, str]]:
    """(version, cdef digest, sources digest), or None for text that is not a stamp."""
    match = STAMP_RE.fullmatch(stamp.strip())
    return match.groups() if match else None  # type: ignore[return-value]
