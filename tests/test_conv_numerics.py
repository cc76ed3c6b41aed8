"""The CPU backend's 1x1 conv against numpy, on both kernel variants."""

from __future__ import annotations

import numpy as np
import pytest

import anethru
from anethru.native import tensors
from anethru.native.lib import ffi, lib

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


def fp16_accumulated(w: np.ndarray, x: np.ndarray) -> np.ndarray:
    """The same conv with an fp16 running sum (each step rounded to fp16): the wrong answer."""
    acc = np.zeros((w.shape[0], x.shape[1]), np.float16)
    for i in range(w.shape[1]):
        acc = (acc.astype(np.float32) + w[:, i:i + 1].astype(np.float32) * x[i:i + 1].astype(np.float32)).astype(np.float16)
    return acc


def test_sums_accumulate_in_fp32(variant, no_leaks):
    # Many small products on a large value: 2048 first, then ones.  In fp16 (ulp 2 at 2048)
    # every +1 is a tie that rounds back to 2048; in fp32 the sum is exact and rounds once.
    # Columns: 64 ones (2112, exact in fp16), 63 ones (2111, a tie: 2112 within half an ulp),
    # and their negatives; S = 35 covers the vector kernel's 16-column blocks and its tail.
    channels, spatial = 65, 35
    x = np.ones((channels, spatial), np.float16)
    x[0] = 2048
    x[-1, 1::4] = 0                # 63 ones in these columns
    x[:, 2::4] *= -1
    w = np.zeros((2, channels, channels), np.float16)
    w[0, :, :] = 1                 # every output sums every input channel
    w[0, 1::2, :] = 0.5            # and every other output half of it (exact: powers of two)
    w[1] = np.eye(channels)        # the second kernel passes the result through unchanged
    with chain_with(w, spatial) as chain:
        y = chain.roundtrip(x)
        yc = chain.roundtrip(x, "chained")
    exact = w[0].astype(np.float64) @ x.astype(np.float64)
    assert set(np.abs(exact[0])) == {2112.0, 2111.0}
    expected = exact.astype(np.float16)  # one rounding of the exact sum
    assert np.array_equal(y.view(np.uint16), expected.view(np.uint16))
    assert np.array_equal(yc.view(np.uint16), expected.view(np.uint16))
    half_ulp = np.spacing(np.abs(expected)).astype(np.float64) / 2
    assert np.all(np.abs(y.astype(np.float64) - exact) <= half_ulp)
    # The case tells the two apart: fp16 accumulation stops at 2048 (1024 for the halves),
    # 31.5 to 32 fp16 ulps short in every column.
    wrong = fp16_accumulated(w[0], x).astype(np.float64)
    assert np.all(np.abs(wrong - exact) >= 31 * 2 * half_ulp)


@pytest.mark.skipif(len(VARIANTS) < 2, reason="this processor runs only the portable kernel")
@pytest.mark.parametrize("channels,spatial", [(13, 35), (64, 48), (96, 33), (7, 4099)])
def test_portable_and_vector_kernels_agree_bit_for_bit(channels, spatial, monkeypatch, no_leaks):
    # Products of two fp16 values are exact in fp32 and both kernels sum over i in order, so
    # they must agree on every bit, on any data: values drawn from every bit pattern up to a
    # bound that keeps most sums finite (zeros, -0 and subnormals included).
    rng = np.random.default_rng(channels + spatial)

    def bounded(n, limit):
        v = fp16_values(8 * n, rng)
        return v[np.abs(v) <= limit][:n]

    w = np.stack([tensors.make_weights("random", channels, 1, seed=channels)[0],
                  bounded(channels * channels, 4.0 / channels).reshape(channels, channels)])
    x = bounded(channels * spatial, 8.0).reshape(channels, spatial)
    out = {}
    for v in VARIANTS:
        if v == "portable":
            monkeypatch.setenv("ANETHRU_CPU_KERNEL", "portable")
        else:
            monkeypatch.delenv("ANETHRU_CPU_KERNEL", raising=False)
        with np.errstate(over="ignore"), chain_with(w, spatial) as chain:
            out[v] = (chain.roundtrip(x).view(np.uint16), chain.roundtrip(x, "chained").view(np.uint16))
    assert np.array_equal(out["portable"][0], out["native"][0])
    assert np.array_equal(out["portable"][1], out["native"][1])
    assert np.array_equal(out["native"][0], out["native"][1])
    y = out["native"][0].view(np.float16)
    assert np.mean(np.isfinite(y)) > 0.99 and np.count_nonzero(y) > y.size // 2


def test_the_check_rejects_a_kernel_that_drops_one_input_channel(no_leaks):
    # The chain-check tolerance (4 fp16 ulps a layer) is tight enough that a kernel ignoring
    # one input channel fails Chain.check: the backend computes with the broken weights, the
    # check's reference uses the right ones.
    channels, spatial, kernels = 64, 32, 12
    good = tensors.make_weights("random", channels, kernels, seed=2)
    broken = good.copy()
    broken[5, :, 7] = 0  # kernel 5 ignores input channel 7
    with anethru.Chain(channels, spatial, kernels=kernels, backend="cpu", weights=broken) as chain:
        chain.check()                     # right against its own weights
        chain.weights = good              # what the kernels should have computed
        with pytest.raises(anethru.ChainCheckError, match="the sequential chain's output is wrong"):
            chain.check()


def test_the_identity_check_sees_a_one_ulp_error(no_leaks):
    # Identity weights are checked bit for bit.  One weight one ulp below 1 (1 - 2**-11) shrinks
    # channel 7 by between half an ulp and an ulp, so after rounding some of its outputs are one
    # ulp off and none more: the check must still fail.
    channels, spatial, kernels = 16, 8, 3
    w = tensors.make_weights("identity", channels, kernels)
    w[1, 7, 7] = np.float16(1 - 2**-11)
    with anethru.Chain(channels, spatial, kernels=kernels, backend="cpu", weights=w) as chain:
        x = tensors.make_input(channels, spatial, seed=chain.seed)  # what check() runs
        y = chain.roundtrip(x)
        ulps = np.abs(y.astype(np.float64) - x.astype(np.float64)) / np.spacing(np.abs(y)).astype(np.float64)
        assert set(np.unique(ulps)) == {0.0, 1.0}
        chain.weights_kind = "identity"   # check it as the identity chain it should have been
        with pytest.raises(anethru.ChainCheckError, match="the sequential chain's output is wrong"):
            chain.check()
