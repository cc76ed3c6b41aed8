"""The results picture: each test's per-kernel time with its interval, per file, and the derived
figures."""

from __future__ import annotations

from typing import Any

from anethru.report.plot_style import (FILE_COLOURS, TEST_ORDER, axis_units, draw_footer,
                                       label_line, yerr)


def results_figure(Figure: Any, files: list, names: list[str]) -> Any:
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
        ax.errorbar(xs, [s.median for s in st], yerr=yerr(st), ls="none", capsize=3,
                    marker=markers[i % len(markers)], color=colour, label=label,
                    gid=f"result:{i}")
    ax.set_xticks(range(len(tests)))
    ax.set_xticklabels([t + (" (per copy)" if t == "memcpy_only" else "") for t in tests])
    ax.set_yscale("log")
    ax.set_ylabel("per kernel (memcpy_only: per copy): median and interval")
    axis_units(ax, x_bytes=False, y_ms=True)
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
        footer.append((label_line(name if several else None, r.config.backend, r.device,
                                   r.machine, r.anethru_version,
                                   str(r.machine.get("time_utc", ""))),
                       FILE_COLOURS[n % len(FILE_COLOURS)] if several else "black"))
    if any(r.simulated for _, _, r in rows):
        fig.text(0.5, 0.5, "SIMULATED", fontsize=60, color="grey", alpha=0.2, ha="center",
                 va="center", rotation=30)
    draw_footer(fig, footer)
    fig.tight_layout(rect=(0, 0.025 * len(footer) + 0.01, 1, 0.97))
    return fig
