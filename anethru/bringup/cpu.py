"""The CPU backend's bring-up: the kernel variant this build and processor chose, a chain
compiled, one conv checked against numpy, and the whole chain's check."""

from __future__ import annotations

import numpy as np

from anethru.native import tensors
from anethru.native.lib import ffi, lib
from anethru.native.backends import probe
from anethru.measure.chain import Chain
from anethru.bringup.steps import Step, StepFailed

CHANNELS, SPATIAL = 64, 32


class Context:
    def __init__(self) -> None:
        self.chain: Chain | None = None

    def close(self) -> None:
        if self.chain is not None:
            self.chain.close()


def open_context() -> Context:
    return Context()


def _probe(ctx: Context) -> str:
    info = probe("cpu")
    if not info.available:
        raise StepFailed(info.reason)
    return info.device


def _variant(ctx: Context) -> str:
    variant = ffi.string(lib.anethru_cpu_kernel_variant()).decode()
    return f"{variant} (ANETHRU_CPU_KERNEL=portable forces the portable one)"


def _compile(ctx: Context) -> str:
    # Layer 0 random, layer 1 identity: the chain's output is exactly layer 0's conv.
    w = np.concatenate([tensors.make_weights("random", CHANNELS, 1, seed=1),
                        tensors.make_weights("identity", CHANNELS, 1)])
    ctx.chain = Chain(CHANNELS, SPATIAL, kernels=2, backend="cpu", weights=w)
    return f"2 kernels of {CHANNELS}x{SPATIAL} and the chained program in {ctx.chain.compile_ms:.1f} ms"


def _one_conv(ctx: Context) -> str:
    x = tensors.make_input(CHANNELS, SPATIAL, seed=2)
    y = ctx.chain.roundtrip(x).astype(np.float32)
    ref = (ctx.chain.weights[0].astype(np.float32) @ x.astype(np.float32)).astype(np.float16)
    err = float(np.max(np.abs(y - ref.astype(np.float32))))
    allowed = tensors.check_tolerance(1) * float(np.max(np.abs(ref.astype(np.float32))))
    if not err <= allowed:
        raise StepFailed(f"max |error| {err:.4g} against numpy's fp32 matmul, allowed {allowed:.4g}")
    return f"max |error| {err:.3g} against numpy's fp32 matmul (allowed {allowed:.3g})"


def _chain_check(ctx: Context) -> str:
    c = ctx.chain.check()
    return f"{' and '.join(c.tests)} within tolerance of numpy (max |error| {c.max_abs_error:.3g})"


def steps() -> list[Step]:
    return [Step("probe", _probe),
            Step("kernel variant", _variant, needs=("probe",)),
            Step("compile", _compile, needs=("probe",)),
            Step("one conv vs numpy", _one_conv, needs=("compile",)),
            Step("chain check", _chain_check, needs=("compile",))]
