"""The first-hour traps of loading the native core, each one line naming the fix, no traceback:
the clone's source folder hiding the installed package, and a stale build.

Each test lays out copies of the package in a scratch directory (a "clone" without a build, an
"installed" copy with one, a source tree whose C sources moved on) and imports from there in a
fresh interpreter.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
from types import SimpleNamespace

import pytest

import anethru
from anethru.native import check as _native_check, stamp as _stamp

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = os.path.join(ROOT, "anethru")
PREFIX = "anethru: error: the native core (anethru._native) cannot be loaded: "


def copy_package(dest: str, with_build: bool) -> str:
    ignore = shutil.ignore_patterns("__pycache__", "_native.c", "_native*.so", "_native*.pyd")
    target = os.path.join(dest, "anethru")
    shutil.copytree(PACKAGE, target, ignore=ignore)
    if with_build:
        for so in glob.glob(os.path.join(PACKAGE, "_native*.so")):
            shutil.copy2(so, target)
    return target


def source_tree(dest: str, with_build: bool) -> str:
    os.makedirs(dest)
    shutil.copytree(os.path.join(ROOT, "csrc"), os.path.join(dest, "csrc"))
    return copy_package(dest, with_build)


# The anethru under test may be an editable install, whose import hook would hand a copy
# without a build the build of this checkout; a plain `pip install .` has no such hook, so the
# interpreters started here drop it (sitecustomize runs before anything is imported).
NO_EDITABLE_HOOK = """
import sys
sys.meta_path[:] = [f for f in sys.meta_path if not getattr(f, "__module__", "").startswith("__editable__")]
sys.path_hooks[:] = [h for h in sys.path_hooks if not getattr(h, "__module__", "").startswith("__editable__")]
"""


@pytest.fixture
def python(tmp_path):
    """python(code or [args], cwd, **env): a fresh interpreter, without the editable hook."""
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    (hooks / "sitecustomize.py").write_text(NO_EDITABLE_HOOK)

    def run(code_or_args, cwd, **env):
        e = {k: v for k, v in os.environ.items() if k not in ("ANETHRU_NATIVE_MODULE", "PYTHONPATH")}
        e["PYTHONPATH"] = os.pathsep.join(p for p in (env.pop("PYTHONPATH", None), str(hooks)) if p)
        e.update(env)
        args = ["-c", code_or_args] if isinstance(code_or_args, str) else code_or_args
        return subprocess.run([sys.executable, *args], cwd=cwd, env=e, capture_output=True,
                              text=True, timeout=120)
    return run


def one_line(p) -> str:
    assert p.returncode == 1, (p.stdout, p.stderr)
    assert "Traceback" not in p.stderr, p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1, p.stderr
    return lines[0]


@pytest.fixture
def installed_and_clone(tmp_path):
    """(site dir holding an installed anethru with its build, a clone's root without one)."""
    site = tmp_path / "site"
    copy_package(str(site), with_build=True)
    clone = tmp_path / "clone"
    source_tree(str(clone), with_build=False)
    return str(site), str(clone)


@pytest.mark.parametrize("how", [["-m", "anethru", "--list-backends"], "import anethru; anethru.backends()"],
                         ids=["python -m anethru", "import anethru"])
def test_the_clone_root_hiding_the_installed_package_is_one_line(installed_and_clone, how, python):
    site, clone = installed_and_clone
    line = one_line(python(how, cwd=clone, PYTHONPATH=site))
    assert line == (f"{PREFIX}{os.path.join(clone, 'anethru')} is the source folder, which has no "
                    f"build and hides the installed anethru ({os.path.join(site, 'anethru')}) "
                    f"because Python looks in the current directory first; run from another "
                    f"directory, or build in place with `pip install -e .`")
    # ... and from anywhere else the installed package works
    p = python(["-m", "anethru", "--version"], cwd=os.path.dirname(clone), PYTHONPATH=site)
    assert p.returncode == 0 and p.stdout.strip() == f"anethru {anethru.__version__}", p.stderr


def test_a_clone_with_nothing_installed_says_how_to_build(tmp_path, python):
    clone = tmp_path / "clone"
    source_tree(str(clone), with_build=False)
    line = one_line(python("import anethru; anethru.backends()", cwd=str(clone)))
    assert line.startswith(f"{PREFIX}{os.path.join(clone, 'anethru')} is the source folder and "
                           f"has no build; build in place with `pip install -e .` in {clone}")


def test_other_exceptions_keep_their_traceback(installed_and_clone, python):
    _, clone = installed_and_clone
    p = python("try:\n    import anethru; anethru.backends()\nexcept ImportError as e:\n    print(type(e).__name__)\n"
               "raise KeyError('mine')", cwd=clone)
    assert p.stdout.strip() == "NativeCoreError"  # an ImportError, for code that catches those
    assert "Traceback" in p.stderr and "KeyError: 'mine'" in p.stderr


def _edit(path: str, old: str, new: str) -> None:
    with open(path, encoding="utf-8") as f:
        text = f.read()
    assert old in text, (path, old)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text.replace(old, new, 1))


@pytest.mark.parametrize("change,message", [
    (None, None),
    (("csrc/cpu/cpu_backend.c", "#include", "/* edited */\n#include"),
     "was built from other C sources than {tree}/csrc now holds"),
    (("csrc/anethru.h", "/* CDEF-END */", "int anethru_new_call(void);\n/* CDEF-END */"),
     "was built before the interface in csrc/anethru.h changed (calling it could crash)"),
    (("anethru/_version.py", f'__version__ = "{anethru.__version__}"', '__version__ = "9.9.9"'),
     f"was built for anethru {anethru.__version__}, this is 9.9.9"),
], ids=["fresh", "sources", "interface", "version"])
def test_a_stale_build_is_refused_naming_the_fix(tmp_path, change, message, python):
    tree = str(tmp_path / "tree")
    package = source_tree(tree, with_build=True)
    if change is None:  # the copy of this build is not stale: it loads
        p = python("import anethru; print(anethru.best_backend() in ('ane', 'cuda', 'cpu'))", cwd=tree)
        assert p.returncode == 0 and p.stdout.strip() == "True", p.stderr
        return
    _edit(os.path.join(tree, change[0]), change[1], change[2])
    line = one_line(python("import anethru; anethru.backends()", cwd=tree))
    (so,) = glob.glob(os.path.join(package, "_native*.so"))
    assert line.startswith(f"{PREFIX}{so} {message.format(tree=tree)}; "), line
    assert line.endswith(f"rebuild it with `pip install -e .` in {tree} (an editable install "
                         f"does not rebuild by itself)")


def test_a_build_that_cannot_load_says_rebuild(tmp_path, python):
    tree = str(tmp_path / "tree")
    package = source_tree(tree, with_build=True)
    (so,) = glob.glob(os.path.join(package, "_native*.so"))
    with open(so, "wb") as f:
        f.write(b"not a shared object")
    line = one_line(python("import anethru; anethru.backends()", cwd=tree))
    assert line.startswith(PREFIX) and line.endswith(
        "; rebuild it: `pip install -e .` in the clone, or reinstall anethru")


def test_a_build_without_a_stamp_is_stale(tmp_path):
    # What every build made before stamps existed looks like: a lib without anethru_build_stamp.
    old = SimpleNamespace(__file__="/x/_native.so", ffi=None, lib=SimpleNamespace())
    assert _native_check.stale_message(old, "0.1.0", str(tmp_path / "anethru")) == (
        "the native core (anethru._native) cannot be loaded: /x/_native.so was built by an older "
        "anethru (it has no build stamp); reinstall anethru")


def test_this_build_carries_the_stamp_of_these_sources():
    from anethru.native.lib import ffi, lib

    stamp = ffi.string(lib.anethru_build_stamp()).decode()
    assert _stamp.parse(stamp) == (anethru.__version__, _stamp.cdef_digest(ROOT),
                                   _stamp.sources_digest(ROOT))


def test_a_stale_build_blocks_only_the_commands_that_measure(tmp_path, python):
    """--version, --help and compare need no native code: a stale build refused them too."""
    tree = str(tmp_path / "tree")
    source_tree(tree, with_build=True)
    _edit(os.path.join(tree, "csrc/cpu/cpu_backend.c"), "#include", "/* edited */\n#include")
    (result_file,) = [f for f in glob.glob(os.path.join(ROOT, "results", "*cpu*.json"))][:1]
    for args in (["--version"], ["--help"], ["compare", "--help"], ["sweep", "--help"],
                 ["submit", "--help"], ["compare", result_file, result_file]):
        p = python(["-m", "anethru", *args], cwd=tree)
        assert (p.returncode, p.stderr) == (0, ""), (args, p.stderr)
        assert p.stdout.strip(), args
    assert python(["-m", "anethru", "--version"], cwd=tree).stdout.strip() == \
        f"anethru {anethru.__version__}"
    for args in (["-c", "8x8", "-q"], ["--list-backends"], ["sweep", "--configs", "8x8", "-q"]):
        line = one_line(python(["-m", "anethru", *args], cwd=tree))
        assert line.startswith(PREFIX) and "was built from other C sources than" in line, line
