"""A compiled chain of kernels: compile once, check it, time any test any number of times.

    with anethru.Chain(768, 256, backend="cpu") as chain:
        chain.check()
        m = chain.measure(["sequential", "run_only"], iters=50, repeats=5)

Each ``measure`` is one native call: warm-up, then every timed block, in a shuffled order
(auto passes per block add a calibration call before it: anethru.measure.calibration).  The
chain's other jobs have their own files: chain_check (is the output right), chain_paths (eval
paths and program forms), fork_guard (chains across fork()).
"""

from __future__ import annotations

import random
import threading
import time
import warnings
from typing import Iterable, Mapping, Optional, Union

import numpy as np

from anethru.native import passes, tensors, validate
from anethru.native.lib import ffi, lib, new_status, raise_for
from anethru.native.validate import check_ane_eval, paths_to_set_up
from anethru.native.vocab import EVAL_PATHS
from anethru.native.backends import BackendInfo, resolve
from anethru.errors import AneShapeWarning, AnethruError, UnsupportedError
from anethru.native.programs import ane_shape_concern
from anethru.native.interrupts import sigint_stops_native_loops
from anethru.results.ceiling import ChainCheck
from anethru.native.vocab import TEST_IDS, TEST_NAMES
from anethru.measure import calibration, fork_guard
from anethru.measure.chain_check import check_chain
from anethru.measure.chain_paths import EvalPathsAndForms
from anethru.measure.schedule import Measurement, shuffled_schedule  # noqa: F401 (public here)


class Chain(EvalPathsAndForms):
    """``kernels`` compiled 1x1-conv kernels of ``channels`` x ``spatial`` on one backend.

    ``weights``: "identity" (the seed's), "random" (seeded by ``seed``), or your own fp16 array
    of shape (kernels, channels, channels), [kernel][out][in].

    Also compiles the whole chain as one unit when ``chained=True`` and the backend can (see
    :meth:`supports`).  Close it (or use ``with``) to free the native buffers; the object is
    safe to share between threads, one native call at a time.  It does not cross a fork(): in
    the child it raises AnethruError (open a new chain there).

    ``ane_eval``: how the ANE evaluates ("standard", "realtime", "direct", or "all" to set up
    every path and switch between them with :meth:`set_eval_path`); each non-standard path is
    probed with one eval right after compile.  Asking for one path that failed its probe raises
    UnsupportedError with the framework's message.  ``ane_realtime=True`` is the old spelling
    of ``ane_eval="realtime"``.

    ``cuda_memory`` (cuda backend only): "device" keeps each kernel's input and output in GPU
    memory, reached through pinned staging copies; "mapped" puts them in mapped pinned host
    memory that the kernels read and write directly (docs/cuda.md).  On cuda, ``cuda_kernel``
    names the conv kernel variant the chain runs and ``cuda_tuning`` how it was chosen.
    """

    def __init__(self, channels: int, spatial: int, *, kernels: int = 12, backend: str = "auto",
                 weights: Union[str, np.ndarray] = "identity", seed: int = 0,
                 chained: bool = True, ane_realtime: bool = False,
                 ane_eval: str = "standard", cuda_memory: str = "device") -> None:
        self._handle = None  # first, so __del__ of a half-built Chain has nothing to free
        self._opening = None  # where anethru_chain_open stores the chain (see close())
        self._lock = threading.Lock()
        self._inherited_from: Optional[int] = None  # the parent's pid, in a forked child
        self.channels, self.spatial, self.kernels = validate.check_sizes(channels, spatial, kernels)
        self.seed = validate.positive_int("seed", seed, minimum=0)
        chained = validate.flag("chained", chained)
        ane_realtime = validate.flag("ane_realtime", ane_realtime)
        if isinstance(weights, np.ndarray):
            self.weights_kind = "custom"
            self.weights = validate.check_weight_array(weights, self.channels, self.kernels)
        else:
            self.weights_kind = validate.check_weights(weights)
            self.weights = tensors.make_weights(self.weights_kind, self.channels, self.kernels,
                                                self.seed)
        self.ane_eval = check_ane_eval(ane_eval, ane_realtime)
        self.backend_info: BackendInfo = resolve(backend)
        self.backend = self.backend_info.name
        self.cuda_memory = validate.check_cuda_memory(cuda_memory, self.backend)
        self.options: tuple[str, ...] = \
            () if self.ane_eval == "standard" else (f"ane_eval={self.ane_eval}",)
        self.eval_path = "standard"
        # A shape public reports say the ANE refuses: warned now, named again if it fails.
        self.shape_concern = ane_shape_concern(self.spatial) if self.backend == "ane" else ""
        if self.shape_concern:
            warnings.warn(f"{self.label}: {self.shape_concern}; trying it anyway", AneShapeWarning,
                          stacklevel=2)
        handle = ffi.new("anethru_chain **")
        st = new_status()
        flags = 0
        for path in paths_to_set_up(self.ane_eval):
            flags |= getattr(lib, f"ANETHRU_OPT_ANE_{path.upper()}")
        if self.cuda_memory == "mapped":
            flags |= lib.ANETHRU_OPT_CUDA_MAPPED
        # Only cuda chains read the tuner's record (and take its lock).
        choices_before = lib.anethru_cuda_choices_made() if self.backend == "cuda" else 0
        t0 = time.perf_counter()
        # A Ctrl-C that lands after the native open returned, before _handle is set, must not
        # leak the chain: close() (and __del__) also free what the open stored here.
        self._opening = handle
        try:
            with sigint_stops_native_loops():   # Ctrl-C stops the compile between kernels
                rc = lib.anethru_chain_open(self.backend.encode(), self.channels, self.spatial,
                                            self.kernels,
                                            ffi.from_buffer("uint16_t[]", self.weights),
                                            flags, 1 if chained else 0, handle, st)
            self.compile_ms = (time.perf_counter() - t0) * 1e3
            raise_for(rc, st, f"compiling {self.label} on {self.backend}",
                          self._likely_cause(rc))
            self._handle = handle[0]
            self._opening = None
        except BaseException:
            self.close()
            raise
        fork_guard.opened(self)
        self.cuda_kernel: Optional[str] = None
        self.cuda_tuning: dict = {}
        if self.backend == "cuda":
            self._record_cuda_choice(choices_before)
        self.eval_clients: dict[str, str] = {}  # path -> the client it evaluates through
        if self.ane_eval in EVAL_PATHS and self.ane_eval != "standard":
            try:
                self.set_eval_path(self.ane_eval)
            except BaseException:
                self.close()
                raise

    def _likely_cause(self, rc: int) -> str:
        """For a failed compile or eval of a shape the ANE is reported to refuse: that report."""
        return self.shape_concern if rc in (lib.ANETHRU_E_COMPILE, lib.ANETHRU_E_EVAL) else ""

    def _record_cuda_choice(self, choices_before: int) -> None:
        """Which conv variant the cuda kernels run, and how it was chosen (into options)."""
        rec = ffi.new("anethru_cuda_choice *")
        if lib.anethru_cuda_kernel_choice(self.channels, self.spatial,
                                          int(self.cuda_memory == "mapped"), rec) != lib.ANETHRU_OK:
            return  # pragma: no cover - a compiled cuda chain always leaves its choice
        self.cuda_kernel = ffi.string(rec.kernel).decode()
        if rec.forced:
            how = "forced"
        elif rec.serial <= choices_before:
            how = "cached"  # tuned for an earlier chain of this shape in this process
        elif rec.tuning_ms == 0:
            how = "only"
        else:
            how = "tuned"
        spent = rec.tuning_ms if how == "tuned" else 0.0
        self.cuda_tuning = {"kernel": self.cuda_kernel, "how": how, "tuning_ms": spent,
                            "detail": ffi.string(rec.detail).decode("utf-8", "replace")}
        self.options += (f"cuda_memory={self.cuda_memory}", f"cuda_kernel={self.cuda_kernel}",
                         f"cuda_kernel_chosen={how}", f"cuda_tuning_ms={spent:.2f}")

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
            elif self._opening is not None and self._opening[0] != ffi.NULL:
                lib.anethru_chain_close(self._opening[0])  # opened, never stored: interrupted
            self._opening = None
        fork_guard.closed(self)

    def _disown(self, parent_pid: int) -> None:
        # In a forked child only (see fork_guard): the native chain is the parent's.
        self._lock = threading.Lock()
        self._opening = None
        if self._handle is not None:
            self._handle = None
            self._inherited_from = parent_pid

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
        state = ("inherited through fork, unusable" if self._inherited_from is not None
                 else "closed" if self.closed else "open")
        return f"<anethru.Chain {self.label} x{self.kernels} on {self.backend} ({state})>"

    def _live(self):
        if self._inherited_from is not None:
            raise AnethruError(
                f"{self!r} was opened in process {self._inherited_from} and this process "
                f"inherited it through fork(): a chain cannot be used across a fork (a run in "
                f"progress and the device's state stay with the parent); open a new Chain here")
        if self._handle is None:
            raise AnethruError(f"{self!r} is closed")
        return self._handle

    @property
    def clock_name(self) -> str:
        """The clock this chain's blocks are timed with (the virtual backend has its own)."""
        with self._lock:
            return ffi.string(lib.anethru_chain_clock_name(self._live())).decode()

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
        raise_for(rc, st, f"running {self.label} on {self.backend}", self._likely_cause(rc))
        return out

    def check(self, seed: Optional[int] = None) -> ChainCheck:
        """Run a random input through the chain (sequential, and chained where supported) and
        compare with the expected output; raise ChainCheckError on any mismatch."""
        seed = self.seed if seed is None else validate.positive_int("seed", seed, minimum=0)
        return check_chain(self, seed)

    # ------------------------------------------------------------------ timing
    def measure(self, tests: Iterable[str] | str | None = None, *,
                iters: Union[int, Mapping[str, int], None] = None,
                warmup: int = 5, repeats: int = 5, seed: Optional[int] = None,
                memcpy_iters: Optional[int] = None,
                max_block_ms: float = calibration.TARGET_BLOCK_MS, shuffle: bool = True,
                where: Optional[str] = None) -> Measurement:
        """Time ``tests``: ``warmup`` untimed passes each, then ``repeats`` blocks per test,
        interleaved in a seeded shuffled order (``seed=None`` draws one; it is recorded).
        ``shuffle=False`` runs each repeat in the order ``tests`` gives (for callers that
        shuffle themselves, as the rounds of ``run_ceiling`` do; ``where`` then names the round
        in a failure's message instead of "repeat i of n").

        ``iters`` passes per block, exactly, when given (an int for every test but memcpy_only,
        which runs ``memcpy_iters``, by default ten times as many; or a dict giving each test's).
        ``iters=None`` (auto) chooses them by run_ceiling's rule (anethru.measure.calibration):
        a calibration call does the warm-up and times one pass of each test, then each gets a
        block of about ``max_block_ms``, at most the seed's 50 (500 for memcpy_only), never
        fewer than 5 unless one pass alone is longer than ``max_block_ms``; a given
        ``memcpy_iters`` still fixes memcpy_only's.  The blocks are one native call (after the
        calibration's); the GIL is released throughout.  Ctrl-C in the main thread stops it
        before the next pass and raises KeyboardInterrupt; the chain stays usable.
        """
        names = validate.check_tests(tests)
        auto = iters is None
        given = None
        if isinstance(iters, Mapping):
            missing = [t for t in names if t not in iters]
            if missing:
                raise ValueError(f"iters has no entry for {', '.join(missing)}")
            given = {t: validate.positive_int(f"iters[{t!r}]", iters[t]) for t in names}
        elif not auto:
            iters = validate.positive_int("iters", iters)
        warmup = validate.positive_int("warmup", warmup, minimum=0)
        repeats = validate.positive_int("repeats", repeats)
        if memcpy_iters is not None:
            memcpy_iters = validate.positive_int("memcpy_iters", memcpy_iters)
        budget_ns = validate.block_budget_ns(max_block_ms)  # checked even when iters is exact
        for t in names:
            ok, why = self.supports(t)
            if not ok:
                raise UnsupportedError(f"{self.backend} cannot run the {t} test: {why}")
        if seed is None:
            seed = random.SystemRandom().randrange(2**31)
        seed = validate.positive_int("seed", seed, minimum=0)
        shuffle = validate.flag("shuffle", shuffle)
        schedule = shuffled_schedule(names, repeats, seed) if shuffle else list(names) * repeats
        if auto:
            per_test = calibration.calibrate(self, names, warmup, budget_ns / 1e6)
            if memcpy_iters is not None and "memcpy_only" in per_test:
                per_test["memcpy_only"] = memcpy_iters
            timed_warmup = 0   # the calibration call warmed every test up
        else:
            per_test = given or calibration.exact_passes(names, iters, memcpy_iters)
            timed_warmup = warmup
        iters_arr = ffi.new("int[]", [per_test.get(t, 1) for t in TEST_NAMES])
        sched_arr = ffi.new("int[]", [TEST_IDS[t] for t in schedule])
        block_ns = ffi.new("uint64_t[]", len(schedule))
        st = new_status()
        with self._lock, sigint_stops_native_loops():
            rc = lib.anethru_chain_measure(self._live(), sched_arr, len(schedule), iters_arr,
                                           timed_warmup, block_ns, st)
        if rc != lib.ANETHRU_OK and st.block >= 0:
            context = (f"measuring {self.label} on {self.backend}, "
                       + (where or f"repeat {st.block // len(names) + 1} of {repeats}"))
        else:
            context = f"measuring {self.label} on {self.backend}"
        raise_for(rc, st, context, self._likely_cause(rc))
        return Measurement(tuple(schedule), tuple(int(b) for b in block_ns),
                           {t: per_test[t] for t in names}, warmup, repeats, seed)

    def measure_passes(self, tests: Iterable[str], *, cpu_time: bool = False
                       ) -> tuple[list[int], Optional[list[int]]]:
        """One pass of each of ``tests``, in the order given, each timed alone in one native
        call: (ns per pass on the chain's clock, ns per pass of this thread's CPU time, or None
        without ``cpu_time``).  No warm-up: the caller's (see anethru.measure.pairs)."""
        names = [validate.check_tests([t])[0] for t in tests]  # in order, repeats kept
        if not names:
            raise ValueError("measure_passes needs at least one test")
        with self._lock, sigint_stops_native_loops():
            return passes.measure_passes(self._live(), names, cpu_time,
                                         f"measuring single passes of {self.label} on "
                                         f"{self.backend}")
