"""Argument checks that name the bad value, before anything native is allocated."""

from __future__ import annotations

import os
import sys
from typing import Iterable

import numpy as np

from .testnames import DEFAULT_TESTS, TEST_NAMES
from .tensors import WEIGHT_KINDS

INT32_MAX = 2**31 - 1


def positive_int(name: str, value: object, minimum: int = 1) -> int:
    # bool is an int subclass; True as a size is always a mistake.
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an integer; got {value!r} ({type(value).__name__})")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}; got {value}")
    if value > INT32_MAX:
        raise ValueError(f"{name} must be <= {INT32_MAX}; got {value}")
    return value


def _physical_memory() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        return sys.maxsize


def chain_bytes(channels: int, spatial: int, kernels: int) -> int:
    """Memory a chain needs: fp16 weights and input/output buffers per kernel, for the
    separate kernels and the chained one, plus fp32 working copies."""
    tensor = channels * spatial * 2
    weights = channels * channels * 2
    return 2 * kernels * (weights * 3 + tensor * 4)


def check_sizes(channels: object, spatial: object, kernels: object) -> tuple[int, int, int]:
    c = positive_int("channels", channels)
    s = positive_int("spatial", spatial)
    k = positive_int("kernels", kernels, minimum=2)
    tensor = c * s * 2
    if tensor > sys.maxsize:
        raise ValueError(f"a {c}x{s} fp16 tensor ({tensor} bytes) overflows size_t")
    need, have = chain_bytes(c, s, k), _physical_memory()
    if need > have:
        raise MemoryError(f"a chain of {k} kernels at {c}x{s} needs about {need / 2**30:.1f} GiB; "
                          f"this machine has {have / 2**30:.1f} GiB (channels={c}, spatial={s})")
    return c, s, k


def check_tests(tests: Iterable[str] | str | None) -> tuple[str, ...]:
    if tests is None:
        return DEFAULT_TESTS
    if isinstance(tests, str):
        tests = [tests]
    out: list[str] = []
    for t in tests:
        if t not in TEST_NAMES:
            raise ValueError(f"unknown test {t!r}; choose from {', '.join(TEST_NAMES)}")
        if t not in out:
            out.append(t)
    if not out:
        raise ValueError("tests is empty; choose from " + ", ".join(TEST_NAMES))
    return tuple(out)


def check_weight_array(weights: np.ndarray, channels: int, kernels: int) -> np.ndarray:
    want = (kernels, channels, channels)
    if weights.shape != want:
        raise ValueError(f"weights array has shape {weights.shape}; need (kernels, channels, "
                         f"channels) = {want}")
    if not np.all(np.isfinite(weights.astype(np.float32))):
        raise ValueError("weights array holds inf or NaN")
    return np.ascontiguousarray(weights, dtype=np.float16)


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
    if weights not in WEIGHT_KINDS:
        raise ValueError(f"weights must be one of {', '.join(WEIGHT_KINDS)}; got {weights!r}")
    return str(weights)
