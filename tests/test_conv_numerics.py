"""The CPU backend's 1x1 conv against numpy, on both kernel variants."""

from __future__ import annotations

import numpy as np
import pytest

import anethru
from anethru import tensors
from anethru._lib import ffi, lib

VARIANTS = ["portable"] + (["native"] if ffi.string(lib.anethru_cpu_kernel_variant()) != b"portable" else [])


@pytest.fixture(params=VARIANTS)
def variant(request, monkeypatch):
    """Each test runs on the portable kernel and on the processor's own (AVX2) one."""
    if request.param == "portable":
        monkeypatch.setenv("ANETHRU_CPU_KERNEL", "portable")
    else:
        monkeypatch.delenv("ANETHRU_CPU_KERNEL", raising=False)
    return request.param


def chain_with(weights: np.ndarray, spatial: int) -> anethru.Chain:
    kernels, channels, _ = weights.shape
    return anethru.Chain(channels, spatial, kernels=kernels, backend="cpu", weights=weights)


def fp16_values(n: int, rng: np.random.Generator) -> np.ndarray:
    """n finite fp16 values drawn from every bit pattern (subnormals, zeros, extremes included)."""
    bits = rng.integers(0, 1 << 16, size=4 * n, dtype=np.uint16)
    vals = bits.view(np.float16)
    return vals[np.isfinite(vals)][:n]


def test_single_channel_products_round_like_numpy(variant, no_leaks):
    # With C = 1 each output is 0 + w*x; the fp32 product of two fp16 values is exact, so the
    # only rounding is fp32 -> fp16: the result must match numpy bit for bit, including
    # subnormal results, overflow to infinity and ties.
    rng = np.random.default_rng(1)
    S = 4099  # odd: exercises the vector kernel's column tail too
    w = np.array([[[1.5]], [[-0.00048828125]]], dtype=np.float16)  # two kernels: scale, shrink
    x = fp16_values(S, rng).reshape(1, S)
    with chain_with(w, S) as chain:
        y = chain.roundtrip(x)
    expected = x
    with np.errstate(over="ignore"):  # products past 65504 become inf, in both
        for layer in w:
            expected = (np.float32(0) + np.float32(layer[0, 0]) * expected.astype(np.float32)).astype(np.float16)
    assert np.array_equal(y.view(np.uint16), expected.view(np.uint16))


@pytest.mark.parametrize("channels,spatial", [(7, 17), (13, 48), (64, 32), (96, 33)])
def test_scaled_permutations_are_exact(variant, channels, spatial, no_leaks):
    # One non-zero weight per row: every output is a single exact product, so any layout,
    # packing or tail bug shows up as a bit mismatch.
    rng = np.random.default_rng(channels * 1000 + spatial)
    kernels = 3
    w = np.zeros((kernels, channels, channels), dtype=np.float16)
    for k in range(kernels):
        perm = rng.permutation(channels)
        w[k, np.arange(channels), perm] = rng.choice([0.5, -1.0, 2.0, 0.75], size=channels)
    x = tensors.make_input(channels, spatial, seed=3)
    with chain_with(w, spatial) as chain:
        y = chain.roundtrip(x)
        yc = chain.roundtrip(x, "chained")
    expected = tensors.reference_chain(w, x)
    assert np.array_equal(y.view(np.uint16), expected.view(np.uint16))
    assert np.array_equal(yc.view(np.uint16), expected.view(np.uint16))


@pytest.mark.parametrize("channels,spatial", [(6, 16), (31, 20), (64, 32), (256, 64)])
def test_random_weights_match_numpy_within_fp16(variant, channels, spatial, no_leaks):
    kernels = 4
    w = tensors.make_weights("random", channels, kernels, seed=11)
    x = tensors.make_input(channels, spatial, seed=12)
    with chain_with(w, spatial) as chain:
        y = chain.roundtrip(x)
        yc = chain.roundtrip(x, "chained")
    ref = tensors.reference_chain(w, x).astype(np.float32)
    err = np.max(np.abs(y.astype(np.float32) - ref))
    # A sum in another order lands at most a few fp16 ulps away per layer.
    assert err <= tensors.check_tolerance(kernels) * np.max(np.abs(ref))
    # The chained program runs the same layers through the same fp16 intermediates.
    assert np.array_equal(y.view(np.uint16), yc.view(np.uint16))


def test_identity_chain_returns_input_bit_for_bit(variant, no_leaks):
    x = tensors.make_input(768, 256, seed=5)
    with anethru.Chain(768, 256, kernels=3, backend="cpu") as chain:
        assert np.array_equal(chain.roundtrip(x).view(np.uint16), x.view(np.uint16))
        assert np.array_equal(chain.roundtrip(x, "chained").view(np.uint16), x.view(np.uint16))


def test_a_one_ulp_error_in_the_reference_would_be_seen(no_leaks):
    # Guard on the guard: the tolerance is tight enough that a kernel dropping one input
    # channel would fail the check.
    channels, spatial, kernels = 64, 32, 12
    w = tensors.make_weights("random", channels, kernels, seed=2)
    broken = w.copy()
    broken[5, :, 7] = 0  # kernel 5 ignores input channel 7
    x = tensors.make_input(channels, spatial, seed=9)
    good, bad = tensors.reference_chain(w, x), tensors.reference_chain(broken, x)
    err = np.max(np.abs(good.astype(np.float32) - bad.astype(np.float32)))
    assert err > tensors.check_tolerance(kernels) * np.max(np.abs(good.astype(np.float32)))
