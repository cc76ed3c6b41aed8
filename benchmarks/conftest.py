"""pytest-benchmark glue: the machine fingerprint in every saved run, and a closing summary of
the side-by-side ratios the benchmarks measured."""

from __future__ import annotations

import anethru
from anethru.measure.host.fingerprint import fingerprint

from _ratios import RATIOS


def pytest_benchmark_update_machine_info(config, machine_info):
    # Without the time of day: --benchmark-compare warns when machine_info differs.
    machine_info["anethru"] = {k: v for k, v in fingerprint().items() if k != "time_utc"}
    machine_info["anethru_backends"] = [str(b) for b in anethru.backends()]


def pytest_terminal_summary(terminalreporter):
    if not RATIOS:
        return
    terminalreporter.section("anethru side-by-side ratios (measured in this run)")
    for line in RATIOS:
        terminalreporter.write_line(line)
