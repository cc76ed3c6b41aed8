"""Markdown escaping, once, for every layer (a leaf module): ``cell`` for a table cell of
anethru's own text, ``literal`` for text from a file, which may hold anything its writer chose."""

from __future__ import annotations

import re
from typing import Any


def cell(text: Any) -> str:
    """One table cell: a pipe would end the cell, a newline the row."""
    return str(text).replace("|", "\\|").replace("\n", " ")


# Characters that Markdown reads as markup inside a line; control characters (a newline or a
# \r in a file name or a text field would start a new line of the page) become spaces.
_MARKUP = re.compile(r"([\\`*_\[\]<|])")
_LEADING = re.compile(r"^(\s*)([#>+=-])")   # a heading, quote or list where a line starts
_CONTROL = re.compile("[\x00-\x1f\x7f\x85\u2028\u2029]")


def literal(text: Any) -> str:
    """Text from a result file (anything its writer chose), as literal Markdown text."""
    return _LEADING.sub(r"\1\\\2", _MARKUP.sub(r"\\\1", _CONTROL.sub(" ", str(text))))


__all__ = ["cell", "literal"]
