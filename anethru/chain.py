"""A compiled chain of kernels: compile once, check it, time any test any number of times.

    with anethru.Chain(768, 256, backend="cpu") as chain:
        chain.check()
        m = chain.measure(["sequential", "run_only"], iters=50, repeats=5)

Each ``measure`` is one native call: warm-up, then every timed block, in a shuffled order.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass
from typing import Iterable, Mapping, Optional, Union

import numpy as np

from . import tensors, validate
from ._lib import ffi, lib, new_status, raise_for
from .backends import BackendInfo, resolve
from .errors import AnethruError, ChainCheckError, UnsupportedError
from .interrupts import sigint_stops_native_loops
from .result import ChainCheck, TestResult
from .testnames import TEST_IDS, TEST_NAMES, units

# memcpy_only passes are ~100x cheaper than eval passes: the seed ran 10x more of them so that
# each timed block stays well above the clock's resolution.
MEMCPY_ITERS_FACTOR = 10
SEED_ITERS = 50
# Auto iters: the longest a timed block should last (a 768x256 pass on the CPU backend takes
# ~45 ms; the seed's 50 passes x 5 repeats x 5 tests would take a minute per configuration).
AUTO_MAX_BLOCK_MS = 200.0


@dataclass(frozen=True)
class Measurement:
    """Raw output of one measure call: which test each block ran, and its total in ns."""

    schedule: tuple[str, ...]
    block_ns: tuple[int, ...]
    iters: dict[str, int]
    warmup: int
    repeats: int
    seed: int

    def results(self, kernels: int) -> dict[str, TestResult]:
        """Per-test results, blocks kept in repeat order."""
        out = {}
        for name in TEST_NAMES:
            blocks = tuple(ns for t, ns in zip(self.schedule, self.block_ns) if t == name)
            if blocks:
                unit, n = units(name, kernels)
                out[name] = TestResult(name, unit, n, self.iters[name], blocks)
        return out


def shuffled_schedule(tests: Iterable[str], repeats: int, seed: int) -> list[str]:
    """Each repeat runs every test once, in its own seeded random order, so no test is always
    first or last (fixed order is how the seed got a negative overhead)."""
    rng = random.Random(seed)
    schedule: list[str] = []
    for _ in range(repeats):
        block = list(tests)
        rng.shuffle(block)
        schedule += block
    return schedule


class Chain:
    """``kernels`` compiled 1x1-conv kernels of ``channels`` x ``spatial`` on one backend.

    ``weights``: "identity" (the seed's), "random" (seeded by ``seed``), or your own fp16 array
    of shape (kernels, channels, channels), [kernel][out][in].

    Also compiles the whole chain as one unit when ``chained=True`` and the backend can (see
    :meth:`supports`).  Close it (or use ``with``) to free the native buffers; the object is
    safe to share between threads, one native call at a time.
    """

    def __init__(self, channels: int, spatial: int, *, kernels: int = 12, backend: str = "auto",
                 weights: Union[str, np.ndarray] = "identity", seed: int = 0,
                 chained: bool = True, ane_realtime: bool = False) -> None:
        self._handle = None  # first, so __del__ of a half-built Chain has nothing to free
        self._lock = threading.Lock()
        self.channels, self.spatial, self.kernels = validate.check_sizes(channels, spatial, kernels)
        self.seed = validate.positive_int("seed", seed, minimum=0)
        if isinstance(weights, np.ndarray):
            self.weights_kind = "custom"
            self.weights = validate.check_weight_array(weights, self.channels, self.kernels)
        else:
            self.weights_kind = validate.check_weights(weights)
            self.weights = tensors.make_weights(self.weights_kind, self.channels, self.kernels,
                                                self.seed)
        self.backend_info: BackendInfo = resolve(backend)
        self.backend = self.backend_info.name
        self.options = ("ane_realtime",) if ane_realtime else ()
        handle = ffi.new("anethru_chain **")
        st = new_status()
        flags = lib.ANETHRU_OPT_ANE_REALTIME if ane_realtime else 0
        t0 = time.perf_counter()
        rc = lib.anethru_chain_open(self.backend.encode(), self.channels, self.spatial,
                                    self.kernels, ffi.from_buffer("uint16_t[]", self.weights),
                                    flags, 1 if chained else 0, handle, st)
        self.compile_ms = (time.perf_counter() - t0) * 1e3
        raise_for(rc, st, f"compiling {self.label} on {self.backend}")
        self._handle = handle[0]

    # ------------------------------------------------------------------ lifetime
    @property
    def label(self) -> str:
        return f"{self.channels}x{self.spatial}"

    @property
    def closed(self) -> bool:
        return self._handle is None

    def close(self) -> None:
        with self._lock:
            if self._handle is not None:
                lib.anethru_chain_close(self._handle)
                self._handle = None

    def __enter__(self) -> "Chain":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:  # a forgotten chain still frees its native buffers
        try:
            self.close()
        except Exception:  # pragma: no cover - interpreter shutdown tears modules down first
            pass

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"<anethru.Chain {self.label} x{self.kernels} on {self.backend} ({state})>"

    def _live(self):
        if self._handle is None:
            raise AnethruError(f"{self!r} is closed")
        return self._handle

    # ------------------------------------------------------------------ capabilities
    def supports(self, test: str) -> tuple[bool, str]:
        """Whether ``test`` can run on this chain, and if not, why."""
        (test,) = validate.check_tests([test])
        why = ffi.new("char[]", 512)
        with self._lock:
            ok = lib.anethru_chain_supports(self._live(), TEST_IDS[test], why, len(why))
        return bool(ok), "" if ok else ffi.string(why).decode("utf-8", "replace")

    # ------------------------------------------------------------------ data through the chain
    def roundtrip(self, x: np.ndarray, test: str = "sequential") -> np.ndarray:
        """Write ``x`` (fp16 [C, S]) into the first kernel, run one pass of ``test``
        ("sequential" or "chained"), and return the last kernel's output."""
        x = np.ascontiguousarray(x, dtype=np.float16)
        if x.shape != (self.channels, self.spatial):
            raise ValueError(f"input shape {x.shape} does not match the chain's "
                             f"{(self.channels, self.spatial)}")
        (test,) = validate.check_tests([test])
        out = np.empty_like(x)
        st = new_status()
        with self._lock:
            rc = lib.anethru_chain_roundtrip(self._live(), TEST_IDS[test],
                                             ffi.from_buffer("uint16_t[]", x),
                                             ffi.from_buffer("uint16_t[]", out), st)
        raise_for(rc, st, f"running {self.label} on {self.backend}")
        return out

    def check(self, seed: Optional[int] = None) -> ChainCheck:
        """Run a random input through the chain (sequential, and chained where supported) and
        compare with the expected output; raise ChainCheckError on any mismatch."""
        x = tensors.make_input(self.channels, self.spatial, self.seed if seed is None else seed)
        exact = self.weights_kind == "identity"
        expected = x if exact else tensors.reference_chain(self.weights, x)
        tolerance = 0.0 if exact else tensors.check_tolerance(self.kernels)
        scale = float(np.max(np.abs(expected.astype(np.float32)))) or 1.0
        checked, worst = [], 0.0
        for test in ("sequential", "chained"):
            if test == "chained" and not self.supports("chained")[0]:
                continue
            y = self.roundtrip(x, test)
            err = float(np.max(np.abs(y.astype(np.float32) - expected.astype(np.float32))))
            worst = max(worst, err)
            checked.append(test)
            bad = not np.array_equal(y.view(np.uint16), expected.view(np.uint16)) if exact \
                else not (np.all(np.isfinite(y)) and err <= tolerance * scale)
            if bad:
                where = np.argwhere(y != expected)
                first = tuple(int(i) for i in where[0]) if len(where) else ()
                raise ChainCheckError(
                    f"{self.label} on {self.backend}: the {test} chain's output is wrong "
                    f"(weights={self.weights_kind}, max |error| {err:.4g}, "
                    f"allowed {tolerance * scale:.4g}; first mismatch at [c, s] = {first})")
        return ChainCheck(self.weights_kind, tuple(checked), exact, worst, tolerance, True)

    # ------------------------------------------------------------------ timing
    def measure(self, tests: Iterable[str] | str | None = None, *,
                iters: Union[int, Mapping[str, int], None] = None,
                warmup: int = 5, repeats: int = 5, seed: Optional[int] = None,
                memcpy_iters: Optional[int] = None,
                max_block_ms: float = AUTO_MAX_BLOCK_MS, shuffle: bool = True,
                where: Optional[str] = None) -> Measurement:
        """Time ``tests``: ``warmup`` untimed passes each, then ``repeats`` blocks per test,
        interleaved in a seeded shuffled order (``seed=None`` draws one; it is recorded).
        ``shuffle=False`` runs each repeat in the order ``tests`` gives (for callers that
        shuffle themselves, as the rounds of ``run_ceiling`` do; ``where`` then names the round
        in a failure's message instead of "repeat i of n").

        ``iters`` passes per block, exactly, when given (an int for every test but memcpy_only,
        which runs ``memcpy_iters``; or a dict giving each test's).  ``iters=None`` (auto) runs
        the seed's 50 passes (500 for memcpy_only), fewer where the warm-up shows a block would
        last longer than ``max_block_ms``, so slow backends finish in reasonable time.  One native
        call; the GIL is released throughout.  Ctrl-C in the main thread stops it before the
        next pass and raises KeyboardInterrupt; the chain stays usable.
        """
        names = validate.check_tests(tests)
        auto = iters is None
        given = None
        if isinstance(iters, Mapping):
            missing = [t for t in names if t not in iters]
            if missing:
                raise ValueError(f"iters has no entry for {', '.join(missing)}")
            given = {t: validate.positive_int(f"iters[{t!r}]", iters[t]) for t in names}
            iters = SEED_ITERS
        iters = validate.positive_int("iters", SEED_ITERS if auto else iters)
        warmup = validate.positive_int("warmup", warmup, minimum=0)
        repeats = validate.positive_int("repeats", repeats)
        if memcpy_iters is None:
            memcpy_iters = min(iters * MEMCPY_ITERS_FACTOR, validate.INT32_MAX)
        memcpy_iters = validate.positive_int("memcpy_iters", memcpy_iters)
        if isinstance(max_block_ms, bool) or not isinstance(max_block_ms, (int, float)) \
                or not max_block_ms > 0:
            raise ValueError(f"max_block_ms must be a positive number; got {max_block_ms!r}")
        for t in names:
            ok, why = self.supports(t)
            if not ok:
                raise UnsupportedError(f"{self.backend} cannot run the {t} test: {why}")
        if seed is None:
            seed = random.SystemRandom().randrange(2**31)
        seed = validate.positive_int("seed", seed, minimum=0)
        schedule = shuffled_schedule(names, repeats, seed) if shuffle else list(names) * repeats
        per_test = given or {t: (memcpy_iters if t == "memcpy_only" else iters) for t in names}
        iters_arr = ffi.new("int[]", [per_test.get(t, 1) for t in TEST_NAMES])
        sched_arr = ffi.new("int[]", [TEST_IDS[t] for t in schedule])
        block_ns = ffi.new("uint64_t[]", len(schedule))
        budget_ns = int(max_block_ms * 1e6) if auto else 0
        st = new_status()
        with self._lock, sigint_stops_native_loops():
            rc = lib.anethru_chain_measure(self._live(), sched_arr, len(schedule), iters_arr,
                                           warmup, budget_ns, block_ns, st)
        if rc != lib.ANETHRU_OK and st.block >= 0:
            context = (f"measuring {self.label} on {self.backend}, "
                       + (where or f"repeat {st.block // len(names) + 1} of {repeats}"))
        else:
            context = f"measuring {self.label} on {self.backend}"
        raise_for(rc, st, context)
        used = {t: int(iters_arr[TEST_IDS[t]]) for t in names}
        return Measurement(tuple(schedule), tuple(int(b) for b in block_ns), used, warmup,
                           repeats, seed)
