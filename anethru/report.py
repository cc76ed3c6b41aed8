"""Human-readable, Markdown and CSV renderings of results and comparisons (JSON lives on the
result itself).  Renders only: every figure comes computed from the objects it is given."""

from __future__ import annotations

import csv
import io
from typing import TYPE_CHECKING, Any, Iterable, Optional

if TYPE_CHECKING:  # only for annotations: result.py and compare.py import this module
    from .compare import Comparison
    from .result import CeilingResult, Derived
    from .stats import Stats

RULE = "=" * 78

DERIVED_TEXT = {
    "round_trip_overhead": "round-trip overhead per layer (what chaining would eliminate)",
    "memcpy_share": "memcpy's share of that overhead",
    "serial_queue_vs_direct": "serial queue / direct evals",
    "chaining_saves": "chaining saves per layer (sequential - chained)",
    "dispatch_saved": "dispatch saved per layer (run_only - chained)",
}

# ---------------------------------------------------------------------- numbers


def time_unit(ms: float) -> tuple[float, str]:
    """(factor, unit) that shows a duration given in ms with a few digits before the point:
    s, ms, us or ns (CPU memcpy and null_eval figures are microseconds or less)."""
    x = abs(ms)
    if x >= 1000:
        return 1e-3, "s"
    if x >= 1 or x == 0:
        return 1.0, "ms"
    if x >= 1e-3:
        return 1e3, "us"
    return 1e6, "ns"


def _num(v: float) -> str:
    x = abs(v)
    if x == 0:
        return "0"
    if x >= 100:
        return f"{v:.1f}"
    if x >= 10:
        return f"{v:.2f}"
    if x >= 0.01:
        return f"{v:.3f}"
    return f"{v:.3g}"


def duration(ms: Optional[float], unit: Optional[tuple[float, str]] = None) -> str:
    """A duration in ms, in the unit that shows it (or the one given): "3.473 ms", "9.21 us"."""
    if ms is None:
        return "-"
    f, u = unit or time_unit(ms)
    return f"{_num(ms * f)} {u}"


def ratio(x: Optional[float]) -> str:
    return "-" if x is None else f"{_num(x)}x"


def _row_unit(*values: Optional[float]) -> tuple[float, str]:
    return time_unit(max((abs(v) for v in values if v is not None), default=0.0))


def figure(s: "Stats", unit: str = "ms") -> str:
    """``median [ci_low .. ci_high]`` in one unit (or the median alone, saying why)."""
    if unit == "ratio":
        if s.ci_low is None:
            return f"{ratio(s.median)} (1 repeat: no interval)"
        return f"{ratio(s.median)} [{_num(s.ci_low)} .. {_num(s.ci_high)}]"
    u = _row_unit(s.median, s.ci_low, s.ci_high)
    if s.ci_low is None:
        return f"{duration(s.median, u)} (1 repeat: no interval)"
    return f"{_num(s.median * u[0])} [{_num(s.ci_low * u[0])} .. {_num(s.ci_high * u[0])}] {u[1]}"


def _percent(x: Optional[float]) -> str:
    return "-" if x is None else f"{x:.0%}"


# ---------------------------------------------------------------------- what every format says


def _machine_line(m: dict, state: dict) -> str:
    """OS, CPU and, on a Mac, what throttles an accelerator: power source, thermal state,
    Low Power Mode; the load, governor and GPU clock at start -> end (a throttled or shared run
    must be recognisable from its report)."""
    parts = [f"{m.get('os', '?')} {m.get('macos_version') or m.get('os_release', '')}".strip(),
             f"{m.get('cpu_model', '?')}, {m.get('cpu_count', '?')} cores"]
    if "hw_model" in m:
        parts.append(str(m["hw_model"]))
    if isinstance(m.get("memory_bytes"), int):
        parts.append(f"{m['memory_bytes'] / 2**30:.0f} GiB")
    if "power_source" in m:
        parts.append(m["power_source"])
    if "thermal_state" in m:
        parts.append(f"thermal {m['thermal_state']}")
    if m.get("low_power_mode"):
        parts.append("LOW POWER MODE")
    start, end = state.get("start", {}), state.get("end", {})

    def span(key: str, fmt: str = "{}") -> Optional[str]:
        a, b = start.get(key), end.get(key)
        if a is None and b is None:
            return None
        show = (lambda v: "?" if v is None else fmt.format(v)
                if isinstance(v, (int, float)) and not isinstance(v, bool) else str(v))
        return show(a) if a == b or b is None else f"{show(a)} -> {show(b)}"

    load = span("load_average_1m", "{:.2f}")
    if load:
        parts.append(f"load {load}")
    if start.get("cpu_governor"):
        parts.append(f"governor {start['cpu_governor']}")
    clock, temp = span("gpu_sm_clock_mhz"), span("gpu_temperature_c")
    if clock or temp:
        parts.append(f"GPU SM {clock or '?'} MHz, {temp or '?'} C")
    return "; ".join(parts)


def _provenance(r: "CeilingResult") -> str:
    m = r.machine
    text = f"anethru {r.anethru_version}"
    if m.get("anethru_git_commit"):
        dirty = ", uncommitted changes" if m.get("anethru_git_dirty") else ""
        text += f" (git {str(m['anethru_git_commit'])[:12]}{dirty})"
    return text


def _stopping_text(r: "CeilingResult") -> str:
    s, n = r.stopping, r.config.repeats
    if s is None or s.criterion == "repeats":
        took = f" in {s.elapsed_s:.1f} s" if s is not None and s.elapsed_s is not None else ""
        return f"{n} repeat{'s' if n != 1 else ''}{took} (an exact count)"
    took = f" in {s.elapsed_s:.1f} s" if s.elapsed_s is not None else ""
    target = f"+/-{s.precision:.1%}"
    if s.stopped_by == "precision":
        return f"{n} repeats{took}: every median within {target}, the overhead settled"
    if s.stopped_by == "max_time":
        return (f"{n} repeats{took}: the {s.max_time_s:g} s time limit ran out BEFORE the "
                f"{target} target was reached (see the warning)")
    return (f"{n} repeats{took}: the cap of {s.max_repeats} repeats was reached BEFORE the "
            f"{target} target was reached (see the warning)")


def _intervals_text(r: "CeilingResult") -> str:
    n = r.config.repeats
    if n < 2:
        return "none (1 repeat)"
    level = next(iter(r.tests.values())).per_unit_ms.ci_level
    if n <= 5:
        return (f"{level:.2%} for each median: [min .. max] of {n} repeats (6 or more give 95%)")
    return (f"{level:.1%} for each median (order statistics of the {n} repeats, "
            f"distribution-free)")


def _check_text(r: "CeilingResult") -> str:
    chk = r.check
    how = "output == input, bit for bit" if chk.exact else (
        f"max |err| {chk.max_abs_error:.3g} <= {chk.tolerance:.3g} x max |ref|")
    return f"{' + '.join(chk.tests)} {'passed' if chk.passed else 'FAILED'} ({how})"


def _derived_value(d: "Derived") -> str:
    if d.stats is None:
        return f"undefined: {d.undefined}"
    return figure(d.stats, d.unit)


# ---------------------------------------------------------------------- text


def format_result(r: "CeilingResult") -> str:
    c = r.config
    lines = [RULE,
             f" anethru: multi-kernel throughput ceiling -- {c.label} (channels x spatial), "
             f"{c.kernels} kernels",
             f" backend {c.backend}: {r.device}"]
    if r.simulated:
        lines.append(" SIMULATED: these figures come from a stand-in, not from the named hardware")
    lines.append(RULE)
    lines.append(f" machine: {_machine_line(r.machine, r.machine_state)}")
    opts = f", options: {', '.join(c.options)}" if c.options else ""
    lines.append(f" compile+load: {r.compile_ms:.1f} ms   tensor: {c.bytes_per_tensor} bytes fp16"
                 f"   weights: {c.weights}{opts}")
    lines += _form_lines(r.program_forms)
    lines.append(f" chain check: {_check_text(r)}")
    lines.append(f" timing: {_stopping_text(r)}")
    lines.append(f"         {c.warmup} warm-up passes, shuffled order seed {c.test_order_seed}, "
                 f"clock {r.clock}, {_provenance(r)}")
    passes = ", ".join(f"{t.name} {t.iters}" for t in r.tests.values())
    lines.append(f" passes per block{' (auto)' if c.auto_iters else ''}: {passes}")
    lines.append(f" intervals: {_intervals_text(r)}")
    lines.append("")
    lines.append(f" {'test':<13} {'per':<6} {'median [CI]':<34} {'min':>10} {'max':>10}"
                 f" {'CV':>4} {'per pass':>10} {'per s':>9}")
    for t in r.tests.values():
        s, p = t.per_unit_ms, t.per_pass_ms
        u = _row_unit(s.median, s.ci_low, s.ci_high)
        per_s = "-" if t.units_per_second is None else f"{t.units_per_second:.0f}"
        lines.append(f" {t.name:<13} {t.unit:<6} {figure(s):<34} {duration(s.min, u):>10}"
                     f" {duration(s.max, u):>10} {_percent(s.cv):>4} {duration(p.median):>10}"
                     f" {per_s:>9}")
    for name, why in r.unsupported.items():
        lines.append(f" {name:<13} not run: {why}")
    lines += _eval_path_lines(r)
    if r.derived:
        lines.append("")
        for d in r.derived.values():
            lines.append(f" {DERIVED_TEXT.get(d.name, d.name)}:")
            lines.append(f"     {_derived_value(d)}   = {d.formula}")
    if r.warnings:
        lines.append("")
        lines += [f" warning: {w}" for w in r.warnings]
    return "\n".join(lines)


def _form_lines(forms: dict) -> list[str]:
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


def _eval_path_lines(r: "CeilingResult") -> list[str]:
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
        shown = _row_unit(*values) if unit == "ms" else None
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


def format_suite(results: Iterable["CeilingResult"]) -> str:
    return "\n\n".join(str(r) for r in results)


# ---------------------------------------------------------------------- Markdown


def _md(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _md_table(header: list[str], rows: list[list[str]], align: str) -> list[str]:
    out = ["| " + " | ".join(header) + " |",
           "|" + "|".join("---:" if a == "r" else "---" for a in align) + "|"]
    out += ["| " + " | ".join(_md(c) for c in row) + " |" for row in rows]
    return out


def format_markdown(r: "CeilingResult") -> str:
    """The report as Markdown: tables of figures, warnings, and the machine fingerprint."""
    c = r.config
    lines = [f"### anethru: {c.label} (channels x spatial), {c.kernels} kernels, "
             f"backend `{c.backend}`", ""]
    if r.simulated:
        lines += ["**SIMULATED**: these figures come from a stand-in, not from the named hardware.",
                  ""]
    lines += [f"- device: {_md(r.device)}",
              f"- machine: {_md(_machine_line(r.machine, r.machine_state))}",
              f"- timing: {_md(_stopping_text(r))}; {c.warmup} warm-up passes; passes per block "
              + _md(", ".join(f"{t.name} {t.iters}" for t in r.tests.values())),
              f"- intervals: {_md(_intervals_text(r))}",
              f"- chain check: {_md(_check_text(r))}; compile+load {r.compile_ms:.1f} ms; "
              f"{_md(_provenance(r))}", ""]
    rows = []
    for t in r.tests.values():
        s = t.per_unit_ms
        u = _row_unit(s.median, s.ci_low, s.ci_high)
        ci = "-" if s.ci_low is None else f"{duration(s.ci_low, u)} .. {duration(s.ci_high, u)}"
        rows.append([f"`{t.name}`", t.unit, duration(s.median, u), ci, duration(s.min, u),
                     duration(s.max, u), _percent(s.cv), duration(t.per_pass_ms.median)])
    for name, why in r.unsupported.items():
        rows.append([f"`{name}`", "", "not run", why, "", "", "", ""])
    lines += _md_table(["test", "per", "median", "CI", "min", "max", "CV", "per pass"], rows,
                       "llrrrrrr")
    if r.derived:
        lines.append("")
        rows = [[DERIVED_TEXT.get(d.name, d.name), _derived_value(d), f"`{d.formula}`"]
                for d in r.derived.values()]
        lines += _md_table(["derived figure", "median [CI]", "formula"], rows, "lrl")
    if r.warnings:
        lines.append("")
        lines += [f"> **warning**: {_md(w)}" for w in r.warnings]
    lines += ["", "<details><summary>machine fingerprint</summary>", ""]
    lines += _md_table(["key", "value"], [[k, v] for k, v in r.machine.items()], "ll")
    lines += ["", "</details>"]
    return "\n".join(lines)


def format_suite_markdown(results: Iterable["CeilingResult"]) -> str:
    return "\n\n".join(r.to_markdown() for r in results)


# ---------------------------------------------------------------------- CSV

# Values are ms (ms per kernel, copy or layer) except where unit is "ratio".  ci_* are the
# median's interval; note says why a figure is undefined.
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


def _value_text(v: Any, unit: str) -> str:
    if v is None:
        return "-"
    if v.stats is None:
        return "undefined"
    return figure(v.stats, "ratio" if unit == "ratio" else "ms")


def _change_text(ch: Any, unit: str) -> str:
    if ch.estimate is None:
        return "-"
    if ch.kind == "ratio":
        if ch.ci_low is None:
            return f"{_num(ch.estimate)}x"
        return f"{_num(ch.estimate)}x [{_num(ch.ci_low)} .. {_num(ch.ci_high)}]"
    sign = "+" if ch.estimate >= 0 else ""
    factor, name = (1.0, "") if unit == "ratio" else _row_unit(ch.estimate, ch.ci_low, ch.ci_high)
    suffix = f" {name}" if name else ""
    if ch.ci_low is None:
        return f"{sign}{_num(ch.estimate * factor)}{suffix}"
    return (f"{sign}{_num(ch.estimate * factor)} [{_num(ch.ci_low * factor)} .. "
            f"{_num(ch.ci_high * factor)}]{suffix}")


def _comparison_intro(cmp: "Comparison") -> list[str]:
    return [f"verdicts: {cmp.test}, at {cmp.level:.0%}; 'same' means the whole interval lies "
            f"within +/-{cmp.same_within:.0%} (of the reference's run_only per kernel, for "
            f"overheads); changes are relative to the first input that has the configuration"]


def format_comparison(cmp: "Comparison") -> str:
    labels = [s.label for s in cmp.sources]
    lines = [RULE, f" anethru compare: {len(cmp.sources)} inputs", RULE]
    lines += [f" [{s.label}] {s.summary()}" for s in cmp.sources]
    lines += [" " + line for line in _comparison_intro(cmp)]
    for c in cmp.configs:
        others = [lab for lab in c.present if lab != c.reference]
        lines += ["", f" {c.label} (reference [{c.reference}])"]
        head = f" {'figure':<22} {'per':<7}" + "".join(
            f" {'[' + lab + '] median [CI]':<32}" for lab in labels if lab in c.present)
        head += "".join(f" {lab + '/' + c.reference + ' [CI]':<28} {'verdict':<9}" for lab in others)
        lines.append(head.rstrip())
        for row in c.rows:
            per = row.unit.split("/")[-1]
            text = f" {row.name:<22} {per:<7}" + "".join(
                f" {_value_text(v, row.unit):<32}" for lab, v in zip(labels, row.values)
                if lab in c.present)
            changes = {ch.source: ch for ch in row.changes}
            for lab in others:
                ch = changes.get(lab)
                text += (f" {_change_text(ch, row.unit):<28} {ch.verdict:<9}" if ch
                         else f" {'-':<28} {'':<9}")
            lines.append(text.rstrip())
        uncertain = [(row.name, ch) for row in c.rows for ch in row.changes
                     if ch.verdict in ("uncertain", "undefined")]
        for name, ch in uncertain:
            lines.append(f"     {name} [{ch.source}] {ch.verdict}: {ch.why}")
    if cmp.unpaired:
        lines += ["", " not paired (in one input only):"]
        lines += [f"     [{src}] {lab}" for src, lab in cmp.unpaired]
    if cmp.notes:
        lines.append("")
        lines += [f" note: {n}" for n in cmp.notes]
    return "\n".join(lines)


def format_comparison_markdown(cmp: "Comparison") -> str:
    labels = [s.label for s in cmp.sources]
    lines = [f"### anethru compare: {len(cmp.sources)} inputs", ""]
    lines += [f"- **[{s.label}]** {_md(s.summary())}" for s in cmp.sources]
    lines += ["", f"_{_md(_comparison_intro(cmp)[0])}_"]
    for c in cmp.configs:
        others = [lab for lab in c.present if lab != c.reference]
        present = [lab for lab in labels if lab in c.present]
        lines += ["", f"#### {c.label} (reference [{c.reference}])", ""]
        header = ["figure", "per"] + [f"[{lab}] median [CI]" for lab in present]
        for lab in others:
            header += [f"{lab}/{c.reference} [CI]", "verdict"]
        rows = []
        for row in c.rows:
            cells = [f"`{row.name}`", row.unit.split("/")[-1]] + [
                _value_text(v, row.unit) for lab, v in zip(labels, row.values) if lab in c.present]
            changes = {ch.source: ch for ch in row.changes}
            for lab in others:
                ch = changes.get(lab)
                cells += [_change_text(ch, row.unit), f"**{ch.verdict}**"] if ch else ["-", ""]
            rows.append(cells)
        lines += _md_table(header, rows, "ll" + "r" * (len(header) - 2))
    if cmp.unpaired:
        lines += ["", "Not paired (in one input only): "
                  + "; ".join(f"[{src}] {lab}" for src, lab in cmp.unpaired)]
    if cmp.notes:
        lines.append("")
        lines += [f"> note: {_md(n)}" for n in cmp.notes]
    return "\n".join(lines)
