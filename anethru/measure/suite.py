"""Experiment I on several configurations, each measured ``runs`` times: ``run_suite``."""

from __future__ import annotations

import time
from typing import Callable, Iterable, Optional, Union

from anethru.errors import AnethruError, SuiteInterrupted, WorkerTimeoutError
from anethru.measure.api import run_ceiling, stopping_rule
from anethru.measure.worker.parent import check_isolate, run_in_worker
from anethru.native import validate
from anethru.native.vocab import SEED_CONFIGS, SEED_KERNELS
from anethru.results.ceiling import CeilingResult
from anethru.results.failure import ConfigFailure

# A suite's configurations are read up to this many (an endless generator is refused).
MAX_SUITE_CONFIGS = 100_000
# Runs of each configuration: enough for any comparison, and a typo (1000) is refused.
MAX_RUNS = 100


def run_suite(configs: Iterable[tuple[int, int]] = SEED_CONFIGS, *, runs: int = 1,
              progress: Optional[Callable[[str], None]] = None, keep_going: bool = False,
              isolate: bool = False, timeout: Optional[float] = None,
              **kwargs) -> list[Union[CeilingResult, ConfigFailure]]:
    """``run_ceiling`` on each (channels, spatial) configuration, the seed's three by default.

    ``runs=N`` measures every configuration N times, each run independent (a fresh chain; with
    ``isolate=True`` a fresh process), round-robin over the configurations so that a slow
    spell of the machine does not fall on one of them; the list holds every run, grouped by
    configuration in measuring order.  Runs are what ``compare`` judges by: with at least 3 per
    input it tests between runs (anethru.results.runs).  ``max_time`` and the other keywords
    apply to each run; a given ``seed`` becomes seed + i for run i (the test order differs from
    run to run, and stays reproducible).

    ``progress`` (if given) is called with a line before each configuration and phase.  With
    ``keep_going=True`` a configuration that fails at run time (say, a channel count a chip
    cannot compile) becomes a :class:`ConfigFailure` in the list and the rest still run; bad
    arguments raise either way.  Ctrl-C raises
    :class:`SuiteInterrupted` (a KeyboardInterrupt) carrying the configurations that finished.
    ``isolate=True`` runs the whole suite in one fresh worker process (with ``runs`` > 1, each
    run in its own); ``timeout`` (seconds, with ``isolate=True`` only) bounds it all.
    """
    runs = validate.positive_int("runs", runs)
    if runs > MAX_RUNS:
        raise ValueError(f"runs must be <= {MAX_RUNS}; got {runs}")
    if check_isolate(isolate, timeout) and runs == 1:   # the whole suite in one worker, as before runs existed
        return run_in_worker(measure_suite, configs, progress=progress, keep_going=keep_going,
                             timeout=timeout, **kwargs)
    return measure_suite(configs, runs=runs, progress=progress, keep_going=keep_going,
                         isolate_runs=isolate, timeout=timeout, **kwargs)


def measure_suite(configs: Iterable[tuple[int, int]] = SEED_CONFIGS, *, runs: int = 1,
                  progress: Optional[Callable[[str], None]] = None, keep_going: bool = False,
                  isolate_runs: bool = False, timeout: Optional[float] = None,
                  **kwargs) -> list[Union[CeilingResult, ConfigFailure]]:
    """run_suite's work in this process (module level: a worker imports it by name);
    ``isolate_runs`` measures each run in a fresh worker, all within ``timeout``."""
    keep_going = validate.flag("keep_going", keep_going)
    validate.callback("progress", progress)
    configs = validate.pairs("configs", configs, MAX_SUITE_CONFIGS)  # a malformed entry fails early
    if not configs:
        raise ValueError("configs is empty")
    # Check every configuration and the backend up front: a typo in the third configuration
    # should not cost the time of the first two.
    for c, s in configs:
        validate.check_sizes(c, s, kwargs.get("kernels", SEED_KERNELS))
    from anethru.native.backends import resolve

    stopping_rule(kwargs.get("repeats"), kwargs.get("precision"), kwargs.get("max_time"),
                  kwargs.get("overhead_within"))
    seed = kwargs.pop("seed", None)
    seed = None if seed is None else validate.positive_int("seed", seed, minimum=0)
    kwargs["backend"] = resolve(kwargs.get("backend", "auto")).name
    deadline = None if timeout is None else time.monotonic() + timeout
    total = len(configs) * runs
    done: list[tuple[int, Union[CeilingResult, ConfigFailure]]] = []   # (config index, result)
    current: Optional[tuple[int, int]] = None
    try:
        for run in range(runs):
            for i, (c, s) in enumerate(configs):
                n = run * len(configs) + i + 1
                tag = f"[{n}/{total}] " + (f"(run {run + 1} of {runs}) " if runs > 1 else "")
                step = (lambda line, tag=tag: progress(tag + line)) if progress else None
                current = (c, s)
                where = {} if not isolate_runs else {"isolate": True, "timeout": _left(deadline)}
                try:
                    r = run_ceiling(c, s, progress=step, seed=None if seed is None else seed + run,
                                    **where, **kwargs)
                    done.append((i, r))
                    if step:   # the answer first: each configuration's headline as it finishes
                        step(f"done: {r.headline()}")
                except AnethruError as exc:
                    if not keep_going or isinstance(exc, WorkerTimeoutError):
                        raise
                    done.append((i, ConfigFailure(c, s, exc)))
                current = None
    except KeyboardInterrupt as exc:
        raise SuiteInterrupted(_by_config(done), current) from exc
    return _by_config(done)


def _left(deadline: Optional[float]) -> Optional[float]:
    """Seconds left before ``deadline`` (None: no deadline); raises when none are left."""
    if deadline is None:
        return None
    left = deadline - time.monotonic()
    if left <= 0:
        raise WorkerTimeoutError("the suite's timeout ran out before its last run")
    return left


def _by_config(done: list) -> list:
    """Results grouped by configuration, runs in measuring order (a stable sort)."""
    return [r for _, r in sorted(done, key=lambda pair: pair[0])]


__all__ = ["run_suite", "measure_suite", "MAX_RUNS", "MAX_SUITE_CONFIGS"]
