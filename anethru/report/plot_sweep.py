"""The sweep picture: per-kernel times and the round trip against bytes, with the fit, and the
round trip's share of a layer with the crossover."""

from __future__ import annotations

from typing import Any

import numpy as np

from anethru.measure.grid import size_text
from anethru.report.plot_style import (FILE_COLOURS, MARKERS, OVERHEAD_COLOUR, TEST_COLOURS,
                                       TEST_ORDER, axis_units, draw_footer, label_line, yerr)


def sweep_figure(Figure: Any, sweeps: list, names: list[str]) -> Any:
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
            times.errorbar(x, [s.median for s in st], yerr=yerr(st), marker=MARKERS[test],
                           ms=4, lw=1, capsize=2, alpha=0.85,
                           color=colour if several else TEST_COLOURS[test],
                           ls="-" if not several else (":" if test != "sequential" else "-"),
                           label=f"{tag}{test}" + (" (per copy)" if test == "memcpy_only" else ""),
                           gid=f"test:{n}:{test}")
        _draw_overhead(times, sw, results, n, tag, OVERHEAD_COLOUR if not several else colour)
        _draw_shares(shares, sw, n, tag, colour)
        footer.append((label_line(name if several else None, sw.backend, sw.device, sw.machine,
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
    axis_units(times, x_bytes=True, y_ms=True)   # after set_xscale, which resets them
    axis_units(shares, x_bytes=True, y_ms=False)
    first = sweeps[0]
    what = "several sweeps" if several else (
        f"{first.backend}, {first.kernels} kernels, {first.grid_description}")
    fig.suptitle(f"anethru sweep: how the round trip grows with size ({what})", fontsize=10)
    if any(sw.simulated for sw in sweeps):
        fig.text(0.5, 0.5, "SIMULATED", fontsize=60, color="grey", alpha=0.2, ha="center",
                 va="center", rotation=30)
    draw_footer(fig, footer)
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
                    yerr=np.clip(yerr([s for _, s in positive]), 0, None), marker="*", ms=7,
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
