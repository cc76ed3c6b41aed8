"""``anethru ane-files -c 64x32 [--layers N] [--form NAME] DIR``: write the ANE programs as the
backend writes them into its temporary directory (``model.mil``, ``weights/...``), to inspect
them or feed them to other tools.  One subdirectory per form, or DIR itself with --form."""

from __future__ import annotations

import argparse
import os

from anethru.commands.common import EXIT_OK, UsageError, write_stdout
from anethru.native.programs import ane_programs, form_names
from anethru.native.tensors import WEIGHT_KINDS
from anethru.commands.arguments import parse_config

# Files larger than this in all are written only with --yes (a typo in --layers can ask for
# gigabytes).
ASK_ABOVE_BYTES = 1 << 30

DESCRIPTION = ("Write the ANE program forms anethru would try for one configuration (the exact "
               "MIL text and weight files it hands AppleNeuralEngine.framework), as the backend "
               "lays them out: DIR/<form>/model.mil and DIR/<form>/weights/..., or DIR/model.mil "
               "and DIR/weights/... for one --form.  Works on any OS.  Prints the paths written.")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("-c", "--config", type=parse_config, required=True, metavar="CxS",
                   help="channels x spatial, e.g. 64x32")
    p.add_argument("--layers", type=int, default=1,
                   help="convs in the program (default 1: one kernel; more: the chained program)")
    p.add_argument("--form", default=None,
                   help="only this form (1 layer: " + ", ".join(form_names(1)) + "; more: "
                        + ", ".join(form_names(2)) + ")")
    p.add_argument("--weights", choices=WEIGHT_KINDS, default="identity",
                   help="identity (default) or random")
    p.add_argument("--seed", type=int, default=0, help="seed of the random weights (default 0)")
    p.add_argument("--yes", action="store_true",
                   help=f"write even when the files come to more than {ASK_ABOVE_BYTES >> 20} MiB")
    p.add_argument("dir", metavar="DIR", help="where to write (created if missing)")


def _estimated_bytes(channels: int, layers: int, forms: int) -> int:
    """What the files come to, about: every form holds each layer's fp16 weights."""
    return forms * layers * channels * channels * 2


def run(args: argparse.Namespace) -> int:
    channels, spatial = args.config
    if args.layers >= 1:    # a bad count is ane_programs' to name
        forms = 1 if args.form is not None else len(form_names(1 if args.layers == 1 else 2))
        size = _estimated_bytes(channels, args.layers, forms)
        if size > ASK_ABOVE_BYTES and not args.yes:
            raise UsageError(f"{forms} form(s) of {args.layers} layer(s) of {channels}x{channels} "
                             f"weights come to about {size / 2**30:.1f} GiB of files; give --yes "
                             f"to write them (or --form NAME for one form)")
    try:
        programs = ane_programs(channels, spatial, layers=args.layers, weights=args.weights,
                                seed=args.seed)
    except (ValueError, TypeError, MemoryError) as exc:
        raise UsageError(str(exc)) from exc
    if args.form is not None:
        chosen = [p for p in programs if p.form == args.form]
        if not chosen:
            raise UsageError(f"unknown form {args.form!r} for {args.layers} layer(s); choose from "
                             f"{', '.join(p.form for p in programs)}")
        written = chosen[0].write(args.dir)
    else:
        written = [path for p in programs for path in p.write(os.path.join(args.dir, p.form))]
    write_stdout("".join(f"{path}\n" for path in written))
    return EXIT_OK
