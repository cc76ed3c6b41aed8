"""One judgment of whether the machine was fit to measure: a result's warnings, submit's checks
and the host's conditions say the same thing from the same recorded values."""

from __future__ import annotations

import pytest

from anethru.measure.host import conditions
from anethru.results.ceiling import CeilingResult
from anethru.results.fitness import busy, machine_warnings
from test_compare import synthetic

HOT = {"power_source": "Battery Power", "low_power_mode": True, "cpu_count": 4,
       "thermal_state": "nominal"}
STATE = {"start": {"load_average_1m": 3.5, "cpu_governor": "powersave", "thermal_state": "serious",
                   "gpu_sm_clock_mhz": 1980},
         "end": {"gpu_sm_clock_mhz": 1500}}


def test_every_finding_is_made_once_with_what_to_do():
    found = machine_warnings(HOT, STATE)
    assert [w.split(":")[0] for w in found] == [
        "running on battery power", "Low Power Mode is on",
        "thermal state 'serious' at the start of the run", "load average 3.50 at start on 4 CPUs",
        "CPU frequency governor is 'powersave'",
        "GPU SM clock fell from 1980 to 1500 MHz during the run (temperature ? -> ? C)"]


def test_submit_and_the_host_judge_as_the_result_does():
    assert conditions.warnings(HOT, STATE) == machine_warnings(HOT, STATE)
    d = synthetic(seed=3).to_dict()
    d["machine"].update(HOT)
    d["machine_state"] = STATE
    r = CeilingResult.from_dict(d)
    assert [w for w in r.warnings if w in machine_warnings(HOT, STATE)] == machine_warnings(HOT, STATE)


@pytest.mark.parametrize("load,cpus,expected", [(1.0, 2, False), (1.01, 2, True), (3.0, 4, False),
                                               (3.01, 4, True), (0.9, 1, False), (1.5, 1, True),
                                               (True, 2, False), ("3", 2, False), (5, None, False)])
def test_busy_is_above_all_but_one_cpu(load, cpus, expected):
    assert busy(load, cpus) is expected


def test_nothing_recorded_nothing_said():
    assert machine_warnings({}, None) == [] and machine_warnings({"cpu_count": 2}, {}) == []
