"""What the ANE backend compiles, on any OS: the program forms it tries, in order.

    >>> [p.form for p in anethru.ane_programs(64, 32)]
    ['ios16', 'ios18']

Each form's MIL text and weight files come from the same plain-C builders the backend hands to
AppleNeuralEngine.framework (csrc/ane/forms/ane_forms.c), so what is inspected or tested here is exactly
what is compiled on a Mac.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Union

import numpy as np

from anethru.native import tensors, validate
from anethru.native.lib import ffi, lib
from anethru.errors import NativeMemoryError

MODEL_PATH = "@model_path/"


@dataclass(frozen=True)
class AneProgram:
    """One program form: ``form`` (its short name), ``mil`` (the exact MIL text) and
    ``weights`` (each weight path as the MIL writes it -> the exact bytes of that file)."""

    form: str
    mil: str
    weights: dict[str, bytes]

    def files(self) -> dict[str, str | bytes]:
        """The files as the backend writes them into the model's directory, by relative path:
        ``model.mil`` and ``weights/...``."""
        out: dict[str, str | bytes] = {"model.mil": self.mil}
        for path, data in self.weights.items():
            out[path[len(MODEL_PATH):] if path.startswith(MODEL_PATH) else path] = data
        return out

    def write(self, directory: str) -> list[str]:
        """Write ``files()`` under ``directory`` (created if needed); returns the paths written."""
        written = []
        for rel, data in self.files().items():
            path = os.path.join(directory, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            mode = "w" if isinstance(data, str) else "wb"
            with open(path, mode, **({"encoding": "utf-8", "newline": ""} if mode == "w" else {})) as f:
                f.write(data)
            written.append(path)
        return written


def form_names(layers: int = 1) -> list[str]:
    """The forms the backend tries for a program of ``layers`` convs, in order."""
    layers = validate.positive_int("layers", layers)
    return [ffi.string(lib.anethru_ane_form_name(layers, i)).decode()
            for i in range(lib.anethru_ane_form_count(layers))]


def ane_shape_concern(spatial: int) -> str:
    """Why public reports expect the ANE to refuse this spatial size at eval ("" if they do not):
    sizes not a multiple of 16, or below 32, fail there (rustane's working-format notes, libane;
    ANE-LM uses 32 as its minimum).  Such a configuration may still be tried."""
    if spatial >= 32 and spatial % 16 == 0:
        return ""
    why = "below 32" if spatial < 32 else "not a multiple of 16"
    return (f"spatial {spatial} is {why}; sizes that are not a multiple of 16, or below 32, are "
            f"reported to fail at eval on the ANE (rustane's working-format notes, libane; "
            f"ANE-LM's minimum is 32)")


def _weights(weights: Union[str, np.ndarray], channels: int, layers: int, seed: int) -> np.ndarray:
    if isinstance(weights, np.ndarray):
        return validate.check_weight_array(weights, channels, layers)
    return tensors.make_weights(validate.check_weights(weights), channels, layers, seed)


def ane_programs(channels: int, spatial: int, *, layers: int = 1,
                 weights: Union[str, np.ndarray] = "identity", seed: int = 0) -> list[AneProgram]:
    """The program forms the ANE backend would try for ``layers`` 1x1 convs of ``channels`` x
    ``spatial`` (``layers=1``: one kernel; more: the chained program), in the order it tries
    them.  ``weights``: "identity", "random" (seeded by ``seed``) or an fp16 array of shape
    (layers, channels, channels)."""
    c = validate.positive_int("channels", channels)
    s = validate.positive_int("spatial", spatial)
    n = validate.positive_int("layers", layers)
    seed = validate.positive_int("seed", seed, minimum=0)
    need = 2 * n * c * c * 2
    if need > validate._available_memory():
        raise MemoryError(f"the weights of {n} layers of {c}x{c} need about {need / 2**30:.1f} GiB "
                          f"(channels={c}, layers={n})")
    w = _weights(weights, c, n, seed)
    out = []
    for index in range(lib.anethru_ane_form_count(n)):
        p = lib.anethru_ane_program_new(index, c, s, n, ffi.from_buffer("uint16_t[]", w))
        if p == ffi.NULL:
            raise NativeMemoryError(f"cannot build the {c}x{s} ANE program of {n} layers")
        try:
            files = {ffi.string(p.files[i].path).decode(): bytes(ffi.buffer(p.files[i].data, p.files[i].size))
                     for i in range(p.nfiles)}
            out.append(AneProgram(ffi.string(p.form).decode(), ffi.string(p.mil).decode(), files))
        finally:
            lib.anethru_ane_program_free(p)
    return out


__all__ = ["AneProgram", "ane_programs", "ane_shape_concern", "form_names"]
