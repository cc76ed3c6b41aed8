"""Metadata a reader needs to trust a figure from another machine: git provenance, the Linux
governor and load, and the GPU's SM clock and temperature through NVML (a fake one here)."""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import subprocess
import sys

import pytest

import anethru
from anethru.measure.host import nvml as _nvml, fingerprint as machine, state as machine_state

HERE = os.path.dirname(os.path.abspath(__file__))
CC = shutil.which("gcc") or shutil.which("cc")


@pytest.fixture(scope="module")
def fake_nvml(tmp_path_factory):
    if CC is None:
        pytest.skip("no C compiler to build the fake NVML")
    out = str(tmp_path_factory.mktemp("nvml") / "libnvidia-ml-fake.so")
    subprocess.run([CC, "-shared", "-fPIC", "-O1", "-Wall", "-Werror", "-fvisibility=hidden",
                    os.path.join(HERE, "nvml_fake", "fake_nvml.c"), "-o", out],
                   check=True, capture_output=True, text=True)
    return out


@pytest.fixture
def nvml_env(monkeypatch):
    """Point NVML at a library for one test, and forget it afterwards."""
    def use(path, **env):
        monkeypatch.setenv("ANETHRU_NVML_LIBRARY", path)
        monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
        for k, v in env.items():
            monkeypatch.setenv(k, str(v))
        _nvml._reset_for_tests()
        if os.path.exists(path):
            ctypes.CDLL(path).fake_nvml_reset()
    yield use
    _nvml._reset_for_tests()


def test_gpu_readings_come_from_nvml_and_move(fake_nvml, nvml_env):
    nvml_env(fake_nvml)
    assert _nvml.gpu_reading() == {"gpu_name": "Fake GPU 0", "gpu_sm_clock_mhz": 1980,
                                   "gpu_temperature_c": 40}
    assert _nvml.gpu_reading() == {"gpu_name": "Fake GPU 0", "gpu_sm_clock_mhz": 1880,
                                   "gpu_temperature_c": 50}


@pytest.mark.parametrize("visible,name", [("3", "Fake GPU 3"), ("2,0", "Fake GPU 2"),
                                          ("GPU-fake-uuid", "Fake GPU by uuid")])
def test_the_gpu_is_the_one_cuda_uses(fake_nvml, nvml_env, visible, name):
    nvml_env(fake_nvml, CUDA_VISIBLE_DEVICES=visible)
    assert _nvml.gpu_reading()["gpu_name"] == name


def test_missing_or_failing_nvml_is_absent_without_error(fake_nvml, nvml_env, tmp_path):
    nvml_env(str(tmp_path / "no-such-libnvidia-ml.so"))
    assert _nvml.gpu_reading() == {}
    nvml_env(fake_nvml, FAKE_NVML_INIT_FAIL=1)
    assert _nvml.gpu_reading() == {}
    nvml_env(fake_nvml, CUDA_VISIBLE_DEVICES="GPU-other")
    assert _nvml.gpu_reading() == {}


def test_snapshots_read_nvml_only_for_cuda(fake_nvml, nvml_env):
    nvml_env(fake_nvml)
    cpu = machine_state.snapshot("cpu")
    assert not any(k.startswith("gpu_") for k in cpu)
    if sys.platform.startswith("linux"):
        one, five, fifteen = os.getloadavg()
        assert isinstance(cpu["load_average_1m"], float) and cpu["load_average_1m"] >= 0
    cuda = machine_state.snapshot("cuda")
    assert cuda["gpu_sm_clock_mhz"] == 1980 and cuda["gpu_temperature_c"] == 40


def test_governor_of_every_cpu(tmp_path):
    for i, g in enumerate(["performance", "performance"]):
        (tmp_path / f"cpu{i}").mkdir()
        (tmp_path / f"cpu{i}" / "scaling_governor").write_text(g + "\n")
    pattern = str(tmp_path / "cpu[0-9]*" / "scaling_governor")
    assert machine_state.cpu_governor(pattern) == "performance"
    (tmp_path / "cpu1" / "scaling_governor").write_text("powersave\n")
    assert machine_state.cpu_governor(pattern) == "mixed: performance, powersave"
    assert machine_state.cpu_governor(str(tmp_path / "nothing" / "*")) is None


def git(cwd, *args):
    subprocess.run(["git", "-C", str(cwd), *args], check=True, capture_output=True,
                   env={**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t",
                        "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"})


@pytest.mark.skipif(shutil.which("git") is None, reason="no git")
def test_git_commit_and_dirty_flag_of_a_checkout(tmp_path):
    git(tmp_path, "init", "-q")
    (tmp_path / "f.txt").write_text("one")
    git(tmp_path, "add", "f.txt")
    git(tmp_path, "commit", "-qm", "first")
    head = subprocess.run(["git", "-C", str(tmp_path), "rev-parse", "HEAD"], capture_output=True,
                          text=True).stdout.strip()
    assert machine.git_provenance(str(tmp_path)) == {"anethru_git_commit": head,
                                                     "anethru_git_dirty": False}
    (tmp_path / "f.txt").write_text("two")
    assert machine.git_provenance(str(tmp_path))["anethru_git_dirty"] is True
    plain = tmp_path / "plain"
    plain.mkdir()
    assert machine.git_provenance(str(plain)) == {}


def test_a_result_records_the_state_at_start_and_end(no_leaks):
    r = anethru.run_ceiling(16, 8, kernels=2, backend="cpu", iters=1, repeats=2)
    assert set(r.machine_state) == {"start", "end"}
    if sys.platform.startswith("linux"):
        assert "load_average_1m" in r.machine_state["start"]
        assert "load " in str(r).splitlines()[4]
    assert r.machine["anethru_version"] == anethru.__version__
    again = anethru.CeilingResult.from_json(r.to_json())
    assert again.machine_state == r.machine_state


@pytest.mark.skipif(CC is None, reason="no C compiler")
def test_a_cuda_run_records_the_gpu_clock_and_temperature(fake_nvml, tmp_path):
    import cuda_helpers as H

    fake_cuda = H.build_fake(str(tmp_path))
    code = ("import anethru, json\n"
            "r = anethru.run_ceiling(64, 32, backend='cuda', iters=1, warmup=0, repeats=2)\n"
            "print(json.dumps(dict(state=r.machine_state, warnings=r.warnings, report=str(r))))\n")
    rc, out, err = H.run_python(code, ANETHRU_CUDA_LIBRARY=fake_cuda, ANETHRU_NVML_LIBRARY=fake_nvml,
                                FAKE_NVML_SM_STEP=300)
    assert rc == 0, err
    got = json.loads(out)
    assert got["state"]["start"]["gpu_sm_clock_mhz"] == 1980
    assert got["state"]["end"]["gpu_sm_clock_mhz"] == 1680
    assert got["state"]["start"]["gpu_temperature_c"] == 40
    assert got["state"]["end"]["gpu_temperature_c"] == 50
    assert "GPU SM 1980 -> 1680 MHz, 40 -> 50 C" in got["report"]
    assert any(w.startswith("GPU SM clock fell from 1980 to 1680 MHz during the run "
                            "(temperature 40 -> 50 C)") for w in got["warnings"])


def test_macos_model_memory_and_thermal_state(monkeypatch):
    from anethru.measure.host import macos as _macos
    from anethru.report.common import machine_line

    outputs = {
        ("sysctl", "-n", "machdep.cpu.brand_string"): "Apple M4 Max\n",
        ("sysctl", "-n", "hw.model"): "Mac16,5\n",
        ("sysctl", "-n", "hw.memsize"): "68719476736\n",
        ("sw_vers", "-productVersion"): "15.1\n",
        ("sw_vers", "-buildVersion"): "24B83\n",
        ("pmset", "-g", "therm"): "CPU_Speed_Limit \t= 80\n",
    }
    monkeypatch.setattr(_macos.sys, "platform", "darwin")
    monkeypatch.setattr(_macos, "_run", lambda *cmd: outputs.get(cmd))
    info = _macos.macos_details()
    assert (info["hw_model"], info["memory_bytes"], info["chip"]) == ("Mac16,5", 2**36, "Apple M4 Max")
    assert _macos.thermal_state() == {"cpu_speed_limit_percent": 80,
                                      "thermal_state": "throttled (CPU speed limit 80%)"}
    line = machine_line({"os": "Darwin", "macos_version": "15.1", "cpu_model": "Apple M4 Max",
                          "cpu_count": 16, **info}, {})
    assert line.startswith("Darwin 15.1; Apple M4 Max, 16 cores; Mac16,5; 64 GiB")


@pytest.mark.skipif(shutil.which("git") is None, reason="no git")
def test_the_checkout_anethru_runs_from_is_found_without_a_directory():
    """Without an argument, the checkout is the folder holding the anethru package (the layout
    move put fingerprint.py three folders down, and the provenance silently vanished)."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(anethru.__file__)))
    if not os.path.exists(os.path.join(root, ".git")):
        pytest.skip("anethru is not imported from a git checkout here")
    head = subprocess.run(["git", "-C", root, "rev-parse", "HEAD"], capture_output=True,
                          text=True).stdout.strip()
    assert machine.git_provenance()["anethru_git_commit"] == head
