"""What one measurement of a chain found: per-test statistics, derived figures, metadata.

``CeilingResult.build`` turns raw native block totals into figures; ``to_dict``/``to_json`` write
the versioned document (raw blocks included, format in ``anethru/schema.py``), and
``from_dict``/``from_json``/``load_results`` read any version back, validated, with every
statistic recomputed from the raw blocks.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Optional, Union

from anethru.results import schema
from anethru.results.views import render
from anethru.results.derived import Derived, derive
from anethru.errors import ResultFormatError
from anethru.results import verdict
from anethru.results.pairs import Pairs
from anethru.results.warnings import result_warnings
from anethru.results.stats import Stats, per_pass_ms, per_unit_ms
from anethru.native.vocab import TEST_NAMES

SCHEMA = schema.name_of("ceiling")        # "anethru.ceiling/4"
SUITE_SCHEMA = schema.name_of("suite")    # what `anethru --json` prints: results + failures


@dataclass(frozen=True)
class TestResult:
    """One test's figures over the repeats."""

    __test__ = False  # not a pytest class, despite the name

    name: str
    unit: str            # "kernel" or "copy": what per_unit_ms is per
    units_per_pass: int
    iters: int           # passes per timed block
    block_ns: tuple[int, ...]  # raw totals, one per repeat, in repeat order

    @cached_property
    def per_unit_ms(self) -> Stats:
        return Stats.of_series(per_unit_ms(self.block_ns, self.iters, self.units_per_pass))

    @cached_property
    def per_pass_ms(self) -> Stats:
        return Stats.of_series(per_pass_ms(self.block_ns, self.iters))

    @property
    def units_per_second(self) -> Optional[float]:
        """Kernels (copies) per second at the median; None when the median is 0 (a block
        shorter than the clock's resolution)."""
        median = self.per_unit_ms.median
        return 1000.0 / median if median > 0 else None

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
    auto_iters: bool            # passes per block by anethru.measure.calibration's rule
    warmup: int
    repeats: int                # rounds run: blocks per test
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
class Stopping:
    """How the number of repeats was decided (see anethru/stopping.py), and what ended the run.

    ``criterion``: "repeats" (an exact count) or "precision" (until every median is known to
    within ``precision``).  ``stopped_by``: "repeats", "precision", "max_time" (the time limit
    ran out first) or "max_repeats" (the cap on rounds).  ``elapsed_s``: time spent measuring,
    warm-up to last round (None in documents written by anethru 0.1.0)."""

    criterion: str
    stopped_by: str
    precision: Optional[float] = None
    max_time_s: Optional[float] = None
    min_repeats: int = 1
    max_repeats: Optional[int] = None
    elapsed_s: Optional[float] = None
    # Per figure (each test's median, the overheads): resolved, converged (not resolved), time
    # limit or repeat cap (anethru.results.verdict); and the rule's name, by which a loader
    # re-checks stopped_by (absent in results written before it).
    figures: dict = field(default_factory=dict)
    rule: Optional[str] = None
    # The user's absolute bound (ms per layer) for the round trip's half-width, which then
    # replaces precision x the copy (None: not given; absent before anethru.ceiling/4).
    overhead_within: Optional[float] = None

    @property
    def reached_target(self) -> bool:
        return self.stopped_by == self.criterion

    def to_dict(self) -> dict:
        d = dict(self.__dict__)
        d["figures"] = dict(self.figures)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "Stopping":
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
    stopping: Optional[Stopping] = None  # None only for hand-built results: build() fills it
    machine_state: dict[str, dict[str, Any]] = field(default_factory=dict)  # "start", "end"
    # The program forms the backend compiled, where it has forms (the ANE): {"kernels":
    # {"form": "ios16", "rejected": ["ios16: <message>", ...]}, "chained": {...}}; {} otherwise.
    program_forms: dict[str, Any] = field(default_factory=dict)
    # ane_eval="all": the other eval paths measured beside `tests` (the standard path):
    # {"rounds": [[path, ...] per round], "unsupported": {path: why},
    #  "results": {path: {"schedule": [...], "tests": {name: TestResult}}}}; {} otherwise.
    eval_paths: dict[str, Any] = field(default_factory=dict)
    # The per-pass pairs of sequential and run_only (anethru.results.pairs): where present,
    # round_trip_overhead comes from them; None in older documents and without both tests.
    pairs: Optional[Pairs] = None

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
        """A result from raw blocks: derived figures and warnings computed here."""
        ordered = {n: tests[n] for n in TEST_NAMES if n in tests}
        pairs = kw.get("pairs")
        derived = derive_all(ordered, config.kernels, pairs)
        kw.pop("warnings", None)
        stopping = kw.pop("stopping", None) or Stopping("repeats", "repeats")
        warnings = result_warnings(ordered, derived, config, stopping, kw.get("machine", {}),
                                   kw.get("machine_state", {}), pairs)
        return cls(config=config, tests=ordered, derived=derived, warnings=tuple(warnings),
                   stopping=stopping, **kw)

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
            "stopping": (self.stopping or Stopping("repeats", "repeats")).to_dict(),
            "tests": {n: t.to_dict() for n, t in self.tests.items()},
            "unsupported": dict(self.unsupported),
            "derived": {n: d.to_dict() for n, d in self.derived.items()},
            "warnings": list(self.warnings),
            "machine": dict(self.machine),
            "machine_state": {k: dict(v) for k, v in self.machine_state.items()},
            "clock": self.clock,
            "anethru_version": self.anethru_version,
            "program_forms": self.program_forms,
            "eval_paths": _eval_paths_to_dict(self.eval_paths),
            "pairs": None if self.pairs is None else self.pairs.to_dict(),
        }

    def to_json(self, indent: Optional[int] = 2) -> str:
        # allow_nan=False: a non-finite number here is a bug, never something to write.
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)

    @classmethod
    def from_dict(cls, d: Any) -> "CeilingResult":
        """A result from a document of any known version (see anethru/schema.py), validated,
        with every figure recomputed from the raw blocks.  ResultFormatError names the first
        bad field of anything malformed, inconsistent or of an unknown version."""
        return load_ceiling(schema.upgrade(d, "ceiling"), "$")

    @classmethod
    def from_json(cls, text: Union[str, bytes]) -> "CeilingResult":
        return cls.from_dict(schema.parse_json(text))

    def to_markdown(self) -> str:
        """The report as Markdown (tables and the machine fingerprint), ready to paste."""
        return render("ceiling", "markdown", self)

    def plot(self, path: Union[str, os.PathLike], title: Optional[str] = None) -> None:
        """Draw each test's per-kernel time with its interval, and the derived figures (needs
        matplotlib: pip install matplotlib); the suffix (.png, .svg, .pdf) picks the format."""
        render("document", "plot", [self.to_dict()], path, names=None if title is None else [title])

    def __str__(self) -> str:
        return render("ceiling", "text", self)

    def headline(self) -> str:
        """One line: the round trip per layer with its status, the copy measured directly, the
        kernel's time, what chaining saves."""
        return render("ceiling", "headline", self)


def load_ceiling(doc: dict, path: str) -> CeilingResult:
    """A result from a validated current-version document; stated figures must match."""
    result = CeilingResult.build(
        config=Config.from_dict(doc["config"]),
        tests={n: TestResult.from_dict(t) for n, t in doc["tests"].items()},
        device=doc["device"],
        simulated=doc["simulated"],
        compile_ms=doc["compile_ms"],
        check=ChainCheck.from_dict(doc["check"]),
        unsupported=dict(doc["unsupported"]),
        machine=dict(doc["machine"]),
        machine_state={k: dict(v) for k, v in doc.get("machine_state", {}).items()},
        clock=doc["clock"],
        anethru_version=doc["anethru_version"],
        stopping=Stopping.from_dict(doc["stopping"]),
        program_forms={k: dict(v) for k, v in doc.get("program_forms", {}).items()},
        eval_paths=_eval_paths_from_dict(doc.get("eval_paths", {})),
        pairs=None if doc.get("pairs") is None else Pairs.from_dict(doc["pairs"]),
    )
    schema.check_stated_figures(doc, result.to_dict(), path)
    why = verdict.check_stopped_by(result.stopping, result.tests, result.pairs,
                                   result.config.kernels, result.config.repeats)
    if why:
        raise ResultFormatError(f"{path}.stopping.stopped_by", why)
    return result


def derive_all(tests: dict[str, TestResult], kernels: int, pairs: Optional[Pairs]
               ) -> dict[str, Derived]:
    """The derived figures, the overhead from the per-pass pairs where there are any."""
    if pairs is None or not len(pairs) or not all(t in tests for t in ("sequential", "run_only")):
        return derive(tests, kernels)
    overheads = pairs.overheads(kernels)
    return derive(tests, kernels, overhead=overheads[0],
                  extra=tuple(d for d, _ in overheads[1:]))


def suite_document(results: list, failures: list = (), interrupted: Optional[dict] = None) -> dict:
    """The document `anethru --json` prints: results, the configurations that failed, and the
    one a Ctrl-C stopped (if any)."""
    return {"schema": SUITE_SCHEMA, "results": [r.to_dict() for r in results],
            "failures": [f.to_dict() for f in failures], "interrupted": interrupted}


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
