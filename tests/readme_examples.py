"""The examples of README.md, as tests/test_readme.py runs them.

Every ```python block is one example: a script, run in a scratch directory of its own, so it
must be self-contained.  Every ```sh / ```bash block with ``anethru`` commands is one example:
its lines that run anethru, in order, each by the shell, in one scratch directory (a line may
read what an earlier one wrote).  Of a line, only the ``anethru ...`` parts run (``pip install .
&& anethru`` runs ``anethru``); lines that do not run anethru (pip, pytest) are left out.

What the README shows decides how a step runs:

* ``[tests add: ARGS]`` in a line's comment: the test runs that line's anethru command with
  ARGS added right after ``anethru``, or after its command word when it names one (``anethru
  submit``): a smaller configuration, so the suite stays quick.
* ``[tests allow: exit 1]`` in a line's comment: that exit status is a correct outcome too
  (``--fail-if-slower`` exits 1 when two runs on a noisy machine differ).
* A ```python block whose first line is ``# test_NAME.py: COMMAND`` is a pytest file: the test
  saves it as test_NAME.py and runs COMMAND (its ``pytest`` with this interpreter's pytest).
* ``# Mac only`` or ``# GPU only`` in a line's comment (or anywhere in a python block), or a
  backend named in the command (``--backend ane``, ``-b cuda``, ``backend="ane"``): the step
  needs that backend and is skipped, with the backend's reason, where it is unavailable.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

SHELL_LANGS = {"sh", "bash", "shell"}
ADD_RE = re.compile(r"\[tests add:\s*([^\]]*)\]")
ALLOW_RE = re.compile(r"\[tests allow: exit ([0-9]+(?:\s*,\s*[0-9]+)*)\]")
MARKER_BACKENDS = {"mac only": "ane", "gpu only": "cuda"}
SH_BACKEND_RE = re.compile(r"(?:^|\s)(?:--backend[= ]|-b ?)(ane|cuda|cpu)\b")
PY_BACKEND_RE = re.compile(r"""backend\s*=\s*["'](ane|cuda|cpu)["']""")
FENCE_RE = re.compile(r"^\s*```\s*([\w+-]*)\s*$")
PYTEST_FILE_RE = re.compile(r"^#\s*(test_\w+\.py):\s*(pytest\b.*)$")


@dataclass(frozen=True)
class Step:
    line: int                # where it starts in README.md (1-based)
    code: str                # the script, or the shell command to run
    text: str                # what the README shows
    backend: Optional[str]   # a backend it needs ("ane", "cuda"), or None
    filename: str = ""       # a pytest file: saved under this name, then `code` (a command) runs
    exit_ok: tuple[int, ...] = (0,)   # exit statuses that mean it worked


@dataclass(frozen=True)
class Example:
    kind: str                # "python" (one step: the block), "pytest" (a test file and the
                             # command that runs it) or "sh" (its anethru lines)
    line: int                # where the block's code starts in README.md
    steps: tuple[Step, ...]

    @property
    def id(self) -> str:
        return f"README.md:{self.line}:{self.kind}"


def fenced_blocks(markdown: str) -> list[tuple[str, int, list[str]]]:
    """(language, line of the first code line, lines) of every fenced block."""
    blocks, lang, start, lines = [], None, 0, []
    for n, raw in enumerate(markdown.splitlines(), 1):
        m = FENCE_RE.match(raw)
        if lang is None and m:
            lang, start, lines = m.group(1).lower(), n + 1, []
        elif lang is not None and raw.strip() == "```":
            blocks.append((lang, start, lines))
            lang = None
        elif lang is not None:
            lines.append(raw)
    return blocks


def split_comment(line: str) -> tuple[str, str]:
    """(command, comment) of a shell line: the comment starts at a '#' that begins a word
    outside quotes."""
    quote = None
    for i, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i].rstrip(), line[i + 1:].strip()
    return line.rstrip(), ""


def _needs(comment: str, command: str, backend_re: re.Pattern) -> Optional[str]:
    lowered = comment.lower()
    for marker, backend in MARKER_BACKENDS.items():
        if marker in lowered:
            return backend
    named = backend_re.search(command)
    return named.group(1) if named and named.group(1) != "cpu" else None


def _shell_lines(lines: list[str], first: int) -> list[tuple[int, str]]:
    """Logical lines: backslash continuations joined, numbered by their first line."""
    out, pending, at = [], "", first
    for n, raw in enumerate(lines, first):
        if not pending:
            at = n
        if raw.rstrip().endswith("\\"):
            pending += raw.rstrip()[:-1] + " "
            continue
        out.append((at, pending + raw))
        pending = ""
    if pending:
        out.append((at, pending))
    return out


def _add_args(run: str, extra: str) -> str:
    """ARGS after ``anethru``, or after its command word (a second word not starting with '-',
    like ``submit``): options belong to the command they follow."""
    words = run.split(None, 2)
    if len(words) >= 2 and not words[1].startswith("-"):
        return " ".join([words[0], words[1], extra] + words[2:])
    return "anethru " + extra + run[len("anethru"):]


def _anethru_command(command: str, extra: str) -> Optional[str]:
    """The anethru parts of a shell line ('a && b' chains), ARGS added after the word."""
    parts = [p.strip() for p in command.split("&&")]
    runs = [p for p in parts if p.split()[:1] == ["anethru"]]
    if not runs:
        return None
    if extra:
        runs = [_add_args(p, extra) for p in runs]
    return " && ".join(runs)


def examples(markdown: str) -> list[Example]:
    found = []
    for lang, start, lines in fenced_blocks(markdown):
        if lang == "python":
            code = "\n".join(lines) + "\n"
            comments = " ".join(ln.split("#", 1)[1] for ln in lines if "#" in ln)
            needs = _needs(comments, code, PY_BACKEND_RE)
            as_file = PYTEST_FILE_RE.match(lines[0].strip()) if lines else None
            if as_file:
                step = Step(start, as_file.group(2), code, needs, filename=as_file.group(1))
                found.append(Example("pytest", start, (step,)))
            else:
                found.append(Example("python", start, (Step(start, code, code, needs),)))
        elif lang in SHELL_LANGS:
            steps = []
            for n, text in _shell_lines(lines, start):
                command, comment = split_comment(text)
                add = ADD_RE.search(comment)
                extra = add.group(1).strip() if add else ""
                run = _anethru_command(command, extra)
                allow = ALLOW_RE.search(comment)
                exit_ok = (0,) + (tuple(int(x) for x in allow.group(1).split(",")) if allow else ())
                if run:
                    steps.append(Step(n, run, text.strip(), _needs(comment, command, SH_BACKEND_RE),
                                      exit_ok=exit_ok))
            if steps:
                found.append(Example("sh", start, tuple(steps)))
    return found
