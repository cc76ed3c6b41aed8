"""``anethru`` / ``python -m anethru``: Experiment I from the command line.

With no arguments: the seed's three configurations, 12 kernels, on the best backend present.
Progress goes to stderr, the report (or --json / --csv) to stdout.  Exit status: 0 success,
2 usage error (bad flag or value), 1 runtime failure (one clear line, no traceback).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from typing import Optional, Sequence

from . import __version__
from .api import SEED_CONFIGS, SEED_KERNELS, ConfigFailure, run_suite
from .backends import backends
from .errors import AnethruError
from .report import format_suite, to_csv
from .result import SUITE_SCHEMA, CeilingResult
from .tensors import WEIGHT_KINDS
from .testnames import DEFAULT_TESTS, DESCRIPTIONS, TEST_NAMES

def _config(text: str) -> tuple[int, int]:
    m = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", text)
    if not m:
        raise argparse.ArgumentTypeError(f"invalid config {text!r}: use CHANNELSxSPATIAL, e.g. 768x256")
    return int(m.group(1)), int(m.group(2))


def _tests(text: str) -> list[str]:
    names = [t.strip() for t in text.split(",") if t.strip()]
    for t in names:
        if t not in TEST_NAMES:
            raise argparse.ArgumentTypeError(f"unknown test {t!r}; choose from {', '.join(TEST_NAMES)}")
    return names


def build_parser() -> argparse.ArgumentParser:
    tests_help = "; ".join(f"{n}: {DESCRIPTIONS[n]}" for n in TEST_NAMES)
    p = argparse.ArgumentParser(
        prog="anethru",
        description="Multi-kernel throughput ceiling: how much of a chain of accelerator kernels "
                    "is the CPU round trip between them, and what chaining would save.",
        epilog="Default: the seed's configurations "
               + ", ".join(f"{c}x{s}" for c, s in SEED_CONFIGS)
               + f", {SEED_KERNELS} kernels, best backend present. Tests: {tests_help}.")
    p.add_argument("-b", "--backend", default="auto",
                   help="ane, cuda, cpu or auto (default: auto = the first available of ane, cuda, cpu)")
    p.add_argument("-c", "--config", dest="configs", action="append", type=_config, metavar="CxS",
                   help="channels x spatial, e.g. 768x256; repeat for several (default: the seed's three)")
    p.add_argument("-k", "--kernels", type=int, default=SEED_KERNELS,
                   help=f"kernels in the chain (default {SEED_KERNELS})")
    p.add_argument("-n", "--iters", type=int, default=None,
                   help="passes per timed block (default: auto, the seed's 50, fewer where a block "
                        "would exceed 200 ms; memcpy_only runs 10x as many)")
    p.add_argument("-w", "--warmup", type=int, default=5, help="untimed passes per test (default 5)")
    p.add_argument("-r", "--repeats", type=int, default=5,
                   help="timed blocks per test, interleaved in shuffled order (default 5)")
    p.add_argument("-t", "--tests", type=_tests, default=None, metavar="T1,T2",
                   help="comma-separated tests (default: " + ",".join(DEFAULT_TESTS)
                        + ", skipping those the backend cannot run)")
    p.add_argument("--weights", choices=WEIGHT_KINDS, default="identity",
                   help="identity (the seed's: output == input, checked bit for bit) or random "
                        "(checked against numpy)")
    p.add_argument("--seed", type=int, default=None, help="test-order seed (default: random, recorded)")
    p.add_argument("--ane-realtime", action="store_true",
                   help="ANE only: evaluate through _ANEClient's evaluateRealTimeWithModel: path")
    p.add_argument("--cuda-memory", choices=("device", "mapped"), default="device",
                   help="cuda only: kernel inputs/outputs in GPU memory (device) or in mapped "
                        "pinned host memory (mapped); see docs/cuda.md")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print results as JSON")
    out.add_argument("--csv", action="store_true", help="print one CSV row per test and figure")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    p.add_argument("--list-backends", action="store_true",
                   help="list the backends, whether each can run here, and why not")
    p.add_argument("--version", action="version", version=f"anethru {__version__}")
    return p


def _list_backends() -> int:
    for b in backends():
        print(b)
    return 0


def _emit(results: list, args: argparse.Namespace) -> None:
    ok = [r for r in results if isinstance(r, CeilingResult)]
    failed = [r for r in results if isinstance(r, ConfigFailure)]
    if args.json:
        doc = {"schema": SUITE_SCHEMA, "results": [r.to_dict() for r in ok],
               "failures": [f.to_dict() for f in failed]}
        print(json.dumps(doc, indent=2))
    elif args.csv:
        sys.stdout.write(to_csv(ok))
    else:
        print(format_suite(ok))


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.list_backends:
        return _list_backends()

    def progress(line: str) -> None:
        if not args.quiet:
            print(f"anethru: {line}", file=sys.stderr, flush=True)

    configs = args.configs or list(SEED_CONFIGS)
    try:
        results = run_suite(
            configs, progress=progress, keep_going=True, kernels=args.kernels, iters=args.iters,
            warmup=args.warmup, repeats=args.repeats, backend=args.backend, tests=args.tests,
            weights=args.weights, seed=args.seed, ane_realtime=args.ane_realtime,
            cuda_memory=args.cuda_memory)
    except (ValueError, TypeError, MemoryError) as exc:
        if isinstance(exc, AnethruError):  # NativeMemoryError: the machine, not the flags
            print(f"anethru: error: {exc}", file=sys.stderr)
            return 1
        print(f"anethru: usage error: {exc}", file=sys.stderr)
        return 2
    except AnethruError as exc:
        print(f"anethru: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("anethru: interrupted", file=sys.stderr)
        return 130
    try:
        _emit(results, args)
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader went away (`anethru | head`): stop quietly, as the Python docs advise.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    failures = [r for r in results if isinstance(r, ConfigFailure)]
    for f in failures:
        print(f"anethru: error: {f}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
