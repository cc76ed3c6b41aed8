"""The gallery's tables: for each configuration (channels, spatial, kernels), one row per
submitted file that measured it (or failed to), sorted by file name, then the seed's own M4 Max
row where the seed measured that configuration.  What the Markdown page and the figure show."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from anethru.gallery.files import Submission
from anethru.results.failure import RecordedFailure
from anethru.results.ceiling import CeilingResult
from anethru.gallery.seed import SEED_KERNELS, SEED_MS

Key = tuple[int, int, int]      # channels, spatial, kernels

# The columns of every table: the seed's four tests, then what chaining leaves.
TESTS = ("sequential", "run_only", "memcpy_only", "serial_queue", "chained")
DERIVED = ("round_trip_overhead", "chaining_saves")


@dataclass(frozen=True)
class Row:
    """A submission's result for one configuration, a configuration it failed, or (with neither
    and no submission) the seed's own one-run figures."""

    submission: Optional[Submission]
    result: Optional[CeilingResult] = None
    failure: Optional[RecordedFailure] = None

    @property
    def is_seed(self) -> bool:
        return self.submission is None


@dataclass(frozen=True)
class Table:
    key: Key
    rows: tuple[Row, ...]

    @property
    def label(self) -> str:
        return f"{self.key[0]}x{self.key[1]}"


def key_of(r: CeilingResult) -> Key:
    return (r.config.channels, r.config.spatial, r.config.kernels)


def tables(submissions: list[Submission], with_seed: bool = True) -> list[Table]:
    """One table per configuration any file (or the seed) has, in (channels, spatial, kernels)
    order; rows in the order of ``submissions`` (sorted by name), the seed's last."""
    by_key: dict[Key, list[Row]] = {}
    for s in sorted(submissions, key=lambda s: s.name):
        for r in s.results:
            by_key.setdefault(key_of(r), []).append(Row(s, result=r))
        kernels = s.first.config.kernels
        for f in s.failures:
            by_key.setdefault((f.channels, f.spatial, kernels), []).append(Row(s, failure=f))
    if with_seed:
        for channels, spatial in SEED_MS:
            by_key.setdefault((channels, spatial, SEED_KERNELS), []).append(Row(None))
    return [Table(k, tuple(by_key[k])) for k in sorted(by_key)]


def median_and_interval(row: Row, test: str, key: Key) -> Optional[tuple[float, Optional[float],
                                                                         Optional[float]]]:
    """(median, ci_low, ci_high) in ms per kernel (per copy for memcpy_only) of one test in a
    row; the seed's figure has no interval; None when the row has no such figure."""
    if row.is_seed:
        value = SEED_MS.get(key[:2], {}).get(test)
        return None if value is None else (value, None, None)
    if row.result is None or test not in row.result.tests:
        return None
    s = row.result.tests[test].per_unit_ms
    return (s.median, s.ci_low, s.ci_high)


__all__ = ["Row", "Table", "Key", "TESTS", "DERIVED", "tables", "key_of", "median_and_interval"]
