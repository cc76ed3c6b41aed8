"""The CUDA backend's bring-up, step by step, through the native entry points of
csrc/cuda_bringup.c: the same code the backend loads the driver with (csrc/cuda_driver.c), one
call per step, on a session of its own.

Order and dependencies: the driver library (its file and version), every entry point, cuInit,
device 0 and its compute capability, its primary context, the base PTX module (sm_75: the
kernels the backend needs), then the sm_80 module (cp.async variants; on an older GPU it says so
and passes, as the backend runs without it), one launch of the conv kernel, the chain of
LAYERS launches captured into a CUDA graph and launched, the identity chain's output checked
bit for bit, and the conv variant the tuner picks for CHANNELS x SPATIAL.
"""

from __future__ import annotations

from .._lib import ffi, lib
from .steps import Step, StepFailed

CHANNELS, SPATIAL, LAYERS = 64, 32, 12


class Session:
    """The native session the steps share; closing it undoes everything they made."""

    def __init__(self) -> None:
        self.handle = lib.anethru_cuda_bringup_open(CHANNELS, SPATIAL, LAYERS)
        if self.handle == ffi.NULL:
            raise MemoryError("cannot open a CUDA bring-up session")

    def step(self, step: int, arg: int = 0) -> str:
        msg = ffi.new("char[]", 2048)  # the conv variant's step lists every candidate
        rc = lib.anethru_cuda_bringup_step(self.handle, step, arg, msg, len(msg))
        text = ffi.string(msg).decode("utf-8", "replace")
        if rc != lib.ANETHRU_OK:
            raise StepFailed(text or f"native error {rc}")
        return text

    def close(self) -> None:
        if self.handle not in (None, ffi.NULL):
            lib.anethru_cuda_bringup_close(self.handle)
        self.handle = None


def open_context() -> Session:
    return Session()


def _native(step: int, arg: int = 0):
    return lambda session: session.step(step, arg)


def modules() -> list[tuple[int, str]]:
    """(index, step name) of each embedded PTX module, base first."""
    return [(i, f"PTX sm_{lib.anethru_cuda_module_sm(i)}") for i in range(lib.anethru_cuda_module_count())]


def steps() -> list[Step]:
    (_, base), *others = modules()
    out = [Step("driver library", _native(lib.ANETHRU_CUDA_STEP_LIBRARY)),
           Step("entry points", _native(lib.ANETHRU_CUDA_STEP_ENTRY_POINTS), needs=("driver library",)),
           Step("cuInit", _native(lib.ANETHRU_CUDA_STEP_INIT), needs=("entry points",)),
           Step("device", _native(lib.ANETHRU_CUDA_STEP_DEVICE), needs=("cuInit",)),
           Step("context", _native(lib.ANETHRU_CUDA_STEP_CONTEXT), needs=("device",)),
           Step(base, _native(lib.ANETHRU_CUDA_STEP_MODULE, 0), needs=("context",))]
    # The other modules hold optional variants: nothing but the variant choice uses them.
    out += [Step(name, _native(lib.ANETHRU_CUDA_STEP_MODULE, i), needs=(base,)) for i, name in others]
    out += [Step("launch", _native(lib.ANETHRU_CUDA_STEP_LAUNCH), needs=(base,)),
            Step("graph", _native(lib.ANETHRU_CUDA_STEP_GRAPH), needs=("launch",)),
            Step("identity", _native(lib.ANETHRU_CUDA_STEP_IDENTITY), needs=("graph",)),
            Step("conv variant", _native(lib.ANETHRU_CUDA_STEP_VARIANT), needs=("launch",))]
    return out


__all__ = ["steps", "open_context", "modules", "CHANNELS", "SPATIAL", "LAYERS"]
