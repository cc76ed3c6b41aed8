"""How a data object shows itself (``str()``, ``to_markdown()``, ``plot()``) without the data
layer importing rendering: :mod:`anethru.report` registers one renderer per (kind, format) when
it is imported, and the first render of a process imports it if nothing has yet."""

from __future__ import annotations

import importlib
from typing import Any, Callable

PRESENTATION = "anethru.report"  # the package whose import registers every renderer
_RENDERERS: dict[tuple[str, str], Callable[..., Any]] = {}


def register(kind: str, fmt: str, renderer: Callable[..., Any]) -> None:
    _RENDERERS[(kind, fmt)] = renderer


def render(kind: str, fmt: str, *args: Any, **kwargs: Any) -> Any:
    if (kind, fmt) not in _RENDERERS:
        importlib.import_module(PRESENTATION)
    return _RENDERERS[(kind, fmt)](*args, **kwargs)


__all__ = ["register", "render"]
