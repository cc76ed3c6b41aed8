"""Statistics over repeats, and the derived figures of Experiment I.

Every figure is computed from the raw block totals the native loops return; nothing here times
anything.  Spread is reported, never hidden: min, median, mean, stdev, max, CV and the samples.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from typing import Sequence

# Google Benchmark / pyperf practice: flag, do not fail, noisy measurements.
CV_WARN = 0.10
MAX_OVER_MIN_WARN = 4.0


@dataclass(frozen=True)
class Stats:
    """Summary of samples (all in the same unit, usually ms)."""

    n: int
    min: float
    median: float
    mean: float
    stdev: float
    max: float
    samples: tuple[float, ...] = field(repr=False)

    @classmethod
    def of(cls, samples: Sequence[float]) -> "Stats":
        if not samples:
            raise ValueError("no samples")
        xs = tuple(float(x) for x in samples)
        stdev = statistics.stdev(xs) if len(xs) > 1 else 0.0
        return cls(len(xs), min(xs), statistics.median(xs), statistics.fmean(xs), stdev, max(xs), xs)

    @property
    def cv(self) -> float:
        """Coefficient of variation (stdev / |mean|); inf when the mean is 0."""
        return self.stdev / abs(self.mean) if self.mean else math.inf

    def noise_warnings(self, what: str) -> list[str]:
        out = []
        if self.n > 1 and self.cv >= CV_WARN:
            out.append(f"{what}: CV {self.cv:.0%} >= {CV_WARN:.0%}; the machine may be busy")
        if self.min > 0 and self.max >= MAX_OVER_MIN_WARN * self.min:
            out.append(f"{what}: max is {self.max / self.min:.1f}x min; look for interference")
        return out

    def to_dict(self) -> dict:
        return {"n": self.n, "min": self.min, "median": self.median, "mean": self.mean,
                "stdev": self.stdev, "max": self.max, "cv": self.cv, "samples": list(self.samples)}

    @classmethod
    def from_dict(cls, d: dict) -> "Stats":
        return cls.of(d["samples"])


def per_unit_ms(block_ns: Sequence[int], iters: int, units: int) -> list[float]:
    """ms per kernel (or per copy) of each block: total / passes / units-per-pass."""
    return [ns / 1e6 / iters / units for ns in block_ns]


def per_pass_ms(block_ns: Sequence[int], iters: int) -> list[float]:
    return [ns / 1e6 / iters for ns in block_ns]


def paired_difference(a_pass_ms: Sequence[float], b_pass_ms: Sequence[float], divisor: int) -> list[float]:
    """(a - b) / divisor for each repeat, pairing the blocks measured in the same repeat."""
    if len(a_pass_ms) != len(b_pass_ms):
        raise ValueError("paired figures need the same number of repeats")
    return [(a - b) / divisor for a, b in zip(a_pass_ms, b_pass_ms)]


def paired_ratio(a: Sequence[float], b: Sequence[float]) -> list[float]:
    if len(a) != len(b):
        raise ValueError("paired figures need the same number of repeats")
    return [x / y if y else math.inf for x, y in zip(a, b)]
