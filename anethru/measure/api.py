"""The one-call API: Experiment I on one configuration (a suite of them: measure/suite.py)."""

from __future__ import annotations

import math
import os
import random
import threading
import time
from typing import Callable, Iterable, Optional

from anethru.measure.host import state as machine_state
from anethru.native import validate
from anethru.measure.chain import Chain, Measurement
from anethru.errors import ChainCheckError, UnsupportedError
from anethru.measure.rounds import measure_interleaved
from anethru.native.validate import check_ane_eval
from anethru.native.vocab import EVAL_PATHS
from anethru.measure.host.fingerprint import fingerprint
from anethru.results.ceiling import CeilingResult, Config, Stopping
from anethru.results.failure import ConfigFailure
from anethru.native.vocab import SEED_CONFIGS, SEED_KERNELS
from anethru.measure.stopping import (DEFAULT_MAX_TIME, DEFAULT_PRECISION, MAX_REPEATS,
                                      MIN_REPEATS, Criterion, FixedRepeats, Limits, Precision,
                                      measure_until)
from anethru.native.vocab import DEFAULT_TESTS
from anethru.measure.worker.parent import isolatable

# ane_eval="all": rounds per path when no repeats are given.
ALL_PATHS_REPEATS = 10
# An exact count of repeats is capped where result documents stay readable.
MAX_EXACT_REPEATS = 1_000_000

# Backends that must reuse compiled chains within a process: the ANE runtime leaks on every
# compile and stops compiling after about 119 (see csrc/ane_runtime.m).
REUSE_CHAINS = frozenset({"ane"})
_cache: dict[tuple, Chain] = {}
_cache_lock = threading.Lock()


def _forget_cache_after_fork() -> None:
    # A forked child inherits the cache's chains disowned (see chain.py) and perhaps the lock
    # held by a thread that does not exist in it: start both afresh.
    global _cache_lock
    _cache_lock = threading.Lock()
    _cache.clear()


if hasattr(os, "register_at_fork"):  # POSIX
    os.register_at_fork(after_in_child=_forget_cache_after_fork)


def release_cached_chains() -> int:
    """Close the chains kept for reuse (ANE); returns how many were closed."""
    with _cache_lock:
        chains = list(_cache.values())
        _cache.clear()
    for c in chains:
        c.close()
    return len(chains)


def _open_chain(channels: int, spatial: int, kernels: int, backend: str, weights: str,
                seed: int, chained: bool, ane_eval: str,
                cuda_memory: str = "device") -> tuple[Chain, bool]:
    """A chain for this configuration, and whether the caller owns (must close) it."""
    from anethru.native.backends import resolve

    name = resolve(backend).name

    def compile_chain() -> Chain:
        return Chain(channels, spatial, kernels=kernels, backend=name, weights=weights, seed=seed,
                     chained=chained, ane_eval=ane_eval, cuda_memory=cuda_memory)

    if name not in REUSE_CHAINS:
        return compile_chain(), True
    key = (channels, spatial, kernels, name, weights, seed, chained, ane_eval)
    with _cache_lock:
        chain = _cache.get(key)
        if chain is None or chain.closed:
            chain = _cache[key] = compile_chain()
    return chain, False


@isolatable  # adds isolate=False, timeout=None: measure in a fresh worker process
def run_ceiling(channels: int, spatial: int, *, kernels: int = SEED_KERNELS,
                iters: Optional[int] = None,
                warmup: int = 5, repeats: Optional[int] = None,
                precision: Optional[float] = None, max_time: Optional[float] = None,
                overhead_within: Optional[float] = None, backend: str = "auto",
                tests: Optional[Iterable[str]] = None, weights: str = "identity",
                seed: Optional[int] = None, ane_realtime: bool = False,
                ane_eval: str = "standard", cuda_memory: str = "device",
                progress: Optional[Callable[[str], None]] = None) -> CeilingResult:
    """Measure the multi-kernel throughput ceiling of one configuration.

    Compiles ``kernels`` identical 1x1-conv fp16 kernels of ``channels`` x ``spatial`` on
    ``backend`` ("auto": the ANE on a Mac that has one, else CUDA where present, else the CPU),
    checks that data survives the chain, then times each test (default: sequential, run_only,
    memcpy_only, serial_queue, and chained where the backend can chain) in rounds: every test
    once per round, in a fresh shuffled order drawn from ``seed`` (see anethru/stopping.py).

    How many rounds (repeats): ``repeats=N`` runs exactly N.  Otherwise rounds are added until
    every figure is resolved (a per-test median's 95% interval within +/- ``precision``, default
    0.05, of it; the round-trip overhead's within ``precision`` of memcpy_only's per-copy median,
    or within ``overhead_within`` ms per layer where given, e.g. 0.005 for +/-5 us) or has
    converged (anethru.results.verdict), or until ``max_time`` seconds (default 15, counted from this call, compile
    included) would be overrun; ``result.stopping`` records which.  ``iters=None``: passes per
    block chosen by a calibration pass (the seed's 50, 500 for memcpy_only; fewer where a block
    would pass 200 ms, but at least 5 unless one pass alone is longer; one rule for every path,
    anethru.measure.calibration); an int makes them exact.  ``warmup`` untimed passes per test
    come first.  Returns a :class:`CeilingResult`; ``str()`` of it is the report.
    ``progress`` (if given) is called with a line as each phase starts and every few seconds
    while measuring (never from inside the timed loops).

    ``cuda_memory`` ("device" or "mapped", cuda only) says where the kernels' inputs and outputs
    live (docs/cuda.md); on cuda the config's options name it and the kernel variant that ran.

    ``ane_eval`` (the ANE): "standard", "realtime" or "direct" evaluates through that path;
    "all" measures every path that works, interleaved round by round, side by side in one
    result (``result.eval_paths``; ``result.tests`` holds the standard path's figures).
    ``ane_realtime=True`` is the old spelling of ``ane_eval="realtime"``.

    ``isolate=True`` measures in a fresh worker process (see :mod:`anethru.measure.worker.parent`): no
    compile is spent in this process, a crash or hang there raises ``WorkerError`` here, and
    ``timeout`` (seconds) bounds the call.  The result is the same, with ``"isolated"`` in
    ``result.config.options``.

    Raises ValueError/TypeError for bad arguments (naming the value),
    BackendUnavailableError when the backend cannot run here (saying why), CompileError,
    EvalError or ChainCheckError when the hardware fails or computes a wrong answer, and
    KeyboardInterrupt on Ctrl-C (within one pass; the chain is released).
    """
    started = time.monotonic()
    c, s, k = validate.check_sizes(channels, spatial, kernels)
    if iters is not None:
        iters = validate.positive_int("iters", iters)
    warmup = validate.positive_int("warmup", warmup, minimum=0)
    ane_eval = check_ane_eval(ane_eval, validate.flag("ane_realtime", ane_realtime))
    if ane_eval == "all":
        # Paths compared side by side get the same rounds: an exact count, never a precision.
        if precision is not None or max_time is not None:
            raise ValueError("ane_eval='all' runs an exact number of rounds for every path; "
                             "give repeats (default 10), not precision or max_time")
        repeats = ALL_PATHS_REPEATS if repeats is None else repeats
    criterion, limits = stopping_rule(repeats, precision, max_time, overhead_within)
    weights = validate.check_weights(weights)
    wanted = validate.check_tests(tests)
    seed_value = None if seed is None else validate.positive_int("seed", seed, minimum=0)
    say = validate.callback("progress", progress) or (lambda line: None)
    say(f"{c}x{s}: compiling {k} kernels{' and the chained program' if 'chained' in wanted else ''}")
    chain, owned = _open_chain(c, s, k, backend, weights, 0, "chained" in wanted, ane_eval,
                               cuda_memory)
    try:
        say(f"{c}x{s}: checking the chain on {chain.backend} ({weights} weights)")
        check = chain.check()
        runnable, unsupported = [], {}
        for t in wanted:
            ok, why = chain.supports(t)
            if ok:
                runnable.append(t)
            elif tests is None:  # the default set skips what the backend cannot do, and says so
                unsupported[t] = why
            else:
                raise UnsupportedError(f"{chain.backend} cannot run the {t} test: {why}")
        eval_paths: dict = {}
        pairs = None
        state_start = machine_state.snapshot(chain.backend)
        if ane_eval == "all":
            m, stop, eval_paths = _measure_every_eval_path(
                chain, runnable, criterion.repeats, iters=iters, warmup=warmup, seed=seed_value,
                say=say)
        else:
            plan = (f"{criterion.repeats} repeats" if isinstance(criterion, FixedRepeats) else
                    f"until every median is within +/-{criterion.precision:.1%} or "
                    f"{limits.max_time:g} s")
            say(f"{c}x{s}: timing {', '.join(runnable)} ({warmup} warm-up passes, then rounds in "
                f"shuffled order, {plan})")
            outcome = measure_until(chain, runnable, criterion, iters=iters, warmup=warmup,
                                    seed=seed_value, limits=limits, started=started,
                                    progress=lambda line: say(f"{c}x{s}: {line}"))
            m, stop, pairs = outcome.measurement, outcome.stopping, outcome.pairs
        state_end = machine_state.snapshot(chain.backend)
        say(f"{c}x{s}: {m.repeats} repeats in {stop.elapsed_s:.1f} s (stopped by "
            f"{stop.stopped_by.replace('_', ' ')})")
        config = Config(chain.backend, c, s, k, c * s * 2, iters is None, warmup, m.repeats,
                        weights, m.seed, m.schedule, chain.options)
        return CeilingResult.build(
            config=config, tests=m.results(k), device=chain.backend_info.device,
            simulated=chain.backend_info.simulated, compile_ms=chain.compile_ms, check=check,
            unsupported=unsupported, machine=fingerprint(),
            clock=chain.clock_name,
            anethru_version=_version(), stopping=stop,
            machine_state={"start": state_start, "end": state_end},
            program_forms=chain.forms(), eval_paths=eval_paths, pairs=pairs)
    finally:
        if owned:
            chain.close()


def stopping_rule(repeats: Optional[int], precision: Optional[float],
                  max_time: Optional[float], overhead_within: Optional[float] = None
                  ) -> tuple[Criterion, Limits]:
    """The criterion and limits for run_ceiling's repeats/precision/max_time/overhead_within
    arguments."""
    if repeats is not None:
        if precision is not None or max_time is not None:
            raise ValueError("repeats is an exact count; give repeats, or precision and/or "
                             "max_time, not both")
        if overhead_within is not None:
            raise ValueError("overhead_within is a target for the precision loop; repeats is "
                             "an exact count: give one, not both")
        n = validate.positive_int("repeats", repeats)
        if n > MAX_EXACT_REPEATS:
            raise ValueError(f"repeats must be <= {MAX_EXACT_REPEATS}; got {n}")
        return FixedRepeats(n), Limits()
    p = DEFAULT_PRECISION if precision is None else _fraction("precision", precision)
    t = DEFAULT_MAX_TIME if max_time is None else _seconds("max_time", max_time)
    if overhead_within is not None:
        overhead_within = _number("overhead_within", overhead_within)
        if not overhead_within > 0:
            raise ValueError(f"overhead_within must be a positive number of ms per layer (e.g. "
                             f"0.005 for +/-5 us); got {overhead_within!r}")
    return Precision(p, overhead_within), Limits(max_time=t, min_repeats=MIN_REPEATS, max_repeats=MAX_REPEATS)


def _number(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number; got {value!r} ({type(value).__name__})")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite; got {value!r}")
    return float(value)


def _fraction(name: str, value: object) -> float:
    x = _number(name, value)
    if not 0 < x <= 1:
        raise ValueError(f"{name} must be a fraction in (0, 1], e.g. 0.05 for 5%; got {value!r}")
    return x


def _seconds(name: str, value: object) -> float:
    x = _number(name, value)
    if not x > 0:
        raise ValueError(f"{name} must be a positive number of seconds; got {value!r}")
    return x


def _usable_paths(chain: Chain, say: Callable[[str], None]) -> tuple[list[str], dict[str, str]]:
    """The eval paths this chain can measure, each checked like the standard one (a path that
    evaluates but computes a wrong answer is reported, never measured), and why the others
    cannot."""
    usable, unusable = [], {}
    for path, why in chain.eval_path_support().items():
        if why:
            unusable[path] = why
            continue
        if path != "standard":
            say(f"{chain.label}: checking the chain through the {path} eval path")
            chain.set_eval_path(path)
            try:  # a fresh input per path: an output left by another path cannot pass
                chain.check(seed=chain.seed + 1 + EVAL_PATHS.index(path))
            except ChainCheckError as exc:
                unusable[path] = f"its output failed the chain check: {exc}"
                continue
            finally:
                chain.set_eval_path("standard")
        usable.append(path)
    return [p for p in EVAL_PATHS if p in usable], unusable


def _measure_every_eval_path(chain: Chain, tests: list[str], repeats: int, *,
                             iters: Optional[int], warmup: int, seed: Optional[int],
                             say: Callable[[str], None]) -> tuple[Measurement, Stopping, dict]:
    """ane_eval="all": every usable path, ``repeats`` interleaved rounds.  Returns the standard
    path's measurement (``result.tests``), how the rounds were decided, and the other paths'
    blocks (``result.eval_paths``)."""
    paths, unusable = _usable_paths(chain, say)
    say(f"{chain.label}: timing {', '.join(tests)} through the {', '.join(paths)} eval "
        f"path{'s' if len(paths) > 1 else ''}, interleaved ({warmup} warm-up passes, "
        f"{repeats} rounds in shuffled order)")
    t0 = time.monotonic()
    base_seed = random.SystemRandom().randrange(2**31) if seed is None else seed
    measured = measure_interleaved(chain, paths, tests, iters=iters, warmup=warmup,
                                   repeats=repeats, seed=base_seed)
    stop = Stopping(criterion="repeats", stopped_by="repeats",
                    elapsed_s=round(time.monotonic() - t0, 3))
    k = chain.kernels
    eval_paths = {"rounds": measured.rounds, "unsupported": unusable,
                  "results": {p: {"schedule": list(x.schedule), "tests": x.results(k)}
                              for p, x in measured.measurements.items() if p != "standard"}}
    return measured.measurements["standard"], stop, eval_paths


def _version() -> str:
    from anethru._version import __version__

    return __version__


__all__ = ["run_ceiling", "ConfigFailure", "release_cached_chains", "SEED_CONFIGS", "SEED_KERNELS",
           "DEFAULT_TESTS"]
