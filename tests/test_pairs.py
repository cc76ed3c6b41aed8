"""The round trip from per-pass pairs (issue 19, section 1): single passes of sequential and
run_only alternated in a seeded random order inside one native call, exact on the virtual
clock; the thread CPU clock on the CPU backend; the raw pairs in the result document."""

from __future__ import annotations

import json
import random
from fractions import Fraction

import pytest

import anethru
from anethru.errors import ResultFormatError
from anethru.native.lib import lib
from anethru.results.pairs import pair_order, schedule_of, split
from virtual_clock import virtual_costs


def test_pair_schedules_split_back_into_sequential_and_run_only():
    first = [True, False, False, True]
    assert schedule_of(first) == ["sequential", "run_only", "run_only", "sequential",
                                  "run_only", "sequential", "sequential", "run_only"]
    assert split(first, [1, 2, 3, 4, 5, 6, 7, 8]) == [(1, 2), (4, 3), (6, 5), (7, 8)]
    order = pair_order(random.Random(3), 400)
    assert order == pair_order(random.Random(3), 400) and 150 < sum(order) < 250


@pytest.mark.parametrize("kernels,iters,repeats", [(2, 1, 1), (5, 3, 4), (12, 2, 3)])
def test_every_pair_is_exact_on_the_virtual_clock(kernels, iters, repeats, no_leaks):
    nbytes = 8 * 4 * 2
    with virtual_costs() as c:
        r = anethru.run_ceiling(8, 4, kernels=kernels, backend="virtual", iters=iters, warmup=1,
                                repeats=repeats, seed=7)
    p = r.pairs
    assert p.per_round == (iters,) * repeats and len(p) == iters * repeats   # exact iters
    seq, run = c.pass_ns("sequential", kernels, nbytes), c.pass_ns("run_only", kernels, nbytes)
    assert p.wall_ns == ((seq, run),) * len(p)
    assert p.cpu_ns is None and p.cpu_clock is None          # the CPU only waits elsewhere
    assert "round_trip_overhead_cpu" not in r.derived
    o = r.derived["round_trip_overhead"]
    exact = float(Fraction(c.copy(nbytes), 10**6))            # ms per layer: one copy
    assert o.stats.median == pytest.approx(exact, rel=1e-12) and o.stats.n == len(p)
    assert o.stats.samples == pytest.approx((exact,) * len(p), rel=1e-12)
    if len(p) > 1:
        assert o.stats.ci_low == o.stats.ci_high == o.stats.median   # every pair alike
    assert o.formula.startswith(f"median over {len(p)} pairs of single passes")
    share = r.derived["memcpy_share"].stats
    assert share.median == pytest.approx(1.0, rel=1e-12)      # the copy is the whole round trip


def test_the_order_of_each_pair_is_seeded_and_recorded(no_leaks):
    def order(seed):
        with virtual_costs():
            return anethru.run_ceiling(8, 4, kernels=3, backend="virtual", iters=20, warmup=0,
                                       repeats=2, seed=seed, tests=["sequential", "run_only"]).pairs
    a, b, c = order(5), order(5), order(6)
    assert a.sequential_first == b.sequential_first != c.sequential_first
    assert 10 < sum(a.sequential_first) < 30 and a.seed == 5


def test_single_passes_run_in_the_order_given_in_one_call(no_leaks):
    with virtual_costs() as c, anethru.Chain(8, 4, kernels=3, backend="virtual") as chain:
        tests = ["run_only", "sequential", "memcpy_only", "sequential"]
        wall, cpu = chain.measure_passes(tests)
        assert wall == [c.pass_ns(t, 3, 64) for t in tests] and cpu is None
        with pytest.raises(ValueError, match="unknown test 'bogus'"):
            chain.measure_passes(["sequential", "bogus"])
        with pytest.raises(ValueError, match="at least one test"):
            chain.measure_passes([])


def test_the_cpu_backend_times_each_pass_on_the_thread_cpu_clock_too(no_leaks):
    r = anethru.run_ceiling(16, 8, kernels=3, backend="cpu", iters=4, repeats=3, seed=1,
                            tests=["sequential", "run_only", "memcpy_only"])
    p = r.pairs
    assert p.cpu_clock == "clock_gettime(CLOCK_THREAD_CPUTIME_ID)"
    assert len(p.cpu_ns) == len(p.wall_ns) == 12
    # CPU time of a pass never exceeds its wall time by more than the clocks' granularity.
    assert all(c <= w + 50_000 for cp, wp in zip(p.cpu_ns, p.wall_ns) for c, w in zip(cp, wp))
    d = r.derived["round_trip_overhead_cpu"]
    assert d.stats.samples == tuple((s - q) / 1e6 / 2 for s, q in p.cpu_ns)
    assert list(r.derived)[:2] == ["round_trip_overhead", "round_trip_overhead_cpu"]


@pytest.fixture(scope="module")
def doc():
    with virtual_costs():
        r = anethru.run_ceiling(8, 4, kernels=3, backend="virtual", iters=2, warmup=0,
                                repeats=3, seed=2)
    return json.loads(r.to_json())


def test_pairs_round_trip_through_the_document(doc):
    assert doc["pairs"]["per_round"] == [2, 2, 2]
    r = anethru.CeilingResult.from_json(json.dumps(doc))
    assert r.pairs.wall_ns == tuple(tuple(p) for p in doc["pairs"]["wall_ns"])
    assert anethru.load_results(json.dumps(doc))[0].pairs == r.pairs


@pytest.mark.parametrize("edit,where,what", [
    (lambda p: p["per_round"].append(0), "$.pairs.per_round", "has 4 rounds, but config.repeats is 3"),
    (lambda p: p["per_round"].__setitem__(0, 3), "$.pairs.per_round", "adds up to 7 pairs; wall_ns has 6"),
    (lambda p: p["sequential_first"].pop(), "$.pairs.sequential_first", "has 5 entries for 6 pairs"),
    (lambda p: p.__setitem__("cpu_clock", "x"), "$.pairs.cpu_clock", "exactly when cpu_ns"),
    (lambda p: p["wall_ns"][0].append(1), "$.pairs.wall_ns[0]", "at most 2"),
])
def test_inconsistent_pairs_are_refused_naming_the_field(doc, edit, where, what):
    bad = json.loads(json.dumps(doc))
    edit(bad["pairs"])
    with pytest.raises(ResultFormatError) as e:
        anethru.CeilingResult.from_json(json.dumps(bad))
    assert e.value.path == where and what in e.value.reason


def test_a_stated_overhead_that_the_pairs_contradict_is_refused(doc):
    bad = json.loads(json.dumps(doc))
    bad["pairs"]["wall_ns"][0][0] += 1000
    with pytest.raises(ResultFormatError, match=r"derived\.round_trip_overhead\.stats"):
        anethru.CeilingResult.from_json(json.dumps(bad))


def test_a_document_without_pairs_still_loads_with_the_block_estimate(doc):
    old = json.loads(json.dumps(doc))
    del old["pairs"], old["derived"]
    r = anethru.CeilingResult.from_json(json.dumps(old))
    assert r.pairs is None and r.derived["round_trip_overhead"].formula == \
        "(sequential - run_only) per pass / 2"


def test_the_native_call_refuses_bad_arguments():
    from anethru.native.lib import ffi, new_status
    st = new_status()
    assert lib.anethru_chain_measure_passes(ffi.NULL, ffi.NULL, 0, ffi.NULL, ffi.NULL, st) \
        == lib.ANETHRU_E_ARG
