"""Whether data survives a chain: a random input through it, compared with the expected output."""

from __future__ import annotations

from typing import Any

import numpy as np

from anethru.errors import ChainCheckError
from anethru.native import tensors
from anethru.native.lib import lib
from anethru.results.ceiling import ChainCheck


def check_chain(chain: Any, seed: int) -> ChainCheck:
    """Run the input drawn from ``seed`` through ``chain`` (sequential, and chained where
    supported) and compare with the expected output; raise ChainCheckError on any mismatch."""
    x = tensors.make_input(chain.channels, chain.spatial, seed)
    exact = chain.weights_kind == "identity"
    expected = x if exact else tensors.reference_chain(chain.weights, x)
    tolerance = 0.0 if exact else tensors.check_tolerance(chain.kernels)
    scale = float(np.max(np.abs(expected.astype(np.float32)))) or 1.0
    checked, worst = [], 0.0
    for test in ("sequential", "chained"):
        if test == "chained" and not chain.supports("chained")[0]:
            continue
        y = chain.roundtrip(x, test)
        err = float(np.max(np.abs(y.astype(np.float32) - expected.astype(np.float32))))
        worst = max(worst, err)
        checked.append(test)
        bad = not np.array_equal(y.view(np.uint16), expected.view(np.uint16)) if exact \
            else not (np.all(np.isfinite(y)) and err <= tolerance * scale)
        unwritten = int(np.count_nonzero(y.view(np.uint16) == lib.ANETHRU_POISON_FP16))
        if unwritten:  # the roundtrip poisoned every output first: these evals wrote nothing
            raise ChainCheckError(
                f"{chain.label} on {chain.backend}: the {test} chain's evals reported success, "
                f"but the output was not written: {unwritten} of {y.size} values still hold "
                f"the poison 0x{lib.ANETHRU_POISON_FP16:04x} written before them")
        if bad:
            where = np.argwhere(y != expected)
            first = tuple(int(i) for i in where[0]) if len(where) else ()
            raise ChainCheckError(
                f"{chain.label} on {chain.backend}: the {test} chain's output is wrong "
                f"(weights={chain.weights_kind}, max |error| {err:.4g}, "
                f"allowed {tolerance * scale:.4g}; first mismatch at [c, s] = {first})")
    return ChainCheck(chain.weights_kind, tuple(checked), exact, worst, tolerance, True)
