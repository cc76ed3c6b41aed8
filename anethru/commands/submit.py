"""``anethru submit``: measure this machine for the results gallery and write the file.

Runs the default suite (the seed's three configurations, 12 kernels, identity weights, the
default tests, auto passes per block) until every median is known to the default precision
target or the time limit per configuration runs out, with the settings every gallery row shares
so that rows compare; refuses a simulated backend; warns about battery power, Low Power Mode,
a throttling thermal state and a busy machine; writes exactly what ``anethru --json`` would
print to ``results/<machine>-<backend>-<date>.json``; checks that the gallery accepts it; and
prints what to do next (CONTRIBUTING.md).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile

from anethru.commands.common import (EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_OK, PROG, UsageError,
                                     error, progress_printer, say_on_stderr, write_stdout)
from anethru.commands.arguments import flag_terms, parse_config

DEFAULT_RESULTS = "results"
SUBMIT_MAX_TIME = 60.0   # s per configuration: long enough for the target on a quiet machine

DESCRIPTION = ("Measure this machine for the results gallery: the default suite with the "
               "settings every gallery row shares (the default precision target, 12 kernels, "
               f"identity weights, up to {SUBMIT_MAX_TIME:g} s per configuration), written as "
               "`anethru --json` output to results/<machine>-<backend>-<date>.json; then what "
               "to do next. Refuses a simulated backend; warns about battery power, Low Power "
               "Mode, thermal throttling and a busy machine.")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("-b", "--backend", default="auto",
                   help="ane, cuda, cpu or auto (default: auto = the best one present)")
    p.add_argument("-c", "--config", dest="configs", action="append", type=parse_config,
                   metavar="CxS", help="channels x spatial; repeat for several (default: the "
                                       "seed's three, which the gallery's tables are)")
    p.add_argument("--max-time", type=float, default=SUBMIT_MAX_TIME, metavar="SECONDS",
                   help="stop adding rounds after SECONDS per configuration even if the "
                        f"precision target is not reached (default {SUBMIT_MAX_TIME:g})")
    p.add_argument("--results", default=DEFAULT_RESULTS, metavar="DIR",
                   help=f"the gallery folder to write into (default {DEFAULT_RESULTS}/)")
    p.add_argument("-q", "--quiet", action="store_true",
                   help="no progress on stderr (warnings are still printed)")


def _warn(text: str) -> None:
    say_on_stderr(f"{PROG}: warning: {text}")


def _backend(name: str):
    """The backend to measure, refusing a simulated one (UsageError when it was named)."""
    from anethru.native.backends import resolve

    try:
        info = resolve(name)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    if info.simulated:
        why = (f"backend {info.name!r} is simulated ({info.device}): its figures are not a "
               f"measurement of hardware, and the gallery refuses them")
        if name != "auto":
            raise UsageError(why)
        raise RuntimeError(why)
    return info


def _preflight(backend: str) -> None:
    """Warn, before spending minutes, about what would make the figures incomparable."""
    from anethru.measure.host import conditions
    from anethru.measure.host.fingerprint import fingerprint
    from anethru.measure.host.state import snapshot

    machine, state = fingerprint(), snapshot(backend)
    for w in conditions.warnings(machine, {"start": state}):
        _warn(w)
    if machine.get("anethru_git_dirty"):
        _warn("this anethru has uncommitted changes (recorded in the file): reviewers will ask "
              "for a run from a clean checkout or a release")


def _free_name(directory: str, stem: str) -> str:
    name, n = f"{stem}.json", 2
    while os.path.exists(os.path.join(directory, name)):
        name, n = f"{stem}-{n}.json", n + 1
    return name


def _next_steps(directory: str, name: str, results: list, failures: list) -> str:
    from anethru.gallery.files import machine_label

    r = results[0]
    page = os.path.join(directory, "RESULTS.md")
    figure = os.path.join(directory, "RESULTS.png")
    lines = [f"wrote {os.path.join(directory, name)}: {r.config.backend} backend on "
             f"{machine_label(r)}, {len(results)} configuration(s) measured"
             + (f", {len(failures)} failed" if failures else "")
             + f", anethru {r.anethru_version}"]
    warned = [(x.config.label, w) for x in results for w in x.warnings]
    if warned:
        lines.append(f"the file carries {len(warned)} warning(s); reviewers read them (a quiet, "
                     f"plugged-in, cool machine gives fewer):")
        lines += [f"  {label}: {w}" for label, w in warned]
    lines += ["next:",
              f"  1. anethru gallery {directory}     # checks the file, rewrites {page} "
              f"(and {figure} with the plot extra)",
              f"  2. git add {os.path.join(directory, name)} {page} {figure}",
              f"  3. open a pull request titled \"results: {machine_label(r)}, "
              f"{r.config.backend}\"; CONTRIBUTING.md says what reviewers check"]
    if failures:
        lines.append("  configurations that failed are in the file and the gallery; if the "
                     "backend does not come up at all, open an \"ANE bring-up failed\" issue "
                     "with `anethru doctor --markdown`")
    return "\n".join(lines) + "\n"


def _keep_elsewhere(text: str, name: str, why: str) -> int:
    """The results folder refused the file (a full disk, a size limit): the measurement is
    kept in the temporary folder, or printed on stdout if that fails too, and the message
    says where."""
    from anethru.gallery.output import write_new

    spare = os.path.join(tempfile.gettempdir(), f"anethru-{os.getpid()}-{name}")
    try:
        write_new(spare, text.encode("utf-8"))
    except OSError as exc:
        error(f"{why}; nor could it go to {spare} ({exc.strerror or exc}): the measurement "
              f"follows on stdout, save it as {name}")
        write_stdout(text)
        return EXIT_FAILURE
    return error(f"{why}; the measurement is kept in {spare}: move it into the results "
                 f"folder as {name} once there is room")


def run(args: argparse.Namespace) -> int:
    from anethru.measure.api import SEED_CONFIGS, ConfigFailure
    from anethru.measure.suite import run_suite
    from anethru.measure.host.conditions import warnings as condition_warnings
    from anethru.errors import AnethruError, SuiteInterrupted
    from anethru.gallery.files import InvalidSubmission, read_submission, submission_stem
    from anethru.gallery.output import write_new
    from anethru.results.ceiling import CeilingResult, suite_document
    from anethru.measure.stopping import DEFAULT_PRECISION

    try:
        info = _backend(args.backend)
    except RuntimeError as exc:
        return error(str(exc))
    except AnethruError as exc:      # the backend cannot run here: says why
        return error(str(exc))
    _preflight(info.name)
    say = progress_printer(args.quiet)
    try:
        measured = run_suite(args.configs or list(SEED_CONFIGS), backend=info.name,
                             precision=DEFAULT_PRECISION, max_time=args.max_time,
                             keep_going=True, progress=say)
    except SuiteInterrupted:
        say_on_stderr(f"{PROG}: interrupted: nothing was written")
        return EXIT_INTERRUPTED
    except AnethruError as exc:
        return error(str(exc))
    except (ValueError, TypeError) as exc:
        raise UsageError(flag_terms(str(exc))) from exc
    results = [r for r in measured if isinstance(r, CeilingResult)]
    failures = [r for r in measured if isinstance(r, ConfigFailure)]
    for f in failures:
        error(str(f))
    if not results:
        return error("no configuration could be measured, so nothing was written; if the "
                     "backend does not come up, open an \"ANE bring-up failed\" issue with the "
                     "output of `anethru doctor --markdown`")
    if any(r.simulated for r in results):
        return error("the results are SIMULATED, not a measurement of hardware: nothing written")
    for r in results:
        for w in condition_warnings(r.machine, r.machine_state):
            _warn(f"{r.config.label}: {w}")
    text = json.dumps(suite_document(results, failures, None), indent=2, allow_nan=False) + "\n"
    directory = args.results
    os.makedirs(directory, exist_ok=True)
    name = _free_name(directory, submission_stem(results[0]))
    path = os.path.join(directory, name)
    try:
        write_new(path, text.encode("utf-8"))
    except OSError as exc:
        return _keep_elsewhere(text, name, f"cannot write {path}: {exc.strerror or exc}")
    try:
        read_submission(directory, name)   # what the gallery will say of it
    except InvalidSubmission as exc:
        os.unlink(path)
        return error(f"the gallery would refuse this run, so it was not kept: {exc.reason}")
    write_stdout(_next_steps(directory, name, results, failures))
    return EXIT_FAILURE if failures else EXIT_OK
