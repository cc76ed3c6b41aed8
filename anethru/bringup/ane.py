"""The ANE backend's bring-up, step by step, through the native entry points of
csrc/ane/ane_bringup.m: the same code the backend compiles and runs kernels with, one call per step.

Order and dependencies: the host, the framework and its classes, the messages anethru sends,
the temporary directory; then each 1-layer program form (descriptor, compile, load) at 64x32;
the first form that loaded goes on to surfaces, request, one eval and the identity check; then
the chained 12-layer program in each form, the realtime and direct evals, and how many compiles
the process has left.
"""

from __future__ import annotations


from anethru.native.lib import ffi, lib
from anethru.native.programs import form_names
from anethru.bringup.steps import NativeSession, Step, native_step

CHANNELS, SPATIAL, LAYERS = 64, 32, 12


def open_context() -> NativeSession:
    return NativeSession("ane", CHANNELS, SPATIAL, LAYERS)


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


__all__ = ["steps", "open_context", "CHANNELS", "SPATIAL", "LAYERS"]
