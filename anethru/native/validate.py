"""Argument checks that name the bad value, before anything native is allocated."""

from __future__ import annotations

import itertools
import math
import numbers
import operator
import os
import sys
import warnings
from typing import Iterable

import numpy as np

from anethru.native.vocab import DEFAULT_TESTS, EVAL_CHOICES, EVAL_PATHS, TEST_NAMES
from anethru.native.tensors import WEIGHT_KINDS

INT32_MAX = 2**31 - 1
MAX_BLOCK_NS = 2**63 - 1
# Rows per packed fp32 weight panel of the CPU kernels: CPU_CONV_PANEL in csrc/cpu/cpu_conv.h.
CPU_CONV_PANEL = 6
# malloc bookkeeping and the small structs of one compiled kernel, generously.
KERNEL_OVERHEAD_BYTES = 512


def positive_int(name: str, value: object, minimum: int = 1) -> int:
    """``value`` as a Python int: any integral type (``operator.index``: int, numpy integers),
    never a bool (an int subclass, but True as a size is always a mistake) or a float."""
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be an integer; got {value!r} ({type(value).__name__})")
    try:
        value = operator.index(value)
    except TypeError:
        raise TypeError(f"{name} must be an integer; got {value!r} ({type(value).__name__})") from None
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}; got {value}")
    if value > INT32_MAX:
        raise ValueError(f"{name} must be <= {INT32_MAX}; got {value}")
    return value


def integer(name: str, value: object) -> int:
    """Any integral value (numpy's too), never a bool or a float, as a Python int."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer; got {value!r} ({type(value).__name__})")
    return int(value)


def items(name: str, values: object, limit: int, what: str = "configurations") -> list:
    """The items of an iterable argument, refusing more than ``limit`` before reading them all
    (a generator may never end), and a str or bytes (whose items are characters or bytes:
    b"8" would be the size 56)."""
    if isinstance(values, (str, bytes, bytearray)) or not hasattr(values, "__iter__"):
        raise TypeError(f"{name} must be a list; got {values!r} ({type(values).__name__})")
    out = list(itertools.islice(values, limit + 1))
    if len(out) > limit:
        raise ValueError(f"{name} has more than {limit} entries; at most {limit} {what}")
    return out


def integers(name: str, values: object, limit: int) -> list[int]:
    return [integer(f"{name}[{i}]", v) for i, v in enumerate(items(name, values, limit))]


def pair(name: str, value: object) -> tuple[int, int]:
    """A (channels, spatial) configuration; anything else is a TypeError naming it (a bare
    integer gets a hint: run_suite([64, 32]) means one configuration, written [(64, 32)])."""
    if isinstance(value, (str, bytes, bytearray)) or not hasattr(value, "__iter__"):
        two: list = []
    else:
        two = list(itertools.islice(value, 3))
    if len(two) != 2:
        hint = (f"; for one configuration write [({value}, ...)], a list of pairs"
                if isinstance(value, numbers.Integral) and not isinstance(value, bool) else "")
        raise TypeError(f"{name} must be a (channels, spatial) pair; got {value!r}{hint}")
    return integer(f"{name}[0]", two[0]), integer(f"{name}[1]", two[1])


def pairs(name: str, values: object, limit: int) -> list[tuple[int, int]]:
    if isinstance(values, (str, bytes, bytearray)) or not hasattr(values, "__iter__"):
        raise TypeError(f"{name} must be a list of (channels, spatial) pairs; got {values!r}")
    return [pair(f"{name}[{i}]", v) for i, v in enumerate(items(name, values, limit))]


def callback(name: str, value: object) -> object:
    """None or something to call (progress): a wrong value fails now, not at the first line."""
    if value is not None and not callable(value):
        raise TypeError(f"{name} must be a function taking one line of text, or None; got "
                        f"{value!r} ({type(value).__name__})")
    return value


def flag(name: str, value: object) -> bool:
    """A yes/no argument: True or False (numpy's too), not any object that happens to be truthy."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False; got {value!r} ({type(value).__name__})")
    return bool(value)


def block_budget_ns(max_block_ms: object) -> int:
    """measure()'s max_block_ms as whole nanoseconds, the clock's unit, for the passes-per-block
    rule: at least 1 ns and at most what the native clock's uint64 holds, so neither end
    silently changes meaning."""
    if isinstance(max_block_ms, (bool, np.bool_)) or not isinstance(max_block_ms, numbers.Real):
        raise TypeError(f"max_block_ms must be a number of milliseconds; got {max_block_ms!r} "
                        f"({type(max_block_ms).__name__})")
    ms = float(max_block_ms)
    if not ms > 0:
        raise ValueError(f"max_block_ms must be a positive number; got {max_block_ms!r}")
    if not math.isfinite(ms) or ms * 1e6 > MAX_BLOCK_NS:
        raise ValueError(f"max_block_ms must be finite and at most {MAX_BLOCK_NS / 1e6:.0f} "
                         f"(about 292 years); got {max_block_ms!r}")
    ns = int(ms * 1e6)
    if ns < 1:
        raise ValueError(f"max_block_ms must be at least 1e-06 (1 ns, the clock's unit); got "
                         f"{max_block_ms!r}")
    return ns


def _page_size() -> int:
    try:
        return max(int(os.sysconf("SC_PAGE_SIZE")), 1)
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        return 4096


def _physical_memory() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        return sys.maxsize


# Linux's estimate of the memory a new allocation can have without swapping (MemAvailable).
MEMINFO = "/proc/meminfo"


def _available_memory() -> int:
    """Memory a new chain can have now: MemAvailable where the kernel says it (free memory plus
    the cache it can drop), never more than the physical total; the total elsewhere."""
    total = _physical_memory()
    try:
        with open(MEMINFO, encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return min(total, int(line.split()[1]) * 1024)
    except (OSError, ValueError, IndexError):
        pass
    return total


def chain_bytes(channels: int, spatial: int, kernels: int) -> int:
    """Host memory a chain really takes, counted as the backends allocate it (erring high).

    Every kernel owns an input and an output buffer, each page-aligned and so a whole number of
    pages however small the tensor (a 1x1 chain costs about 8 KB a kernel, not 4 bytes), its
    weights packed as fp32 panels and an fp32 workspace of the tensor; the chained kernel
    holds every layer's panels and two more buffers; Python keeps the fp16 weights (and briefly
    fp32 ones while drawing random weights).
    """
    page = _page_size()
    buffer = -(-max(channels * spatial * 2, 1) // page) * page
    panels = -(-channels // CPU_CONV_PANEL) * CPU_CONV_PANEL * channels * 4
    workspace = (channels * spatial + spatial) * 4
    one_kernel = 2 * buffer + panels + workspace + KERNEL_OVERHEAD_BYTES
    chained = 4 * buffer + kernels * panels + workspace + KERNEL_OVERHEAD_BYTES
    python_weights = kernels * channels * channels * (2 + 4)
    return kernels * one_kernel + chained + python_weights


def check_sizes(channels: object, spatial: object, kernels: object) -> tuple[int, int, int]:
    c = positive_int("channels", channels)
    s = positive_int("spatial", spatial)
    k = positive_int("kernels", kernels, minimum=2)
    tensor = c * s * 2
    if tensor > sys.maxsize:
        raise ValueError(f"a {c}x{s} fp16 tensor ({tensor} bytes) overflows size_t")
    need, have = chain_bytes(c, s, k), _available_memory()
    if need > have:
        raise MemoryError(f"a chain of {k} kernels at {c}x{s} needs about {need / 2**30:.1f} GiB; "
                          f"this machine has {have / 2**30:.1f} GiB available now (of "
                          f"{_physical_memory() / 2**30:.1f} GiB) (channels={c}, spatial={s})")
    return c, s, k


def check_tests(tests: Iterable[str] | str | None) -> tuple[str, ...]:
    if tests is None:
        return DEFAULT_TESTS
    if isinstance(tests, str):
        tests = [tests]
    out: list[str] = []
    for t in items("tests", tests, 100, "tests"):
        if not isinstance(t, str) or t not in TEST_NAMES:
            raise ValueError(f"unknown test {t!r}; choose from {', '.join(TEST_NAMES)}")
        if t not in out:
            out.append(t)
    if not out:
        raise ValueError("tests is empty; choose from " + ", ".join(TEST_NAMES))
    return tuple(out)


def check_weight_array(weights: np.ndarray, channels: int, kernels: int) -> np.ndarray:
    """The weights as the kernels will hold them (contiguous fp16), checked after conversion:
    1e5 is finite as float32 but inf as fp16, and a chain of it computes inf and NaN."""
    want = (kernels, channels, channels)
    if weights.shape != want:
        raise ValueError(f"weights array has shape {weights.shape}; need (kernels, channels, "
                         f"channels) = {want}")
    if weights.dtype.kind not in "fiu":
        raise TypeError(f"weights array must hold real numbers; got dtype {weights.dtype}")
    with np.errstate(over="ignore", invalid="ignore"):
        fp16 = np.ascontiguousarray(weights, dtype=np.float16)
    bad = np.argwhere(~np.isfinite(fp16))
    if len(bad):
        at = tuple(int(i) for i in bad[0])
        raise ValueError(f"weights array holds {len(bad)} value(s) that are inf or NaN as fp16 "
                         f"(the largest fp16 is 65504); the first, at [kernel, out, in] = {at}, "
                         f"is {weights[at].item()!r}")
    lost = np.argwhere((fp16 == 0) & (weights != 0))
    if len(lost):
        at = tuple(int(i) for i in lost[0])
        warnings.warn(f"weights array holds {len(lost)} nonzero value(s) that are 0 as fp16 (the "
                      f"smallest fp16 is about 6e-08); the first, at [kernel, out, in] = {at}, is "
                      f"{weights[at].item()!r}", Fp16UnderflowWarning, stacklevel=3)
    return fp16


class Fp16UnderflowWarning(UserWarning):
    """Custom weights that underflow to 0 in fp16: the chain computes something else."""


CUDA_MEMORY_MODES = ("device", "mapped")


def check_cuda_memory(mode: object, backend: str) -> str:
    """``cuda_memory``: "device" (default) or "mapped"; "mapped" only means something on cuda."""
    if not isinstance(mode, str) or mode not in CUDA_MEMORY_MODES:
        raise ValueError(f"cuda_memory must be one of {', '.join(CUDA_MEMORY_MODES)}; got {mode!r}")
    if mode != "device" and backend != "cuda":
        raise ValueError(f"cuda_memory={mode!r} needs the cuda backend; this chain runs on "
                         f"{backend!r}")
    return mode


def check_weights(weights: object) -> str:
    """A weights kind by name; arrays are for Chain alone (run_ceiling and run_suite reuse and
    report chains by configuration, which an array of one shape cannot follow)."""
    if isinstance(weights, np.ndarray):
        raise TypeError("run_ceiling and run_suite take weights='identity' or 'random'; an array "
                        "of your own weights goes to anethru.Chain(..., weights=array)")
    if not isinstance(weights, str) or weights not in WEIGHT_KINDS:
        raise ValueError(f"weights must be one of {', '.join(WEIGHT_KINDS)}; got {weights!r}")
    return str(weights)


def check_ane_eval(ane_eval: object, ane_realtime: object = False) -> str:
    """The eval choice, with ``ane_realtime=True`` read as its old alias for "realtime"."""
    if ane_eval not in EVAL_CHOICES:
        raise ValueError(f"ane_eval must be one of {', '.join(EVAL_CHOICES)}; got {ane_eval!r}")
    if flag("ane_realtime", ane_realtime):
        if ane_eval not in ("standard", "realtime"):
            raise ValueError(f"ane_realtime=True means ane_eval='realtime'; it contradicts "
                             f"ane_eval={ane_eval!r}")
        return "realtime"
    return str(ane_eval)


def paths_to_set_up(ane_eval: str) -> tuple[str, ...]:
    """The non-standard paths a chain must set up (and probe) when it is compiled."""
    if ane_eval == "all":
        return EVAL_PATHS[1:]
    return () if ane_eval == "standard" else (ane_eval,)
