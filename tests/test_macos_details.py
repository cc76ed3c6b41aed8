"""anethru/_macos.py: the macOS fingerprint parsers, on pmset's real output formats."""

import sys

from anethru.measure.host import macos as _macos

BATT_LAPTOP = """Now drawing from 'Battery Power'
 -InternalBattery-0 (id=4653155)	87%; discharging; 6:12 remaining present: true
"""
BATT_DESKTOP = "Now drawing from 'AC Power'\n"
THERM_QUIET = """Note: No thermal warning level has been recorded
Note: No performance warning level has been recorded
Note: No CPU power status has been recorded
"""
THERM_THROTTLED = """Note: No thermal warning level has been recorded
Note: No performance warning level has been recorded
2026-11-20 10:01:02 +0000 CPU Power notify
	CPU_Scheduler_Limit 	= 100
	CPU_Available_CPUs 	= 14
	CPU_Speed_Limit 	= 71
"""
THERM_WARNING = "Thermal warning level: 2\n"
PMSET_SETTINGS = """System-wide power settings:
Currently in use:
 standby              1
 lowpowermode         1
 sleep                1
"""


def test_battery_power_and_percent():
    assert _macos.parse_pmset_batt(BATT_LAPTOP) == {"power_source": "Battery Power",
                                                    "battery_percent": 87}
    assert _macos.parse_pmset_batt(BATT_DESKTOP) == {"power_source": "AC Power"}


def test_thermal_states():
    assert _macos.parse_pmset_therm(THERM_QUIET) == {"thermal_warning_level": 0,
                                                     "thermal_state": "nominal"}
    throttled = _macos.parse_pmset_therm(THERM_THROTTLED)
    assert throttled["thermal_state"] == "throttled (CPU speed limit 71%)"
    assert throttled["cpu_speed_limit_percent"] == 71
    assert _macos.parse_pmset_therm(THERM_WARNING)["thermal_state"] == "warning level 2"
    assert _macos.parse_pmset_therm("") == {}        # unknown output: nothing guessed


def test_low_power_mode():
    assert _macos.parse_low_power_mode(PMSET_SETTINGS) is True
    assert _macos.parse_low_power_mode(PMSET_SETTINGS.replace("lowpowermode         1",
                                                              "lowpowermode         0")) is False
    assert _macos.parse_low_power_mode("sleep 1\n") is None


def test_empty_off_macos():
    if sys.platform != "darwin":
        assert _macos.macos_details() == {}
