"""The readable text report of a result and of a suite."""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable, Optional

from anethru.report.common import (DERIVED_TEXT, RULE, check_text, derived_value,
                                   intervals_text, machine_line, provenance, stopping_text)
from anethru.report.runs import between_runs_table
from anethru.results.runs import run_labels
from anethru.units import duration, figure, percent, ratio, row_unit

if TYPE_CHECKING:
    from anethru.results.ceiling import CeilingResult, Derived

def format_result(r: "CeilingResult", run: Optional[str] = None) -> str:
    """The report of one result; ``run`` ("run 2 of 3") where the suite holds several runs."""
    c = r.config
    lines = [RULE,
             f" anethru: multi-kernel throughput ceiling -- {c.label} (channels x spatial), "
             f"{c.kernels} kernels{', ' + run if run else ''}",
             f" backend {c.backend}: {r.device}"]
    if r.simulated:
        lines.append(" SIMULATED: these figures come from a stand-in, not from the named hardware")
    lines.append(RULE)
    lines.append(f" machine: {machine_line(r.machine, r.machine_state)}")
    opts = f", options: {', '.join(c.options)}" if c.options else ""
    lines.append(f" compile+load: {r.compile_ms:.1f} ms   tensor: {c.bytes_per_tensor} bytes fp16"
                 f"   weights: {c.weights}{opts}")
    lines += form_lines(r.program_forms)
    lines.append(f" chain check: {check_text(r)}")
    lines.append(f" timing: {stopping_text(r)}")
    lines.append(f"         {c.warmup} warm-up passes, shuffled order seed {c.test_order_seed}, "
                 f"clock {r.clock}, {provenance(r)}")
    passes = ", ".join(f"{t.name} {t.iters}" for t in r.tests.values())
    lines.append(f" passes per block{' (auto)' if c.auto_iters else ''}: {passes}")
    lines.append(f" intervals: {intervals_text(r)}")
    lines.append("")
    lines.append(f" {'test':<13} {'per':<6} {'median [CI]':<34} {'min':>10} {'max':>10}"
                 f" {'CV':>4} {'per pass':>10} {'per s':>9}")
    for t in r.tests.values():
        s, p = t.per_unit_ms, t.per_pass_ms
        per_s = "-" if t.units_per_second is None else f"{t.units_per_second:.0f}"
        # One unit per row, the one that shows its largest figure: a max 10x the median is
        # "10.30 us", never "10301 ns" in the median's unit.
        u = row_unit(s.median, s.ci_low, s.ci_high, s.min, s.max)
        lines.append(f" {t.name:<13} {t.unit:<6} {figure(s, shown=u):<34} {duration(s.min, u):>10}"
                     f" {duration(s.max, u):>10} {percent(s.cv):>4} {duration(p.median):>10}"
                     f" {per_s:>9}")
    for name, why in r.unsupported.items():
        lines.append(f" {name:<13} not run: {why}")
    lines += eval_path_lines(r)
    if r.derived:
        lines.append("")
        for d in r.derived.values():
            lines.append(f" {DERIVED_TEXT.get(d.name, d.name)}:")
            lines.append(f"     {derived_value(d)}   = {d.formula}")
            if d.name == "round_trip_overhead" and "memcpy_only" in r.tests:
                lines.append(f"     (inferred from sequential - run_only; the copy alone is "
                             f"measured directly: memcpy_only "
                             f"{duration(r.tests['memcpy_only'].per_unit_ms.median)} per copy)")
    if r.warnings:
        lines.append("")
        lines += [f" warning: {w}" for w in r.warnings]
    return "\n".join(lines)


def form_lines(forms: dict) -> list[str]:
    """Which program form the backend compiled, and a note for every fallback."""
    if not forms:
        return []
    lines = [" program form: " + ", ".join(f"{what} {f['form']}" for what, f in forms.items())]
    clients = next((f["clients"] for f in forms.values() if f.get("clients")), {})
    if clients:
        lines.append(" eval path clients: " + ", ".join(f"{p} through {c}" for p, c in clients.items()))
    for what, f in forms.items():
        if f["rejected"]:
            lines.append(f" note: {what} compiled as {f['form']} only after the framework "
                         f"rejected {'; '.join(f['rejected'])}")
    return lines


def eval_path_lines(r: "CeilingResult") -> list[str]:
    """ane_eval="all": every path measured, side by side, with its ratio to the standard one."""
    if not r.eval_paths:
        return []
    per_path, derived = r.eval_path_tests(), r.eval_path_derived()
    paths = list(per_path)
    lines = ["", f" eval paths side by side ({len(r.eval_paths['rounds'])} rounds, the paths in "
                 f"shuffled order each round; the table above is the standard path):",
             " per test: median per kernel (per copy for memcpy_only) and its ratio to standard;"
             " then the derived figures' medians",
             f" {'':<22}" + "".join(f" {p:>18}" for p in paths)]

    def row(label: str, values: list, unit: str = "ms", ratios: bool = True) -> str:
        base = values[0]
        shown = row_unit(*values) if unit == "ms" else None
        cells = []
        for p, v in zip(paths, values):
            if v is None:
                cells.append(f" {'-':>18}")
                continue
            text = duration(v, shown) if unit == "ms" else ratio(v)
            if ratios and p != "standard" and base and base > 0:
                text += f" ({v / base:.2f}x)"
            cells.append(f" {text:>18}")
        return f" {label:<22}" + "".join(cells)

    def median(d: Optional["Derived"]) -> Optional[float]:
        return d.stats.median if d is not None and d.stats is not None else None

    for name in r.tests:
        lines.append(row(name, [per_path[p][name].per_unit_ms.median if name in per_path[p] else None
                                for p in paths]))
    for name, d in r.derived.items():
        lines.append(row(name, [median(derived[p].get(name)) for p in paths], unit=d.unit,
                         ratios=False))
    for path, why in r.eval_paths["unsupported"].items():
        lines.append(f" {path:<13} not usable: {why}")
    return lines


def _summary_cells(r: "CeilingResult") -> list[str]:
    d = r.derived
    o = d.get("round_trip_overhead")
    if o is None or o.stats is None:
        trip = "-"
    elif o.not_resolved:
        trip = "not resolved: " + o.not_resolved.split(" per layer")[0]
    else:
        trip = f"{duration(o.stats.median)} [{duration(o.stats.ci_low)} .. {duration(o.stats.ci_high)}]"
    status = "-"
    if r.stopping is not None:
        status = r.stopping.figures.get("round_trip_overhead") or (
            f"{r.config.repeats} rounds, exact" if r.stopping.criterion == "repeats" else "-")
    copy = duration(r.tests["memcpy_only"].per_unit_ms.median) if "memcpy_only" in r.tests else "-"
    kernel = duration(r.tests["run_only"].per_unit_ms.median) if "run_only" in r.tests else "-"
    saves = d.get("chaining_saves")
    saved = "-" if saves is None or saves.stats is None else duration(saves.stats.median)
    return [r.config.label, trip, status, copy, kernel, saved]


SUMMARY_HEAD = ["config", "round trip per layer [CI]", "status", "copy (measured)",
                "kernel (run_only)", "chaining saves/layer"]


def summary_table(results: list["CeilingResult"]) -> str:
    """The table a reader can stop at: one row per configuration (per run, where several)."""
    rows = [SUMMARY_HEAD]
    for r, run in zip(results, run_labels(results)):
        cells = _summary_cells(r)
        rows.append([cells[0] + (f" ({run})" if run else "")] + cells[1:])
    widths = [max(len(row[i]) for row in rows) for i in range(len(SUMMARY_HEAD))]
    lines = [RULE, " summary (round trip: inferred from sequential - run_only; copy: memcpy_only, "
                   "measured directly)", RULE]
    lines += [" " + "  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows]
    return "\n".join(lines)


def headline(r: "CeilingResult") -> str:
    label, trip, status, copy, kernel, saved = _summary_cells(r)
    return (f"{label}: round trip per layer {trip} ({status}); copy {copy} (measured); kernel "
            f"{kernel}; chaining saves {saved} per layer")


def format_suite(results: Iterable["CeilingResult"]) -> str:
    results = list(results)
    reports = [format_result(r, run) for r, run in zip(results, run_labels(results))]
    tables = [summary_table(results), between_runs_table(results)]
    return "\n\n".join(reports + [t for t in tables if t])
