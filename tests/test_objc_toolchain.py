"""Getting (or lacking) the Objective-C toolchain: the README's test command runs on any system,
the Objective-C tests skip saying how to get the toolchain, and CI=true makes that a failure.

install_deps.sh runs here against stand-ins for uname, id, dpkg-query, apt-get and sudo (a PATH
holding only them), so every system it meets can be played without installing anything.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, "tests", "objc", "install_deps.sh")
PACKAGES = "clang libgnustep-base-dev libblocksruntime-dev"
SH = shutil.which("sh")

pytestmark = pytest.mark.skipif(SH is None or not shutil.which("grep"),
                                reason="needs a POSIX sh and grep")


def fake_system(tmp_path, *, uid=0, debian=True, sudo=False, apt_fails=False):
    """A bin directory playing a Linux system; apt-get and sudo log their arguments."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    log = tmp_path / "log"

    def tool(name, body):
        path = bindir / name
        path.write_text("#!" + SH + "\n" + body + "\n")
        path.chmod(0o755)

    tool("uname", "echo Linux")
    tool("id", f"echo {uid}")
    os.symlink(shutil.which("grep"), bindir / "grep")
    if debian:
        tool("dpkg-query", "echo 'unknown ok not-installed'")
        tool("apt-get", f'echo "apt-get $*" >> {log}' + ("\nexit 100" if apt_fails else ""))
    if sudo:
        tool("sudo", f'echo "sudo $*" >> {log}\n[ "$1" = -n ] && shift\n'
                     '[ "$1" = true ] && exit 0\nexec "$@"')
    return str(bindir), log


def run_script(bindir):
    return subprocess.run([SH, SCRIPT], env={"PATH": bindir}, capture_output=True, text=True,
                          timeout=60)


def logged(log):
    return log.read_text().splitlines() if log.exists() else []


def test_installs_with_apt_as_root(tmp_path):
    bindir, log = fake_system(tmp_path, uid=0)
    p = run_script(bindir)
    assert p.returncode == 0, p.stderr
    assert logged(log) == ["apt-get update -qq",
                           f"apt-get install -y -qq --no-install-recommends {PACKAGES}"]


def test_uses_passwordless_sudo(tmp_path):
    bindir, log = fake_system(tmp_path, uid=1000, sudo=True)
    p = run_script(bindir)
    assert p.returncode == 0, p.stderr
    assert f"apt-get install -y -qq --no-install-recommends {PACKAGES}" in logged(log)
    assert "sudo -n apt-get update -qq" in logged(log)


@pytest.mark.parametrize("system,why", [
    (dict(debian=False), "not a Debian-like system (no dpkg-query/apt-get), so nothing was installed"),
    (dict(uid=1000), "not root and no passwordless sudo, so " + PACKAGES + " could not be installed"),
    (dict(apt_fails=True), "apt-get could not install " + PACKAGES),
])
def test_never_fails_the_test_command_and_says_what_to_install(tmp_path, system, why):
    bindir, log = fake_system(tmp_path, **system)
    p = run_script(bindir)
    assert p.returncode == 0, p.stderr
    lines = p.stderr.strip().splitlines()
    assert lines[-2].startswith(f"tests/objc/install_deps.sh: {why}; the Objective-C tests will be skipped")
    assert lines[-1].endswith(f"(Debian/Ubuntu: apt-get install {PACKAGES}).")
    if "root" in why:
        assert logged(log) == []  # no apt-get attempted without the rights to it


def run_objc_tests(tmp_path, ci):
    # No clang, no gcc on PATH: the toolchain is missing (the headers alone are not enough).
    empty = tmp_path / "empty"
    empty.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["PATH"] = str(empty)
    if ci:
        env["CI"] = "true"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider",
         "tests/test_ane_linux_check.py", "tests/test_ane_simulated.py"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the Objective-C checks run on Linux")
def test_objc_tests_skip_without_the_toolchain_saying_how_to_get_it(tmp_path):
    p = run_objc_tests(tmp_path, ci=False)
    assert p.returncode == 0, p.stdout + p.stderr
    assert " passed" not in p.stdout and "failed" not in p.stdout and "error" not in p.stdout
    skips = [ln for ln in p.stdout.splitlines() if ln.startswith("SKIPPED")]
    assert skips, p.stdout
    for line in skips:
        if "x86_64" in line:  # the simulated build's platform skip, off x86_64
            continue
        assert "missing clang, gcc (for its objc headers)" in line, line
        assert "sudo bash tests/objc/install_deps.sh" in line, line


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the Objective-C checks run on Linux")
def test_objc_tests_fail_without_the_toolchain_under_ci(tmp_path):
    p = run_objc_tests(tmp_path, ci=True)
    assert p.returncode == 1, p.stdout + p.stderr
    assert "CI=true and the Objective-C checks need clang and GNUstep; missing clang" in p.stdout
    assert not [ln for ln in p.stdout.splitlines() if ln.startswith("SKIPPED") and "missing" in ln]
