"""The ANE backend's bring-up, step by step, through the native entry points of
csrc/ane/ane_bringup.m: the same code the backend compiles and runs kernels with, one call per step.

Order and dependencies: the host, the framework and its classes, the messages anethru sends,
the temporary directory; then each 1-layer program form (descriptor, compile, load) at the shape;
when none compiled, whether the known-good 512x64 does (the shape is refused) or not (this ANE
compiles nothing); the first form that loaded goes on to surfaces, request, one eval and the
identity check; then the chained 12-layer program in each form, the realtime and direct evals,
and how many compiles the process has left.  The shape is 64x32 unless the doctor is given one.
"""

from __future__ import annotations


from anethru.native.lib import ffi, lib
from anethru.native.programs import form_names
from anethru.bringup.steps import FAILED, NativeSession, Step, native_step

CHANNELS, SPATIAL, LAYERS = 64, 32, 12
SHAPE_STEP = "shape or chip"

# What is known about chips that refuse programs, with where each was reported (docs/ane.md).
COMPILE_HINTS = (
    "M1 and M2 chips are reported to need program(1.0)/ios16 programs: M1 Pro and M1 Max "
    "refused the ios18 benchmark programs with \"MIL compat\" (maderix/ANE community reports, "
    "2026-03), and several layers' weights in one file are reported refused there too "
    "(unverified here)",
    "an M3 Pro compiled only 512 channels among 52 channel counts tried with ios18 programs "
    "(maderix/ANE benchmark report); other chips may refuse some channel counts",
    "spatial sizes that are not a multiple of 16, or below 32, are reported to fail at eval "
    "(rustane's working-format notes, libane; ANE-LM's minimum is 32)",
)


def open_context(channels: int = CHANNELS, spatial: int = SPATIAL) -> NativeSession:
    return NativeSession("ane", channels, spatial, LAYERS)


def classes() -> list[tuple[int, str, bool]]:
    return [(i, ffi.string(lib.anethru_ane_class_name(i)).decode(), bool(lib.anethru_ane_class_required(i)))
            for i in range(lib.anethru_ane_class_count())]


def steps() -> list[Step]:
    required = [f"class {name}" for _, name, req in classes() if req]
    client = "class _ANEClient"
    out = [Step("platform", native_step(lib.ANETHRU_ANE_STEP_PLATFORM)),
           Step("framework", native_step(lib.ANETHRU_ANE_STEP_FRAMEWORK), needs=("platform",))]
    out += [Step(f"class {name}", native_step(lib.ANETHRU_ANE_STEP_CLASS, i), needs=("framework",))
            for i, name, _ in classes()]
    out += [Step("selectors", native_step(lib.ANETHRU_ANE_STEP_SELECTORS, 0), needs=tuple(required)),
            Step("client selectors", native_step(lib.ANETHRU_ANE_STEP_SELECTORS, 1), needs=(client,)),
            Step("temp directory", native_step(lib.ANETHRU_ANE_STEP_TMPDIR), needs=("framework",))]
    loads = []
    for i, form in enumerate(form_names(1)):
        out += [Step(f"descriptor {form}", native_step(lib.ANETHRU_ANE_STEP_DESCRIPTOR, i),
                     needs=("selectors", "temp directory")),
                Step(f"compile {form}", native_step(lib.ANETHRU_ANE_STEP_COMPILE, i),
                     needs=(f"descriptor {form}",)),
                Step(f"load {form}", native_step(lib.ANETHRU_ANE_STEP_LOAD, i), needs=(f"compile {form}",))]
        loads.append(f"load {form}")
    # No form compiled at this shape: does the known-good 512x64 compile (the shape) or not (the chip)?
    out += [Step(SHAPE_STEP, native_step(lib.ANETHRU_ANE_STEP_SHAPE), needs=("selectors", "temp directory"))]
    out += [Step("IOSurfaces", native_step(lib.ANETHRU_ANE_STEP_SURFACES), needs_any=tuple(loads)),
            Step("request", native_step(lib.ANETHRU_ANE_STEP_REQUEST), needs=("IOSurfaces",)),
            Step("eval", native_step(lib.ANETHRU_ANE_STEP_EVAL), needs=("request",)),
            Step("identity", native_step(lib.ANETHRU_ANE_STEP_IDENTITY), needs=("eval",))]
    out += [Step(f"chained {LAYERS} layers {form}", native_step(lib.ANETHRU_ANE_STEP_CHAINED, i),
                 needs=("identity",)) for i, form in enumerate(form_names(LAYERS))]
    # Each path checks the client's messages it needs itself, and names a missing one.
    out += [Step("realtime eval", native_step(lib.ANETHRU_ANE_STEP_REALTIME), needs=("eval", client)),
            Step("direct eval", native_step(lib.ANETHRU_ANE_STEP_DIRECT), needs=("eval", client)),
            Step("compiles left", native_step(lib.ANETHRU_ANE_STEP_COMPILES_LEFT), needs=("framework",))]
    return out


def hints(results: list, channels: int = CHANNELS, spatial: int = SPATIAL) -> list[str]:
    """The chip facts worth reading when a 1-layer form failed to compile."""
    if not any(r.name.startswith("compile ") and r.status == FAILED for r in results):
        return []
    from anethru.native.programs import ane_shape_concern

    concern = ane_shape_concern(spatial)
    return list(COMPILE_HINTS) + ([f"this run's {channels}x{spatial}: {concern}"] if concern else [])


__all__ = ["steps", "open_context", "hints", "CHANNELS", "SPATIAL", "LAYERS", "SHAPE_STEP",
           "COMPILE_HINTS"]
