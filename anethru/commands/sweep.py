"""``anethru sweep``: how the round trip grows with size (anethru/sweep.py).

Progress goes to stderr (one line per configuration with its place in the grid), the report or
``--json`` to stdout.  A configuration that fails is reported and the sweep goes on; the exit
status is then 1.  Ctrl-C prints what finished (report or JSON) and exits 130.
"""

from __future__ import annotations

import argparse

from anethru.commands.output import add_output_arguments, check_output_arguments, emit
from anethru.commands.common import (EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_OK, PROG, UsageError,
                                     error, progress_printer, say_on_stderr)
from anethru.errors import AnethruError
from anethru.measure.grid import (DEFAULT_BYTES, DEFAULT_CHANNELS, DEFAULT_POINTS, parse_bytes,
                                  size_text)
from anethru.commands.arguments import (add_measurement_arguments, flag_terms,
                                        measurement_kwargs, parse_config)

DESCRIPTION = ("How the round trip grows with tensor size: every configuration of a grid "
               "measured as `anethru` measures one, then the round-trip overhead per layer "
               "fitted as alpha + beta x bytes (latency and inverse bandwidth, with bootstrap "
               "intervals and R^2), memcpy_only per copy as an independent estimate of beta, "
               "run_only per kernel against bytes, and the crossover: the size at which the "
               "round trip equals the kernel time (50% of a sequential layer), and the size "
               "from which it stays under 10%.")
EPILOG = ("Grid (one of): --configs CxS,...; --channels and --spatial (every pair); --points N "
          "and --bytes MIN:MAX (log-spaced sizes at each --channels). Default: "
          f"{DEFAULT_POINTS} sizes from {size_text(DEFAULT_BYTES[0])} to "
          f"{size_text(DEFAULT_BYTES[1])} at {DEFAULT_CHANNELS} channels.\n\n"
          "Each configuration stops adding rounds at --precision or --max-time (default 8 s "
          "per configuration in a sweep). On the ANE the sweep runs in batches in fresh worker "
          "processes, as many configurations per process as its compile limit allows. "
          "Draw the result with: anethru plot SWEEP.json -o sweep.png")


def _ints(text: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid list {text!r}: use integers like 64,128") from None
    if not values:
        raise argparse.ArgumentTypeError(f"invalid list {text!r}: empty")
    return values


def _configs(text: str) -> list[tuple[int, int]]:
    return [parse_config(t) for t in text.split(",") if t.strip()]


def _bytes_range(text: str) -> tuple[int, int]:
    low, sep, high = text.partition(":")
    if not sep:
        raise argparse.ArgumentTypeError(f"invalid range {text!r}: use MIN:MAX, e.g. 4K:2M")
    try:
        return parse_bytes(low), parse_bytes(high)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_arguments(p: argparse.ArgumentParser) -> None:
    grid = p.add_argument_group("grid")
    grid.add_argument("--configs", type=_configs, default=None, metavar="CxS,...",
                      help="the configurations, e.g. 64x32,256x64,768x256")
    grid.add_argument("--channels", type=_ints, default=None, metavar="C,...",
                      help=f"channel counts (default {DEFAULT_CHANNELS})")
    grid.add_argument("--spatial", type=_ints, default=None, metavar="S,...",
                      help="spatial sizes: every channels x spatial pair is measured")
    grid.add_argument("--points", type=int, default=None, metavar="N",
                      help=f"sizes, log-spaced over --bytes (default {DEFAULT_POINTS})")
    grid.add_argument("--bytes", dest="bytes_range", type=_bytes_range, default=None,
                      metavar="MIN:MAX",
                      help=f"tensor size range in bytes, K/M suffixes allowed (default "
                           f"{DEFAULT_BYTES[0] // 1024}K:{DEFAULT_BYTES[1] // 2**20}M)")
    add_measurement_arguments(p)
    for action in p._actions:  # the sweep's own default time limit
        if action.dest == "max_time":
            action.help = ("stop adding rounds when the next would end after SECONDS per "
                           "configuration, compile included (default 8 in a sweep)")
    add_output_arguments(p, "sweep", {"json": "print the sweep as JSON"})
    p.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")


def run(args: argparse.Namespace) -> int:
    from anethru.measure.sweep import SweepInterrupted, run_sweep

    if args.configs is not None and any(
            v is not None for v in (args.channels, args.spatial, args.points, args.bytes_range)):
        raise UsageError("--configs lists the grid itself: give it alone, or --channels, "
                         "--spatial, --points and --bytes")
    check_output_arguments("sweep", args)
    if args.ane_eval == "all":
        raise UsageError("a sweep measures one eval path: give --ane-eval standard, realtime or "
                         "direct (anethru --ane-eval all compares the paths at one configuration)")
    kwargs = measurement_kwargs(args)
    try:
        sweep = run_sweep(args.configs, channels=args.channels, spatial=args.spatial,
                          points=args.points, bytes_range=args.bytes_range,
                          progress=progress_printer(args.quiet), **kwargs)
    except SweepInterrupted as stop:
        emit("sweep", stop.sweep, args)
        where = f"{stop.config[0]}x{stop.config[1]}" if stop.config else "between configurations"
        say_on_stderr(f"{PROG}: interrupted during {where}; printed the "
                      f"{len(stop.sweep.results)} configuration(s) that finished")
        return EXIT_INTERRUPTED
    except AnethruError as exc:
        return error(str(exc))
    except (ValueError, TypeError, MemoryError) as exc:
        raise UsageError(flag_terms(str(exc))) from exc
    emit("sweep", sweep, args)
    for f in sweep.failures:
        error(str(f))
    return EXIT_FAILURE if sweep.failures else EXIT_OK
