"""The data a chain runs on, and the numpy reference that checks it.

Weights are fp16 ``[kernel][out][in]``; a tensor is fp16 ``[C, S]`` (the ``[1, C, 1, S]`` layout
of Experiment I with the unit axes dropped).
"""

from __future__ import annotations

import numpy as np

from anethru.native.vocab import WEIGHT_KINDS  # defined there, with no native code behind it


def make_weights(kind: str, channels: int, kernels: int, seed: int = 0) -> np.ndarray:
    """Weights for every kernel of a chain.

    ``identity`` (the seed's) makes each kernel copy its input, so the chain's output equals its
    input exactly.  ``random`` draws each kernel's own matrix with standard deviation
    1/sqrt(C), which keeps activations at the input's scale through any number of layers
    (fp16 would otherwise overflow a long chain).
    """
    if kind == "identity":
        eye = np.eye(channels, dtype=np.float16)
        return np.ascontiguousarray(np.broadcast_to(eye, (kernels, channels, channels)))
    if kind == "random":
        rng = np.random.default_rng(seed)
        w = rng.standard_normal((kernels, channels, channels), dtype=np.float32)
        w *= np.float32(1.0 / np.sqrt(channels))
        return w.astype(np.float16)
    raise ValueError(f"weights must be one of {', '.join(WEIGHT_KINDS)}; got {kind!r}")


def make_input(channels: int, spatial: int, seed: int = 0) -> np.ndarray:
    """A random fp16 tensor with magnitudes in [1/16, 1) and random signs.

    Magnitudes stay clear of zero because a sum that starts at +0 turns an input of -0 into +0:
    an identity chain could not then return its input bit for bit.
    """
    rng = np.random.default_rng(seed)
    mag = rng.uniform(1.0 / 16, 1.0, size=(channels, spatial))
    sign = rng.choice(np.array([-1.0, 1.0]), size=(channels, spatial))
    return np.ascontiguousarray((sign * mag).astype(np.float16))


def reference_chain(weights: np.ndarray, x: np.ndarray) -> np.ndarray:
    """The chain computed by numpy: per layer fp32 products and sums, rounded to fp16."""
    y = x
    for w in weights:
        y = (w.astype(np.float32) @ y.astype(np.float32)).astype(np.float16)
    return y


def check_tolerance(kernels: int) -> float:
    """Largest |error| accepted against the reference, relative to max |reference|.

    Backends sum in a different order than numpy (and the ANE may keep fp16 partial sums), so
    each layer may land an ulp or so away (fp16 ulp = 2**-10 relative); allow 4 ulps a layer.
    """
    return 4.0 * kernels * 2.0**-10
