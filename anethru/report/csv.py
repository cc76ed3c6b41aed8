"""Results as CSV: one row per test and per derived figure."""

from __future__ import annotations

import csv
import io
from typing import TYPE_CHECKING, Iterable, Optional

if TYPE_CHECKING:
    from anethru.results.ceiling import CeilingResult
    from anethru.results.stats import Stats

CSV_FIELDS = ["backend", "channels", "spatial", "kernels", "test", "unit", "iters", "repeats",
              "median", "ci_low", "ci_high", "ci_level", "min", "mean", "max", "stdev", "cv",
              "per_pass_median_ms", "stopped_by", "simulated", "note"]


def _stats_row(s: Optional["Stats"]) -> dict:
    if s is None:
        return {}
    return {"median": s.median, "ci_low": s.ci_low, "ci_high": s.ci_high, "ci_level": s.ci_level,
            "min": s.min, "mean": s.mean, "max": s.max, "stdev": s.stdev, "cv": s.cv}


def to_csv(results: Iterable["CeilingResult"]) -> str:
    """One row per (configuration, test or derived figure); empty cells for what is undefined."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=CSV_FIELDS, lineterminator="\n")
    w.writeheader()
    for r in results:
        c = r.config
        base = {"backend": c.backend, "channels": c.channels, "spatial": c.spatial,
                "kernels": c.kernels, "repeats": c.repeats, "simulated": r.simulated,
                "stopped_by": r.stopping.stopped_by if r.stopping else "repeats"}
        for t in r.tests.values():
            w.writerow({**base, "test": t.name, "unit": f"ms/{t.unit}", "iters": t.iters,
                        **_stats_row(t.per_unit_ms), "per_pass_median_ms": t.per_pass_ms.median})
        for d in r.derived.values():
            w.writerow({**base, "test": d.name, "unit": d.unit if d.unit == "ratio" else "ms/layer",
                        **_stats_row(d.stats), "note": d.undefined or ""})
    return buf.getvalue()


# ---------------------------------------------------------------------- comparisons
