"""What a sweep found: every configuration's result (or failure), in grid order, and the model
fitted to them (anethru/sweep_model.py).  ``to_dict``/``to_json`` write the ``anethru.measure.sweep``
document (format in anethru/schema.py); ``load_sweep`` reads it back, validated, every result
and every model figure recomputed from the raw blocks and checked against what it states.

The document, for readers without anethru (a results gallery, a notebook):

    {"schema": "anethru.sweep/3",
     "backend", "device", "simulated", "kernels",
     "grid": {"description", "configs": [[channels, spatial], ...]},   # in measuring order
     "settings": {"tests", "precision", "max_time_s", "repeats", "iters", "warmup", "weights"},
     "batches": null | {"compile_limit", "compiles_per_config", "configs_per_batch", "count"},
     "points": [anethru.ceiling/4 documents: the configurations measured, in grid order],
     "failures": [{"channels", "spatial", "error", "message"}],
     "interrupted": null | {"channels", "spatial"},                    # Ctrl-C stopped it there
     "model": {... see SweepModel.to_dict: fits, residuals, crossovers ...},
     "machine", "anethru_version", "created_utc", "elapsed_s"}
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Optional, Union

from anethru.results import schema
from anethru.results.ceiling import CeilingResult, load_ceiling
from anethru.results.failure import SweepFailure
from anethru.results.source import Source, document_text
from anethru.results.views import render
from anethru.results.model import SweepModel, build_model

SWEEP_SCHEMA = schema.name_of("sweep")


@dataclass(frozen=True)
class SweepResult:
    """A sweep: ``results`` (measured configurations, in grid order), ``failures``, and
    ``model`` (fits and crossovers).  ``str()`` is the report; ``plot(path)`` draws it."""

    backend: str
    device: str
    simulated: bool
    kernels: int
    grid: tuple[tuple[int, int], ...]
    grid_description: str
    settings: dict[str, Any]
    results: tuple[CeilingResult, ...]
    failures: tuple[SweepFailure, ...] = ()
    batches: Optional[dict[str, int]] = None
    interrupted: Optional[tuple[int, int]] = None
    machine: dict[str, Any] = field(default_factory=dict)
    anethru_version: str = ""
    created_utc: str = ""
    elapsed_s: Optional[float] = None

    @cached_property
    def model(self) -> SweepModel:
        return build_model(self.results)

    def to_dict(self) -> dict:
        return {
            "schema": SWEEP_SCHEMA,
            "backend": self.backend, "device": self.device, "simulated": self.simulated,
            "kernels": self.kernels,
            "grid": {"description": self.grid_description,
                     "configs": [[c, s] for c, s in self.grid]},
            "settings": dict(self.settings),
            "batches": None if self.batches is None else dict(self.batches),
            "points": [r.to_dict() for r in self.results],
            "failures": [f.to_dict() for f in self.failures],
            "interrupted": None if self.interrupted is None else {
                "channels": self.interrupted[0], "spatial": self.interrupted[1]},
            "model": self.model.to_dict(),
            "machine": dict(self.machine),
            "anethru_version": self.anethru_version,
            "created_utc": self.created_utc,
            "elapsed_s": self.elapsed_s,
        }

    def to_json(self, indent: Optional[int] = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)

    @classmethod
    def from_dict(cls, d: Any) -> "SweepResult":
        """A sweep from a document, validated (ResultFormatError names the first bad field),
        with every result and model figure recomputed and checked against what it states."""
        return _load_sweep(schema.upgrade(d, "sweep"))

    @classmethod
    def from_json(cls, text: Union[str, bytes]) -> "SweepResult":
        return cls.from_dict(schema.parse_json(text))

    def plot(self, path: Union[str, os.PathLike], title: Optional[str] = None) -> None:
        """Draw the sweep (needs matplotlib: pip install matplotlib); the file's suffix
        (.png, .svg, .pdf) picks the format."""
        render("document", "plot", [self.to_dict()], path, names=None if title is None else [title])

    def __str__(self) -> str:
        return render("sweep", "text", self)


def _load_sweep(doc: dict) -> SweepResult:
    results = tuple(load_ceiling(p, schema.child(schema.child("$", "points"), i))
                    for i, p in enumerate(doc["points"]))
    sweep = SweepResult(
        backend=doc["backend"], device=doc["device"], simulated=doc["simulated"],
        kernels=doc["kernels"],
        grid=tuple((c, s) for c, s in doc["grid"]["configs"]),
        grid_description=doc["grid"]["description"],
        settings=dict(doc["settings"]),
        results=results,
        failures=tuple(SweepFailure(**f) for f in doc["failures"]),
        batches=None if doc["batches"] is None else dict(doc["batches"]),
        interrupted=None if doc["interrupted"] is None else (
            doc["interrupted"]["channels"], doc["interrupted"]["spatial"]),
        machine=dict(doc["machine"]), anethru_version=doc["anethru_version"],
        created_utc=doc["created_utc"], elapsed_s=doc["elapsed_s"])
    if doc["model"] is not None:   # None: upgraded from sweep/1, whose model meant another method
        schema.check_stated_model(doc["model"], sweep.model.to_dict(), "$.model")
    return sweep


def load_sweep(text: Source) -> SweepResult:
    """A sweep from its JSON (what ``anethru sweep --json`` prints, or ``SweepResult.to_json``):
    a path (``str`` or ``os.PathLike``) to read, or the JSON text itself, by load_results'
    rule (anethru/results/source.py).  ResultFormatError names the first bad field."""
    return SweepResult.from_json(document_text(text, "load_sweep"))


__all__ = ["SweepResult", "SweepFailure", "load_sweep", "SWEEP_SCHEMA"]
