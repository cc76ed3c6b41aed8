"""`anethru submit`: the file it writes is what `anethru --json` prints, named for the gallery and
accepted by it; it refuses a simulated backend; it warns about battery power, Low Power Mode and
throttling (read from the fingerprint, here a doctored one); and it says what to do next."""

from __future__ import annotations

import json
import os

import pytest

import anethru
from anethru import cli
from anethru.measure.host import conditions
from anethru.gallery.files import read_gallery, submission_stem


def submit(*args: str, capsys) -> tuple[int, str, str]:
    code = cli.main(["submit", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_submit_writes_a_gallery_file_and_says_what_next(tmp_path, capsys):
    d = tmp_path / "results"
    code, out, err = submit("-b", "cpu", "-c", "16x8", "--max-time", "0.5", "--results", str(d),
                            capsys=capsys)
    assert code == 0, err
    files = os.listdir(d)
    assert len(files) == 1
    with open(d / files[0], encoding="utf-8") as f:
        doc = json.load(f)
    assert doc["schema"] == "anethru.suite/4" and doc["failures"] == []
    assert doc["interrupted"] is None
    [r] = anethru.load_results((d / files[0]).read_bytes())
    assert files[0] == submission_stem(r) + ".json"
    assert r.config.label == "16x8" and r.config.kernels == 12 and r.config.weights == "identity"
    assert r.stopping.criterion == "precision" and r.stopping.precision == 0.05
    assert r.stopping.max_time_s == 0.5
    assert (r.config.backend, r.simulated) == ("cpu", False)
    accepted, refused = read_gallery(str(d))
    assert refused == [] and [s.name for s in accepted] == files
    assert f"wrote {os.path.join(str(d), files[0])}" in out
    assert f"anethru gallery {d}" in out and "CONTRIBUTING.md" in out
    # The same day again: a second file, not an overwrite.
    code, _, err = submit("-b", "cpu", "-c", "16x8", "--max-time", "0.5", "--results", str(d),
                          "-q", capsys=capsys)
    assert code == 0, err
    assert sorted(os.listdir(d)) == sorted(files + [files[0][:-5] + "-2.json"])
    assert "[1/1]" not in err   # -q: no progress


def test_submit_refuses_a_simulated_backend(tmp_path, capsys):
    code, out, err = submit("-b", "virtual", "--results", str(tmp_path / "r"), capsys=capsys)
    assert code == 2 and out == ""
    assert "backend 'virtual' is simulated" in err and "the gallery refuses them" in err
    assert not (tmp_path / "r").exists()


def test_submit_unknown_or_unavailable_backend(tmp_path, capsys):
    code, _, err = submit("-b", "nope", "--results", str(tmp_path), capsys=capsys)
    assert code == 2 and "unknown backend 'nope'" in err
    info = {b.name: b for b in anethru.backends()}
    if not info["cuda"].available:
        code, _, err = submit("-b", "cuda", "--results", str(tmp_path), capsys=capsys)
        assert code == 1 and "unavailable" in err


def test_submit_warns_on_battery_and_throttling(tmp_path, capsys, monkeypatch):
    import anethru.measure.host.fingerprint as machine

    real = anethru.measure.host.fingerprint.fingerprint

    def on_battery():
        return {**real(), "power_source": "Battery Power", "battery_percent": 41,
                "thermal_state": "throttled (CPU speed limit 70%)", "low_power_mode": True}

    monkeypatch.setattr(anethru.measure.host.fingerprint, "fingerprint", on_battery)
    import anethru.measure.api as api
    monkeypatch.setattr(anethru.measure.api, "fingerprint", on_battery)
    code, out, err = submit("-b", "cpu", "-c", "8x8", "--max-time", "0.5", "--results",
                            str(tmp_path), "-q", capsys=capsys)
    assert code == 0, err
    assert "warning: running on battery power" in err
    assert "warning: Low Power Mode is on" in err
    assert "warning: thermal state 'throttled (CPU speed limit 70%)'" in err
    # ... before the run and again for the result, which records them.
    assert err.count("running on battery power") == 2
    [name] = os.listdir(tmp_path)
    accepted, _ = read_gallery(str(tmp_path))
    m = accepted[0].first.machine
    assert conditions.state_text(m, {}).startswith(
        "Battery Power (41%), thermal throttled (CPU speed limit 70%), Low Power Mode on")


def test_condition_warnings_and_state_text():
    assert conditions.warnings({"power_source": "AC Power", "thermal_state": "nominal"}) == []
    w = conditions.warnings({"power_source": "AC Power"},
                            {"start": {"thermal_state": "nominal"},
                             "end": {"thermal_state": "warning level 2"}})
    assert w == ["thermal state 'warning level 2' at the end of the run: the machine is "
                 "throttling; let it cool down and run again"]
    assert conditions.state_text({}, {}) == conditions.NOT_RECORDED
    text = conditions.state_text({"cpu_count": 16},
                                 {"start": {"load_average_1m": 0.5, "gpu_sm_clock_mhz": 1980,
                                            "gpu_temperature_c": 35},
                                  "end": {"load_average_1m": 0.7, "gpu_sm_clock_mhz": 1755,
                                          "gpu_temperature_c": 61}})
    assert text == "load 0.50 -> 0.70 on 16 CPUs, GPU SM 1980 -> 1755 MHz, 35 -> 61 C"
    # A valid document may hold any JSON scalar there: shown as written, never a crash.
    text = conditions.state_text({}, {"start": {"load_average_1m": "high", "gpu_sm_clock_mhz": True},
                                      "end": {"load_average_1m": 2}})
    assert text == "load high -> 2.00, GPU SM True MHz, ? C"


@pytest.mark.parametrize("args", [["--max-time", "0"], ["-c", "0x8"]])
def test_submit_bad_values_are_usage_errors(tmp_path, capsys, args):
    code, out, err = submit("-b", "cpu", *args, "--results", str(tmp_path / "r"), capsys=capsys)
    assert code == 2 and out == "" and "usage error" in err
    assert not (tmp_path / "r").exists() or os.listdir(tmp_path / "r") == []
