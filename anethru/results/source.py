"""What a loader was given: a file to read, or the JSON text itself.

The rule, the same for ``load_results`` and ``load_sweep``, and unambiguous:

- ``bytes`` (or ``bytearray``) is JSON text;
- ``os.PathLike`` (``pathlib.Path``) is a path;
- ``str`` is JSON text when its first non-blank character is ``{`` or ``[`` (every anethru
  document is a JSON object, so no saved result reads otherwise), and a path in every other
  case.  A file whose name starts with ``{`` or ``[`` is read through ``pathlib.Path``.
"""

from __future__ import annotations

import os
from typing import Union

Source = Union[str, bytes, bytearray, "os.PathLike[str]"]


def is_json_text(source: Source) -> bool:
    if isinstance(source, (bytes, bytearray)):
        return True
    return isinstance(source, str) and source.lstrip()[:1] in ("{", "[")


def document_text(source: Source, caller: str) -> Union[str, bytes, bytearray]:
    """The JSON text of `source`: itself, or the contents of the file it names.  A path that
    cannot be read raises the OSError (FileNotFoundError, ...) naming the path and the rule."""
    if is_json_text(source):
        return source  # type: ignore[return-value]
    if not isinstance(source, (str, os.PathLike)):
        raise TypeError(f"{caller}: expected a path (str or os.PathLike) or JSON text (str or "
                        f"bytes); got {type(source).__name__}")
    path = os.fspath(source)
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as exc:
        raise type(exc)(exc.errno, f"{caller}: cannot read {path!r}: {exc.strerror} (a str is "
                        "a path unless it starts with '{' or '[', which makes it JSON text)",
                        ) from None


__all__ = ["document_text", "is_json_text"]
