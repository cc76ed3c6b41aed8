"""What one measurement of a chain found: per-test statistics, derived figures, metadata.

``CeilingResult.from_measurement`` turns raw native block totals into figures;
``to_dict``/``to_json``/``from_json`` round-trip everything (raw blocks included) so that results
from many machines can be compared later.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Optional

from .report import format_result
from .stats import Stats, paired_difference, paired_ratio, per_pass_ms, per_unit_ms
from .testnames import TEST_NAMES

SCHEMA = "anethru.ceiling/1"
SUITE_SCHEMA = "anethru.suite/1"  # what `anethru --json` prints: results + failures


@dataclass(frozen=True)
class TestResult:
    """One test's figures over the repeats."""

    __test__ = False  # not a pytest class, despite the name

    name: str
    unit: str            # "kernel" or "copy": what per_unit_ms is per
    units_per_pass: int
    iters: int           # passes per timed block
    block_ns: tuple[int, ...]  # raw totals, one per repeat, in repeat order

    @property
    def per_unit_ms(self) -> Stats:
        return Stats.of(per_unit_ms(self.block_ns, self.iters, self.units_per_pass))

    @property
    def per_pass_ms(self) -> Stats:
        return Stats.of(per_pass_ms(self.block_ns, self.iters))

    @property
    def units_per_second(self) -> float:
        median = self.per_unit_ms.median
        return 1000.0 / median if median > 0 else float("inf")

    def to_dict(self) -> dict:
        return {
            "name": self.name, "unit": self.unit, "units_per_pass": self.units_per_pass,
            "iters": self.iters, "block_ns": list(self.block_ns),
            "per_unit_ms": self.per_unit_ms.to_dict(), "per_pass_ms": self.per_pass_ms.to_dict(),
            "units_per_second": self.units_per_second,
        }

    @classmethod
    def from_dict(cls, d: dict) -> "TestResult":
        return cls(d["name"], d["unit"], d["units_per_pass"], d["iters"], tuple(d["block_ns"]))


@dataclass(frozen=True)
class Derived:
    """A figure computed from two tests, repeat by repeat."""

    name: str
    formula: str
    unit: str            # "ms" or "ratio"
    stats: Stats

    def to_dict(self) -> dict:
        return {"name": self.name, "formula": self.formula, "unit": self.unit,
                "stats": self.stats.to_dict()}

    @classmethod
    def from_dict(cls, d: dict) -> "Derived":
        return cls(d["name"], d["formula"], d["unit"], Stats.from_dict(d["stats"]))


def derive(tests: dict[str, TestResult], kernels: int) -> dict[str, Derived]:
    """The figures the seed printed the formula for, and what chaining changes."""
    out: dict[str, Derived] = {}
    passes = {name: per_pass_ms(t.block_ns, t.iters) for name, t in tests.items()}
    layers = kernels - 1

    def add(name: str, formula: str, unit: str, samples: list[float]) -> None:
        out[name] = Derived(name, formula, unit, Stats.of(samples))

    if "sequential" in passes and "run_only" in passes:
        add("round_trip_overhead", f"(sequential - run_only) per pass / {layers}", "ms",
            paired_difference(passes["sequential"], passes["run_only"], layers))
        if "memcpy_only" in tests:
            copy = per_unit_ms(tests["memcpy_only"].block_ns, tests["memcpy_only"].iters, layers)
            overhead = out["round_trip_overhead"].stats.samples
            add("memcpy_share", "memcpy_only per copy / round_trip_overhead", "ratio",
                paired_ratio(copy, overhead))
    if "serial_queue" in passes and "run_only" in passes:
        add("serial_queue_vs_direct", "serial_queue / run_only", "ratio",
            paired_ratio(passes["serial_queue"], passes["run_only"]))
    if "chained" in passes and "sequential" in passes:
        add("chaining_saves", f"(sequential - chained) per pass / {layers}", "ms",
            paired_difference(passes["sequential"], passes["chained"], layers))
    if "chained" in passes and "run_only" in passes:
        add("dispatch_saved", f"(run_only - chained) per pass / {layers}", "ms",
            paired_difference(passes["run_only"], passes["chained"], layers))
    return out


@dataclass(frozen=True)
class ChainCheck:
    """The correctness pass run before any timing."""

    weights: str
    tests: tuple[str, ...]     # which passes carried data through the chain
    exact: bool                # identity weights: output must equal input bit for bit
    max_abs_error: float
    tolerance: float           # relative to max |reference|; 0 when exact
    passed: bool

    def to_dict(self) -> dict:
        return {"weights": self.weights, "tests": list(self.tests), "exact": self.exact,
                "max_abs_error": self.max_abs_error, "tolerance": self.tolerance,
                "passed": self.passed}

    @classmethod
    def from_dict(cls, d: dict) -> "ChainCheck":
        return cls(d["weights"], tuple(d["tests"]), d["exact"], d["max_abs_error"],
                   d["tolerance"], d["passed"])


@dataclass(frozen=True)
class Config:
    backend: str
    channels: int
    spatial: int
    kernels: int
    bytes_per_tensor: int
    auto_iters: bool            # passes per block chosen by the warm-up (see Chain.measure)
    warmup: int
    repeats: int
    weights: str
    test_order_seed: int
    schedule: tuple[str, ...]   # the tests in the order their blocks ran
    options: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return f"{self.channels}x{self.spatial}"

    def to_dict(self) -> dict:
        d = dict(self.__dict__)
        d["schedule"] = list(self.schedule)
        d["options"] = list(self.options)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "Config":
        d = dict(d)
        d["schedule"] = tuple(d["schedule"])
        d["options"] = tuple(d.get("options", ()))
        return cls(**d)


@dataclass(frozen=True)
class CeilingResult:
    """Experiment I on one configuration.  ``str()`` is the readable report."""

    config: Config
    device: str
    simulated: bool                      # True: not figures of the named hardware
    compile_ms: float
    check: ChainCheck
    tests: dict[str, TestResult]
    unsupported: dict[str, str]          # test -> why this backend could not run it
    machine: dict[str, Any]
    clock: str
    anethru_version: str
    warnings: tuple[str, ...] = ()
    derived: dict[str, Derived] = field(default_factory=dict)
    # The program forms the backend compiled, where it has forms (the ANE): {"kernels":
    # {"form": "ios16", "rejected": ["ios16: <message>", ...]}, "chained": {...}}; {} otherwise.
    program_forms: dict[str, Any] = field(default_factory=dict)
    # ane_eval="all": the other eval paths measured beside `tests` (the standard path):
    # {"rounds": [[path, ...] per round], "unsupported": {path: why},
    #  "results": {path: {"schedule": [...], "tests": {name: TestResult}}}}; {} otherwise.
    eval_paths: dict[str, Any] = field(default_factory=dict)

    def eval_path_tests(self) -> dict[str, dict[str, TestResult]]:
        """Per eval path measured, its per-test results: "standard" is ``tests``."""
        out = {"standard": self.tests} if self.eval_paths else {}
        for path, r in self.eval_paths.get("results", {}).items():
            out[path] = r["tests"]
        return out

    def eval_path_derived(self) -> dict[str, dict[str, Derived]]:
        """Per eval path measured, its derived figures (computed from its raw blocks)."""
        return {p: (self.derived if p == "standard" else derive(t, self.config.kernels))
                for p, t in self.eval_path_tests().items()}

    @classmethod
    def build(cls, *, config: Config, tests: dict[str, TestResult], **kw: Any) -> "CeilingResult":
        ordered = {n: tests[n] for n in TEST_NAMES if n in tests}
        derived = derive(ordered, config.kernels)
        warnings = list(kw.pop("warnings", ()))
        for t in ordered.values():
            warnings += t.per_unit_ms.noise_warnings(t.name)
        rto = derived.get("round_trip_overhead")
        if rto and rto.stats.min <= 0 <= rto.stats.max:
            warnings.append("round_trip_overhead spans zero across repeats: the round trip is "
                            "within this machine's noise here, and memcpy_share means little")
        elif rto and rto.stats.median < 0:
            warnings.append("round_trip_overhead is negative in every repeat: sequential ran "
                            "faster than run_only")
        return cls(config=config, tests=ordered, derived=derived, warnings=tuple(warnings), **kw)

    def per_kernel_ms(self, test: str) -> float:
        """Median ms per kernel (per copy for memcpy_only) of one test."""
        return self.tests[test].per_unit_ms.median

    def to_dict(self) -> dict:
        return {
            "schema": SCHEMA,
            "config": self.config.to_dict(),
            "device": self.device,
            "simulated": self.simulated,
            "compile_ms": self.compile_ms,
            "check": self.check.to_dict(),
            "tests": {n: t.to_dict() for n, t in self.tests.items()},
            "unsupported": dict(self.unsupported),
            "derived": {n: d.to_dict() for n, d in self.derived.items()},
            "warnings": list(self.warnings),
            "machine": dict(self.machine),
            "clock": self.clock,
            "anethru_version": self.anethru_version,
            "program_forms": self.program_forms,
            "eval_paths": _eval_paths_to_dict(self.eval_paths),
        }

    def to_json(self, indent: Optional[int] = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    @classmethod
    def from_dict(cls, d: dict) -> "CeilingResult":
        if d.get("schema") != SCHEMA:
            raise ValueError(f"not an anethru result (schema {d.get('schema')!r}, want {SCHEMA!r})")
        return cls(
            config=Config.from_dict(d["config"]),
            device=d["device"],
            simulated=d["simulated"],
            compile_ms=d["compile_ms"],
            check=ChainCheck.from_dict(d["check"]),
            tests={n: TestResult.from_dict(t) for n, t in d["tests"].items()},
            unsupported=dict(d["unsupported"]),
            derived={n: Derived.from_dict(x) for n, x in d["derived"].items()},
            warnings=tuple(d["warnings"]),
            machine=dict(d["machine"]),
            clock=d["clock"],
            anethru_version=d["anethru_version"],
            program_forms=dict(d.get("program_forms", {})),
            eval_paths=_eval_paths_from_dict(d.get("eval_paths", {})),
        )

    @classmethod
    def from_json(cls, text: str) -> "CeilingResult":
        return cls.from_dict(json.loads(text))

    def __str__(self) -> str:
        return format_result(self)



def _eval_paths_to_dict(e: dict[str, Any]) -> dict[str, Any]:
    if not e:
        return {}
    return {"rounds": [list(r) for r in e["rounds"]], "unsupported": dict(e["unsupported"]),
            "results": {p: {"schedule": list(r["schedule"]),
                            "tests": {n: t.to_dict() for n, t in r["tests"].items()}}
                        for p, r in e["results"].items()}}


def _eval_paths_from_dict(d: dict[str, Any]) -> dict[str, Any]:
    if not d:
        return {}
    return {"rounds": [list(r) for r in d["rounds"]], "unsupported": dict(d["unsupported"]),
            "results": {p: {"schedule": list(r["schedule"]),
                            "tests": {n: TestResult.from_dict(t) for n, t in r["tests"].items()}}
                        for p, r in d["results"].items()}}


def load_results(text: str) -> list[CeilingResult]:
    """Results from JSON text: one result (``CeilingResult.to_json``) or a suite
    (``anethru --json``), so saved runs from many machines can be read back and compared."""
    doc = json.loads(text)
    if isinstance(doc, dict) and doc.get("schema") == SUITE_SCHEMA:
        return [CeilingResult.from_dict(d) for d in doc["results"]]
    return [CeilingResult.from_dict(doc)]
