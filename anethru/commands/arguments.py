"""The options several commands share (run, sweep, submit, compare, doctor, ane-files): the
measurement's flags and their parsers, and the keywords they become."""

from __future__ import annotations

import argparse
import re

from anethru.commands.common import UsageError
from anethru.native.vocab import (DEFAULT_MAX_TIME, DEFAULT_PRECISION, DEFAULT_TESTS,
                                  EVAL_CHOICES, SEED_KERNELS, TEST_NAMES, WEIGHT_KINDS)


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


_DURATION = re.compile(r"\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*(ns|us|µs|ms|s)\s*")
_MS_PER = {"ns": 1e-6, "us": 1e-3, "µs": 1e-3, "ms": 1.0, "s": 1e3}


def parse_duration(text: str) -> float:
    """"5us", "0.005 ms", "5000ns" -> ms (5 us = 0.005); a unit is required."""
    m = _DURATION.fullmatch(text)
    if not m:
        raise argparse.ArgumentTypeError(f"invalid duration {text!r}: use a number and a unit, "
                                         f"e.g. 5us, 0.5ms or 200ns")
    value = float(m.group(1)) * _MS_PER[m.group(2)]
    if not value > 0:
        raise argparse.ArgumentTypeError(f"invalid duration {text!r}: must be above zero")
    return value


# The Python argument names that a message from run_ceiling/run_suite/run_sweep may name,
# and the flags a command-line user gave instead.
FLAGS = {"repeats": "--repeats", "precision": "--precision", "max_time": "--max-time",
         "iters": "--iters", "warmup": "--warmup", "kernels": "--kernels", "seed": "--seed",
         "backend": "--backend", "tests": "--tests", "weights": "--weights",
         "ane_eval": "--ane-eval", "ane_realtime": "--ane-realtime",
         "cuda_memory": "--cuda-memory", "runs": "--runs",
         "overhead_within": "--overhead-within"}
_ASSIGNED = re.compile(r"\b(" + "|".join(FLAGS) + r")=(['\"]?)([^'\",;) ]*)\2")
_SNAKE = re.compile(r"\b(" + "|".join(n for n in FLAGS if "_" in n) + r")\b")
# A plain word ("repeats", "seed") is a flag only where it is the subject of the message or
# one of the choices it offers, never in ordinary prose ("a chain of 12 kernels").
_SUBJECT = re.compile(r"^(" + "|".join(FLAGS) + r")(?= must | is | needs )")
_CHOICE = re.compile(r"\b(give|or|and/or|not) (repeats|precision)\b")


def flag_terms(message: str) -> str:
    """An argument error from the Python API, in the flags of the command line:
    ``max_time must be ...`` -> ``--max-time must be ...``, ``ane_eval='all'`` ->
    ``--ane-eval all``, ``give repeats, or precision and/or max_time`` -> ``give --repeats, or
    --precision and/or --max-time``."""
    message = _ASSIGNED.sub(lambda m: f"{FLAGS[m.group(1)]} {m.group(3)}", message)
    message = _SNAKE.sub(lambda m: FLAGS[m.group(1)], message)
    message = _SUBJECT.sub(lambda m: FLAGS[m.group(1)], message)
    return _CHOICE.sub(lambda m: f"{m.group(1)} {FLAGS[m.group(2)]}", message)


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
