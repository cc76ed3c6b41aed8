"""Every example in README.md runs as written (see tests/readme_examples.py for what counts as
an example and how the README marks one to shorten or to run only on a Mac or a GPU)."""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys

import pytest

import anethru
from readme_examples import examples, split_comment

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as _f:
    README = _f.read()
EXAMPLES = examples(README)
HANG_GUARD_S = 600  # not a speed limit: only so that a hung example cannot hang the suite
SHELL = shutil.which("bash") or shutil.which("sh") or "sh"


def _environment(tmp_path) -> dict:
    """This interpreter's anethru first on PATH (its console script, or a stand-in running
    ``python -m anethru`` where the interpreter has no scripts directory)."""
    env = {k: v for k, v in os.environ.items() if k != "ANETHRU_NATIVE_MODULE"}
    bindir = os.path.dirname(sys.executable)
    if not shutil.which("anethru", path=bindir):
        bindir = str(tmp_path / "bin")
        os.makedirs(bindir, exist_ok=True)
        shim = os.path.join(bindir, "anethru")
        with open(shim, "w") as f:
            f.write(f'#!/bin/sh\nexec "{sys.executable}" -m anethru "$@"\n')
        os.chmod(shim, os.stat(shim).st_mode | stat.S_IXUSR)
    env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
    return env


def _unavailable(step) -> str:
    """Why this machine cannot run the step ("" when it can)."""
    if step.backend is None:
        return ""
    info = {b.name: b for b in anethru.backends()}.get(step.backend)
    if info is not None and info.available:
        return ""
    return info.reason if info else "not in this build"


def _skip_summary(example, skipped) -> str:
    by_backend: dict = {}
    for step, why in skipped:
        by_backend.setdefault((step.backend, why), []).append(f"README.md:{step.line}")
    parts = [f"{', '.join(lines)} need{'s' if len(lines) == 1 else ''} the {backend} backend, "
             f"unavailable here: {why}" for (backend, why), lines in by_backend.items()]
    ran = len(example.steps) - len(skipped)
    return f"ran {ran} of {len(example.steps)}; " + "; ".join(parts)


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.id for e in EXAMPLES])
def test_readme_example_runs(example, tmp_path):
    env = _environment(tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    skipped = []
    for step in example.steps:  # in README order, in one directory, as a reader would
        why = _unavailable(step)
        if why:
            skipped.append((step, why))
            continue
        if example.kind == "python":
            script = tmp_path / "example.py"
            script.write_text(step.code)
            cmd = [sys.executable, str(script)]
        elif example.kind == "pytest":
            (work / step.filename).write_text(step.text)
            argv = step.code.split()
            cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *argv[1:]]
        else:
            cmd = [SHELL, "-c", step.code]
        p = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True,
                           timeout=HANG_GUARD_S)
        assert p.returncode in step.exit_ok, f"README.md:{step.line} failed:\n{step.text}\n--- stderr:\n{p.stderr}"
        assert "Traceback" not in p.stderr, p.stderr
    if skipped:
        pytest.skip(_skip_summary(example, skipped))


def test_the_readme_has_the_examples_we_expect():
    # The extraction itself can break silently (a fence it no longer sees): pin a few down.
    steps = [s for e in EXAMPLES for s in e.steps]
    assert sum(e.kind == "python" for e in EXAMPLES) >= 2
    assert any(s.text.startswith("anethru --list-backends") for s in steps)
    assert any(s.text.startswith("anethru --json > run.json") for s in steps)
    assert any(s.code.startswith("anethru") and "pip install" in s.text for s in steps)
    assert not any("pytest" in s.code for e in EXAMPLES if e.kind == "sh" for s in e.steps)
    assert any(e.kind == "pytest" for e in EXAMPLES)  # the plugin's example test file


def test_extraction_rules():
    md = "\n".join([
        "```sh",
        "pip install . && anethru     # the default [tests add: -c 16x8 -r 1]",
        "anethru --backend ane        # on the ANE",
        "anethru -q \\",
        "    --list-backends",
        "anethru --json > out.json    # GPU only",
        "anethru sweep --json > s.json  # [tests add: --points 3]",
        "anethru submit --results r   # a command word first [tests add: -c 8x8]",
        "python -m pytest             # not an example",
        "   # a comment line",
        "```",
        "text `anethru --not-an-example`",
        "```python",
        "import anethru",
        'anethru.run_ceiling(64, 32, backend="cuda")',
        "```",
        "```python",
        "x = 1  # Mac only",
        "```",
    ])
    got = [(e.kind, e.line, [(s.line, s.code, s.backend) for s in e.steps]) for e in examples(md)]
    assert got == [
        ("sh", 2, [(2, "anethru -c 16x8 -r 1", None),
                   (3, "anethru --backend ane", "ane"),
                   (4, "anethru -q      --list-backends", None),
                   (6, "anethru --json > out.json", "cuda"),
                   (7, "anethru sweep --points 3 --json > s.json", None),
                   (8, "anethru submit -c 8x8 --results r", None)]),
        ("python", 14, [(14, 'import anethru\nanethru.run_ceiling(64, 32, backend="cuda")\n', "cuda")]),
        ("python", 18, [(18, "x = 1  # Mac only\n", "ane")]),
    ]


def test_comments_start_outside_quotes_only():
    assert split_comment('anethru -t "a#b" # note') == ('anethru -t "a#b"', "note")
    assert split_comment("anethru --json > x#y.json") == ("anethru --json > x#y.json", "")


def test_tags_in_an_html_comment_apply_to_the_next_block():
    md = "\n".join([
        "<!-- smaller in the tests:",
        "`pip install . && anethru` [tests add: -c 16x8]",
        "`anethru -c 8x8 --max-time 30` [tests replace: --max-time 30 => --max-time 1]",
        "`anethru compare a.json b.json` [tests allow: exit 1]",
        "-->",
        "",
        "```sh",
        "pip install . && anethru      # what a reader sees",
        "anethru -c 8x8 --max-time 30  # no tags here",
        "anethru compare a.json b.json",
        "```",
        "<!-- `r = anethru.run_ceiling(8, 8)` [tests replace: (8, 8) => (8, 8, max_time=1)] -->",
        "```python",
        "r = anethru.run_ceiling(8, 8)   # a comment",
        "```",
        "```sh",
        "anethru -c 8x8 --max-time 30",
        "```",
    ])
    got = [[(s.line, s.code, s.exit_ok) for s in e.steps] for e in examples(md)]
    assert got == [
        [(8, "anethru -c 16x8", (0,)), (9, "anethru -c 8x8 --max-time 1", (0,)),
         (10, "anethru compare a.json b.json", (0, 1))],
        [(14, "r = anethru.run_ceiling(8, 8, max_time=1)   # a comment\n", (0,))],
        [(17, "anethru -c 8x8 --max-time 30", (0,))],   # the tags were for the block before
    ]
    with pytest.raises(AssertionError, match=r"test tags for no line of the block: \['anethru -q'\]"):
        examples("<!-- `anethru -q` [tests add: -c 8x8] -->\n```sh\nanethru\n```\n")
    # text between the comment and the block: the tags are not for it (and match nothing)
    assert [s.code for e in examples("<!-- `anethru` [tests add: -c 8x8] -->\ntext\n```sh\n"
                                     "anethru\n```\n") for s in e.steps] == ["anethru"]


def test_a_reader_sees_no_test_tags():
    """The harness's tags live in HTML comments, never in what the README shows."""
    visible = re.sub(r"<!--.*?-->", "", README, flags=re.S)
    assert [ln for ln in visible.splitlines() if "[tests " in ln] == []
    assert "[tests add:" in README   # ... and the tags are still there for the test
