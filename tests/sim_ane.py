"""The simulated ANE for the test modules that drive the real backend (test_ane_*.py,
test_doctor_ane.py): tests/objc/sim_build.py's build, made once per pytest process however many
modules use it, and a runner for scripts against it.

Each script runs in a subprocess with ANETHRU_NATIVE_MODULE=_anethru_sim_native, its own
NSTemporaryDirectory ($TEMP) and knobs for the fake, and reports values and the fake's counters
back as JSON (tests/objc/sim_probe.py).  Without clang and GNUstep these tests skip, saying how
to get them (under CI=true they fail); off Linux x86_64 they skip.
"""

import json
import os
import subprocess
import sys
import textwrap

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
OBJC = os.path.join(HERE, "objc")
sys.path.insert(0, OBJC)
import sim_build  # noqa: E402
import sim_probe  # noqa: E402  (only its constants are used here)
import toolchain  # noqa: E402
from shared_build import shared_build, tool_facts  # noqa: E402

# Everything the simulated build reads: the C and Objective-C sources, the cffi builder (its
# interface and flags), the version, and the simulation's own sources.
SIM_INPUTS = ("csrc", "anethru/_build.py", "anethru/_version.py", "tests/objc")

CLEAN = {"live_objects": 0, "live_surfaces": 0, "loaded_now": 0, "freed_while_loaded": 0,
         "overlapping_evals": 0}
_built: dict[str, str] = {}


def build(tmp_path_factory) -> str:
    """The build directory, built on first use in this process."""
    if not toolchain.linux_x86_64():
        pytest.skip("the simulated ANE runs on Linux x86_64 only (its objc_msgSend is x86_64 assembly)")
    toolchain.require()  # a skip saying how to get clang and GNUstep (a failure under CI=true)
    if "dir" not in _built:
        def make(out: str) -> None:
            proc = subprocess.run([sys.executable, os.path.join(OBJC, "sim_build.py"), out],
                                  capture_output=True, text=True, cwd=ROOT, check=False)
            assert proc.returncode == 0, f"simulated build failed:\n{proc.stdout}{proc.stderr}"

        # One build per set of sources for every xdist worker and later run (tests/shared_build.py)
        _built["dir"] = shared_build("anesim", SIM_INPUTS, make, tool_facts("clang", "gcc"))
    return _built["dir"]


def runner(sim: str, tmp_path):
    """run(code, expect_ok=True, **env) -> the values the script reported (plus _stderr, _rc)."""
    nstmp = tmp_path / "nstmp"
    nstmp.mkdir(mode=0o700)

    def _run(code, expect_ok=True, **env):
        e = {k: v for k, v in os.environ.items()
             if not k.startswith(("FAKE_ANE_", "ANETHRU_SIM_", "LINUX_FAKE_"))}
        e.update(PYTHONPATH=os.pathsep.join([ROOT, sim, OBJC]),
                 ANETHRU_NATIVE_MODULE=sim_build.MODULE, SIM_BUILD_DIR=sim,
                 TEMP=str(nstmp), TMPDIR=str(nstmp),
                 NSZombieEnabled="YES", CRASH_ON_ZOMBIE="YES")  # an over-release crashes
        e.update({k: str(v) for k, v in env.items()})
        script = ("import anethru\nfrom sim_probe import counters, kernel_dirs, report, "
                  "temporary_directory\n" + textwrap.dedent(code))
        proc = subprocess.run([sys.executable, "-c", script], env=e, capture_output=True,
                              text=True, timeout=600, cwd=str(tmp_path), check=False)
        if expect_ok:
            assert proc.returncode == 0, f"script failed:\n{proc.stdout}\n{proc.stderr}"
        values = {}
        for line in proc.stdout.splitlines():
            if line.startswith(sim_probe.MARK):
                values.update(json.loads(line[len(sim_probe.MARK):]))
        assert values or not expect_ok, f"the script reported nothing:\n{proc.stderr}"
        values["_stderr"] = proc.stderr
        values["_rc"] = proc.returncode
        return values

    _run.nstmp = str(nstmp)
    _run.framework = lambda variant: sim_build.framework_path(sim, variant)
    return _run


def assert_clean(counters):
    left = {k: counters[k] for k in CLEAN}
    assert left == CLEAN, f"leaked: {counters}"


@pytest.fixture(scope="session")
def sim(tmp_path_factory):
    """The simulated ANE's build directory (import this fixture into a test module)."""
    return build(tmp_path_factory)


@pytest.fixture
def run(sim, tmp_path):
    """run(script, **knobs): a script against the simulated ANE, in a subprocess."""
    return runner(sim, tmp_path)
