"""``anethru [options]``: Experiment I on the seed's configurations (or the ones given).

Progress goes to stderr, the report (or --json / --csv / --markdown) to stdout.  A configuration
that fails at run time is reported and the others still run; the exit status is then 1.  Ctrl-C
prints what finished, names the configuration it interrupted, and exits 130.
"""

from __future__ import annotations

import argparse

from anethru._version import __version__
from anethru.commands.arguments import (add_measurement_arguments, flag_terms,
                                        measurement_kwargs, parse_config, parse_duration)
from anethru.commands.common import (EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_OK, PROG, UsageError,
                                     error, progress_printer, say_on_stderr,
                                     write_stdout)
from anethru.commands.output import Suite, add_output_arguments, check_output_arguments, emit
from anethru.errors import AnethruError, SuiteInterrupted
from anethru.results.ceiling import CeilingResult
from anethru.results.failure import ConfigFailure
# Nothing imported at the top of a command module loads the native core (the measuring code is
# imported in run()): --help and --version work even where the build is stale or missing.
from anethru.native.vocab import (DEFAULT_MAX_TIME, DEFAULT_PRECISION, DESCRIPTIONS, SEED_CONFIGS,
                                  SEED_KERNELS, TEST_NAMES)


DESCRIPTION = ("Multi-kernel throughput ceiling: how much of a chain of accelerator kernels is the "
               "CPU round trip between them, and what chaining would save.")
EPILOG = ("Default: the seed's configurations " + ", ".join(f"{c}x{s}" for c, s in SEED_CONFIGS)
          + f", {SEED_KERNELS} kernels, best backend present. Tests: "
          + "; ".join(f"{n}: {DESCRIPTIONS[n]}" for n in TEST_NAMES) + ".\n\n"
          + f"Repeats: rounds are added until every median is within +/-{DEFAULT_PRECISION:.0%} "
          f"(--precision) or {DEFAULT_MAX_TIME:g} s per configuration (--max-time) would be "
          "overrun; --repeats N runs exactly N. The report says which stopped it. Ctrl-C stops "
          "within one pass, prints the configurations that finished and exits 130.")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("-c", "--config", dest="configs", action="append", type=parse_config,
                   metavar="CxS",
                   help="channels x spatial, e.g. 768x256; repeat for several (default: the seed's three)")
    add_measurement_arguments(p)
    p.add_argument("--runs", type=int, default=1, metavar="N",
                   help="measure every configuration N times, each an independent run (a fresh "
                        "chain), round-robin; compare judges between runs from 3 per file "
                        "(default 1)")
    p.add_argument("--overhead-within", type=parse_duration, default=None, metavar="DURATION",
                   help="the round trip is resolved when its 95%% interval is within +/-DURATION "
                        "per layer (e.g. 5us), instead of --precision x the copy measured "
                        "directly")
    p.add_argument("--isolate", action="store_true",
                   help="measure in a fresh worker process (with --runs, one per run)")
    add_output_arguments(p, "suite", {
        "json": "print results as JSON", "markdown":
        "print the report as Markdown (tables and the machine fingerprint)"})
    p.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    p.add_argument("--list-backends", action="store_true",
                   help="list the backends, whether each can run here, and why not")
    p.add_argument("--version", action="version", version=f"anethru {__version__}")


def auto_cpu_lines() -> list[str]:
    """When auto picks the CPU: say so first, and what it means."""
    from anethru.native.backends import backends as all_backends, resolve

    try:
        if resolve("auto").name != "cpu":
            return []
    except AnethruError:
        return []
    why = {b.name: b.reason for b in all_backends() if b.name in ("ane", "cuda") and not b.available}
    return ["auto picked the CPU backend: " + "; ".join(f"no {n} ({w})" for n, w in why.items()),
            "on the CPU the round trip is a memcpy between two buffers, small next to the kernel; "
            "the ANE needs a Mac with an Apple Neural Engine, CUDA an NVIDIA GPU (--list-backends)"]


def run(args: argparse.Namespace) -> int:
    from anethru.measure.suite import run_suite
    from anethru.native.backends import backends

    if args.list_backends:
        write_stdout("".join(f"{b}\n" for b in backends()))
        return EXIT_OK
    check_output_arguments("suite", args)
    configs = args.configs or list(SEED_CONFIGS)
    say = progress_printer(args.quiet)
    if args.backend == "auto":
        for line in auto_cpu_lines():
            say(line)
    try:
        results = run_suite(configs, progress=say, keep_going=True, runs=args.runs,
                            isolate=args.isolate, overhead_within=args.overhead_within,
                            **measurement_kwargs(args))
    except SuiteInterrupted as stop:
        # Ctrl-C: what finished is still worth having; say what was cut short.
        emit("suite", Suite(stop.results, stop.config), args)
        where = f"{stop.config[0]}x{stop.config[1]}" if stop.config else "between configurations"
        done = sum(isinstance(r, CeilingResult) for r in stop.results)
        say_on_stderr(f"{PROG}: interrupted during {where}; printed the {done} "
                      f"configuration(s) that finished")
        return EXIT_INTERRUPTED
    except AnethruError as exc:  # the machine or the backend, not the flags
        return error(str(exc))
    except (ValueError, TypeError, MemoryError) as exc:
        raise UsageError(flag_terms(str(exc))) from exc
    emit("suite", Suite(results), args)
    failures = [r for r in results if isinstance(r, ConfigFailure)]
    for f in failures:
        error(str(f))
    return EXIT_FAILURE if failures else EXIT_OK
