"""One loader for every document kind: a result, a suite, or a sweep's measured results."""

from __future__ import annotations

from anethru.results import schema
from anethru.results.ceiling import CeilingResult, load_ceiling
from anethru.results.source import Source, document_text
from anethru.results.sweep import SweepResult


def load_results(text: Source) -> list[CeilingResult]:
    """Results from a file or from JSON text: one result (``CeilingResult.to_json``), a suite
    (``anethru --json``) or a sweep (``anethru sweep --json``: its measured configurations, in
    grid order, after the whole sweep, model included, is validated; ``anethru.load_sweep``
    gives the sweep itself), of this or an older format version, so saved runs from many
    machines can be read back and compared.

    ``text`` is a path (``str`` or ``os.PathLike``) to read, or the JSON text itself: bytes, or
    a ``str`` whose first non-blank character is ``{`` or ``[`` (anethru/results/source.py).
    A file that cannot be read raises its OSError naming the path; a bad document raises
    ResultFormatError (a ValueError) naming the first bad field."""
    doc = schema.parse_json(document_text(text, "load_results"))
    kind = schema.kind_of(doc)
    if kind == "suite":
        doc = schema.upgrade(doc, "suite")
        return [load_ceiling(d, f"$.results[{i}]") for i, d in enumerate(doc["results"])]
    if kind == "sweep":
        return list(SweepResult.from_dict(doc).results)
    return [load_ceiling(schema.upgrade(doc, "ceiling"), "$")]


__all__ = ["load_results"]
