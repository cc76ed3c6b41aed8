"""The gallery's figure: every machine's per-kernel medians with their intervals, one panel per
configuration, log scale (CPU milliseconds, GPU microseconds and the ANE's tenths of a
millisecond on one axis).  Needs matplotlib (the ``plot`` extra), imported only inside
``draw``: everything else here, the gallery included, runs without it.

A figure cannot be compared byte for byte across matplotlib versions and fonts, so it carries
a stamp instead: the SHA-256 of the data it plots, in a PNG text chunk.  ``stamp_of`` reads it
back without matplotlib, so ``anethru gallery --check`` can tell a figure that shows the files'
current figures from a stale one, and an unchanged figure is never redrawn (no churn in git).
"""

from __future__ import annotations

import hashlib
import json
import struct
import zlib
from typing import Any, Optional

from anethru.gallery.files import Submission
from anethru.gallery.tables import TESTS, Row, Table, median_and_interval
from anethru.gallery.seed import SEED_CHIP

STAMP_KEY = "anethru-gallery-data"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _row_label(row: Row) -> str:
    if row.is_seed:
        return f"{SEED_CHIP} (seed, one run)"
    s: Submission = row.submission  # type: ignore[assignment]
    backend = "CPU figures" if s.backend == "cpu" else s.backend
    return f"{s.machine_label} ({backend}, {s.date})"


def figure_data(tables: list[Table]) -> list[dict[str, Any]]:
    """What the figure plots, as plain JSON: per configuration, per row that measured it, each
    test's (median, ci_low, ci_high) in ms per kernel (per copy for memcpy_only)."""
    out = []
    for t in tables:
        rows = []
        for row in t.rows:
            if row.failure is not None:
                continue
            tests = {test: list(v) for test in TESTS
                     if (v := median_and_interval(row, test, t.key)) is not None}
            rows.append({"label": _row_label(row), "tests": tests})
        out.append({"config": f"{t.label}, {t.key[2]} kernels", "rows": rows})
    return out


def data_stamp(data: list[dict[str, Any]]) -> str:
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def stamp_of(path: str) -> Optional[str]:
    """The data stamp a figure carries; None when the file is missing, not a PNG, or has none."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return None
    if not data.startswith(PNG_SIGNATURE):
        return None
    at = len(PNG_SIGNATURE)
    while at + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[at:at + 8])
        body = data[at + 8:at + 8 + length]
        at += 12 + length
        if kind == b"tEXt" and b"\0" in body:
            key, value = body.split(b"\0", 1)
        elif kind == b"zTXt" and b"\0" in body:
            key, rest = body.split(b"\0", 1)
            try:
                value = zlib.decompress(rest[1:])
            except zlib.error:
                continue
        else:
            if kind == b"IEND":
                break
            continue
        if key == STAMP_KEY.encode("latin-1"):
            return value.decode("latin-1")
    return None


def _tick(ms: float, _pos: object = None) -> str:
    """Axis labels in the unit that reads naturally: 1 ns, 10 us, 0.1 ms, 10 ms."""
    for factor, unit in ((1.0, "ms"), (1e3, "us"), (1e6, "ns")):
        if ms >= 1 / factor or unit == "ns":
            return f"{ms * factor:g} {unit}"
    return f"{ms:g} ms"  # pragma: no cover


def draw(data: list[dict[str, Any]], path: str) -> None:
    """Write the figure to ``path`` (PNG), stamped with ``data_stamp(data)``: a point per test
    and row at its median, whiskers to its interval (none for the seed's one-run figures), all
    panels on one log scale.  ImportError when matplotlib is missing."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    from matplotlib import pyplot as plt
    from matplotlib.ticker import FuncFormatter

    panels = [d for d in data if d["rows"]]
    heights = [0.9 + 0.42 * len(d["rows"]) for d in panels]
    fig, axes = plt.subplots(len(panels), 1, figsize=(10, sum(heights) + 1.0), squeeze=False,
                             sharex=True, gridspec_kw={"height_ratios": heights})
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    markers = "osD^v"
    step = 0.7 / len(TESTS)
    for ax, panel in zip(axes[:, 0], panels):
        rows = panel["rows"]
        for j, test in enumerate(TESTS):
            ys, xs, lo, hi = [], [], [], []
            for i, row in enumerate(rows):
                v = row["tests"].get(test)
                if v is None or v[0] <= 0:
                    continue
                median, low, high = v
                ys.append(i + (j - (len(TESTS) - 1) / 2) * step)
                xs.append(median)
                lo.append(median - low if low is not None else 0.0)
                hi.append(high - median if high is not None else 0.0)
            ax.errorbar(xs, ys, xerr=[lo, hi], fmt=markers[j % len(markers)], markersize=4,
                        color=colors[j % len(colors)], elinewidth=1, capsize=2,
                        label=test + (" (per copy)" if test == "memcpy_only" else ""))
        ax.set_xscale("log")
        ax.set_yticks(range(len(rows)))
        ax.set_yticklabels([row["label"] for row in rows], fontsize=8)
        ax.set_ylim(len(rows) - 0.5, -0.5)
        ax.set_title(panel["config"], fontsize=10)
        ax.grid(axis="x", which="major", alpha=0.4)
        ax.grid(axis="x", which="minor", alpha=0.15)
    axes[-1, 0].xaxis.set_major_formatter(FuncFormatter(_tick))
    axes[-1, 0].set_xlabel("per kernel (per copy for memcpy_only): median and interval, log scale")
    axes[0, 0].legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, 1.45 if len(panels) > 1
                                                                      else 1.3), ncol=len(TESTS))
    fig.tight_layout()
    fig.savefig(path, format="png", dpi=100,
                metadata={"Software": None, STAMP_KEY: data_stamp(data)})
    plt.close(fig)


__all__ = ["figure_data", "data_stamp", "stamp_of", "draw", "STAMP_KEY"]
