"""The CUDA backend's bring-up, step by step, through the native entry points of
csrc/cuda/cuda_bringup.c: the same code the backend loads the driver with (csrc/cuda/cuda_driver.c)
and compiles and runs its kernels with (csrc/cuda/cuda_chain.c), one call per step, on a session
of its own.

Order and dependencies: the driver library (its file and version), every entry point, cuInit,
device 0 and its compute capability, its primary context, the base PTX module (sm_75: the
kernels the backend needs), then the sm_80 module (cp.async variants; on an older GPU it says so
and passes, as the backend runs without it), the backend's kernel buffers and one launch of the
FMA conv, the conv variant the tuner picks for CHANNELS x SPATIAL, the chain of LAYERS launches
of that variant captured into a CUDA graph and launched, and the identity chain's output checked
bit for bit: so a variant that computes wrong fails here.  Last, the backend itself: an identity
chain compiled through it (its process-wide driver, its sequential and chained paths) and checked
bit for bit, so the doctor cannot pass where a measurement would fail.
"""

from __future__ import annotations

from anethru.bringup.steps import NativeSession, Step, StepFailed, native_step
from anethru.errors import AnethruError
from anethru.measure.chain import Chain
from anethru.native.backends import probe
from anethru.native.lib import lib

CHANNELS, SPATIAL, LAYERS = 64, 32, 12
SIMULATED = "SIMULATED (fake CUDA driver, no GPU): "   # csrc/cuda/cuda_bringup.c says it so too


def open_context() -> NativeSession:
    # 2 KiB of message: the conv variant's step lists every candidate.
    return NativeSession("cuda", CHANNELS, SPATIAL, LAYERS, message_size=2048)


def modules() -> list[tuple[int, str]]:
    """(index, step name) of each embedded PTX module, base first."""
    return [(i, f"PTX sm_{lib.anethru_cuda_module_sm(i)}") for i in range(lib.anethru_cuda_module_count())]


def steps() -> list[Step]:
    (_, base), *others = modules()
    out = [Step("driver library", native_step(lib.ANETHRU_CUDA_STEP_LIBRARY)),
           Step("entry points", native_step(lib.ANETHRU_CUDA_STEP_ENTRY_POINTS), needs=("driver library",)),
           Step("cuInit", native_step(lib.ANETHRU_CUDA_STEP_INIT), needs=("entry points",)),
           Step("device", native_step(lib.ANETHRU_CUDA_STEP_DEVICE), needs=("cuInit",)),
           Step("context", native_step(lib.ANETHRU_CUDA_STEP_CONTEXT), needs=("device",)),
           Step(base, native_step(lib.ANETHRU_CUDA_STEP_MODULE, 0), needs=("context",))]
    # The other modules hold optional variants: nothing but the variant choice uses them.
    out += [Step(name, native_step(lib.ANETHRU_CUDA_STEP_MODULE, i), needs=(base,)) for i, name in others]
    # The graph runs the variant the tuner picked, as the backend's chained kernel does.
    out += [Step("launch", native_step(lib.ANETHRU_CUDA_STEP_LAUNCH), needs=(base,)),
            Step("conv variant", native_step(lib.ANETHRU_CUDA_STEP_VARIANT), needs=("launch",)),
            Step("graph", native_step(lib.ANETHRU_CUDA_STEP_GRAPH), needs=("conv variant",)),
            Step("identity", native_step(lib.ANETHRU_CUDA_STEP_IDENTITY), needs=("graph",)),
            Step("backend chain", backend_chain, needs=("identity",))]
    return out


def backend_chain(session: NativeSession) -> str:
    """The backend's own path: compile, the tuned variant, its graph, and the chain's check."""
    # Said as the native steps say it: nothing that ran on the fake driver ran on a GPU.
    said = SIMULATED if probe("cuda").simulated else ""
    try:
        with Chain(CHANNELS, SPATIAL, kernels=LAYERS, backend="cuda") as chain:
            checked = chain.check()
            return (f"{said}{LAYERS} kernels compiled by the backend with {chain.cuda_kernel}: "
                    f"{' and '.join(checked.tests)} output == input, bit for bit")
    except AnethruError as exc:
        raise StepFailed(f"{said}the backend's chain failed: {exc}") from None


__all__ = ["steps", "open_context", "modules", "CHANNELS", "SPATIAL", "LAYERS"]
