"""README.md, true line by line: every command and option it names is in that command's
--help, and every figure it quotes as measured is the figure in its result file.

Figures: an HTML comment ``<!-- measured: ... -->`` after the text lists each quoted figure
as ```QUOTED` FILE CONFIG FIELD [*SCALE]``: QUOTED appears in the README (whitespace
collapsed), its number is FIELD of the CONFIG result in FILE (a path in this repository that
``anethru.load_results`` reads; FIELD a dotted path into the result's ``to_dict()``; SCALE a
factor from the field's unit to the one quoted), rounded as the README rounds it.  An entry
```report` FILE CONFIG`` says the ```text block that follows is that result's report.  When a
figure is regenerated, its file changes with it, and this test keeps the two in step.
"""

from __future__ import annotations

import functools
import os
import re
import shlex
import subprocess
import sys

import pytest

import anethru
from anethru import cli
from readme_examples import fenced_blocks, split_comment

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as _f:
    README = _f.read()
COMMENTS = re.compile(r"<!--(.*?)-->", re.S)
VISIBLE = COMMENTS.sub("", README)
# Not command-line options of a program: compiler flags the README quotes.
COMPILER_FLAGS = {"-Wall", "-Werror", "-Wall -Werror", "-fobjc-arc", "-fobjc-arc-exceptions"}
STOP = {">", ">>", "|", "<", "2>", "2>&1", "&&", ";"}


def _run_help(*argv: str) -> str:
    p = subprocess.run([sys.executable, *argv, "--help"], capture_output=True, text=True,
                       timeout=120, cwd=ROOT)
    assert p.returncode == 0, (argv, p.stderr)
    return p.stdout


@pytest.fixture(scope="module")
def helps() -> dict:
    """--help of every anethru command and of the other programs the README runs."""
    out = {cmd: cli.build_parser(cmd).format_help() for cmd in cli.COMMANDS}
    out["pytest"] = _run_help("-m", "pytest", "-p", "no:cacheprovider")
    out["plant_bugs"] = _run_help(os.path.join("tools", "plant_bugs.py"))
    out["train_loop"] = _run_help(os.path.join("examples", "train_loop.py"))
    return out


def _has(help_text: str, flag: str) -> bool:
    return re.search(r"(?<![\w-])" + re.escape(flag) + r"(?![\w-])", help_text) is not None


def _invocations(text: str):
    """(program, command word or None, [flags]) of each program run in a shell line."""
    for part in text.split("&&"):
        try:
            words = shlex.split(part, comments=False)
        except ValueError:
            words = part.split()
        if "|" in words:
            words = words[:words.index("|")]
        if words[:3] == ["python", "-m", "pytest"] or words[:1] == ["pytest"]:
            program, args = "pytest", words[3 if words[0] == "python" else 1:]
        elif words[:2] == ["python", "tools/plant_bugs.py"]:
            program, args = "plant_bugs", words[2:]
        elif words[:2] == ["python", "examples/train_loop.py"]:
            program, args = "train_loop", words[2:]
        elif words[:1] == ["anethru"]:
            program, args = "anethru", words[1:]
        else:
            continue
        flags, command = [], None
        for i, w in enumerate(args):
            if w in STOP or w.startswith((">", "2>")):
                break
            if program == "anethru" and i == 0 and not w.startswith("-"):
                command = None if w.isupper() else w   # COMMAND: a placeholder
            elif re.match(r"^--?[A-Za-z]", w):
                flags.append(w.split("=", 1)[0])
        yield program, command, flags


def _named(visible: str) -> list[tuple[str, str, str]]:
    """(where, program or command, flag or "") for every command and option the README names."""
    found = []
    for lang, start, lines in fenced_blocks(visible):
        if lang in ("sh", "bash", "shell"):
            for n, line in enumerate(lines, start):
                for program, command, flags in _invocations(split_comment(line)[0]):
                    found.append((f"line {n}", program, command, flags))
    for span in re.findall(r"`([^`\n]+)`", visible):
        if span.startswith(("anethru", "python", "pytest")):
            for program, command, flags in _invocations(span):
                found.append((f"`{span}`", program, command, flags))
        elif re.match(r"^--?[A-Za-z]", span) and span not in COMPILER_FLAGS:
            found.append((f"`{span}`", None, None, [span.split()[0].split("=")[0]]))
    return found


def _wrong(named, helps) -> list[str]:
    wrong = []
    for where, program, command, flags in named:
        if program == "anethru":
            if command is not None and command not in cli.COMMANDS:
                wrong.append(f"{where}: no command {command!r}")
                continue
            text = helps[command or cli.DEFAULT_COMMAND]
        elif program is None:   # a bare option in the prose: anethru's or another program's
            text = "\n".join(helps.values())
        else:
            text = helps[program]
        wrong += [f"{where}: {program} {command or ''} has no option {f}" for f in flags
                  if not _has(text, f)]
    return wrong


def test_every_command_and_option_the_readme_names_is_in_its_help(helps):
    named = _named(VISIBLE)
    assert len(named) > 60 and any(c == "sweep" for _, _, c, _ in named)  # the scan found them
    assert _wrong(named, helps) == []


def test_the_option_check_catches_what_no_help_lists(helps):
    text = ("```sh\nanethru --max-tme 5   # a typo\nanethru frobnicate -q\n"
            "python tools/plant_bugs.py --fast\n```\nUse `--precison 2%` or "
            "`anethru sweep --point 3`; `--benchmark-autosave` and `--full` exist.\n")
    assert sorted(_wrong(_named(text), helps)) == sorted([
        "line 2: anethru  has no option --max-tme", "line 3: no command 'frobnicate'",
        "line 4: plant_bugs  has no option --fast", "`anethru sweep --point 3`: anethru sweep has no option --point",
        "`--precison 2%`: None  has no option --precison"])


def test_every_command_is_in_the_readmes_command_table():
    table = re.search(r"\| command \| what it does \| see \|\n((?:\|.*\n)+)", VISIBLE).group(1)
    listed = set(re.findall(r"`([a-z-]+)`", "\n".join(r.split("|")[1] for r in table.splitlines())))
    assert listed == set(cli.COMMANDS)


# ---------------------------------------------------------------------- measured figures


def _measured() -> list[tuple[int, list[str]]]:
    """(offset in README, entry lines) of every ``<!-- measured: ... -->`` comment."""
    out = []
    for m in COMMENTS.finditer(README):
        body = m.group(1).strip()
        if body.startswith("measured"):
            out.append((m.end(), [ln.strip() for ln in body.splitlines()[1:] if ln.strip()]))
    return out


ENTRY = re.compile(r"^`([^`]+)`\s+(\S+)\s+(\S+)(?:\s+(\S+))?(?:\s+\*(\S+))?$")


@functools.lru_cache(maxsize=None)
def _load(full: str) -> tuple:
    # Loaded once per file: the README quotes several figures of one 1.5 MB result file, and
    # loading recomputes every figure from its raw blocks (1-2 s each time).
    return tuple(anethru.load_results(full))


def _result(path: str, label: str):
    full = os.path.join(ROOT, path)
    assert os.path.isfile(full), f"{path}: not in the repository"
    found = [r for r in _load(full) if r.config.label == label]
    assert len(found) == 1, f"{path} has {len(found)} results of {label}"
    return found[0]


def _field(doc, path: str):
    for key in path.split("."):
        doc = doc[int(key)] if isinstance(doc, list) else doc[key]
    return doc


def _collapse(text: str) -> str:
    return " ".join(text.split())


def test_every_figure_quoted_as_measured_is_its_result_files():
    entries = [(end, ln) for end, lines in _measured() for ln in lines]
    assert entries, "no <!-- measured: --> comment found"
    visible = _collapse(VISIBLE)
    for end, line in entries:
        m = ENTRY.match(line)
        assert m, f"unreadable measured entry: {line}"
        quoted, path, label, field, scale = m.groups()
        r = _result(path, label)
        if quoted == "report":  # the ```text block right after the comment is its report
            block = re.match(r"\s*```text\n(.*?)\n```", README[end:], re.S)
            assert block, f"no ```text block after the measured report of {path} {label}"
            assert block.group(1).rstrip() == str(r).rstrip(), f"{path} {label}: report differs"
            continue
        assert _collapse(quoted) in visible, f"the README does not say {quoted!r}"
        number = re.search(r"-?\d+(?:\.(\d+))?", quoted)
        decimals = len(number.group(1) or "")
        value = float(_field(r.to_dict(), field)) * float(scale or 1)
        assert round(value, decimals) == float(number.group(0)), (quoted, path, label, field, value)


def test_the_figure_check_catches_a_wrong_figure(monkeypatch):
    """The check itself: a README quoting a figure its file does not hold fails it."""
    entry = next(ln for _, lines in _measured() for ln in lines if not ln.startswith("`report`"))
    quoted = ENTRY.match(entry).group(1)
    number = re.search(r"-?\d+(?:\.\d+)?", quoted).group(0)
    wrong = quoted.replace(number, str(float(number) + 1), 1)
    monkeypatch.setattr(sys.modules[__name__], "README", README.replace(quoted, wrong))
    monkeypatch.setattr(sys.modules[__name__], "VISIBLE", VISIBLE.replace(quoted, wrong))
    with pytest.raises(AssertionError):
        test_every_figure_quoted_as_measured_is_its_result_files()


def test_the_sample_report_and_the_sweep_figures_name_their_files():
    reports = {end for end, lines in _measured() for ln in lines if ln.startswith("`report`")}
    text_blocks = [m.start() for m in re.finditer(r"^```text$", README, re.M)]
    for start in text_blocks:
        assert any(README[end:start].strip() == "" for end in reports), \
            f"README.md offset {start}: a report with no result file"
    sweep = _collapse(VISIBLE[VISIBLE.index("The picture above is the default sweep"):]
                      .split("\n\n")[0])
    assert any(_collapse(ENTRY.match(ln).group(1)) in sweep
               for _, lines in _measured() for ln in lines if not ln.startswith("`report`"))


def test_every_file_the_readme_names_is_in_the_repository():
    """Links and `path/like/this.py` spans outside the Layout section (which maps the tree and
    is rewritten with it) name files that exist: the layout moved and left some behind."""
    body = VISIBLE.split("\n## Layout\n")[0]
    named = set(re.findall(r"\]\(((?!https?:|#)[^)#\s]+)\)", body))
    named |= {p for p in re.findall(r"`((?:anethru|csrc|tests|tools|docs|examples|results|"
                                    r"benchmarks)/[\w./-]+)`", body)
              if "<" not in p and "*" not in p}
    assert len(named) > 20
    missing = sorted(p for p in named if not os.path.exists(os.path.join(ROOT, p.rstrip("/"))))
    assert missing == []
