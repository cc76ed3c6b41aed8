"""The command line, as a user runs it: a subprocess, its output and its exit status."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig

import pytest

import anethru

FAST = ["-c", "64x32", "-n", "2", "-w", "1", "-r", "2"]


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "anethru", *args], capture_output=True, text=True,
                          timeout=300)


def test_report_on_stdout_progress_on_stderr():
    p = run(*FAST, "-c", "16x8", "--backend", "cpu")
    assert p.returncode == 0, p.stderr
    assert "anethru: [1/2] 64x32" in p.stderr and "anethru: [2/2] 16x8" in p.stderr
    assert "64x32 (channels x spatial), 12 kernels" in p.stdout
    assert "16x8 (channels x spatial), 12 kernels" in p.stdout
    assert "anethru: [" not in p.stdout


def test_json_output_round_trips():
    p = run(*FAST, "--backend", "cpu", "--json", "--seed", "5", "-t", "sequential,run_only", "-q")
    assert p.returncode == 0, p.stderr
    assert p.stderr == ""
    doc = json.loads(p.stdout)
    assert doc["schema"] == "anethru.suite/4" and doc["failures"] == [] and doc["interrupted"] is None
    (r,) = [anethru.CeilingResult.from_dict(d) for d in doc["results"]]
    assert list(r.tests) == ["sequential", "run_only"]
    assert r.config.test_order_seed == 5 and r.config.repeats == 2
    assert anethru.CeilingResult.from_json(r.to_json()) == r
    assert anethru.load_results(p.stdout) == [r] == anethru.load_results(r.to_json())


def test_csv_output():
    p = run(*FAST, "--backend", "cpu", "--csv", "-t", "run_only", "-q")
    assert p.returncode == 0, p.stderr
    lines = p.stdout.strip().splitlines()
    assert lines[0].split(",")[:5] == ["backend", "channels", "spatial", "kernels", "test"]
    assert lines[1].startswith("cpu,64,32,12,run_only,ms/kernel,2,2,")


@pytest.mark.parametrize("args,message", [
    (["-c", "64by32"], "invalid config '64by32': use CHANNELSxSPATIAL"),
    (["-c", "0x32"], "channels must be >= 1; got 0"),
    (["--kernels", "1"], "kernels must be >= 2; got 1"),
    (["-n", "0"], "iters must be >= 1; got 0"),
    (["-r", "-2"], "repeats must be >= 1; got -2"),
    (["-t", "sequential,warp"], "unknown test 'warp'"),
    (["--weights", "ones"], "invalid choice: 'ones'"),
    (["--backend", "tpu"], "unknown backend 'tpu'"),
    (["--json", "--csv"], "not allowed with argument"),
    (["-c", "2000000000x2000000000"], "channels=2000000000, spatial=2000000000"),
])
def test_usage_errors_exit_2_with_one_line(args, message):
    p = run(*args)
    assert p.returncode == 2, (p.stdout, p.stderr)
    assert message in p.stderr
    assert "Traceback" not in p.stderr


def test_runtime_failure_exits_1_with_one_line():
    missing = [b for b in anethru.backends() if not b.available]
    if not missing:
        pytest.skip("every backend is available here")
    p = run(*FAST, "--backend", missing[0].name)
    assert p.returncode == 1
    assert p.stderr.strip().splitlines() == [
        f"anethru: error: backend '{missing[0].name}' is unavailable: {missing[0].reason}"]
    assert p.stdout == ""


def test_list_backends():
    p = run("--list-backends")
    assert p.returncode == 0
    lines = p.stdout.strip().splitlines()
    assert [ln.split(":")[0] for ln in lines] == [b.name for b in anethru.backends()]
    assert any(ln.startswith("cpu: CPU") for ln in lines)


def test_list_backends_shows_the_test_backends_only_when_asked():
    env = {k: v for k, v in os.environ.items() if k != "ANETHRU_TEST_BACKENDS"}
    hidden = subprocess.run([sys.executable, "-m", "anethru", "--list-backends"], env=env,
                            capture_output=True, text=True, timeout=120)
    shown = subprocess.run([sys.executable, "-m", "anethru", "--list-backends"],
                           env={**env, "ANETHRU_TEST_BACKENDS": "1"}, capture_output=True,
                           text=True, timeout=120)
    assert hidden.returncode == shown.returncode == 0
    assert "virtual" not in hidden.stdout
    assert shown.stdout.startswith(hidden.stdout)
    assert shown.stdout[len(hidden.stdout):].startswith("virtual: SIMULATED virtual clock")


def test_console_script_and_help():
    # The installed `anethru` script is the CLI's main, and it runs.  It is looked up where this
    # interpreter installs scripts (a venv's bin need not be on PATH).
    from importlib.metadata import entry_points

    eps = entry_points()
    scripts = eps.select(group="console_scripts") if hasattr(eps, "select") else eps["console_scripts"]
    (ep,) = [e for e in scripts if e.name == "anethru"]
    assert ep.value == "anethru.cli:main"
    found = [os.path.join(d, "anethru") for d in (sysconfig.get_path("scripts"), os.path.dirname(sys.executable))]
    found = [f for f in found if os.access(f, os.X_OK)]
    if not found:
        pytest.skip(f"no anethru script next to {sys.executable} or in {sysconfig.get_path('scripts')}")
    p = subprocess.run([found[0], "--help"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    for flag in ("--backend", "--config", "--kernels", "--iters", "--warmup", "--repeats",
                 "--tests", "--weights", "--json", "--csv"):
        assert flag in p.stdout


def test_a_closed_pipe_ends_quietly():
    # `true` exits at once, so every write of the report meets a closed pipe.
    p = subprocess.run(f"{sys.executable} -m anethru -c 16x8 -n 1 -r 1 -q | true", shell=True,
                       capture_output=True, text=True, timeout=120)
    assert p.stderr == ""


def test_usage_errors_share_one_style():
    # argparse's own errors (a malformed value) and the API's (an unknown backend) read alike.
    for args in (["-c", "768by256"], ["--backend", "gpu"], ["frobnicate"], ["-n", "x"]):
        p = run(*args)
        assert p.returncode == 2, (args, p.stderr)
        lines = p.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("anethru: usage error: "), (args, lines)
        assert lines[0].endswith("(see anethru --help)")


def test_unknown_command_names_the_commands():
    p = run("frobnicate")
    assert p.returncode == 2
    assert "unknown command 'frobnicate'; choose from run" in p.stderr


@pytest.mark.parametrize("fmt", [[], ["--json"], ["--csv"]])
def test_a_full_disk_is_one_line_and_exit_1(fmt):
    if not __import__("os").path.exists("/dev/full"):
        pytest.skip("no /dev/full on this system")
    with open("/dev/full", "w") as full:
        p = subprocess.run([sys.executable, "-m", "anethru", "-c", "16x8", "-n", "1", "-r", "1",
                            "-q", "-t", "run_only", "-b", "cpu", *fmt], stdout=full,
                           stderr=subprocess.PIPE, text=True, timeout=120)
    assert p.returncode == 1
    assert p.stderr.strip().splitlines() == [
        "anethru: error: cannot write the output: [Errno 28] No space left on device"]


def test_an_unexpected_exception_is_one_line(monkeypatch, capsys):
    # A bug of ours still ends as one line naming the exception, never a traceback.
    from anethru import cli
    from anethru.commands import run as run_command

    def broken(args):
        raise KeyError("boom")

    monkeypatch.setattr(run_command, "run", broken)
    monkeypatch.delenv("ANETHRU_DEBUG", raising=False)
    assert cli.main(["-q"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("anethru: error: internal error: KeyError: 'boom'")


@pytest.mark.parametrize("unbuffered", ["1", ""], ids=["unbuffered", "buffered"])
@pytest.mark.parametrize("args", [["--version"], ["--help"], ["compare", "--help"]])
def test_help_and_version_into_a_full_disk_exit_1_with_one_line(args, unbuffered):
    """argparse swallowed the failed write: exit 0, nothing written, nothing said."""
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full on this system")
    env = dict(os.environ, PYTHONUNBUFFERED=unbuffered)
    with open("/dev/full", "w") as full:
        p = subprocess.run([sys.executable, "-m", "anethru", *args], stdout=full,
                           stderr=subprocess.PIPE, text=True, timeout=120, env=env)
    assert (p.returncode, p.stderr.strip().splitlines()) == (1, [
        "anethru: error: cannot write the output: [Errno 28] No space left on device"])


@pytest.mark.parametrize("args,line", [
    (["-r", "3", "--max-time", "5"], "--repeats is an exact count; give --repeats, or "
                                     "--precision and/or --max-time, not both"),
    (["--ane-eval", "all", "--precision", "2%"], "--ane-eval all runs an exact number of rounds "
     "for every path; give --repeats (default 10), not --precision or --max-time"),
    (["--max-time", "-1"], "--max-time must be a positive number of seconds; got -1.0"),
    (["-n", "0"], "--iters must be >= 1; got 0"),
    (["-w", "-1"], "--warmup must be >= 0; got -1"),
    (["--seed", "-1"], "--seed must be >= 0; got -1"),
    (["--cuda-memory", "mapped", "-b", "cpu"],
     "--cuda-memory mapped needs the cuda backend; this chain runs on 'cpu'"),
    (["-k", "4000000", "-c", "100000x100000"], None),   # prose keeps its words: no "--kernels at"
])
@pytest.mark.parametrize("command", ["run", "sweep"])
def test_argument_errors_name_the_flags_not_the_python_arguments(command, args, line, capsys):
    from anethru import cli

    config = ["-c", "8x8"] if command == "run" else [command, "--configs", "8x8"]
    if "-c" in args:
        config = [] if command == "run" else [command]
    argv = config + ["-q", *args]
    assert cli.main(argv) == 2
    (err,) = capsys.readouterr().err.strip().splitlines()
    hint = "anethru --help" if command == "run" else f"anethru {command} --help"
    if command == "sweep" and "all" in args:
        line = ("a sweep measures one eval path: give --ane-eval standard, realtime or direct "
                "(anethru --ane-eval all compares the paths at one configuration)")
    if line is None:
        assert "--kernels" not in err and "max_time" not in err, err
    else:
        assert err == f"anethru: usage error: {line} (see {hint})"


NO_NUMPY = '''
import sys
class _NoNumpy:  # a Python without numpy, as a venv that never installed it
    def find_spec(self, name, path=None, target=None):
        if name == "numpy" or name.startswith("numpy."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
sys.meta_path.insert(0, _NoNumpy())
'''


def test_a_python_without_numpy_is_told_what_to_install(tmp_path):
    """It said `internal error: ModuleNotFoundError: No module named 'numpy' (this is a bug in
    anethru ...)`."""
    (tmp_path / "sitecustomize.py").write_text(NO_NUMPY)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), root]))
    p = subprocess.run([sys.executable, "-m", "anethru", "-c", "8x8", "-q"], cwd=root, env=env,
                       capture_output=True, text=True, timeout=120)
    assert (p.returncode, p.stderr.splitlines()) == (1, [
        f"anethru: error: anethru needs numpy, which this Python ({sys.executable}) cannot "
        f"import: `{sys.executable} -m pip install numpy`, or install anethru with its "
        f"dependencies (`pip install .` or `pip install -e .` in the clone)"])
