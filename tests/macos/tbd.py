"""What a text-based dylib stub (.tbd, TAPI format v4, as zig ships libSystem's) exports for
one architecture.

A .tbd is a YAML stream of documents, one per library (libSystem's umbrella, then every
library it re-exports); each has ``exports:``/``reexports:`` entries pairing a ``targets``
list with ``symbols``, ``weak-symbols``, ``thread-local-symbols`` and ``objc-classes`` flow
lists.  Those few shapes are all this reads, so no YAML library is needed.
"""

from __future__ import annotations

import re
from functools import lru_cache

_SECTION = re.compile(r"^([a-z-]+):", re.M)                        # top-level key of a document
_FLOW_LIST = re.compile(r"^\s*(?:-\s+)?([a-z-]+):\s*\[([^\]]*)\]", re.M)  # key: [ a, b, ... ]
_EXPORTING = {"exports", "reexports"}
# Apple's architecture names in a target (arm64e covers what arm64 code links against).
_ARCH_IN_TARGET = {"arm64": ("arm64", "arm64e"), "x86_64": ("x86_64",)}


def _items(flow: str) -> list[str]:
    return [item.strip().strip("'\"") for item in flow.split(",") if item.strip()]


def _symbols(key: str, items: list[str]) -> list[str]:
    if key in ("symbols", "weak-symbols", "thread-local-symbols"):
        return items
    if key == "objc-classes":
        return [f"_OBJC_{kind}_$_{name}" for name in items for kind in ("CLASS", "METACLASS")]
    if key == "objc-eh-types":
        return [f"_OBJC_EHTYPE_$_{name}" for name in items]
    if key == "objc-ivars":
        return [f"_OBJC_IVAR_$_{name}" for name in items]
    return []


@lru_cache(maxsize=None)
def exports(path: str, arch: str) -> frozenset[str]:
    """Every symbol (Mach-O spelling, leading underscore) the stub exports to macOS code of
    ``arch`` ("arm64" or "x86_64")."""
    wanted = {f"{a}-macos" for a in _ARCH_IN_TARGET[arch]}
    with open(path, encoding="utf-8") as f:
        text = f.read()
    found: set[str] = set()
    for doc in text.split("--- !tapi-tbd"):
        sections = [(m.start(), m.group(1)) for m in _SECTION.finditer(doc)]
        targets: list[str] = []
        for m in _FLOW_LIST.finditer(doc):
            section = next((name for start, name in reversed(sections) if start <= m.start()), "")
            key, items = m.group(1), _items(m.group(2))
            if key == "targets":
                targets = items
            elif section in _EXPORTING and wanted & set(targets):
                found.update(_symbols(key, items))
    if not found:
        raise ValueError(f"{path} exports nothing for {arch}-macos: not a TAPI v4 stub?")
    return frozenset(found)
