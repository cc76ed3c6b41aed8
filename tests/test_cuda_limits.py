"""Issue 10's cuda items, without a GPU: a chain past a limit names the limit (and when only
`chained` is past one, the other tests still run); large spatial sizes need no limit at all;
the fake driver's arithmetic is the kernels' (0 * inf is NaN)."""
import json

import numpy as np
import pytest

import cuda_helpers as H
from cuda_fixtures import build_dir, fake, vtable  # noqa: F401 (fixtures)

pytestmark = pytest.mark.skipif(H.CC is None, reason="no C compiler to build the fake driver")

E = H.E
GRAPH_LIMIT = ("chaining 5000 kernels needs a CUDA graph of 5000 launches; anethru captures at "
               "most 4096 launches per graph")


def test_chained_kernel_past_the_graph_limit_names_it(vtable, fake):
    kv = H.run_vtable(vtable, "compile", 1, 1, 5000, ANETHRU_CUDA_LIBRARY=fake)
    assert (int(kv["compile"]), kv["error"], kv["live"]) == (E["UNSUPPORTED"], GRAPH_LIMIT, "0")


def test_at_the_graph_limit_it_still_chains(vtable, fake):
    kv = H.run_vtable(vtable, "compile", 1, 1, 4096, ANETHRU_CUDA_LIBRARY=fake)
    assert int(kv["compile"]) == 0 and kv["live"] == "0"


LONG_CHAIN = """
import anethru, json
r = anethru.run_ceiling(1, 1, kernels=5000, backend="cuda", iters=1, warmup=0, repeats=1)
out = dict(tests=list(r.tests), unsupported=r.unsupported, passed=r.check.passed,
           checked=list(r.check.tests))
try:
    anethru.run_ceiling(1, 1, kernels=5000, backend="cuda", iters=1, warmup=0, repeats=1,
                        tests=["run_only", "chained"])
except anethru.UnsupportedError as e:
    out["raised"] = str(e)
print(json.dumps(out))
"""


def test_run_past_the_graph_limit_runs_everything_but_chained(fake):
    """The issue's `run_ceiling(1, 1, kernels=5000, backend="cuda")`."""
    rc, out, err = H.run_python(LONG_CHAIN, ANETHRU_CUDA_LIBRARY=fake)
    assert rc == 0, err
    r = json.loads(out)
    assert r["tests"] == ["sequential", "run_only", "memcpy_only", "serial_queue"]
    assert r["unsupported"] == {"chained": GRAPH_LIMIT}
    assert r["passed"] and r["checked"] == ["sequential"]
    assert r["raised"] == f"cuda cannot run the chained test: {GRAPH_LIMIT}"


def test_spatial_beyond_2_pow_24_compiles(vtable, fake):
    """No artificial bound on spatial: 2**24 + 1 columns is a 32 MB tensor and a grid well
    inside CUDA's limits."""
    kv = H.run_vtable(vtable, "compile", 1, 2**24 + 1, 1, ANETHRU_CUDA_LIBRARY=fake)
    assert (int(kv["compile"]), kv["kernel"], kv["live"]) == (0, "fma_32x32", "0")


def test_large_odd_spatial_computes_the_conv(vtable, fake, tmp_path):
    c, s = 3, 300_007
    rng = np.random.default_rng(5)
    w = H.random_fp16(rng, (c, c), 0.5)
    x = H.random_fp16(rng, (c, s), 1.0)
    inp, out = H.write_case(tmp_path, [w], x)
    H.run_vtable(vtable, "run", c, s, 1, inp, out, ANETHRU_CUDA_LIBRARY=fake)
    np.testing.assert_array_equal(H.read_out(out, c, s).view(np.uint16),
                                  H.reference_chain([w], x).view(np.uint16))


def test_channels_past_the_grid_limit_name_it(vtable, fake):
    kv = H.run_vtable(vtable, "compile", 65535 * 32 + 1, 1, 1, ANETHRU_CUDA_LIBRARY=fake)
    assert int(kv["compile"]) == E["LIMIT"]
    assert kv["error"] == ("no CUDA kernel can run 2097121x1: channels=2097121 needs 65536 blocks "
                           "in grid y, more than CUDA's limit of 65535")
    assert kv["live"] == "0"


@pytest.mark.parametrize("args,msg", [
    ((0, 4, 1), "bad CUDA kernel spec: channels=0 spatial=4 layers=1 (each must be >= 1)"),
    ((4, -1, 1), "bad CUDA kernel spec: channels=4 spatial=-1 layers=1 (each must be >= 1)"),
])
def test_bad_spec_says_which_value(vtable, fake, args, msg):
    kv = H.run_vtable(vtable, "compile", *args, ANETHRU_CUDA_LIBRARY=fake)
    assert (int(kv["compile"]), kv["error"]) == (E["ARG"], msg)


def test_fake_computes_nan_for_zero_times_inf(vtable, fake, tmp_path):
    """The real kernels add every product, so a zero weight times an infinite input is NaN;
    the fake used to skip zero weights and return the input instead."""
    c, s = 4, 8
    x = np.arange(c * s, dtype=np.float16).reshape(c, s)
    x[0] = np.inf
    w = np.eye(c, dtype=np.float16)
    inp, out = H.write_case(tmp_path, [w], x)
    H.run_vtable(vtable, "run", c, s, 1, inp, out, ANETHRU_CUDA_LIBRARY=fake)
    y = H.read_out(out, c, s)
    with np.errstate(invalid="ignore"):
        ref = H.reference_chain([w], x)
    assert np.isinf(y[0]).all() and np.isnan(y[1:]).all()
    np.testing.assert_array_equal(np.isnan(y), np.isnan(ref))
