"""``anethru gallery DIR [--check] [--out FILE]``: check every result file of a folder and write
its summary page (DIR/RESULTS.md), with the plot extra also its figure (DIR/RESULTS.png).

A file that cannot be shown is named with the reason, and then nothing is written (exit 1).
``--check`` writes nothing: it renders the page in memory and exits 1 naming the first line
where the page on disk differs, or a figure that shows other data than the files (CI runs it, so
nobody edits numbers by hand).  See anethru/gallery.py for what a file must pass.
"""

from __future__ import annotations

import argparse
import os
from typing import Optional

from anethru.commands.common import EXIT_OK, error, progress_printer, write_stdout

DEFAULT_PAGE = "RESULTS.md"
FIGURE_SUFFIX = ".png"

DESCRIPTION = ("Check every result file (*.json) of a folder and write its summary page: for "
               "each configuration a table with one row per machine, and the seed's own M4 Max "
               "figures; with the plot extra (matplotlib) also a figure comparing every machine. "
               "A file is shown only if it passes the loader's validation (figures recomputed "
               "from its raw blocks), its chain check passed, it is not simulated and it "
               "records the anethru version; otherwise it is named with the reason and nothing "
               "is written. --check writes nothing and exits 1 if the page on disk differs.")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("directory", metavar="DIR", help="the folder of result files (results/)")
    p.add_argument("--check", action="store_true",
                   help="write nothing; exit 1 naming the first differing line when the page "
                        "(or the figure's data) is not what the files give")
    p.add_argument("--out", metavar="FILE", default=None,
                   help=f"the page to write or check (default DIR/{DEFAULT_PAGE}); the figure "
                        f"goes beside it, same name, {FIGURE_SUFFIX}")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")


def first_difference(have: str, want: str) -> Optional[tuple[int, str, str]]:
    """(line number, line on disk, line the files give) of the first difference, or None."""
    a, b = have.splitlines(), want.splitlines()
    for i in range(max(len(a), len(b))):
        x = a[i] if i < len(a) else "<end of file>"
        y = b[i] if i < len(b) else "<end of file>"
        if x != y:
            return i + 1, x, y
    if have != want:  # same lines, other line endings or a missing final newline
        return len(b), "(line endings differ)", "(one \\n after each line)"
    return None


def _short(line: str, limit: int = 160) -> str:
    return repr(line if len(line) <= limit else line[:limit - 3] + "...")


def _check(page: str, text: str, figure: str, stamp: str, say, regenerate: str) -> int:
    from anethru.gallery.markdown import FORMAT_LINE
    from anethru.gallery.figure import stamp_of

    try:
        with open(page, encoding="utf-8", newline="") as f:
            have = f.read()
    except FileNotFoundError:
        return error(f"{page} does not exist; write it with `{regenerate}`")
    diff = first_difference(have, text)
    if diff is not None:
        line, was, should = diff
        if line == 1 and was.startswith("<!-- anethru gallery format") and was != FORMAT_LINE:
            return error(f"{page} was written in another layout of the page ({_short(was)}); "
                         f"this anethru writes {_short(FORMAT_LINE)}: regenerate it with "
                         f"`{regenerate}`")
        return error(f"{page} line {line} differs from what the result files give: it has "
                     f"{_short(was)}, the files give {_short(should)}; regenerate it with "
                     f"`{regenerate}` (never edit it by hand)")
    if os.path.exists(figure):
        found = stamp_of(figure)
        if found != stamp:
            return error(f"{figure} shows other data than the result files (its stamp "
                         f"{found or 'is missing'}, the files give {stamp}); redraw it with "
                         f"`{regenerate}` (needs matplotlib: pip install matplotlib)")
    else:
        say(f"no figure at {figure} (the plot extra draws one); the page is checked alone")
    return EXIT_OK


def _write_figure(figure: str, data, stamp: str, say) -> Optional[str]:
    """Draw the figure unless it already shows this data; the reason it could not, or None."""
    from anethru.gallery.figure import draw, stamp_of
    from anethru.gallery.output import replace_file

    if stamp_of(figure) == stamp:
        say(f"{figure} already shows these figures; left as it is")
        return None
    tmp = figure + ".tmp.png"
    try:
        draw(data, tmp)
        with open(tmp, "rb") as f:
            replace_file(figure, f.read())   # never over a device or a link: see output.py
    except ImportError:
        if os.path.exists(figure):
            return (f"{figure} shows other data than the result files now, and redrawing it "
                    f"needs matplotlib: pip install matplotlib and run again (or delete it)")
        say("figure not drawn: matplotlib is missing (pip install matplotlib draws it)")
        return None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    say(f"wrote {figure}")
    return None


def run(args: argparse.Namespace) -> int:
    from anethru.gallery.files import read_gallery, result_files
    from anethru.gallery.output import replace_file
    from anethru.gallery.markdown import render
    from anethru.gallery.figure import data_stamp, figure_data
    from anethru.gallery.tables import tables

    say = progress_printer(args.quiet)
    directory = args.directory
    if not os.path.isdir(directory):
        return error(f"{directory}: not a folder of result files")
    page = args.out or os.path.join(directory, DEFAULT_PAGE)
    figure = os.path.splitext(page)[0] + FIGURE_SUFFIX
    regenerate = f"anethru gallery {directory}" + (f" --out {args.out}" if args.out else "")
    if not result_files(directory):
        return error(f"{directory}: no result files (*.json) to show")
    accepted, refused = read_gallery(directory)
    for bad in refused:
        error(f"{os.path.join(directory, bad.file)}: {bad.reason}")
    if refused:
        return error(f"{len(refused)} of {len(refused) + len(accepted)} result files cannot be "
                     f"shown (above); {'the page was not checked' if args.check else 'nothing was written'}")
    grid = tables(accepted)
    data = figure_data(grid)
    stamp = data_stamp(data)
    text = render(accepted, grid, directory, os.path.dirname(os.path.abspath(page)),
                  figure_name=os.path.basename(figure))
    summary = (f"{len(accepted)} file{'s' if len(accepted) != 1 else ''}, {len(grid)} "
               f"configuration{'s' if len(grid) != 1 else ''}")
    if args.check:
        status = _check(page, text, figure, stamp, say, regenerate)
        if status == EXIT_OK:
            write_stdout(f"{page} is what the result files give ({summary})\n")
        return status
    try:
        replace_file(page, text.encode("utf-8"))
    except OSError as exc:
        return error(f"cannot write {page}: {exc.strerror or exc}; the page was not written")
    problem = _write_figure(figure, data, stamp, say)
    if problem:
        return error(problem)
    write_stdout(f"wrote {page} ({summary})\n")
    return EXIT_OK
