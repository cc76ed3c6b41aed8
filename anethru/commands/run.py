"""``anethru [options]``: Experiment I on the seed's configurations (or the ones given).

Progress goes to stderr, the report (or --json / --csv / --markdown) to stdout.  A configuration
that fails at run time is reported and the others still run; the exit status is then 1.  Ctrl-C
prints what finished, names the configuration it interrupted, and exits 130.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from typing import Optional

from anethru._version import __version__
from anethru.measure.api import SEED_CONFIGS, SEED_KERNELS, ConfigFailure, run_suite
from anethru.native.backends import backends
from anethru.cli import (EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_OK, PROG, UsageError, error,
                         progress_printer, write_stdout)
from anethru.errors import AnethruError, SuiteInterrupted
from anethru.native.vocab import EVAL_CHOICES
from anethru.report.csv import to_csv
from anethru.report.markdown import format_suite_markdown
from anethru.report.text import format_suite
from anethru.results.ceiling import CeilingResult, suite_document
from anethru.measure.stopping import DEFAULT_MAX_TIME, DEFAULT_PRECISION
from anethru.native.tensors import WEIGHT_KINDS
from anethru.native.vocab import DEFAULT_TESTS, DESCRIPTIONS, TEST_NAMES

DESCRIPTION = ("Multi-kernel throughput ceiling: how much of a chain of accelerator kernels is the "
               "CPU round trip between them, and what chaining would save.")
EPILOG = ("Default: the seed's configurations " + ", ".join(f"{c}x{s}" for c, s in SEED_CONFIGS)
          + f", {SEED_KERNELS} kernels, best backend present. Tests: "
          + "; ".join(f"{n}: {DESCRIPTIONS[n]}" for n in TEST_NAMES) + ".\n\n"
          + f"Repeats: rounds are added until every median is within +/-{DEFAULT_PRECISION:.0%} "
          f"(--precision) or {DEFAULT_MAX_TIME:g} s per configuration (--max-time) would be "
          "overrun; --repeats N runs exactly N. The report says which stopped it. Ctrl-C stops "
          "within one pass, prints the configurations that finished and exits 130.")


def parse_config(text: str) -> tuple[int, int]:
    """'768x256' -> (768, 256); shared by every command that takes configurations."""
    m = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", text)
    if not m:
        raise argparse.ArgumentTypeError(f"invalid config {text!r}: use CHANNELSxSPATIAL, e.g. 768x256")
    return int(m.group(1)), int(m.group(2))


def parse_tests(text: str) -> list[str]:
    names = [t.strip() for t in text.split(",") if t.strip()]
    for t in names:
        if t not in TEST_NAMES:
            raise argparse.ArgumentTypeError(f"unknown test {t!r}; choose from {', '.join(TEST_NAMES)}")
    return names


def add_measurement_arguments(p: argparse.ArgumentParser) -> None:
    """The options of one measurement (shared with commands that run measurements)."""
    p.add_argument("-b", "--backend", default="auto",
                   help="ane, cuda, cpu or auto (default: auto = the first available of ane, cuda, cpu)")
    p.add_argument("-k", "--kernels", type=int, default=SEED_KERNELS,
                   help=f"kernels in the chain (default {SEED_KERNELS})")
    p.add_argument("-n", "--iters", type=int, default=None,
                   help="passes per timed block (default: auto, the seed's 50, fewer where a block "
                        "would exceed 200 ms; memcpy_only runs 10x as many)")
    p.add_argument("-w", "--warmup", type=int, default=5, help="untimed passes per test (default 5)")
    p.add_argument("-r", "--repeats", type=int, default=None,
                   help="an exact number of rounds (one timed block per test each, in shuffled "
                        "order), instead of --precision")
    p.add_argument("--precision", type=parse_fraction, default=None, metavar="PCT",
                   help="add rounds until every median's 95%% interval is within +/-PCT of it "
                        "and the round-trip overhead is settled (default "
                        f"{DEFAULT_PRECISION * 100:g}%%; e.g. 5%% or 0.05)")
    p.add_argument("--max-time", type=float, default=None, metavar="SECONDS",
                   help="stop adding rounds when the next would end after SECONDS per "
                        f"configuration, compile included (default {DEFAULT_MAX_TIME:g})")
    p.add_argument("-t", "--tests", type=parse_tests, default=None, metavar="T1,T2",
                   help="comma-separated tests (default: " + ",".join(DEFAULT_TESTS)
                        + ", skipping those the backend cannot run)")
    p.add_argument("--weights", choices=WEIGHT_KINDS, default="identity",
                   help="identity (the seed's: output == input, checked bit for bit) or random "
                        "(checked against numpy)")
    p.add_argument("--seed", type=int, default=None, help="test-order seed (default: random, recorded)")
    p.add_argument("--ane-eval", choices=EVAL_CHOICES, default=None,
                   help="ANE only: how to evaluate: standard (default), realtime (_ANEClient's "
                        "realtime eval), direct (_ANEClient's direct eval), or all: every path "
                        "that works, interleaved, side by side in one report")
    p.add_argument("--ane-realtime", action="store_true", help="the same as --ane-eval realtime")
    p.add_argument("--cuda-memory", choices=("device", "mapped"), default="device",
                   help="cuda only: kernel inputs/outputs in GPU memory (device) or in mapped "
                        "pinned host memory (mapped); see docs/cuda.md")


def parse_fraction(text: str) -> float:
    """'5%' -> 0.05; '0.05' -> 0.05 (a bare number above 1 is read as a percentage)."""
    t = text.strip()
    try:
        value = float(t[:-1]) / 100 if t.endswith("%") else float(t)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid percentage {text!r}: use e.g. 5% or 0.05") from None
    return value / 100 if not t.endswith("%") and value > 1 else value


def measurement_kwargs(args: argparse.Namespace) -> dict:
    """run_ceiling/run_suite keywords from the options of add_measurement_arguments."""
    if args.ane_realtime and args.ane_eval not in (None, "realtime"):
        raise UsageError(f"--ane-realtime means --ane-eval realtime; it contradicts "
                         f"--ane-eval {args.ane_eval}")
    return dict(kernels=args.kernels, iters=args.iters, warmup=args.warmup, repeats=args.repeats,
                precision=args.precision, max_time=args.max_time,
                backend=args.backend, tests=args.tests, weights=args.weights, seed=args.seed,
                ane_eval="realtime" if args.ane_realtime else args.ane_eval or "standard",
                cuda_memory=args.cuda_memory)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("-c", "--config", dest="configs", action="append", type=parse_config,
                   metavar="CxS",
                   help="channels x spatial, e.g. 768x256; repeat for several (default: the seed's three)")
    add_measurement_arguments(p)
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print results as JSON")
    out.add_argument("--csv", action="store_true", help="print one CSV row per test and figure")
    out.add_argument("--markdown", action="store_true",
                     help="print the report as Markdown (tables and the machine fingerprint)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    p.add_argument("--list-backends", action="store_true",
                   help="list the backends, whether each can run here, and why not")
    p.add_argument("--version", action="version", version=f"anethru {__version__}")


def render(results: list, args: argparse.Namespace,
           interrupted: Optional[tuple[int, int]] = None) -> str:
    ok = [r for r in results if isinstance(r, CeilingResult)]
    failed = [r for r in results if isinstance(r, ConfigFailure)]
    if args.json:
        where = None if interrupted is None else {"channels": interrupted[0],
                                                  "spatial": interrupted[1]}
        return json.dumps(suite_document(ok, failed, where), indent=2, allow_nan=False) + "\n"
    if args.csv:
        return to_csv(ok)
    if args.markdown:
        return format_suite_markdown(ok) + "\n" if ok else ""
    return format_suite(ok) + "\n" if ok else ""


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
    if args.list_backends:
        write_stdout("".join(f"{b}\n" for b in backends()))
        return EXIT_OK
    configs = args.configs or list(SEED_CONFIGS)
    say = progress_printer(args.quiet)
    if args.backend == "auto":
        for line in auto_cpu_lines():
            say(line)
    try:
        results = run_suite(configs, progress=say, keep_going=True,
                            **measurement_kwargs(args))
    except SuiteInterrupted as stop:
        # Ctrl-C: what finished is still worth having; say what was cut short.
        write_stdout(render(stop.results, args, stop.config))
        where = f"{stop.config[0]}x{stop.config[1]}" if stop.config else "between configurations"
        done = sum(isinstance(r, CeilingResult) for r in stop.results)
        print(f"{PROG}: interrupted during {where}; printed the {done} configuration(s) that "
              f"finished", file=sys.stderr, flush=True)
        return EXIT_INTERRUPTED
    except AnethruError as exc:  # the machine or the backend, not the flags
        return error(str(exc))
    except (ValueError, TypeError, MemoryError) as exc:
        raise UsageError(str(exc)) from exc
    write_stdout(render(results, args))
    failures = [r for r in results if isinstance(r, ConfigFailure)]
    for f in failures:
        error(str(f))
    return EXIT_FAILURE if failures else EXIT_OK
