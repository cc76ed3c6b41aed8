"""The CUDA backend's bring-up, as far as the public API reaches: the probe (driver library,
entry points, cuInit, a device, the PTX; its message says which failed), the device, a chain
compiled (context, module, and the chained program's graph captured), one launch, one graph
launch, and the numbers.

Finer steps (each driver entry point, cuInit, the context and the PTX load on their own) need
native entry points in csrc/cuda_*.c, like the ANE's csrc/ane_bringup.m; they belong with the
CUDA backend's own work and slot in here as more Steps.
"""

from __future__ import annotations

import numpy as np

from .. import tensors
from ..backends import probe
from ..chain import Chain
from .steps import Step, StepFailed

CHANNELS, SPATIAL = 64, 32


class Context:
    def __init__(self) -> None:
        self.chain: Chain | None = None
        self.random: Chain | None = None

    def close(self) -> None:
        for c in (self.chain, self.random):
            if c is not None:
                c.close()


def open_context() -> Context:
    return Context()


def _driver(ctx: Context) -> str:
    info = probe("cuda")
    if not info.available:
        raise StepFailed(info.reason)
    return "driver loaded, cuInit succeeded, a device and the PTX accepted"


def _device(ctx: Context) -> str:
    return probe("cuda").device


def _compile(ctx: Context) -> str:
    ctx.chain = Chain(CHANNELS, SPATIAL, kernels=2, backend="cuda")
    why = ctx.chain.supports("chained")[1]
    tuning = ctx.chain.cuda_tuning
    variant = f"; conv variant {tuning['kernel']} ({tuning['how']})" if tuning else ""
    return f"2 kernels of {CHANNELS}x{SPATIAL} in {ctx.chain.compile_ms:.1f} ms" + \
        (f"; no chained program: {why}" if why else " and the chained program (a CUDA graph)") + \
        variant


def _identity(ctx: Context, test: str) -> str:
    supported, why = ctx.chain.supports(test)
    if not supported:
        raise StepFailed(why)
    x = tensors.make_input(CHANNELS, SPATIAL, seed=3)
    y = ctx.chain.roundtrip(x, test)
    bad = int(np.count_nonzero(y.view(np.uint16) != x.view(np.uint16)))
    if bad:
        raise StepFailed(f"identity weights: {bad} of {x.size} values differ from the input")
    return "identity weights: output == input, bit for bit"


def _numbers(ctx: Context) -> str:
    ctx.random = Chain(CHANNELS, SPATIAL, kernels=2, backend="cuda", weights="random", seed=4)
    c = ctx.random.check()
    return f"{' and '.join(c.tests)} within tolerance of numpy (max |error| {c.max_abs_error:.3g})"


def steps() -> list[Step]:
    return [Step("driver and device", _driver),
            Step("device", _device, needs=("driver and device",)),
            Step("compile", _compile, needs=("driver and device",)),
            Step("one launch", lambda ctx: _identity(ctx, "sequential"), needs=("compile",)),
            Step("graph launch", lambda ctx: _identity(ctx, "chained"), needs=("compile",)),
            Step("random weights vs numpy", _numbers, needs=("one launch",))]
