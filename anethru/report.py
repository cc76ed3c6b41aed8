"""Human-readable and CSV renderings of results (JSON lives on the result itself)."""

from __future__ import annotations

import csv
import io
from typing import TYPE_CHECKING, Iterable

if TYPE_CHECKING:  # only for annotations: result.py imports this module to print itself
    from .result import CeilingResult

RULE = "=" * 78

DERIVED_TEXT = {
    "round_trip_overhead": "round-trip overhead per layer (what chaining would eliminate)",
    "memcpy_share": "memcpy's share of that overhead",
    "serial_queue_vs_direct": "serial queue / direct evals",
    "chaining_saves": "chaining saves per layer (sequential - chained)",
    "dispatch_saved": "dispatch saved per layer (run_only - chained)",
}


def _ms(x: float) -> str:
    return f"{x:.4f}" if abs(x) < 10 else f"{x:.2f}"


def _machine_line(m: dict) -> str:
    """OS, CPU and, on a Mac, what throttles an accelerator: power source, thermal state,
    Low Power Mode (a throttled run must be recognisable from its report)."""
    parts = [f"{m.get('os', '?')} {m.get('macos_version') or m.get('os_release', '')}".strip(),
             f"{m.get('cpu_model', '?')}, {m.get('cpu_count', '?')} cores"]
    if "power_source" in m:
        parts.append(m["power_source"])
    if "thermal_state" in m:
        parts.append(f"thermal {m['thermal_state']}")
    if m.get("low_power_mode"):
        parts.append("LOW POWER MODE")
    return "; ".join(parts)


def format_result(r: "CeilingResult") -> str:
    c = r.config
    lines = [RULE,
             f" anethru: multi-kernel throughput ceiling -- {c.label} (channels x spatial), "
             f"{c.kernels} kernels",
             f" backend {c.backend}: {r.device}"]
    if r.simulated:
        lines.append(" SIMULATED: these figures come from a stand-in, not from the named hardware")
    lines.append(RULE)
    lines.append(f" machine: {_machine_line(r.machine)}")
    opts = f", options: {', '.join(c.options)}" if c.options else ""
    lines.append(f" compile+load: {r.compile_ms:.1f} ms   tensor: {c.bytes_per_tensor} bytes fp16"
                 f"   weights: {c.weights}{opts}")
    lines += _form_lines(r.program_forms)
    chk = r.check
    how = "output == input, bit for bit" if chk.exact else (
        f"max |err| {chk.max_abs_error:.3g} <= {chk.tolerance:.3g} x max |ref|")
    lines.append(f" chain check: {' + '.join(chk.tests)} passed ({how})")
    passes = ", ".join(f"{t.name} {t.iters}" for t in r.tests.values())
    lines.append(f" timing: {c.repeats} repeats, {c.warmup} warm-up passes, shuffled order seed "
                 f"{c.test_order_seed}, clock {r.clock}")
    lines.append(f" passes per block{' (auto)' if c.auto_iters else ''}: {passes}")
    lines.append("")
    lines.append(f" {'test':<13} {'per':<6} {'median ms':>10} {'min':>9} {'max':>9} {'stdev':>9}"
                 f" {'CV':>5} {'ms/pass':>9} {'per s':>9}")
    for t in r.tests.values():
        s, p = t.per_unit_ms, t.per_pass_ms
        lines.append(f" {t.name:<13} {t.unit:<6} {_ms(s.median):>10} {_ms(s.min):>9} {_ms(s.max):>9}"
                     f" {_ms(s.stdev):>9} {s.cv:>5.0%} {_ms(p.median):>9} {t.units_per_second:>9.0f}")
    for name, why in r.unsupported.items():
        lines.append(f" {name:<13} not run: {why}")
    lines += _eval_path_lines(r)
    if r.derived:
        lines.append("")
        for d in r.derived.values():
            s = d.stats
            if d.unit == "ms":
                value = f"{_ms(s.median)} ms  [{_ms(s.min)} .. {_ms(s.max)}]"
            else:
                value = f"{s.median:.2f}x  [{s.min:.2f} .. {s.max:.2f}]"
            lines.append(f" {DERIVED_TEXT.get(d.name, d.name)}:")
            lines.append(f"     {value}   = {d.formula}")
    if r.warnings:
        lines.append("")
        lines += [f" warning: {w}" for w in r.warnings]
    return "\n".join(lines)


def _form_lines(forms: dict) -> list[str]:
    """Which program form the backend compiled, and a note for every fallback."""
    if not forms:
        return []
    lines = [" program form: " + ", ".join(f"{what} {f['form']}" for what, f in forms.items())]
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
             " per test: median ms per kernel (per copy for memcpy_only) and its ratio to standard;"
             " then the derived figures' medians",
             f" {'':<22}" + "".join(f" {p:>18}" for p in paths)]

    def row(label: str, values: list, ratios: bool = True) -> str:
        base = values[0]
        cells = []
        for p, v in zip(paths, values):
            if v is None:
                cells.append(f" {'-':>18}")
                continue
            ratio = f" ({v / base:.2f}x)" if ratios and p != "standard" and base and base > 0 else ""
            cells.append(f" {_ms(v) + ratio:>18}")
        return f" {label:<22}" + "".join(cells)

    for name in r.tests:
        lines.append(row(name, [per_path[p][name].per_unit_ms.median if name in per_path[p] else None
                                for p in paths]))
    for name in r.derived:
        lines.append(row(name, [derived[p][name].stats.median if name in derived[p] else None
                                for p in paths], ratios=False))
    for path, why in r.eval_paths["unsupported"].items():
        lines.append(f" {path:<13} not usable: {why}")
    return lines


def format_suite(results: Iterable["CeilingResult"]) -> str:
    return "\n\n".join(str(r) for r in results)


# Values are ms except where unit is "ratio".
CSV_FIELDS = ["backend", "channels", "spatial", "kernels", "test", "unit", "iters", "repeats",
              "median", "min", "mean", "max", "stdev", "cv", "per_pass_median_ms", "simulated"]


def to_csv(results: Iterable["CeilingResult"]) -> str:
    """One row per (configuration, test or derived figure)."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=CSV_FIELDS, lineterminator="\n")
    w.writeheader()
    for r in results:
        c = r.config
        base = {"backend": c.backend, "channels": c.channels, "spatial": c.spatial,
                "kernels": c.kernels, "repeats": c.repeats, "simulated": r.simulated}
        for t in r.tests.values():
            s = t.per_unit_ms
            w.writerow({**base, "test": t.name, "unit": f"ms/{t.unit}", "iters": t.iters,
                        "median": s.median, "min": s.min, "mean": s.mean,
                        "max": s.max, "stdev": s.stdev, "cv": s.cv,
                        "per_pass_median_ms": t.per_pass_ms.median})
        for d in r.derived.values():
            s = d.stats
            w.writerow({**base, "test": d.name, "unit": d.unit if d.unit == "ratio" else "ms/layer",
                        "iters": "",
                        "median": s.median, "min": s.min, "mean": s.mean,
                        "max": s.max, "stdev": s.stdev, "cv": s.cv,
                        "per_pass_median_ms": ""})
    return buf.getvalue()

