"""What every command shares: the program name, exit statuses, one-line errors, the parser
class, progress on stderr and checked writes to stdout (anethru/cli.py dispatches; the commands
import only this)."""

from __future__ import annotations

import argparse
import os
import sys
import textwrap
from typing import Callable, NoReturn, Optional

PROG = "anethru"


EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class UsageError(Exception):
    """A bad flag or value: reported as one line, exit 2."""


class OutputError(Exception):
    """Writing the results failed (a full disk, a closed terminal): one line, exit 1."""


class ArgumentParser(argparse.ArgumentParser):
    """argparse with anethru's one-line usage errors (argparse prints a usage block and exits)."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(message)

    def _print_message(self, message: str, file=None) -> None:  # type: ignore[override]
        # argparse's own swallows a failed write: --help or --version into a full disk exited
        # 0 with nothing written.  Written and flushed here, a failure is one line and exit 1.
        if message:
            out = file or sys.stderr
            try:
                out.write(message)
                out.flush()
            except BrokenPipeError:
                raise
            except OSError as exc:
                raise OutputError(f"cannot write the output: {exc}") from exc


def _paragraphs(text: Optional[str]) -> Optional[str]:
    # Paragraphs (separated by blank lines) wrapped one by one, so help keeps its line breaks.
    if not text:
        return text
    return "\n\n".join(textwrap.fill(p, 79, subsequent_indent="  " if p.startswith("  ") else "")
                       for p in text.split("\n\n"))


def new_parser(command: Optional[str], description: str, epilog: Optional[str] = None
               ) -> ArgumentParser:
    prog = PROG if command in (None, "run") else f"{PROG} {command}"
    return ArgumentParser(prog=prog, description=_paragraphs(description),
                          epilog=_paragraphs(epilog),
                          formatter_class=argparse.RawDescriptionHelpFormatter)


def say_on_stderr(line: str) -> None:
    """One line on stderr, best effort: a closed, full or broken stderr must never cost the
    result nor leak into stdout, so a failed write mutes stderr for the rest of the run."""
    stream = sys.stderr
    if stream is None:
        return
    try:
        stream.write(line + "\n")
        stream.flush()
    except (OSError, ValueError):
        _mute_stderr()


def _mute_stderr() -> None:
    try:
        sys.stderr = open(os.devnull, "w", encoding="utf-8")
        os.dup2(sys.stderr.fileno(), 2)  # native code and child processes write to fd 2
    except (OSError, ValueError):  # pragma: no cover - no /dev/null
        pass


def occupy_closed_std_fds() -> None:
    """A closed fd 1 or 2 is given /dev/null, so that no file opened later takes its number
    (and gets progress or results written into it); a closed stderr is then muted (Python's
    print(file=None) would write to stdout), a closed stdout stays None (write_stdout says so)."""
    for fd in (1, 2):
        try:
            os.fstat(fd)
        except OSError:
            try:
                spare = os.open(os.devnull, os.O_WRONLY)
                if spare != fd:
                    os.dup2(spare, fd)
                    os.close(spare)
            except OSError:  # pragma: no cover - no /dev/null
                pass
    if sys.stderr is None:
        _mute_stderr()


def progress_printer(quiet: bool) -> Callable[[str], None]:
    """The progress callback every command uses: ``anethru: LINE`` on stderr, unless quiet."""
    def say(line: str) -> None:
        if not quiet:
            say_on_stderr(f"{PROG}: {line}")
    return say


def error(message: str) -> int:
    """Report a runtime failure (one line on stderr); returns the exit status to use."""
    say_on_stderr(f"{PROG}: error: {message}")
    return EXIT_FAILURE


def usage_error(message: str, command: Optional[str] = None) -> int:
    hint = f"{PROG} {command} --help" if command and command != "run" else f"{PROG} --help"
    say_on_stderr(f"{PROG}: usage error: {message} (see {hint})")
    return EXIT_USAGE


def write_stdout(text: str) -> None:
    """Write and flush results now, so a write error surfaces inside the command (main() turns
    it into one line) rather than as a traceback at interpreter exit."""
    if sys.stdout is None:
        raise OutputError("cannot write the output: stdout is closed")
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        raise
    except OSError as exc:
        raise OutputError(f"cannot write the output: {exc}") from exc
