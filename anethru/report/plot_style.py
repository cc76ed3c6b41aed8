"""What every anethru picture shares: colours, markers, the label and footer lines, error bars
and the axes' units (report/plot.py draws; plot_sweep.py and plot_results.py lay out)."""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from anethru.measure.grid import size_text

TEST_ORDER = ("sequential", "run_only", "memcpy_only", "serial_queue", "chained", "null_eval")
MARKERS = {"sequential": "o", "run_only": "s", "memcpy_only": "v", "serial_queue": "D",
           "chained": "^", "null_eval": "x"}
FILE_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2",
                "#17becf")
TEST_COLOURS = {"sequential": "#1f77b4", "run_only": "#2ca02c", "memcpy_only": "#9467bd",
                "serial_queue": "#8c564b", "chained": "#ff7f0e", "null_eval": "#7f7f7f"}
OVERHEAD_COLOUR = "#d62728"
DPI = 120



# ---------------------------------------------------------------------- labels

def label_line(name: Optional[str], backend: str, device: str, machine: dict, version: str,
                date: str) -> str:
    cpu = f"{machine.get('cpu_model', '?')}, {machine.get('cpu_count', '?')} cores"
    where = f"{machine.get('os', '?')} {machine.get('os_release', '')}".strip()
    chip = machine.get("chip") or machine.get("hw_model")
    head = f"{name}: " if name else ""
    return (f"{head}backend {backend} ({device}); machine {where}, "
            f"{chip + ', ' if chip else ''}{cpu}; anethru {version}; {date[:10]}")


def draw_footer(fig: Any, lines: list[tuple[str, str]]) -> None:
    for i, (text, colour) in enumerate(lines):
        fig.text(0.01, 0.005 + 0.022 * (len(lines) - 1 - i), text, fontsize=7, color=colour,
                 ha="left", va="bottom", wrap=True)


# ---------------------------------------------------------------------- sweeps

def yerr(stats_list: list) -> np.ndarray:
    lo = [s.median - s.ci_low if s.ci_low is not None else 0.0 for s in stats_list]
    hi = [s.ci_high - s.median if s.ci_high is not None else 0.0 for s in stats_list]
    return np.array([lo, hi])


def axis_units(ax: Any, x_bytes: bool, y_ms: bool) -> None:
    """Tick labels in the units the reports use: bytes as KiB/MiB, times as ns/us/ms."""
    from matplotlib.ticker import FuncFormatter

    from anethru.units import duration

    if x_bytes:
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: size_text(v) if v > 0 else ""))
    if y_ms:
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: duration(v) if v > 0 else ""))
