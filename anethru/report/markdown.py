"""Markdown renderings: a result's tables, a suite, and the one Markdown escape."""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable, Optional

from anethru.report.common import (DERIVED_TEXT, check_text, derived_value, intervals_text,
                                   machine_line, provenance, stopping_text)
from anethru.markdown import cell
from anethru.report.runs import HEAD, between_runs_rows
from anethru.results.runs import run_labels
from anethru.units import duration, percent, row_unit

if TYPE_CHECKING:
    from anethru.results.ceiling import CeilingResult

def md_table(header: list[str], rows: list[list[str]], align: str) -> list[str]:
    out = ["| " + " | ".join(header) + " |",
           "|" + "|".join("---:" if a == "r" else "---" for a in align) + "|"]
    out += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return out


def format_markdown(r: "CeilingResult", run: Optional[str] = None) -> str:
    """The report as Markdown: tables of figures, warnings, and the machine fingerprint;
    ``run`` ("run 2 of 3") where the suite holds several runs."""
    c = r.config
    lines = [f"### anethru: {c.label} (channels x spatial), {c.kernels} kernels, "
             f"backend `{c.backend}`{', ' + run if run else ''}", ""]
    if r.simulated:
        lines += ["**SIMULATED**: these figures come from a stand-in, not from the named hardware.",
                  ""]
    lines += [f"- device: {cell(r.device)}",
              f"- machine: {cell(machine_line(r.machine, r.machine_state))}",
              f"- timing: {cell(stopping_text(r))}; {c.warmup} warm-up passes; passes per block "
              + cell(", ".join(f"{t.name} {t.iters}" for t in r.tests.values())),
              f"- intervals: {cell(intervals_text(r))}",
              f"- chain check: {cell(check_text(r))}; compile+load {r.compile_ms:.1f} ms; "
              f"{cell(provenance(r))}", ""]
    rows = []
    for t in r.tests.values():
        s = t.per_unit_ms
        u = row_unit(s.median, s.ci_low, s.ci_high, s.min, s.max)   # the row's largest shows
        ci = "-" if s.ci_low is None else f"{duration(s.ci_low, u)} .. {duration(s.ci_high, u)}"
        rows.append([f"`{t.name}`", t.unit, duration(s.median, u), ci, duration(s.min, u),
                     duration(s.max, u), percent(s.cv), duration(t.per_pass_ms.median)])
    for name, why in r.unsupported.items():
        rows.append([f"`{name}`", "", "not run", why, "", "", "", ""])
    lines += md_table(["test", "per", "median", "CI", "min", "max", "CV", "per pass"], rows,
                       "llrrrrrr")
    if r.derived:
        lines.append("")
        rows = [[DERIVED_TEXT.get(d.name, d.name), derived_value(d), f"`{d.formula}`"]
                for d in r.derived.values()]
        lines += md_table(["derived figure", "median [CI]", "formula"], rows, "lrl")
    if r.warnings:
        lines.append("")
        lines += [f"> **warning**: {cell(w)}" for w in r.warnings]
    lines += ["", "<details><summary>machine fingerprint</summary>", ""]
    lines += md_table(["key", "value"], [[k, v] for k, v in r.machine.items()], "ll")
    lines += ["", "</details>"]
    return "\n".join(lines)


def format_suite_markdown(results: Iterable["CeilingResult"]) -> str:
    results = list(results)
    parts = [format_markdown(r, run) for r, run in zip(results, run_labels(results))]
    rows = between_runs_rows(results)
    if rows:
        parts.append("\n".join(["#### Between runs (each run's median)", ""]
                               + md_table(HEAD, rows, "llrrrr")))
    return "\n\n".join(parts)


# ---------------------------------------------------------------------- CSV

# Values are ms (ms per kernel, copy or layer) except where unit is "ratio".  ci_* are the
# median's interval; note says why a figure is undefined.
