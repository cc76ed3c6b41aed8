"""``anethru`` / ``python -m anethru``: the command line.

The bare form (no command, or a first word starting with ``-``) runs the measurement
(``anethru/commands/run.py``); other capabilities are subcommands, each in its own module under
``anethru/commands/`` and imported only when chosen.  Conventions every command keeps, enforced
here: exit 0 on success, 1 on a runtime failure, 2 on a usage error, 130 on Ctrl-C; every error is
one line on stderr (``anethru: error: ...`` or ``anethru: usage error: ...``), never a traceback;
progress goes to stderr, results to stdout; a closed pipe ends quietly and a failed write (a full
disk) is one line and exit 1.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import textwrap
from typing import Callable, NoReturn, Optional, Sequence

from anethru.native.check import NativeCoreError

PROG = "anethru"

# Command name -> (module under anethru.commands, one-line summary).  A command module defines
# ``add_arguments(parser)`` and ``run(args) -> int``; ``DESCRIPTION`` (optional) is its --help text.
COMMANDS: dict[str, tuple[str, str]] = {
    "run": ("run", "measure the throughput ceiling (the default when no command is given)"),
    "compare": ("compare", "compare result files: medians, intervals, ratios and verdicts"),
    "doctor": ("doctor", "a backend's bring-up step by step: what works, what fails and why"),
    "ane-files": ("ane_files", "write the ANE programs anethru compiles (MIL and weights)"),
    "sweep": ("sweep", "how the round trip grows with size: a grid, a latency + bandwidth fit, "
                       "the crossover"),
    "plot": ("plot", "draw result or sweep files into a PNG, SVG or PDF"),
    "gallery": ("gallery", "check a folder of result files and write its summary page"),
    "submit": ("submit", "measure this machine for the results gallery and write its file"),
}
DEFAULT_COMMAND = "run"

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
    prog = PROG if command in (None, DEFAULT_COMMAND) else f"{PROG} {command}"
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


def _occupy_closed_std_fds() -> None:
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
    hint = f"{PROG} {command} --help" if command and command != DEFAULT_COMMAND else f"{PROG} --help"
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


def _silence_stdout() -> None:
    # After a failed write, the interpreter's final flush would fail again and print a traceback
    # ("Exception ignored ..."): point stdout at /dev/null first, as the Python docs advise.
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # pragma: no cover - stdout without a descriptor
        pass


def _split_command(argv: list[str]) -> tuple[str, list[str]]:
    if not argv or argv[0].startswith("-"):
        return DEFAULT_COMMAND, argv
    if argv[0] in COMMANDS:
        return argv[0], argv[1:]
    raise UsageError(f"unknown command {argv[0]!r}; choose from {', '.join(COMMANDS)}, "
                     f"or give only options to run the measurement")


def build_parser(command: str = DEFAULT_COMMAND) -> ArgumentParser:
    """The parser of one command (the bare form's by default)."""
    module = importlib.import_module(f"anethru.commands.{COMMANDS[command][0]}")
    parser = new_parser(command, getattr(module, "DESCRIPTION", COMMANDS[command][1]),
                        getattr(module, "EPILOG", None))
    module.add_arguments(parser)
    return parser


def _commands_epilog() -> str:
    return "\n".join(["commands (anethru COMMAND --help for each):"]
                     + [f"  {n:<10} {summary}" for n, (_, summary) in COMMANDS.items()])


def main(argv: Optional[Sequence[str]] = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    _occupy_closed_std_fds()
    command = DEFAULT_COMMAND
    try:
        command, rest = _split_command(args_list)
        module = importlib.import_module(f"anethru.commands.{COMMANDS[command][0]}")
        parser = build_parser(command)
        if command == DEFAULT_COMMAND:  # the bare form's help lists the commands
            parser.epilog = ((parser.epilog + "\n\n") if parser.epilog else "") + _commands_epilog()
        try:
            args = parser.parse_args(rest)
        except SystemExit as exc:  # --help and --version print and exit 0 through argparse
            if sys.stdout is not None:
                sys.stdout.flush()
            return int(exc.code or 0)
        return module.run(args)
    except UsageError as exc:
        return usage_error(str(exc), command)
    except NativeCoreError as exc:  # no build, a stale one, or the clone's root hiding it
        return error(str(exc))
    except KeyboardInterrupt:
        say_on_stderr(f"{PROG}: interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`anethru | head`): stop quietly.
        _silence_stdout()
        return EXIT_FAILURE
    except OutputError as exc:
        _silence_stdout()
        return error(str(exc))
    except OSError as exc:  # a file a command was given cannot be read or written
        return error(str(exc))
    except Exception as exc:  # the promise is no traceback, even for a bug of ours
        if os.environ.get("ANETHRU_DEBUG"):
            raise
        return error(f"internal error: {type(exc).__name__}: {exc} (this is a bug in anethru; "
                     f"rerun with ANETHRU_DEBUG=1 for the traceback and please report it)")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
