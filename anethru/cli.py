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

import importlib
import os
import sys
from typing import Optional, Sequence

from anethru.native.check import NativeCoreError

# The conventions every command shares live in anethru.commands.common; named here too, for
# callers that import them from the command line's module.
from anethru.commands.common import (EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE,  # noqa: F401
                                     PROG, ArgumentParser, OutputError, UsageError, error,
                                     new_parser, progress_printer, say_on_stderr, usage_error,
                                     write_stdout, occupy_closed_std_fds)

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


# What anethru needs at run time (pyproject.toml's dependencies): a Python without one of them
# is not a bug in anethru, and the message says how to install it.
RUNTIME_DEPENDENCIES = ("numpy", "cffi")


def missing_dependency(name: str) -> str:
    return (f"anethru needs {name}, which this Python ({sys.executable}) cannot import: "
            f"`{sys.executable} -m pip install {name}`, or install anethru with its "
            f"dependencies (`pip install .` or `pip install -e .` in the clone)")


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
    occupy_closed_std_fds()
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
        if isinstance(exc, ModuleNotFoundError) and exc.name in RUNTIME_DEPENDENCIES:
            return error(missing_dependency(exc.name))
        if os.environ.get("ANETHRU_DEBUG"):
            raise
        return error(f"internal error: {type(exc).__name__}: {exc} (this is a bug in anethru; "
                     f"rerun with ANETHRU_DEBUG=1 for the traceback and please report it)")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
