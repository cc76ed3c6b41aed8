"""What ``anethru doctor`` found, as text, JSON, or a Markdown block to paste into a report."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from anethru.bringup.steps import FAILED, OK, SKIPPED, StepResult
from anethru.markdown import cell

SCHEMA = "anethru.doctor/1"
# Steps whose failure is a conclusion about the others (named in the summary).
DIAGNOSES = ("shape or chip",)


@dataclass(frozen=True)
class DoctorReport:
    backend: str
    steps: list[StepResult]
    machine: dict[str, Any] = field(default_factory=dict)
    anethru_version: str = ""
    native: str = ""                   # which native core ran the steps (a simulation says so)
    hints: list[str] = field(default_factory=list)  # known facts worth reading for a failure

    @property
    def diagnosis(self) -> str:
        """What a diagnosing step concluded (the ANE's "shape or chip"), or ""."""
        return next((s.message for s in self.steps if s.name in DIAGNOSES and s.status == FAILED), "")

    @property
    def ok(self) -> bool:
        return all(s.status == OK for s in self.steps)

    @property
    def first_failure(self) -> StepResult | None:
        return next((s for s in self.steps if s.status == FAILED), None)

    def counts(self) -> dict[str, int]:
        return {k: sum(s.status == k for s in self.steps) for k in (OK, FAILED, SKIPPED)}

    def summary(self) -> str:
        c = self.counts()
        if self.ok:
            return f"all {c[OK]} steps passed"
        first = self.first_failure
        head = f"{c[FAILED]} failed, {c[SKIPPED]} skipped, {c[OK]} passed"
        if self.diagnosis:
            head += f"; diagnosis: {self.diagnosis}"
        return f"{head}; first failure: {first.name}: {first.message}" if first else head

    def to_dict(self) -> dict:
        return {"schema": SCHEMA, "backend": self.backend, "ok": self.ok,
                "counts": self.counts(), "steps": [s.to_dict() for s in self.steps],
                "machine": dict(self.machine), "anethru_version": self.anethru_version,
                "native": self.native, "diagnosis": self.diagnosis, "hints": list(self.hints)}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    def _machine_line(self) -> str:
        m = self.machine
        parts = [m.get("chip") or m.get("cpu_model", "?"), m.get("hw_model"),
                 " ".join(x for x in (m.get("os"), m.get("macos_version") or m.get("os_release"),
                                      f"({m['macos_build']})" if m.get("macos_build") else None) if x),
                 m.get("machine"), m.get("power_source"),
                 f"thermal {m['thermal_state']}" if m.get("thermal_state") else None,
                 "LOW POWER MODE" if m.get("low_power_mode") else None,
                 f"Python {m['python']}" if m.get("python") else None]
        return ", ".join(p for p in parts if p)

    def __str__(self) -> str:
        width = max([len(s.name) for s in self.steps] + [4])
        lines = [f"anethru doctor --backend {self.backend} (anethru {self.anethru_version}; "
                 f"{self._machine_line()})"]
        if self.native:
            lines.append(f"native core: {self.native}")
        for s in self.steps:
            ms = f"{s.ms:8.1f} ms" if s.status != SKIPPED else " " * 11
            lines.append(f"  {s.status.upper() if s.status == FAILED else s.status:<8} "
                         f"{s.name:<{width}} {ms}  {s.message}")
        lines.append(f"result: {self.summary()}")
        lines += [f"hint: {h}" for h in self.hints]
        return "\n".join(lines)

    def to_markdown(self) -> str:
        """A block to paste into a bug report as it is."""
        lines = [f"### anethru doctor --backend {self.backend}", "",
                 f"anethru {self.anethru_version}; {cell(self._machine_line())}"
                 + (f"; native core: {cell(self.native)}" if self.native else ""), "",
                 f"**{cell(self.summary())}**", "",
                 "| step | status | ms | message |", "|---|---|---:|---|"]
        for s in self.steps:
            status = f"**{s.status}**" if s.status == FAILED else s.status
            ms = f"{s.ms:.1f}" if s.status != SKIPPED else ""
            lines.append(f"| {cell(s.name)} | {status} | {ms} | {cell(s.message)} |")
        if self.hints:
            lines += [""] + [f"- hint: {cell(h)}" for h in self.hints]
        lines += ["", "<details><summary>machine</summary>", "", "```json",
                  json.dumps(self.machine, indent=2, sort_keys=True), "```", "", "</details>"]
        return "\n".join(lines)
