"""The median's interval scales to the repeats the format allows: its ranks are the exact
binomial choice, found in linear time, and a million-repeat document loads (issue 22)."""

from __future__ import annotations

import json
import math
import random
import subprocess
import sys
import textwrap
from fractions import Fraction

import pytest

from anethru.results import schema, stats


def exact_ranks(n: int, level: float):
    """The definition, with exact fractions: the largest j whose [x_(j), x_(n+1-j)] covers the
    median with probability 1 - 2 P(B <= j-1) >= level, B ~ Binomial(n, 1/2)."""
    best, coverage = 1, 1 - 2 * Fraction(1, 2 ** n)
    below = 1                                   # sum(comb(n, i) for i in range(j)), kept running
    for j in range(2, n // 2 + 1):
        below += math.comb(n, j - 1)
        c = 1 - 2 * Fraction(below, 2 ** n)
        if c < level:
            break
        best, coverage = j, c
    return best, n + 1 - best, coverage


@pytest.mark.parametrize("level", [0.5, 0.95, 0.99])
def test_ranks_are_the_exact_binomial_choice(level):
    for n in list(range(2, 120)) + [401, 1000]:
        j, k, coverage = stats.median_ci_ranks(n, level)
        want_j, want_k, want_cov = exact_ranks(n, level)
        assert (j, k) == (want_j, want_k), n
        assert coverage == pytest.approx(float(want_cov), rel=1e-15, abs=1e-300), n


@pytest.mark.parametrize("n", [stats.EXACT_RANKS_MAX_N + 1, 30001, 44444])
def test_large_n_ranks_agree_with_the_exact_sums_far_below_the_printed_digits(n):
    j, k, coverage = stats.median_ci_ranks(n)
    want_j, want_cov = stats._ranks_exact(n, stats.CI_LEVEL)
    assert (j, k) == (want_j, n + 1 - want_j)
    assert coverage == pytest.approx(want_cov, abs=1e-9)


def test_ranks_of_a_million_repeats_cover_the_median_at_the_level():
    j, k, coverage = stats.median_ci_ranks(1_000_000)
    # Normal approximation of Binomial(n, 1/2): j is about n/2 - 1.96 sqrt(n)/2.
    assert abs(j - (500_000 - 1.959964 * 500)) < 3 and k == 1_000_001 - j
    assert stats.CI_LEVEL <= coverage < stats.CI_LEVEL + 0.001


BIG_DOCUMENT = textwrap.dedent("""
    import json, sys
    import numpy as np
    import anethru
    n = int(sys.argv[1])
    r = anethru.run_ceiling(8, 8, kernels=2, backend="cpu", iters=1, repeats=2, seed=1,
                            tests=["sequential", "run_only"])
    d = r.to_dict()
    rng = np.random.default_rng(0)   # numpy: a million draws in milliseconds, not seconds
    for t in d["tests"].values():
        t["block_ns"] = rng.integers(900, 1100, n).tolist()
        for key in ("per_unit_ms", "per_pass_ms", "units_per_second"):
            del t[key]
    d["derived"], d["warnings"] = {}, []
    d["pairs"] = None   # per-pass pairs are optional; this document is about long block series
    d["config"]["repeats"], d["config"]["schedule"] = n, ["sequential", "run_only"] * n
    if len(sys.argv) > 2:
        d["tests"]["run_only"]["block_ns"][n - 7] = -1
    try:
        (res,) = anethru.load_results(json.dumps(d))
    except anethru.ResultFormatError as exc:
        print(exc)
    else:
        s = res.tests["run_only"].per_unit_ms
        print(s.n, s.ci_level, s.ci_low <= s.median <= s.ci_high)
""")


def run_big(*args: str) -> str:
    # The timeout only guards against the hours 0.2.0 took (the interval grew as n^4).
    out = subprocess.run([sys.executable, "-c", BIG_DOCUMENT, *args], capture_output=True,
                         text=True, timeout=900)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_a_million_repeat_document_loads():
    n, level, inside = run_big("1000000").split()
    assert int(n) == 1_000_000 and inside == "True"
    assert float(level) == pytest.approx(stats.median_ci_ranks(1_000_000)[2])


def test_a_bad_block_deep_in_a_long_array_is_still_named_by_path():
    assert run_big("200000", "bad") == \
        "$.tests.run_only.block_ns[199993]: must be >= 0; got -1"


@pytest.mark.parametrize("items,value", [
    ({"type": "integer", "minimum": 0}, [3, 2, True]),
    ({"type": "integer", "maximum": 5}, [3, 6]),
    ({"type": "number"}, [1.5, "2"]),
    ({"type": "number"}, [1.0, schema.NonFinite("Infinity")]),
    ({"enum": ["a", "b"]}, ["a", "c"]),
    ({"type": "string", "minLength": 1}, ["x", ""]),
])
def test_the_fast_array_check_refuses_what_the_item_check_refuses(items, value):
    with pytest.raises(schema.ResultFormatError) as exc:
        schema.check(value * 50, {"type": "array", "items": items})
    assert exc.value.path.startswith("$[")
