"""Results: what run_ceiling records, the report, and the JSON round trip."""

from __future__ import annotations

import json

import pytest

import anethru
from anethru.chain import shuffled_schedule
from anethru.report import to_csv


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
    assert all(len(t.block_ns) == 4 and min(t.block_ns) > 0 for t in result.tests.values())
    assert result.check.tests == ("sequential", "chained") and not result.check.exact
    assert result.check.max_abs_error <= result.check.tolerance
    assert not result.simulated
    m = result.machine
    for key in ("platform", "os_release", "cpu_model", "cpu_count", "python", "anethru_version", "time_utc"):
        assert m[key], key
    assert result.clock.startswith("clock_gettime") or result.clock == "mach_absolute_time"


def test_schedule_is_the_seeded_shuffle(result):
    c = result.config
    assert c.schedule == tuple(shuffled_schedule(result.tests, 4, 7))
    for r in range(4):  # every repeat runs each test once
        assert sorted(c.schedule[r * 5:(r + 1) * 5]) == sorted(result.tests)
    assert len({c.schedule[r * 5:(r + 1) * 5] for r in range(4)}) > 1  # and not in a fixed order


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
    assert "round-trip overhead per layer" in text and "= (sequential - run_only) per pass / 11" in text


def test_csv_has_a_row_per_test_and_figure(result):
    rows = to_csv([result]).strip().splitlines()
    assert rows[0].startswith("backend,channels,spatial,kernels,test,unit")
    names = [r.split(",")[4] for r in rows[1:]]
    assert names == list(result.tests) + list(result.derived)


def test_per_kernel_ms_is_the_median(result):
    assert result.per_kernel_ms("run_only") == result.tests["run_only"].per_unit_ms.median


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
