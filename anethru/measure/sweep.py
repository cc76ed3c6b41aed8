"""``run_sweep``: how the round trip grows with size.  Every configuration of a grid
(anethru/grid.py) is measured as ``run_ceiling`` measures one, and the results are fitted
(anethru/sweep_model.py): latency and inverse bandwidth of the round trip, the kernel's own
cost, and the size at which the round trip stops mattering.

A configuration that fails is recorded with its error and the sweep goes on.  Ctrl-C raises
:class:`SweepInterrupted`, carrying the sweep of the configurations that finished.

**Compile limits.**  The ANE runtime stops compiling after about 119 compiles in a process
(anethru refuses past ``ANE_COMPILE_LIMIT``; csrc/ane_runtime.h), and a sweep compiles
``kernels`` + 1 (the chained program) per configuration.  Where a backend has such a limit, the
sweep runs in batches, each in a fresh worker process (anethru/worker.py) holding as many
configurations as the limit allows: none of the compiles are the caller's, and a sweep of any
length completes.  Each finished configuration streams back from the worker as it ends, so
Ctrl-C keeps it.  ``ANETHRU_TEST_COMPILE_LIMIT`` (for tests only) sets a limit on any backend,
so this path runs without an ANE.
"""

from __future__ import annotations

import datetime
import json
import os
import time
from typing import Callable, Iterable, Optional, Sequence, Union

from anethru.measure.worker import wire as _wire
from anethru.native import validate
from anethru.measure.api import SEED_KERNELS, ConfigFailure, run_ceiling, stopping_rule
from anethru.errors import AnethruError, SuiteInterrupted, WorkerError
from anethru.native.validate import check_ane_eval
from anethru.measure.grid import size_text, sweep_grid
from anethru.measure.host.fingerprint import fingerprint
from anethru.results.ceiling import CeilingResult
from anethru.measure.stopping import DEFAULT_PRECISION
from anethru.results.sweep import SweepFailure, SweepResult
from anethru.measure.worker.parent import run_in_worker

# Per-configuration time limit of a sweep unless max_time or repeats is given: the default grid
# (12 sizes) then ends within two minutes on the cpu backend of a 2-core machine.
SWEEP_MAX_TIME = 8.0
# csrc/ane_runtime.h's ANETHRU_ANE_MAX_COMPILES (tests/test_sweep.py checks that they agree).
ANE_COMPILE_LIMIT = 115
COMPILE_LIMITS = {"ane": ANE_COMPILE_LIMIT}
COMPILE_LIMIT_ENV = "ANETHRU_TEST_COMPILE_LIMIT"
# A worker's progress line that carries a finished configuration rather than text.
ENTRY_TAG = "\x1eanethru-sweep-entry "
REQUIRED_TESTS = ("sequential", "run_only")

Entry = Union[CeilingResult, ConfigFailure]


class SweepInterrupted(SuiteInterrupted):
    """Ctrl-C stopped ``run_sweep``: ``sweep`` is the :class:`SweepResult` of the
    configurations that finished (its ``interrupted`` names the one cut short), ``results``
    and ``config`` as for :class:`SuiteInterrupted`."""

    def __init__(self, sweep: SweepResult, entries: list, config: Optional[tuple[int, int]]):
        super().__init__(entries, config)
        self.sweep = sweep


def compile_limit(backend: str) -> Optional[int]:
    """Compiles a process may make on ``backend`` (None: no limit), or the test override."""
    text = os.environ.get(COMPILE_LIMIT_ENV, "").strip()
    if text:
        try:
            value = int(text)
        except ValueError:
            value = 0
        if value < 1:
            raise ValueError(f"{COMPILE_LIMIT_ENV} must be a positive integer; got {text!r}")
        return value
    return COMPILE_LIMITS.get(backend)


def compiles_per_config(kernels: int, tests: Optional[Sequence[str]]) -> int:
    """Compiles one configuration makes: its kernels, and the chained program when timed."""
    return kernels + (1 if tests is None or "chained" in tests else 0)


def plan_batches(count: int, per_config: int, limit: Optional[int]) -> list[range]:
    """Index ranges of the configurations each process measures: one range when there is no
    limit, else as many configurations per fresh process as the limit allows."""
    if limit is None:
        return [range(count)]
    size = limit // per_config
    if size < 1:
        raise ValueError(f"one configuration needs {per_config} compiles, more than the "
                         f"{limit} a process may make: use fewer kernels")
    return [range(i, min(i + size, count)) for i in range(0, count, size)]


def run_sweep(configs: Optional[Iterable[tuple[int, int]]] = None, *,
              channels: Optional[Sequence[int]] = None, spatial: Optional[Sequence[int]] = None,
              points: Optional[int] = None, bytes_range: Optional[tuple[int, int]] = None,
              kernels: int = SEED_KERNELS, iters: Optional[int] = None, warmup: int = 5,
              repeats: Optional[int] = None, precision: Optional[float] = None,
              max_time: Optional[float] = None, backend: str = "auto",
              tests: Optional[Iterable[str]] = None, weights: str = "identity",
              seed: Optional[int] = None, ane_realtime: bool = False,
              ane_eval: str = "standard", cuda_memory: str = "device",
              progress: Optional[Callable[[str], None]] = None) -> SweepResult:
    """Measure every configuration of a grid and fit the model of how the round trip grows
    with tensor size.

    The grid: ``configs`` [(channels, spatial), ...]; or ``channels`` x ``spatial``; or
    ``points`` sizes log-spaced over ``bytes_range`` (min, max bytes) at each of ``channels``.
    Default: 12 sizes from 4 KiB (the seed's 64x32) to 2 MiB at 64 channels (anethru/grid.py).

    Each configuration is measured as :func:`run_ceiling` measures one, with the same
    arguments, except that ``max_time`` defaults to ``SWEEP_MAX_TIME`` (8 s) per configuration;
    ``repeats=N`` runs exactly N rounds each.  ``tests`` must include sequential and run_only
    (the round trip is their difference).  A configuration that fails at run time is recorded in
    ``result.failures`` and the sweep goes on; bad arguments raise before anything runs.  On a
    backend with a per-process compile limit (the ANE) the sweep runs in batches in fresh worker
    processes (``result.batches`` says how).  ``progress`` gets one line per configuration with
    its place in the grid, and the measurement's lines.  Ctrl-C raises
    :class:`SweepInterrupted` with the sweep of what finished.  ``ane_eval`` picks one ANE eval
    path for the whole sweep ("all" is refused: compare paths with run_ceiling).
    """
    started = time.monotonic()
    created = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    grid, how = sweep_grid(configs, channels=channels, spatial=spatial, points=points,
                           bytes_range=bytes_range)
    _, _, kernels = validate.check_sizes(1, 1, kernels)
    for c, s in grid:
        validate.check_sizes(c, s, kernels)
    ane_eval = check_ane_eval(ane_eval, ane_realtime)
    if ane_eval == "all":
        raise ValueError("a sweep measures one eval path: give ane_eval='standard', 'realtime' or "
                         "'direct' (run_ceiling(..., ane_eval='all') compares the paths)")
    if repeats is None and max_time is None:
        max_time = SWEEP_MAX_TIME
    stopping_rule(repeats, precision, max_time)
    wanted = None if tests is None else list(validate.check_tests(tests))
    if wanted is not None:
        missing = [t for t in REQUIRED_TESTS if t not in wanted]
        if missing:
            raise ValueError(f"a sweep needs the {' and '.join(missing)} test(s): the round "
                             f"trip is sequential - run_only; got tests {','.join(wanted)}")
    from anethru.native.backends import resolve

    info = resolve(backend)
    measure = dict(kernels=kernels, iters=iters, warmup=warmup, repeats=repeats,
                   precision=precision, max_time=max_time, backend=info.name, tests=wanted,
                   weights=weights, seed=seed, ane_eval=ane_eval, cuda_memory=cuda_memory)
    limit = compile_limit(info.name)
    per_config = compiles_per_config(kernels, wanted)
    batches = plan_batches(len(grid), per_config, limit)
    say = validate.callback("progress", progress) or (lambda line: None)
    say(f"sweep: {len(grid)} configurations on {info.name} ({how})"
        + ("" if limit is None else
           f"; {limit} compiles per process and {per_config} per configuration, so "
           f"{len(batches)} batch(es) of up to {len(batches[0])} in fresh worker processes"))

    entries: list[Entry] = []

    def finish(interrupted: Optional[tuple[int, int]] = None) -> SweepResult:
        results = tuple(e for e in entries if isinstance(e, CeilingResult))
        first = results[0] if results else None
        return SweepResult(
            backend=info.name, device=first.device if first else info.device,
            simulated=first.simulated if first else info.simulated, kernels=kernels,
            grid=tuple(grid), grid_description=how,
            settings={"tests": wanted, "max_time_s": max_time,
                      "precision": DEFAULT_PRECISION if repeats is None and precision is None
                      else precision,
                      "repeats": repeats, "iters": iters, "warmup": warmup, "weights": weights},
            results=results,
            failures=tuple(SweepFailure.of(e) for e in entries if isinstance(e, ConfigFailure)),
            batches=None if limit is None else {
                "compile_limit": limit, "compiles_per_config": per_config,
                "configs_per_batch": len(batches[0]), "count": len(batches)},
            interrupted=interrupted, machine=fingerprint(), anethru_version=_version(),
            created_utc=created, elapsed_s=round(time.monotonic() - started, 3))

    try:
        if limit is None:
            for i, (c, s) in enumerate(grid):
                entries.append(_measure_one(c, s, i, len(grid), measure, say))
        else:
            for n, batch in enumerate(batches):
                say(f"batch {n + 1} of {len(batches)}: configurations {batch.start + 1} to "
                    f"{batch.stop} in a fresh worker process")
                _run_batch(grid, batch, measure, entries, say)
    except KeyboardInterrupt as exc:
        where = grid[len(entries)] if len(entries) < len(grid) else None
        raise SweepInterrupted(finish(where), list(entries), where) from exc
    return finish()


def _place(i: int, total: int, c: int, s: int) -> str:
    """'[3/12, 20 KiB]': the place in the grid (run_ceiling's lines name the configuration)."""
    return f"[{i + 1}/{total}, {size_text(c * s * 2)}]"


def _measure_one(c: int, s: int, i: int, total: int, measure: dict,
                 say: Callable[[str], None]) -> Entry:
    place = _place(i, total, c, s)
    try:
        return run_ceiling(c, s, progress=lambda line: say(f"{place} {line}"), **measure)
    except AnethruError as exc:
        say(f"{place} {c}x{s}: failed ({type(exc).__name__}: {exc}); going on")
        return ConfigFailure(c, s, exc)


def _run_batch(grid: list[tuple[int, int]], batch: range, measure: dict, entries: list,
               say: Callable[[str], None]) -> None:
    """Measure ``grid[batch]`` in fresh worker processes, appending each entry as it arrives;
    a worker that dies costs the configuration it was measuring, and the rest go on in a new
    one."""
    todo = list(batch)
    while todo:
        received: list[Entry] = []

        def hear(line: str) -> None:
            if line.startswith(ENTRY_TAG):
                entry = _wire.decode(json.loads(line[len(ENTRY_TAG):]))
                received.append(entry)
                entries.append(entry)
            else:
                say(line)

        try:
            run_in_worker(measure_batch, [list(grid[i]) for i in todo], todo[0], len(grid),
                          progress=hear, **measure)
            todo = todo[len(received):]
            if todo:  # pragma: no cover - a worker returns only after sending every entry
                raise WorkerError("the worker returned before sending every configuration")
        except WorkerError as exc:
            lost = todo[len(received)]
            c, s = grid[lost]
            say(f"{_place(lost, len(grid), c, s)} {c}x{s}: failed ({type(exc).__name__}: {exc}); "
                f"going on in a new worker process")
            entries.append(ConfigFailure(c, s, exc))
            todo = todo[len(received) + 1:]


def measure_batch(configs: list[list[int]], first: int, total: int,
                  progress: Optional[Callable[[str], None]] = None, **measure) -> int:
    """In a worker process: measure ``configs`` (grid places ``first`` onwards, of ``total``),
    sending each finished configuration back through ``progress`` as it ends; returns how
    many were sent."""
    say = progress or (lambda line: None)
    for n, (c, s) in enumerate(configs):
        entry = _measure_one(c, s, first + n, total, measure, say)
        say(ENTRY_TAG + json.dumps(_wire.encode(entry), allow_nan=False))
    return len(configs)


def _version() -> str:
    from anethru._version import __version__

    return __version__


__all__ = ["run_sweep", "SweepInterrupted", "SWEEP_MAX_TIME", "ANE_COMPILE_LIMIT",
           "compile_limit", "compiles_per_config", "plan_batches", "measure_batch"]
