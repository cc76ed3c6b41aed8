"""Where a command's document goes: the screen in one format (the text report, or --json, --csv,
--markdown where the kind has them), and with ``--out FILE`` a file too, in ``--format`` (default:
the file's suffix, else JSON), as Google Benchmark keeps --benchmark_format and --benchmark_out
apart.  One renderer map per document kind; the commands only name their kind."""

from __future__ import annotations

import argparse
import json
import os
from dataclasses import dataclass
from typing import Any, Callable, Optional

from anethru.commands.common import OutputError, UsageError, write_stdout


@dataclass(frozen=True)
class Suite:
    """What `anethru` measured: results, failures, and where a Ctrl-C stopped it (or None)."""

    results: list
    interrupted: Optional[tuple[int, int]] = None


def _suite_parts(doc: Suite) -> tuple[list, list]:
    from anethru.results.ceiling import CeilingResult
    from anethru.results.failure import ConfigFailure

    return ([r for r in doc.results if isinstance(r, CeilingResult)],
            [r for r in doc.results if isinstance(r, ConfigFailure)])


def _suite_text(doc: Suite) -> str:
    from anethru.report.text import format_suite

    ok, _ = _suite_parts(doc)
    return format_suite(ok) + "\n" if ok else ""


def _suite_json(doc: Suite) -> str:
    from anethru.results.ceiling import suite_document

    ok, failed = _suite_parts(doc)
    where = None if doc.interrupted is None else {"channels": doc.interrupted[0],
                                                  "spatial": doc.interrupted[1]}
    return json.dumps(suite_document(ok, failed, where), indent=2, allow_nan=False) + "\n"


def _suite_csv(doc: Suite) -> str:
    from anethru.report.csv import to_csv

    return to_csv(_suite_parts(doc)[0])


def _suite_markdown(doc: Suite) -> str:
    from anethru.report.markdown import format_suite_markdown

    ok, _ = _suite_parts(doc)
    return format_suite_markdown(ok) + "\n" if ok else ""


def _plain(method: str) -> Callable[[Any], str]:
    def render(doc: Any) -> str:
        return (str(doc) if method == "str" else getattr(doc, method)()) + "\n"
    return render


def _dict_json(doc: Any) -> str:
    return json.dumps(doc.to_dict(), indent=2, allow_nan=False) + "\n"


# kind -> format -> renderer; "text" is the screen's default and never a flag.
RENDERERS: dict[str, dict[str, Callable[[Any], str]]] = {
    "suite": {"text": _suite_text, "json": _suite_json, "csv": _suite_csv,
              "markdown": _suite_markdown},
    "sweep": {"text": _plain("str"), "json": _plain("to_json")},
    "comparison": {"text": _plain("str"), "json": _dict_json, "markdown": _plain("to_markdown")},
    "doctor": {"text": _plain("str"), "json": _plain("to_json"), "markdown": _plain("to_markdown")},
}
SCREEN_HELP = {"json": "print it as JSON", "csv": "print one CSV row per test and figure",
               "markdown": "print it as Markdown"}
SUFFIXES = {".json": "json", ".csv": "csv", ".md": "markdown", ".markdown": "markdown",
            ".txt": "text"}


def add_output_arguments(p: argparse.ArgumentParser, kind: str,
                         screen_help: Optional[dict[str, str]] = None) -> None:
    formats = RENDERERS[kind]
    screen = p.add_mutually_exclusive_group()
    for fmt in formats:
        if fmt != "text":
            screen.add_argument(f"--{fmt}", action="store_true",
                                help=(screen_help or {}).get(fmt, SCREEN_HELP[fmt]))
    p.add_argument("--out", metavar="FILE", default=None,
                   help="also write it to FILE (the screen keeps its report)")
    p.add_argument("--format", choices=list(formats), default=None, dest="out_format",
                   help="FILE's format (default: from its suffix, else json)")


def screen_format(kind: str, args: argparse.Namespace) -> str:
    return next((f for f in RENDERERS[kind] if f != "text" and getattr(args, f, False)), "text")


def file_format(kind: str, args: argparse.Namespace) -> str:
    if args.out_format:
        return args.out_format
    fmt = SUFFIXES.get(os.path.splitext(args.out)[1].lower(), "json")
    if fmt not in RENDERERS[kind]:
        raise UsageError(f"--out {args.out}: a {kind} has no {fmt} format; give --format "
                         f"({', '.join(RENDERERS[kind])})")
    return fmt


def check_output_arguments(kind: str, args: argparse.Namespace) -> None:
    """Before measuring: a bad --out or --format is a usage error now, not after the run."""
    if args.out_format and not args.out:
        raise UsageError("--format names the format of --out FILE; give --out too")
    if args.out:
        file_format(kind, args)


def emit(kind: str, doc: Any, args: argparse.Namespace) -> None:
    """The document on the screen and, with --out, in its file."""
    write_stdout(RENDERERS[kind][screen_format(kind, args)](doc))
    if args.out:
        write_file(args.out, RENDERERS[kind][file_format(kind, args)](doc))


def write_file(path: str, text: str) -> None:
    """``text`` into ``path`` whole or not at all, never replacing a device (the gallery's
    writer, anethru.gallery.output); a failure is an OutputError naming the path."""
    from anethru.gallery.output import replace_file

    try:
        replace_file(path, text.encode("utf-8"))
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from exc


__all__ = ["Suite", "RENDERERS", "add_output_arguments", "check_output_arguments", "emit",
           "write_file", "screen_format", "file_format"]
