"""The one-call API: Experiment I on one configuration, or the seed's three."""

from __future__ import annotations

import os
import random
import threading
from dataclasses import dataclass
from typing import Callable, Iterable, Optional, Union

from . import validate
from .chain import Chain, Measurement
from .errors import AnethruError, ChainCheckError, UnsupportedError
from .eval_paths import EVAL_PATHS, check_ane_eval, measure_interleaved
from .machine import fingerprint
from .result import CeilingResult, Config
from .testnames import DEFAULT_TESTS
from .worker import isolatable

# The seed's configurations (channels x spatial) and chain length.
SEED_CONFIGS = ((64, 32), (256, 64), (768, 256))
SEED_KERNELS = 12

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
    from .backends import resolve

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
                warmup: int = 5, repeats: int = 5, backend: str = "auto",
                tests: Optional[Iterable[str]] = None, weights: str = "identity",
                seed: Optional[int] = None, ane_realtime: bool = False,
                ane_eval: str = "standard", cuda_memory: str = "device",
                progress: Optional[Callable[[str], None]] = None) -> CeilingResult:
    """Measure the multi-kernel throughput ceiling of one configuration.

    Compiles ``kernels`` identical 1x1-conv fp16 kernels of ``channels`` x ``spatial`` on
    ``backend`` ("auto": the ANE on a Mac that has one, else CUDA where present, else the CPU),
    checks that data survives the chain, then times each test (default: sequential, run_only,
    memcpy_only, serial_queue, and chained where the backend can chain) for ``repeats`` blocks
    of ``iters`` passes after ``warmup`` passes, interleaving the tests in a shuffled order
    drawn from ``seed``.  ``iters=None`` is the seed's 50 passes per block (500 for
    memcpy_only), fewer where a block would exceed 200 ms (see :meth:`Chain.measure`).
    ``cuda_memory`` ("device" or "mapped", cuda only) says where the kernels' inputs and outputs
    live (docs/cuda.md); on cuda the config's options name it and the kernel variant that ran.
    Returns a :class:`CeilingResult`; ``str()`` of it is the report.  ``progress`` (if given)
    is called with a line as each phase starts (never from inside the timed loops).

    ``ane_eval`` (the ANE): "standard", "realtime" or "direct" evaluates through that path;
    "all" measures every path that works, interleaved round by round, side by side in one
    result (``result.eval_paths``; ``result.tests`` holds the standard path's figures).
    ``ane_realtime=True`` is the old spelling of ``ane_eval="realtime"``.

    ``isolate=True`` measures in a fresh worker process (see :mod:`anethru.worker`): no
    compile is spent in this process, a crash or hang there raises ``WorkerError`` here, and
    ``timeout`` (seconds) bounds the call.  The result is the same, with ``"isolated"`` in
    ``result.config.options``.

    Raises ValueError/TypeError for bad arguments (naming the value),
    BackendUnavailableError when the backend cannot run here (saying why), CompileError,
    EvalError or ChainCheckError when the hardware fails or computes a wrong answer.
    """
    c, s, k = validate.check_sizes(channels, spatial, kernels)
    if iters is not None:
        iters = validate.positive_int("iters", iters)
    warmup = validate.positive_int("warmup", warmup, minimum=0)
    repeats = validate.positive_int("repeats", repeats)
    weights = validate.check_weights(weights)
    wanted = validate.check_tests(tests)
    seed_value = None if seed is None else validate.positive_int("seed", seed, minimum=0)
    ane_eval = check_ane_eval(ane_eval, validate.flag("ane_realtime", ane_realtime))
    say = progress or (lambda line: None)
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
        if ane_eval == "all":
            paths, unusable = _usable_paths(chain, say)
            say(f"{c}x{s}: timing {', '.join(runnable)} through the {', '.join(paths)} eval "
                f"path{'s' if len(paths) > 1 else ''}, interleaved ({warmup} warm-up passes, "
                f"{repeats} rounds in shuffled order)")
            base_seed = random.SystemRandom().randrange(2**31) if seed_value is None else seed_value
            measured = measure_interleaved(chain, paths, runnable, iters=iters, warmup=warmup,
                                           repeats=repeats, seed=base_seed)
            m: Measurement = measured.measurements["standard"]
            eval_paths = {"rounds": measured.rounds, "unsupported": unusable,
                          "results": {p: {"schedule": list(x.schedule), "tests": x.results(k)}
                                      for p, x in measured.measurements.items() if p != "standard"}}
        else:
            say(f"{c}x{s}: timing {', '.join(runnable)} ({warmup} warm-up passes, {repeats} "
                f"repeats in shuffled order)")
            m = chain.measure(runnable, iters=iters, warmup=warmup, repeats=repeats,
                              seed=seed_value)
        config = Config(chain.backend, c, s, k, c * s * 2, iters is None, warmup, repeats,
                        weights, m.seed, m.schedule, chain.options)
        return CeilingResult.build(
            config=config, tests=m.results(k), device=chain.backend_info.device,
            simulated=chain.backend_info.simulated, compile_ms=chain.compile_ms, check=check,
            unsupported=unsupported, machine=fingerprint(),
            clock=chain.clock_name,
            anethru_version=_version(), warnings=_layout_warnings(chain),
            program_forms=chain.forms(), eval_paths=eval_paths)
    finally:
        if owned:
            chain.close()


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
            try:
                chain.check()
            except ChainCheckError as exc:
                unusable[path] = f"its output failed the chain check: {exc}"
                continue
            finally:
                chain.set_eval_path("standard")
        usable.append(path)
    return [p for p in EVAL_PATHS if p in usable], unusable


def _layout_warnings(chain: Chain) -> list[str]:
    """Sizes the ANE was never seen to run: every configuration research ran had rows (the
    spatial axis, 2 bytes a value) of a multiple of 64 bytes."""
    row = chain.spatial * 2
    if chain.backend != "ane" or row % 64 == 0:
        return []
    return [f"spatial {chain.spatial}: a row is {row} bytes, not a multiple of 64; no run on an "
            f"ANE with such rows has been seen (the chain check above is what vouches for the "
            f"layout)"]


@dataclass(frozen=True)
class ConfigFailure:
    """A configuration of a suite that could not be measured (run_suite(keep_going=True))."""

    channels: int
    spatial: int
    error: Exception

    @property
    def label(self) -> str:
        return f"{self.channels}x{self.spatial}"

    def to_dict(self) -> dict:
        return {"channels": self.channels, "spatial": self.spatial,
                "error": type(self.error).__name__, "message": str(self.error)}

    def __str__(self) -> str:
        return f"{self.label}: {type(self.error).__name__}: {self.error}"


@isolatable  # isolate=True runs the whole suite in one fresh worker process
def run_suite(configs: Iterable[tuple[int, int]] = SEED_CONFIGS, *,
              progress: Optional[Callable[[str], None]] = None, keep_going: bool = False,
              **kwargs) -> list[Union[CeilingResult, ConfigFailure]]:
    """``run_ceiling`` on each (channels, spatial) configuration, the seed's three by default.

    ``progress`` (if given) is called with a line before each configuration and phase.  With
    ``keep_going=True`` a configuration that fails at run time (say, a channel count a chip
    cannot compile) becomes a :class:`ConfigFailure` in the list and the rest still run; bad
    arguments raise either way.  ``isolate=True`` runs the whole suite in one fresh worker
    process (``timeout`` bounds it all), as :func:`run_ceiling` does one configuration.
    """
    keep_going = validate.flag("keep_going", keep_going)
    configs = [(c, s) for c, s in configs]  # unpacked here so a malformed entry fails early
    if not configs:
        raise ValueError("configs is empty")
    # Check every configuration and the backend up front: a typo in the third configuration
    # should not cost the time of the first two.
    for c, s in configs:
        validate.check_sizes(c, s, kwargs.get("kernels", SEED_KERNELS))
    from .backends import resolve

    kwargs["backend"] = resolve(kwargs.get("backend", "auto")).name
    results: list[Union[CeilingResult, ConfigFailure]] = []
    for i, (c, s) in enumerate(configs):
        step = (lambda line, i=i: progress(f"[{i + 1}/{len(configs)}] {line}")) if progress else None
        try:
            results.append(run_ceiling(c, s, progress=step, **kwargs))
        except AnethruError as exc:
            if not keep_going:
                raise
            results.append(ConfigFailure(c, s, exc))
    return results


def _version() -> str:
    from . import __version__

    return __version__


__all__ = ["run_ceiling", "run_suite", "ConfigFailure", "release_cached_chains", "SEED_CONFIGS", "SEED_KERNELS",
           "DEFAULT_TESTS"]
