"""Results: what run_ceiling records, the report, and the JSON round trip."""

from __future__ import annotations

import json

import pytest

import anethru
from anethru.report.csv import to_csv
from anethru.results.ceiling import TestResult
from anethru.native.vocab import DEFAULT_TESTS
from virtual_clock import virtual_costs


@pytest.fixture(scope="module")
def result():
    return anethru.run_ceiling(64, 32, backend="cpu", iters=3, warmup=1, repeats=4, seed=7,
                               weights="random")


def test_result_records_every_test_and_the_metadata(result):
    c = result.config
    assert (c.backend, c.channels, c.spatial, c.kernels, c.bytes_per_tensor) == ("cpu", 64, 32, 12, 4096)
    assert (c.warmup, c.repeats, c.test_order_seed, c.weights) == (1, 4, 7, "random")
    assert list(result.tests) == ["sequential", "run_only", "memcpy_only", "serial_queue", "chained"]
    assert result.tests["memcpy_only"].iters == 30 and result.tests["run_only"].iters == 3
    assert result.tests["memcpy_only"].unit == "copy" and result.tests["memcpy_only"].units_per_pass == 11
    assert all(len(t.block_ns) == 4 for t in result.tests.values())  # values: see the next test
    assert result.check.tests == ("sequential", "chained") and not result.check.exact
    assert result.check.max_abs_error <= result.check.tolerance
    assert not result.simulated
    m = result.machine
    for key in ("platform", "os_release", "cpu_model", "cpu_count", "python", "anethru_version", "time_utc"):
        assert m[key], key
    assert result.clock.startswith("clock_gettime") or result.clock == "mach_absolute_time"


def test_result_records_what_each_block_measured(no_leaks):
    # On the virtual backend each block's total is known exactly: the result keeps, per test
    # and in repeat order, the passes each block ran times what one pass costs.
    kernels, repeats = 4, 3
    with virtual_costs() as costs:
        r = anethru.run_ceiling(8, 4, kernels=kernels, backend="virtual", iters=3, warmup=1,
                                repeats=repeats, seed=7)
    assert r.clock.startswith("virtual") and r.simulated
    for name, t in r.tests.items():
        assert t.block_ns == (t.iters * costs.pass_ns(name, kernels, 64),) * repeats, name


def test_schedule_is_the_seeded_shuffle(no_leaks):
    kernels, repeats, n = 4, 20, len(DEFAULT_TESTS)
    with virtual_costs() as costs, anethru.Chain(8, 4, kernels=kernels, backend="virtual") as chain:
        m = chain.measure(DEFAULT_TESTS, iters=2, warmup=0, repeats=repeats, seed=7)
        again = chain.measure(DEFAULT_TESTS, iters=2, warmup=0, repeats=repeats, seed=7)
        other = chain.measure(DEFAULT_TESTS, iters=2, warmup=0, repeats=repeats, seed=8)
    # The recorded schedule is the order the blocks ran: each test's block has its own total.
    total = {t: m.iters[t] * costs.pass_ns(t, kernels, 64) for t in DEFAULT_TESTS}
    assert len(set(total.values())) == n
    assert list(m.block_ns) == [total[t] for t in m.schedule]
    # Seeded: the same seed gives the same order, another seed another.
    assert again.schedule == m.schedule and other.schedule != m.schedule
    # Each repeat runs every test once, in its own order: no test is always first or last.
    rounds = [m.schedule[r * n:(r + 1) * n] for r in range(repeats)]
    assert all(sorted(r) == sorted(DEFAULT_TESTS) for r in rounds)
    assert {r[0] for r in rounds} == set(DEFAULT_TESTS) == {r[-1] for r in rounds}


def test_json_round_trip_is_lossless(result):
    back = anethru.CeilingResult.from_json(result.to_json())
    assert back == result
    assert str(back) == str(result)
    d = json.loads(result.to_json())
    assert d["derived"]["round_trip_overhead"]["stats"]["median"] == result.derived["round_trip_overhead"].stats.median


def test_from_json_refuses_other_documents():
    with pytest.raises(ValueError, match="not an anethru result"):
        anethru.CeilingResult.from_json('{"schema": "something/else"}')


def test_report_reads_like_the_seed(result):
    text = str(result)
    assert "64x32 (channels x spatial), 12 kernels" in text
    assert "chain check: sequential + chained passed" in text
    for name in result.tests:
        assert f"\n {name:<13} " in text
    assert "round-trip overhead per layer" in text and \
        "pairs of single passes (sequential - run_only) / 11" in text   # per-pass pairs (#19)


def test_csv_has_a_row_per_test_and_figure(result):
    rows = to_csv([result]).strip().splitlines()
    assert rows[0].startswith("backend,channels,spatial,kernels,test,unit")
    names = [r.split(",")[4] for r in rows[1:]]
    assert names == list(result.tests) + list(result.derived)


def test_per_kernel_ms_is_the_median(result):
    import dataclasses

    # Per pass 2, 9, 3, 4, 30 ms over 12 kernels: median 4 ms (mean 9.6, min 2, first 2).
    blocks = tuple(ms * 10 * 1_000_000 for ms in (2, 9, 3, 4, 30))
    r = dataclasses.replace(result, tests={"run_only": TestResult("run_only", "kernel", 12, 10, blocks)})
    assert r.per_kernel_ms("run_only") == pytest.approx(4 / 12, rel=1e-12)


def test_report_names_the_machine_and_what_throttles_it(result):
    import dataclasses

    m = result.machine
    assert f" machine: {m['os']} {m['os_release']}; {m['cpu_model']}, {m['cpu_count']} cores" in str(result)
    mac = dataclasses.replace(result, machine={
        "os": "Darwin", "macos_version": "15.1", "cpu_model": "Apple M4 Max", "cpu_count": 16,
        "power_source": "Battery Power", "thermal_state": "throttled (CPU speed limit 80%)",
        "low_power_mode": True})
    assert (" machine: Darwin 15.1; Apple M4 Max, 16 cores; Battery Power; "
            "thermal throttled (CPU speed limit 80%); LOW POWER MODE") in str(mac)
