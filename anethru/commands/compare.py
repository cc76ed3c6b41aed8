"""``anethru compare A.json B.json [C.json ...]``: the same configurations from several result
files side by side, each figure's change from the first file with its interval, and a verdict
from a stated test (see anethru/compare.py).  Exit 0, or 1 with ``--fail-if-slower PCT`` when a
test ran slower than the reference by more than PCT with the test's confidence (for CI)."""

from __future__ import annotations

import argparse

from anethru.commands.output import add_output_arguments, check_output_arguments, emit
from anethru.commands.common import EXIT_FAILURE, EXIT_OK, UsageError, error
from anethru.commands.arguments import parse_fraction

DESCRIPTION = ("Compare result files (anethru --json, or a saved result): for every configuration "
               "in more than one file, the medians with their 95% intervals side by side, the "
               "ratio to the first file with its interval, and a verdict (faster, slower, same "
               "or uncertain) from the Mann-Whitney U test on the per-block samples. Works across "
               "machines and backends; configurations in one file only are listed, not paired.")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("files", nargs="+", metavar="FILE",
                   help="result files; the first is the reference (at least two)")
    p.add_argument("--fail-if-slower", type=parse_fraction, default=None, metavar="PCT",
                   help="exit 1 when any test is slower than the reference by more than PCT "
                        "(e.g. 5%%) with the test's confidence: the whole interval of its "
                        "ratio above 1 + PCT")
    p.add_argument("--same-within", type=parse_fraction, default=None, metavar="PCT",
                   help="call a figure the same when its whole interval lies within +/-PCT "
                        "(default 5%%)")
    p.add_argument("--across-machines", action="store_true",
                   help="let --fail-if-slower judge files from different backends, devices or "
                        "machines (a ratio across machines measures the machines)")
    add_output_arguments(p, "comparison", {"markdown": "print Markdown tables",
                                           "json": "print the comparison as JSON"})


def run(args: argparse.Namespace) -> int:
    from anethru.results.compare import DEFAULT_SAME_WITHIN, compare
    from anethru.errors import ResultFormatError
    from anethru.results.loader import load_results

    if len(args.files) < 2:
        raise UsageError("compare needs at least two files")
    check_output_arguments("comparison", args)
    if args.fail_if_slower is not None and not 0 <= args.fail_if_slower < 10:
        raise UsageError(f"--fail-if-slower must be a percentage >= 0; got {args.fail_if_slower:.0%}")
    same = DEFAULT_SAME_WITHIN if args.same_within is None else args.same_within
    if not 0 <= same < 1:
        raise UsageError(f"--same-within must be a percentage in [0, 100); got {same:.0%}")
    inputs = []
    for path in args.files:
        try:
            with open(path, "rb") as f:
                inputs.append(load_results(f.read()))
        except ResultFormatError as exc:
            return error(f"{path}: not a readable anethru result: {exc}")
    cmp = compare(*inputs, same_within=same, names=args.files)
    if args.fail_if_slower is not None and cmp.across and not args.across_machines:
        raise UsageError(f"--fail-if-slower refuses to judge across machines ({cmp.across[0]}"
                         f"{' ...' if len(cmp.across) > 1 else ''}); add --across-machines to "
                         f"gate anyway")
    emit("comparison", cmp, args)
    if not cmp.configs:
        return error("no configuration is present in more than one file: nothing was compared")
    if args.fail_if_slower is not None:
        slower = cmp.slower_than(args.fail_if_slower, args.across_machines)
        for c, row, ch in slower:
            error(f"{c.label}: {row.name} in [{ch.source}] is {ch.estimate:.3g}x the reference "
                  f"[{c.reference}] ({ch.ci_level:.0%} interval {ch.ci_low:.3g} .. {ch.ci_high:.3g}"
                  f"x), slower by more than {args.fail_if_slower:.0%}")
        if slower:
            return EXIT_FAILURE
    return EXIT_OK
