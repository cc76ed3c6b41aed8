"""``anethru doctor [--backend ane|cuda|cpu] [--json | --markdown]``: a backend's bring-up, step
by step.  Exit 0 when every step passed, 1 otherwise."""

from __future__ import annotations

import argparse

from anethru.bringup import STEP_MODULES, default_backend, doctor
from anethru.commands.output import add_output_arguments, check_output_arguments, emit
from anethru.commands.common import EXIT_FAILURE, EXIT_OK, usage_error
from anethru.commands.arguments import parse_config

DESCRIPTION = ("Run a backend's bring-up one step at a time (for the ANE: the host, the framework "
               "and its classes, the messages anethru sends, the temporary directory, each program "
               "form's compile and load, whether a refused shape or the chip is the cause, "
               "surfaces, request, an eval checked bit for bit, the chained program, the realtime "
               "and direct evals, compiles left) and report each step as ok, "
               "failed (with the framework's message) or skipped.\n\n"
               "Exit status 0 when every step passed, 1 otherwise.  --markdown prints a block to "
               "paste into a bug report.")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("-b", "--backend", choices=list(STEP_MODULES), default=None,
                   help="the backend to examine (default: ane on macOS, else the best available)")
    p.add_argument("--shape", type=parse_config, default=None, metavar="CxS",
                   help="ane only: the shape of the 1-layer programs tried (default 64x32)")
    add_output_arguments(p, "doctor", {"json": "print the report as JSON", "markdown":
                                       "print a Markdown block to paste into a bug report"})


def run(args: argparse.Namespace) -> int:
    backend = args.backend or default_backend()
    if args.shape is not None and backend != "ane":
        return usage_error(f"--shape applies to the ane backend only, not {backend}", "doctor")
    check_output_arguments("doctor", args)
    report = doctor(backend, args.shape)
    emit("doctor", report, args)
    return EXIT_OK if report.ok else EXIT_FAILURE
