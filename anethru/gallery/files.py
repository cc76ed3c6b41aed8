"""The results gallery's files: a folder of result files, one per machine and backend, each as
``anethru --json`` wrote it, read and checked before anything is shown.

A file is accepted only when (each failure names the file, the JSON path and the reason):

- it is an anethru document of a known version (older versions are upgraded by the loader,
  anethru/schema.py) of a kind the gallery shows (``READERS``);
- it passes the loader's validation: the schema, the cross-field rules, and every stated figure
  recomputed from the raw blocks (``anethru.load_results``; nothing is checked twice here);
- every result's chain check passed, none is simulated, each records the anethru version that
  wrote it, and all are of one machine and one backend;
- the run was not interrupted and measured at least one configuration;
- its name starts with ``<machine>-<backend>-<date>`` (``submission_stem``), as ``anethru
  submit`` names it, so the name says what is inside.

Adding a kind of document (the sweep, when its format exists) is one reader in ``READERS``: a
function from the file's bytes and parsed document to the results and failed configurations it
holds, after the kind's own loader has validated it; its results then join the same tables.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any, Callable, Optional

from anethru.results import schema
from anethru.errors import AnethruError, ResultFormatError
from anethru.results.ceiling import CeilingResult
from anethru.results.loader import load_results
from anethru.results.failure import RecordedFailure

RESULT_SUFFIX = ".json"
NOTE_SUFFIX = ".md"          # a provenance note beside a result file: same name, .md
_VERSION = re.compile(r"[0-9]+(\.[0-9]+)+\S*")


class InvalidSubmission(AnethruError):
    """A file of the gallery that cannot be shown: ``file`` and ``reason``; ``str()`` is both."""

    def __init__(self, file: str, reason: str) -> None:
        super().__init__(f"{file}: {reason}")
        self.file = file
        self.reason = reason


@dataclass(frozen=True)
class Submission:
    """One accepted file: its results (validated, every figure recomputed from raw blocks)."""

    name: str                          # file name inside the gallery folder
    written_as: str                    # the "schema" it was written in, before any upgrade
    results: tuple[CeilingResult, ...]
    failures: tuple[RecordedFailure, ...] = ()
    note: Optional[str] = None         # file name of the provenance note beside it, if any
    # Whether the file stated its figures (then checked against its raw blocks) or held raw
    # blocks alone (every figure recomputed, nothing to cross-check): the page says which.
    stated_figures: bool = True

    @property
    def first(self) -> CeilingResult:
        return self.results[0]

    @property
    def backend(self) -> str:
        return self.first.config.backend

    @property
    def machine_label(self) -> str:
        return machine_label(self.first)

    @property
    def date(self) -> str:
        return run_date(self.first)


def machine_label(r: CeilingResult) -> str:
    """What the figures are of: the chip or GPU (the CPU's model on the cpu backend)."""
    if r.config.backend == "cpu":
        return str(r.machine.get("cpu_model") or r.device)
    if r.config.backend == "ane" and r.machine.get("chip"):
        return str(r.machine["chip"])
    return r.device.split(",")[0].strip() or r.device


def run_date(r: CeilingResult) -> str:
    """The day (UTC) the run started, from the fingerprint ("" if it was not recorded)."""
    when = r.machine.get("time_utc")
    return when[:10] if isinstance(when, str) and re.match(r"\d{4}-\d\d-\d\d", when) else ""


def slug(text: str) -> str:
    """'NVIDIA H100 80GB HBM3' -> 'nvidia-h100-80gb-hbm3' (for file names)."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "unknown"


def submission_stem(r: CeilingResult) -> str:
    """The name a result file of this machine, backend and day starts with."""
    return f"{slug(machine_label(r))}-{r.config.backend}-{run_date(r)}"


# ---------------------------------------------------------------------- readers

Reader = Callable[[bytes, Any], tuple[list[CeilingResult], list[RecordedFailure]]]


def _read_suite(raw: bytes, doc: Any) -> tuple[list[CeilingResult], list[RecordedFailure]]:
    """``anethru --json``: a suite of results and the configurations that failed."""
    suite = schema.upgrade(doc, "suite")   # validated; raises ResultFormatError
    if suite.get("interrupted") is not None:
        where = suite["interrupted"]
        raise ResultFormatError("$.interrupted", f"the run was interrupted (Ctrl-C) during "
                                                 f"{where['channels']}x{where['spatial']}: "
                                                 f"submit a run that finished")
    results = load_results(raw)            # every stated figure checked against the raw blocks
    failures = [RecordedFailure(f["channels"], f["spatial"], f["error"], f["message"])
                for f in suite["failures"]]
    return results, failures


# Document kind -> reader.  A kind missing here is refused, saying which kinds are shown.
READERS: dict[str, Reader] = {"suite": _read_suite}


def _check_results(results: list[CeilingResult], failures: list[RecordedFailure]) -> None:
    """What makes a valid document unfit to show beside other machines' figures."""
    if not results:
        what = f" (all {len(failures)} configurations failed)" if failures else ""
        raise ResultFormatError("$.results", f"holds no results{what}: nothing to show")
    first = results[0]
    seen: dict[tuple, int] = {}
    for i, r in enumerate(results):
        here = f"$.results[{i}]"
        key = (r.config.label, r.config.kernels)
        if key in seen:
            raise ResultFormatError(here, f"is {r.config.label} with {r.config.kernels} kernels "
                                          f"again (results[{seen[key]}] is too): one row per "
                                          f"configuration and machine")
        seen[key] = i
        if r.simulated:
            raise ResultFormatError(f"{here}.simulated", f"is true: SIMULATED figures ({r.device}),"
                                                         f" not a measurement of the hardware")
        if not r.check.passed:
            raise ResultFormatError(f"{here}.check.passed",
                                    "is false: the chain check failed, so its timings are of a "
                                    "wrong computation")
        if not _VERSION.fullmatch(r.anethru_version):
            raise ResultFormatError(f"{here}.anethru_version",
                                    f"is {r.anethru_version!r}: the anethru version that wrote "
                                    f"the file must be recorded")
        if not run_date(r):
            raise ResultFormatError(f"{here}.machine.time_utc",
                                    "is missing or not a date: the gallery needs the day of the "
                                    "run")
        for what, mine, theirs in (("config.backend", r.config.backend, first.config.backend),
                                   ("device", r.device, first.device)):
            if mine != theirs:
                raise ResultFormatError(f"{here}.{what}",
                                        f"is {mine!r}, but results[0] has {theirs!r}: one file "
                                        f"holds one machine and one backend")


def read_submission(directory: str, name: str) -> Submission:
    """One file of the gallery, checked; InvalidSubmission says why it cannot be shown."""
    if _outside(directory, name):
        raise InvalidSubmission(name, f"is a link to {os.path.realpath(os.path.join(directory, name))}, "
                                      f"outside the gallery folder: copy the file in instead")
    try:
        with open(os.path.join(directory, name), "rb") as f:
            raw = f.read()
    except OSError as exc:
        raise InvalidSubmission(name, f"cannot be read: {exc.strerror or exc}") from None
    try:
        doc = schema.parse_json(raw)
        kind, version = schema.version_of(doc)
        reader = READERS.get(kind)
        if reader is None:
            raise ResultFormatError("$.schema", f"is {doc['schema']!r}: the gallery shows "
                                                f"{' and '.join(READERS)} documents "
                                                f"(what `anethru --json` prints)")
        results, failures = reader(raw, doc)
        _check_results(results, failures)
    except ResultFormatError as exc:
        raise InvalidSubmission(name, str(exc)) from None
    except RecursionError:
        raise InvalidSubmission(name, "$: nested too deeply to be an anethru document") from None
    stem = submission_stem(results[0])
    if not (name == stem + RESULT_SUFFIX or name.startswith(stem + "-")) \
            or not name.endswith(RESULT_SUFFIX):
        raise InvalidSubmission(name, f"holds {results[0].config.backend} results of "
                                      f"{machine_label(results[0])} from {run_date(results[0])}: "
                                      f"name it {stem}{RESULT_SUFFIX} (or {stem}-<anything>"
                                      f"{RESULT_SUFFIX}), as `anethru submit` does")
    note = name[:-len(RESULT_SUFFIX)] + NOTE_SUFFIX
    return Submission(name, schema.name_of(kind, version), tuple(results), tuple(failures),
                      note if os.path.isfile(os.path.join(directory, note)) else None,
                      _states_figures(doc))


def _states_figures(doc: Any) -> bool:
    """Whether every result of a suite document states its per-test figures."""
    results = doc.get("results") if isinstance(doc, dict) else None
    return bool(results) and all(
        isinstance(t, dict) and "per_unit_ms" in t
        for r in results if isinstance(r, dict) for t in (r.get("tests") or {}).values())


def _outside(directory: str, name: str) -> bool:
    """A link (or a file reached through one) that leads out of the gallery folder."""
    real = os.path.realpath(os.path.join(directory, name))
    return os.path.dirname(real) != os.path.realpath(directory)


def _measurement_key(r: CeilingResult) -> tuple:
    """What makes two results the same measurement: the configuration and the raw blocks."""
    return (r.config.label, r.config.kernels, r.config.backend,
            tuple((n, t.block_ns) for n, t in r.tests.items()))


def result_files(directory: str) -> list[str]:
    """The result files of a gallery folder, sorted by name (the order of the rows)."""
    return sorted(n for n in os.listdir(directory)
                  if n.endswith(RESULT_SUFFIX) and os.path.isfile(os.path.join(directory, n)))


def read_gallery(directory: str) -> tuple[list[Submission], list[InvalidSubmission]]:
    """Every result file of the folder: those accepted, sorted by name, and why the others were
    not.  OSError when the folder cannot be listed."""
    accepted, refused = [], []
    measured: dict[tuple, str] = {}   # the same measurement in two files is one row, not two
    for name in result_files(directory):
        try:
            s = read_submission(directory, name)
            for r in s.results:
                other = measured.get(_measurement_key(r))
                if other is not None:
                    raise InvalidSubmission(name, f"holds the {r.config.label} measurement that "
                                                  f"{other} holds (the same raw blocks): a copy")
            measured.update((_measurement_key(r), name) for r in s.results)
            accepted.append(s)
        except InvalidSubmission as exc:
            refused.append(exc)
    return accepted, refused


__all__ = ["Submission", "RecordedFailure", "InvalidSubmission", "READERS", "read_gallery",
           "read_submission", "result_files", "submission_stem", "machine_label", "run_date",
           "slug"]
