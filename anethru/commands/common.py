"""What every command shares: the program name, exit statuses, one-line errors, the parser
class, progress on stderr and checked writes to stdout (anethru/cli.py dispatches; the commands
import only this)."""

from __future__ import annotations

import argparse
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


def progress_printer(quiet: bool) -> Callable[[str], None]:
    """The progress callback every command uses: ``anethru: LINE`` on stderr, unless quiet."""
    def say(line: str) -> None:
        if not quiet:
            print(f"{PROG}: {line}", file=sys.stderr, flush=True)
    return say


def error(message: str) -> int:
    """Report a runtime failure (one line on stderr); returns the exit status to use."""
    print(f"{PROG}: error: {message}", file=sys.stderr, flush=True)
    return EXIT_FAILURE


def usage_error(message: str, command: Optional[str] = None) -> int:
    hint = f"{PROG} {command} --help" if command and command != "run" else f"{PROG} --help"
    print(f"{PROG}: usage error: {message} (see {hint})", file=sys.stderr, flush=True)
    return EXIT_USAGE


def write_stdout(text: str) -> None:
    """Write and flush results now, so a write error surfaces inside the command (main() turns
    it into one line) rather than as a traceback at interpreter exit."""
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        raise
    except OSError as exc:
        raise OutputError(f"cannot write the output: {exc}") from exc
