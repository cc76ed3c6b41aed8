"""A comparison of runs as text and as Markdown."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from anethru.report.common import RULE
from anethru.markdown import cell
from anethru.report.markdown import md_table
from anethru.units import figure, number, row_unit

if TYPE_CHECKING:
    from anethru.results.compare import Comparison

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
            return f"{number(ch.estimate)}x"
        return f"{number(ch.estimate)}x [{number(ch.ci_low)} .. {number(ch.ci_high)}]"
    sign = "+" if ch.estimate >= 0 else ""
    factor, name = (1.0, "") if unit == "ratio" else row_unit(ch.estimate, ch.ci_low, ch.ci_high)
    suffix = f" {name}" if name else ""
    if ch.ci_low is None:
        return f"{sign}{number(ch.estimate * factor)}{suffix}"
    return (f"{sign}{number(ch.estimate * factor)} [{number(ch.ci_low * factor)} .. "
            f"{number(ch.ci_high * factor)}]{suffix}")


def _comparison_intro(cmp: "Comparison") -> list[str]:
    return [f"verdicts: {cmp.test}, at {cmp.level:.0%} with Holm's correction over all figures; "
            f"'same' means the whole interval lies within +/-{cmp.same_within:.0%} of the figure "
            f"itself; "
            f"changes are relative to the first input that has the configuration"]


def format_comparison(cmp: "Comparison") -> str:
    labels = [s.label for s in cmp.sources]
    lines = [RULE, f" anethru compare: {len(cmp.sources)} inputs", RULE]
    if cmp.across:   # first: ratios across machines are not verdicts
        lines += [" ACROSS MACHINES: ratios only, no faster/slower verdicts: " + "; ".join(cmp.across)]
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
        # One line per reason: figures that share one (every test between single runs) are
        # named together.
        reasons: dict[tuple[str, str, str], list[str]] = {}
        for row in c.rows:
            for ch in row.changes:
                if ch.verdict in ("uncertain", "undefined"):
                    reasons.setdefault((ch.source, ch.verdict, ch.why), []).append(row.name)
        for (source, verdict, why), names in reasons.items():
            lines.append(f"     {', '.join(names)} [{source}] {verdict}: {why}")
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
    lines += [f"- **[{s.label}]** {cell(s.summary())}" for s in cmp.sources]
    lines += ["", f"_{cell(_comparison_intro(cmp)[0])}_"]
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
        lines += md_table(header, rows, "ll" + "r" * (len(header) - 2))
    if cmp.unpaired:
        lines += ["", "Not paired (in one input only): "
                  + "; ".join(f"[{src}] {lab}" for src, lab in cmp.unpaired)]
    if cmp.notes:
        lines.append("")
        lines += [f"> note: {cell(n)}" for n in cmp.notes]
    return "\n".join(lines)
