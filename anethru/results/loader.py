"""One loader for every document kind: a result, a suite, or a sweep's measured results."""

from __future__ import annotations

import os
from typing import Union

from anethru.results import schema
from anethru.results.ceiling import CeilingResult, load_ceiling
from anethru.results.sweep import SweepResult


def load_results(text: Union[str, bytes, os.PathLike]) -> list[CeilingResult]:
    """Results from JSON text: one result (``CeilingResult.to_json``), a suite
    (``anethru --json``) or a sweep (``anethru sweep --json``: its measured configurations, in
    grid order, after the whole sweep, model included, is validated; ``anethru.load_sweep``
    gives the sweep itself), of this or an older format version, so saved runs from many
    machines can be read back and compared.  A path (``pathlib.Path``) is read first.  Raises
    ResultFormatError (a ValueError) naming the first bad field."""
    if isinstance(text, os.PathLike):
        with open(text, "rb") as f:
            text = f.read()
    doc = schema.parse_json(text)
    kind = schema.kind_of(doc)
    if kind == "suite":
        doc = schema.upgrade(doc, "suite")
        return [load_ceiling(d, f"$.results[{i}]") for i, d in enumerate(doc["results"])]
    if kind == "sweep":
        return list(SweepResult.from_dict(doc).results)
    return [load_ceiling(schema.upgrade(doc, "ceiling"), "$")]


__all__ = ["load_results"]
