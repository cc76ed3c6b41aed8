"""The examples of README.md, as tests/test_readme.py runs them.

Every ```python block is one example: a script, run in a scratch directory of its own, so it
must be self-contained.  Every ```sh / ```bash block with ``anethru`` commands is one example:
its lines that run anethru, in order, each by the shell, in one scratch directory (a line may
read what an earlier one wrote).  Of a line, only the ``anethru ...`` parts run (``pip install .
&& anethru`` runs ``anethru``); lines that do not run anethru (pip, pytest) are left out.

What the README shows decides how a step runs:

* ``[tests add: ARGS]`` in a line's comment: the test runs that line's anethru command with
  ARGS added right after ``anethru``, or after its command word (``anethru sweep``) where it
  has one (a smaller configuration, so the suite stays quick).
* ``[tests replace: OLD => NEW]``: the test runs the line with OLD replaced by NEW (a shorter
  ``--max-time``, or ``max_time=`` added to a python call).
* ``[tests allow: exit 1]`` in a line's comment: that exit status is a correct outcome too
  (``--fail-if-slower`` exits 1 when two runs on a noisy machine differ).
* The README keeps these tags out of what a reader sees: an HTML comment right before a block
  (blank lines between are fine) gives them, one line each, as ```LINE`` TAG...``, where LINE
  is the line's command as shown (its ``#`` comment left out; for a python block, the start of
  the line).  A tag that matches no line of its block is an error.
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
REPLACE_RE = re.compile(r"\[tests replace:\s*(.*?)\s*=>\s*(.*?)\s*\]")
DIRECTIVE_RE = re.compile(r"^\s*`([^`]+)`\s*(\[tests .*)$")
COMMENT_START, COMMENT_END = "<!--", "-->"
ALLOW_RE = re.compile(r"\[tests allow: exit ([0-9]+(?:\s*,\s*[0-9]+)*)\]")
MARKER_BACKENDS = {"mac only": "ane", "gpu only": "cuda"}
SH_BACKEND_RE = re.compile(r"(?:^|\s)(?:--backend[= ]|-b ?)(ane|cuda|cpu)\b")
PY_BACKEND_RE = re.compile(r"""backend\s*=\s*["'](ane|cuda|cpu)["']""")
FENCE_RE = re.compile(r"^\s*```\s*([\w+-]*)\s*$")
PYTEST_FILE_RE = re.compile(r"^#\s*(test_\w+\.py):\s*(pytest\b.*)$")
COMMAND_WORD_RE = re.compile(r"^anethru(\s+[a-z][a-z-]*(?=\s|$))?")


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
    return [(lang, start, lines) for lang, start, lines, _ in _blocks_with_tags(markdown)]


def _blocks_with_tags(markdown: str) -> list[tuple[str, int, list[str], list[tuple[str, str]]]]:
    """Every fenced block with the (line, tags) directives of the HTML comment right before it."""
    blocks, lang, start, lines = [], None, 0, []
    pending: list[tuple[str, str]] = []   # directives of the last comment, until a block or text
    comment: Optional[list[str]] = None
    for n, raw in enumerate(markdown.splitlines(), 1):
        m = FENCE_RE.match(raw)
        if lang is None and comment is not None:
            comment.append(raw)
            if COMMENT_END in raw:
                pending = _directives(comment)
                comment = None
        elif lang is None and raw.lstrip().startswith(COMMENT_START):
            comment = [raw]
            if COMMENT_END in raw:
                pending = _directives(comment)
                comment = None
        elif lang is None and m:
            lang, start, lines = m.group(1).lower(), n + 1, []
        elif lang is not None and raw.strip() == "```":
            blocks.append((lang, start, lines, pending))
            lang, pending = None, []
        elif lang is not None:
            lines.append(raw)
        elif raw.strip():
            pending = []   # text between the comment and the block: the tags are not for it
    return blocks


def _directives(comment: list[str]) -> list[tuple[str, str]]:
    text = "\n".join(comment).replace(COMMENT_START, "").replace(COMMENT_END, "")
    return [(m.group(1).strip(), m.group(2)) for m in map(DIRECTIVE_RE.match, text.splitlines())
            if m]


def _tags_for(code: str, directives: list[tuple[str, str]], used: set, python: bool) -> str:
    """The tags the block's comment gives the line whose command is `code`."""
    found = []
    for i, (line, tags) in enumerate(directives):
        if (code.strip().startswith(line) if python else code.strip() == line):
            found.append(tags)
            used.add(i)
    return " ".join(found)


def _replace(code: str, tags: str) -> str:
    for old, new in REPLACE_RE.findall(tags):
        assert old in code, f"[tests replace: {old} => ...] does not match: {code}"
        code = code.replace(old, new)
    return code


def _check_used(directives: list[tuple[str, str]], used: set, start: int) -> None:
    unused = [line for i, (line, _) in enumerate(directives) if i not in used]
    assert not unused, f"README.md:{start}: test tags for no line of the block: {unused}"


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


def _anethru_command(command: str, extra: str) -> Optional[str]:
    """The anethru parts of a shell line ('a && b' chains), ARGS added after the word."""
    parts = [p.strip() for p in command.split("&&")]
    runs = [p for p in parts if p.split()[:1] == ["anethru"]]
    if not runs:
        return None
    if extra:  # after the command word (anethru sweep ...), or after anethru itself
        runs = [COMMAND_WORD_RE.sub(lambda m: f"anethru{m.group(1) or ''} {extra}", p, count=1)
                for p in runs]
    return " && ".join(runs)


def examples(markdown: str) -> list[Example]:
    found = []
    for lang, start, lines, directives in _blocks_with_tags(markdown):
        used: set = set()
        if lang == "python":
            lines = [_replace(ln, _tags_for(ln, directives, used, python=True)) for ln in lines]
            _check_used(directives, used, start)
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
                comment = " ".join([comment, _tags_for(command, directives, used, python=False)])
                command = _replace(command, comment)
                add = ADD_RE.search(comment)
                extra = add.group(1).strip() if add else ""
                run = _anethru_command(command, extra)
                allow = ALLOW_RE.search(comment)
                exit_ok = (0,) + (tuple(int(x) for x in allow.group(1).split(",")) if allow else ())
                if run:
                    steps.append(Step(n, run, text.strip(), _needs(comment, command, SH_BACKEND_RE),
                                      exit_ok=exit_ok))
            _check_used(directives, used, start)
            if steps:
                found.append(Example("sh", start, tuple(steps)))
    return found
