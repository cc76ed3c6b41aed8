"""Pictures of saved results: ``anethru plot`` and ``result.plot(path)``.

Reads documents only (what ``--json`` wrote), through the same loaders as everything else, so
a plot shows recomputed, validated figures.  Three kinds of picture:

- results (one configuration or several, from one or more files): each test's per-kernel time
  (per copy for memcpy_only) with its interval, on a log scale, and the derived figures;
- a sweep: each test's per-kernel time against tensor bytes (log-log), the round-trip overhead
  with its fitted line and bootstrap band, and below, the round trip's share of a sequential
  layer with the crossover (50%) and the 10% size marked, each with its interval;
- several files: the same, one colour per file.

Every picture carries its own labels (backend, device, machine, anethru version, date), so one
pasted alone still says what it shows.  matplotlib is the optional ``plot`` extra, imported
only here and only when drawing (``import anethru`` never loads it); drawing uses matplotlib's
object interface with the Agg canvas, so it needs no display and touches no pyplot state.
"""

from __future__ import annotations

import os
from typing import Any, Optional, Sequence, Union

import numpy as np

from anethru.errors import AnethruError
from anethru.measure.grid import size_text

FORMATS = ("png", "svg", "pdf")
# anethru is installed from its clone, not from an index: "anethru[plot]" names nothing pip can
# fetch, ".[plot]" (in the clone) and matplotlib itself do.
INSTALL_HINT = "pip install matplotlib (or, in anethru's clone: pip install '.[plot]')"
TEST_ORDER = ("sequential", "run_only", "memcpy_only", "serial_queue", "chained", "null_eval")
MARKERS = {"sequential": "o", "run_only": "s", "memcpy_only": "v", "serial_queue": "D",
           "chained": "^", "null_eval": "x"}
FILE_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2",
                "#17becf")
TEST_COLOURS = {"sequential": "#1f77b4", "run_only": "#2ca02c", "memcpy_only": "#9467bd",
                "serial_queue": "#8c564b", "chained": "#ff7f0e", "null_eval": "#7f7f7f"}
OVERHEAD_COLOUR = "#d62728"
DPI = 120


class PlotUnavailableError(AnethruError, ImportError):
    """matplotlib is not installed; the message says how to install it."""


def _matplotlib() -> Any:
    try:
        import matplotlib
        from matplotlib.figure import Figure
    except ImportError:
        raise PlotUnavailableError(f"plotting needs matplotlib, which is not installed: "
                                   f"{INSTALL_HINT}") from None
    del matplotlib
    return Figure


def _format(path: Union[str, os.PathLike]) -> str:
    suffix = os.path.splitext(os.fspath(path))[1].lower().lstrip(".")
    if suffix not in FORMATS:
        raise ValueError(f"cannot tell the picture format from {os.fspath(path)!r}: name a "
                         f"file ending in {', '.join('.' + f for f in FORMATS)}")
    return suffix


def load_document(text: Union[str, bytes]) -> tuple[str, Any]:
    """("sweep", SweepResult) or ("results", [CeilingResult, ...]) from a document's JSON."""
    from anethru.results import schema
    from anethru.results.loader import load_results
    from anethru.results.sweep import SweepResult

    doc = schema.parse_json(text)
    if schema.kind_of(doc) == "sweep":
        return "sweep", SweepResult.from_dict(doc)
    if schema.kind_of(doc) == "compare":
        from anethru.errors import ResultFormatError

        raise ResultFormatError("$.schema", "is a comparison; plot the result files it compared")
    return "results", load_results(text)


def plot_files(paths: Sequence[Union[str, os.PathLike]], out: Union[str, os.PathLike]) -> Any:
    """Draw the result or sweep files ``paths`` into ``out`` (.png, .svg or .pdf); returns the
    matplotlib Figure.  A bad file raises ResultFormatError naming the file and the field."""
    from anethru.errors import ResultFormatError

    _format(out)
    _matplotlib()  # before reading anything: say at once when matplotlib is missing
    loaded = []
    for p in paths:
        with open(p, "rb") as f:
            text = f.read()
        try:
            loaded.append(load_document(text))
        except ResultFormatError as exc:
            raise ResultFormatError(f"{os.fspath(p)}: {exc.path}", exc.reason) from None
    return _draw(loaded, out, [os.path.basename(os.fspath(p)) for p in paths])


def plot_documents(docs: Sequence[Any], out: Union[str, os.PathLike],
                   names: Optional[Sequence[str]] = None) -> Any:
    """Draw documents (JSON text, or dicts as ``to_dict`` gives) into ``out``; returns the
    matplotlib Figure."""
    import json

    _format(out)
    _matplotlib()
    loaded = [load_document(d if isinstance(d, (str, bytes)) else json.dumps(d)) for d in docs]
    return _draw(loaded, out, names)


def _draw(loaded: list, out: Union[str, os.PathLike], names: Optional[Sequence[str]]) -> Any:
    """Sweeps or results (never both in one picture) into ``out``."""
    fmt = _format(out)
    Figure = _matplotlib()
    if not loaded:
        raise ValueError("nothing to plot: give at least one result or sweep")
    names = list(names) if names else [f"file {i + 1}" for i in range(len(loaded))]
    kinds = {k for k, _ in loaded}
    if len(kinds) > 1:
        raise ValueError("a picture shows sweeps or results, not both: plot them apart")
    if kinds == {"sweep"}:
        fig = _sweep_figure(Figure, [obj for _, obj in loaded], names)
    else:
        fig = _results_figure(Figure, [obj for _, obj in loaded], names)
    folder = os.path.dirname(os.fspath(out))
    if folder:
        os.makedirs(folder, exist_ok=True)   # -o docs/sweep.png from anywhere
    fig.savefig(out, format=fmt, dpi=DPI)
    return fig


# ---------------------------------------------------------------------- labels

def _label_line(name: Optional[str], backend: str, device: str, machine: dict, version: str,
                date: str) -> str:
    cpu = f"{machine.get('cpu_model', '?')}, {machine.get('cpu_count', '?')} cores"
    where = f"{machine.get('os', '?')} {machine.get('os_release', '')}".strip()
    chip = machine.get("chip") or machine.get("hw_model")
    head = f"{name}: " if name else ""
    return (f"{head}backend {backend} ({device}); machine {where}, "
            f"{chip + ', ' if chip else ''}{cpu}; anethru {version}; {date[:10]}")


def _footer(fig: Any, lines: list[tuple[str, str]]) -> None:
    for i, (text, colour) in enumerate(lines):
        fig.text(0.01, 0.005 + 0.022 * (len(lines) - 1 - i), text, fontsize=7, color=colour,
                 ha="left", va="bottom", wrap=True)


# ---------------------------------------------------------------------- sweeps

def _yerr(stats_list: list) -> np.ndarray:
    lo = [s.median - s.ci_low if s.ci_low is not None else 0.0 for s in stats_list]
    hi = [s.ci_high - s.median if s.ci_high is not None else 0.0 for s in stats_list]
    return np.array([lo, hi])


def _axis_units(ax: Any, x_bytes: bool, y_ms: bool) -> None:
    """Tick labels in the units the reports use: bytes as KiB/MiB, times as ns/us/ms."""
    from matplotlib.ticker import FuncFormatter

    from anethru.units import duration

    if x_bytes:
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: size_text(v) if v > 0 else ""))
    if y_ms:
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: duration(v) if v > 0 else ""))


def _sweep_figure(Figure: Any, sweeps: list, names: list[str]) -> Any:
    several = len(sweeps) > 1
    fig = Figure(figsize=(10, 9.5 + 0.3 * len(sweeps)))
    times, shares = fig.subplots(2, 1, gridspec_kw={"height_ratios": [3, 2]}, sharex=True)
    footer = []
    for n, (sw, name) in enumerate(zip(sweeps, names)):
        colour = FILE_COLOURS[n % len(FILE_COLOURS)]
        tag = f"{name}: " if several else ""
        results = sorted(sw.results, key=lambda r: (r.config.bytes_per_tensor, r.config.channels))
        for test in TEST_ORDER:
            have = [r for r in results if test in r.tests]
            if not have:
                continue
            x = [r.config.bytes_per_tensor for r in have]
            st = [r.tests[test].per_unit_ms for r in have]
            times.errorbar(x, [s.median for s in st], yerr=_yerr(st), marker=MARKERS[test],
                           ms=4, lw=1, capsize=2, alpha=0.85,
                           color=colour if several else TEST_COLOURS[test],
                           ls="-" if not several else (":" if test != "sequential" else "-"),
                           label=f"{tag}{test}" + (" (per copy)" if test == "memcpy_only" else ""),
                           gid=f"test:{n}:{test}")
        _draw_overhead(times, sw, results, n, tag, OVERHEAD_COLOUR if not several else colour)
        _draw_shares(shares, sw, n, tag, colour)
        footer.append((_label_line(name if several else None, sw.backend, sw.device, sw.machine,
                                   sw.anethru_version, sw.created_utc), colour))
    times.set_xscale("log", base=2)   # ticks at 4 KiB, 8 KiB, ...
    times.set_yscale("log")
    times.set_ylabel("time per kernel (memcpy_only: per copy; round trip: per layer)")
    times.grid(True, which="both", alpha=0.25)
    times.legend(fontsize=7, ncol=2 if not several else 3, loc="upper left")
    shares.set_xscale("log", base=2)
    shares.axhline(50, color="black", lw=0.8, ls="--")
    shares.axhline(10, color="grey", lw=0.8, ls=":")
    shares.text(1.0, 50, " 50%: round trip = kernel", transform=shares.get_yaxis_transform(),
                fontsize=7, va="center")
    shares.text(1.0, 10, " 10%", transform=shares.get_yaxis_transform(), fontsize=7,
                va="center")
    shares.set_ylabel("round trip, % of a sequential layer")
    shares.set_xlabel("tensor bytes (channels x spatial x 2, fp16)")
    shares.grid(True, which="both", alpha=0.25)
    shares.legend(fontsize=7, loc="upper left")
    _axis_units(times, x_bytes=True, y_ms=True)   # after set_xscale, which resets them
    _axis_units(shares, x_bytes=True, y_ms=False)
    first = sweeps[0]
    what = "several sweeps" if several else (
        f"{first.backend}, {first.kernels} kernels, {first.grid_description}")
    fig.suptitle(f"anethru sweep: how the round trip grows with size ({what})", fontsize=10)
    if any(sw.simulated for sw in sweeps):
        fig.text(0.5, 0.5, "SIMULATED", fontsize=60, color="grey", alpha=0.2, ha="center",
                 va="center", rotation=30)
    _footer(fig, footer)
    fig.tight_layout(rect=(0, 0.025 * len(footer) + 0.01, 1, 0.97))
    return fig


def _draw_overhead(ax: Any, sw: Any, results: list, n: int, tag: str, colour: str) -> None:
    """The round trip's points (where positive: the axis is logarithmic), its fitted line and
    its bootstrap band."""
    have = [r for r in results if r.derived.get("round_trip_overhead")
            and r.derived["round_trip_overhead"].stats is not None]
    st = [r.derived["round_trip_overhead"].stats for r in have]
    positive = [(r.config.bytes_per_tensor, s) for r, s in zip(have, st) if s.median > 0]
    if positive:
        ax.errorbar([x for x, _ in positive], [s.median for _, s in positive],
                    yerr=np.clip(_yerr([s for _, s in positive]), 0, None), marker="*", ms=7,
                    lw=0, elinewidth=1, capsize=2, color=colour,
                    label=f"{tag}round trip per layer" + (
                        f" ({len(st) - len(positive)} at or below 0 not drawn)"
                        if len(positive) < len(st) else ""),
                    gid=f"overhead:{n}")
    fit = sw.model.round_trip.model
    if fit is None:
        return
    for k, line in enumerate(fit.describing):
        xs = np.geomspace(line.bytes_range[0], line.bytes_range[1], 60)
        ys = line.alpha + line.beta * xs
        lo, hi = line.band(xs)
        keep = ys > 0
        label = (f"{tag}fit: alpha + beta x bytes" if k == 0 else None)
        ax.plot(xs[keep], ys[keep], color=colour, lw=1.5, label=label, gid=f"fit:{n}:{k}")
        band = hi > 0
        floor = hi[band].min() / 100 if band.any() else 0.0  # the log axis cannot show <= 0
        ax.fill_between(xs[band], np.maximum(lo[band], floor), hi[band],
                        color=colour, alpha=0.15, lw=0, gid=f"band:{n}:{k}",
                        label=f"{tag}95% band of the fit" if k == 0 else None)
    for series in sw.model.series:
        c = series.crossover
        if c.status == "crossed":
            ax.axvline(c.bytes, color=colour, lw=1, ls="--",
                       gid=f"crossover-line:{n}:{series.channels}")


def _draw_shares(ax: Any, sw: Any, n: int, tag: str, colour: str) -> None:
    from anethru.report.sweep import crossover_text, small_share_text

    said = []
    for series in sw.model.series:
        lo_end, hi_end = series.bytes[0], series.bytes[-1]
        said.append(f"{tag}{series.channels} channels: crossover "
                    f"{crossover_text(series.crossover, lo_end, hi_end)}; under 10% "
                    f"{small_share_text(series.small, lo_end, hi_end, series.shares[-1])}")
        xs = [b for b, s in zip(series.bytes, series.shares) if s is not None]
        ys = [100 * s for s in series.shares if s is not None]
        ax.plot(xs, ys, marker="o", ms=4, color=colour, gid=f"share:{n}:{series.channels}",
                label=f"{tag}round trip's share at {series.channels} channels")
        for c, level, what in ((series.crossover, 50, "crossover"),
                               (series.small, 10, "under 10%")):
            if c.status != "crossed":
                continue
            low = c.ci_low if c.ci_low is not None else lo_end
            high = c.ci_high if c.ci_high is not None else hi_end
            ax.axvspan(low, high, color=colour, alpha=0.12, lw=0)
            ax.plot([c.bytes], [level], marker="X", ms=9, color=colour, ls="none",
                    gid=f"{what}:{n}:{series.channels}",
                    label=f"{tag}{what} at {size_text(c.bytes)}")
    import textwrap

    ax.text(0.99, 0.88 - 0.12 * n, "\n".join(textwrap.fill(t, 90) for t in said),
            transform=ax.transAxes, fontsize=7, ha="right", va="top", color=colour,
            gid=f"crossings:{n}")


# ---------------------------------------------------------------------- results

def _results_figure(Figure: Any, files: list, names: list[str]) -> Any:
    several = len(files) > 1
    rows = [(n, name, r) for n, (results, name) in enumerate(zip(files, names)) for r in results]
    tests = [t for t in TEST_ORDER if any(t in r.tests for _, _, r in rows)]
    fig = Figure(figsize=(10, 6.5 + 0.25 * len(rows)))
    ax, text_ax = fig.subplots(2, 1, gridspec_kw={"height_ratios": [3, 1 + 0.25 * len(rows)]})
    width = 0.8 / max(1, len(rows))
    markers = "osD^vP*X"
    for i, (n, name, r) in enumerate(rows):
        colour = FILE_COLOURS[(n if several else i) % len(FILE_COLOURS)]
        have = [t for t in tests if t in r.tests]
        xs = [tests.index(t) - 0.4 + width * (i + 0.5) for t in have]
        st = [r.tests[t].per_unit_ms for t in have]
        label = f"{name}: {r.config.label}" if several else r.config.label
        ax.errorbar(xs, [s.median for s in st], yerr=_yerr(st), ls="none", capsize=3,
                    marker=markers[i % len(markers)], color=colour, label=label,
                    gid=f"result:{i}")
    ax.set_xticks(range(len(tests)))
    ax.set_xticklabels([t + (" (per copy)" if t == "memcpy_only" else "") for t in tests])
    ax.set_yscale("log")
    ax.set_ylabel("per kernel (memcpy_only: per copy): median and interval")
    _axis_units(ax, x_bytes=False, y_ms=True)
    ax.grid(True, axis="y", which="both", alpha=0.25)
    ax.legend(fontsize=7)
    text_ax.axis("off")
    lines = []
    for n, name, r in rows:
        parts = []
        for d in r.derived.values():
            if d.stats is None:
                parts.append(f"{d.name} undefined")
            elif d.unit == "ratio":
                parts.append(f"{d.name} {d.stats.median:.3g}x")
            else:
                from anethru.units import duration

                ci = ("" if d.stats.ci_low is None else
                      f" [{duration(d.stats.ci_low)} .. {duration(d.stats.ci_high)}]")
                parts.append(f"{d.name} {duration(d.stats.median)}{ci}")
        lines.append(f"{name + ': ' if several else ''}{r.config.label}: " + "; ".join(parts))
    text_ax.text(0, 1, "\n".join(lines), fontsize=7, va="top", ha="left", wrap=True,
                 family="monospace")
    first = rows[0][2] if rows else None
    title = "anethru: per-kernel time of each test" + (
        f" ({first.config.backend}, {first.config.kernels} kernels)" if first and not several
        else "")
    fig.suptitle(title, fontsize=10)
    footer = []
    seen = set()
    for n, name, r in rows:
        if n in seen:
            continue
        seen.add(n)
        footer.append((_label_line(name if several else None, r.config.backend, r.device,
                                   r.machine, r.anethru_version,
                                   str(r.machine.get("time_utc", ""))),
                       FILE_COLOURS[n % len(FILE_COLOURS)] if several else "black"))
    if any(r.simulated for _, _, r in rows):
        fig.text(0.5, 0.5, "SIMULATED", fontsize=60, color="grey", alpha=0.2, ha="center",
                 va="center", rotation=30)
    _footer(fig, footer)
    fig.tight_layout(rect=(0, 0.025 * len(footer) + 0.01, 1, 0.97))
    return fig


__all__ = ["plot_files", "plot_documents", "load_document", "PlotUnavailableError", "FORMATS"]
