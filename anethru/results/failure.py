"""A configuration that could not be measured: live (with its exception) or as recorded in a
result document (the exception kept as class name and message). One pair for every document
kind: suites, sweeps and the gallery read and write the same fields."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union


@dataclass(frozen=True)
class ConfigFailure:
    """A configuration of a suite that could not be measured (run_suite(keep_going=True))."""

    channels: int
    spatial: int
    error: Exception

    @property
    def label(self) -> str:
        return f"{self.channels}x{self.spatial}"

    def to_dict(self) -> dict:
        return RecordedFailure.of(self).to_dict()

    def __str__(self) -> str:
        return f"{self.label}: {type(self.error).__name__}: {self.error}"


@dataclass(frozen=True)
class RecordedFailure:
    """A failure as a result file holds it (sweeps, suites, the gallery)."""

    channels: int
    spatial: int
    error: str       # the exception's class name
    message: str

    @property
    def label(self) -> str:
        return f"{self.channels}x{self.spatial}"

    @classmethod
    def of(cls, failure: Union[ConfigFailure, "RecordedFailure"]) -> "RecordedFailure":
        if isinstance(failure, RecordedFailure):
            return failure
        return cls(failure.channels, failure.spatial, type(failure.error).__name__,
                   str(failure.error))

    def to_dict(self) -> dict:
        return {"channels": self.channels, "spatial": self.spatial, "error": self.error,
                "message": self.message}

    def __str__(self) -> str:
        return f"{self.label}: {self.error}: {self.message}"


# The public name a sweep's failures have always had.
SweepFailure = RecordedFailure

__all__ = ["ConfigFailure", "RecordedFailure", "SweepFailure"]
