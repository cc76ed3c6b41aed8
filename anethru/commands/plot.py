"""``anethru plot FILE ... -o OUT``: draw saved results or sweeps (anethru/plot.py) into a PNG,
SVG or PDF.  Needs matplotlib (the ``plot`` extra); without it, one line says how to install
it and the exit status is 1."""

from __future__ import annotations

import argparse
import os

from anethru.commands.common import EXIT_OK, UsageError, error, progress_printer

DESCRIPTION = ("Draw result files (anethru --json, anethru sweep --json) into a picture: one "
               "configuration's per-kernel times with intervals and derived figures; a sweep's "
               "times against tensor bytes (log-log) with the round trip's fitted line, its "
               "band and the crossover; several files side by side, one colour per file. "
               "Every picture is labelled with backend, device, machine, anethru version and "
               "date. Needs matplotlib: pip install matplotlib (or, in anethru's clone, "
               "pip install '.[plot]').")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("files", nargs="+", metavar="FILE", help="result or sweep files (JSON)")
    p.add_argument("-o", "--output", required=True, metavar="OUT",
                   help="the picture to write: .png, .svg or .pdf")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")


def run(args: argparse.Namespace) -> int:
    from anethru.errors import ResultFormatError
    from anethru.report.plot import FORMATS, PlotUnavailableError, plot_files

    suffix = os.path.splitext(args.output)[1].lower().lstrip(".")
    if suffix not in FORMATS:
        raise UsageError(f"-o {args.output!r}: the file must end in "
                         f"{', '.join('.' + f for f in FORMATS)}")
    try:
        plot_files(args.files, args.output)
    except PlotUnavailableError as exc:
        return error(str(exc))
    except ResultFormatError as exc:
        return error(f"not a readable anethru result: {exc}")
    except ValueError as exc:  # sweeps and results in one picture
        raise UsageError(str(exc)) from exc
    progress_printer(args.quiet)(f"wrote {args.output} ({os.path.getsize(args.output)} bytes)")
    return EXIT_OK
