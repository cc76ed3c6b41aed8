"""Pictures of saved results: ``anethru plot`` and ``result.plot(path)``.

Reads documents only (what ``--json`` wrote), through the same loaders as everything else, so
a plot shows recomputed, validated figures.  Three kinds of picture:

- results (one configuration or several, from one or more files): each test's per-kernel time
  (per copy for memcpy_only) with its interval, on a log scale, and the derived figures;
- a sweep: each test's per-kernel time against tensor bytes (log-log), the round-trip overhead
  with its fitted line and bootstrap band, and below, the round trip's share of a sequential
  layer with the crossover (50%) and the 10% size marked, each with its interval;
- several files: the same, one colour per file.

Every picture carries its own labels (backend, device, machine, anethru version, date), so one
pasted alone still says what it shows.  matplotlib is the optional ``plot`` extra, imported
only here and only when drawing (``import anethru`` never loads it); drawing uses matplotlib's
object interface with the Agg canvas, so it needs no display and touches no pyplot state.
"""

from __future__ import annotations

import os
from typing import Any, Optional, Sequence, Union

from anethru.errors import AnethruError
from anethru.report.plot_results import results_figure
from anethru.report.plot_style import DPI
from anethru.report.plot_sweep import sweep_figure

FORMATS = ("png", "svg", "pdf")
# anethru is installed from its clone, not from an index: "anethru[plot]" names nothing pip can
# fetch, ".[plot]" (in the clone) and matplotlib itself do.
INSTALL_HINT = "pip install matplotlib (or, in anethru's clone: pip install '.[plot]')"
class PlotUnavailableError(AnethruError, ImportError):
    """matplotlib is not installed; the message says how to install it."""


def _matplotlib() -> Any:
    try:
        import matplotlib
        from matplotlib.figure import Figure
    except ImportError:
        raise PlotUnavailableError(f"plotting needs matplotlib, which is not installed: "
                                   f"{INSTALL_HINT}") from None
    del matplotlib
    return Figure


def _format(path: Union[str, os.PathLike]) -> str:
    suffix = os.path.splitext(os.fspath(path))[1].lower().lstrip(".")
    if suffix not in FORMATS:
        raise ValueError(f"cannot tell the picture format from {os.fspath(path)!r}: name a "
                         f"file ending in {', '.join('.' + f for f in FORMATS)}")
    return suffix


def load_document(text: Union[str, bytes]) -> tuple[str, Any]:
    """("sweep", SweepResult) or ("results", [CeilingResult, ...]) from a document's JSON."""
    from anethru.results import schema
    from anethru.results.loader import load_results
    from anethru.results.sweep import SweepResult

    doc = schema.parse_json(text)
    if schema.kind_of(doc) == "sweep":
        return "sweep", SweepResult.from_dict(doc)
    if schema.kind_of(doc) == "compare":
        from anethru.errors import ResultFormatError

        raise ResultFormatError("$.schema", "is a comparison; plot the result files it compared")
    return "results", load_results(text)


def plot_files(paths: Sequence[Union[str, os.PathLike]], out: Union[str, os.PathLike]) -> Any:
    """Draw the result or sweep files ``paths`` into ``out`` (.png, .svg or .pdf); returns the
    matplotlib Figure.  A bad file raises ResultFormatError naming the file and the field."""
    from anethru.errors import ResultFormatError

    _format(out)
    _matplotlib()  # before reading anything: say at once when matplotlib is missing
    loaded = []
    for p in paths:
        with open(p, "rb") as f:
            text = f.read()
        try:
            loaded.append(load_document(text))
        except ResultFormatError as exc:
            raise ResultFormatError(f"{os.fspath(p)}: {exc.path}", exc.reason) from None
    return _draw(loaded, out, [os.path.basename(os.fspath(p)) for p in paths])


def plot_documents(docs: Sequence[Any], out: Union[str, os.PathLike],
                   names: Optional[Sequence[str]] = None) -> Any:
    """Draw documents (JSON text, or dicts as ``to_dict`` gives) into ``out``; returns the
    matplotlib Figure."""
    import json

    _format(out)
    _matplotlib()
    loaded = [load_document(d if isinstance(d, (str, bytes)) else json.dumps(d)) for d in docs]
    return _draw(loaded, out, names)


def _draw(loaded: list, out: Union[str, os.PathLike], names: Optional[Sequence[str]]) -> Any:
    """Sweeps or results (never both in one picture) into ``out``."""
    fmt = _format(out)
    Figure = _matplotlib()
    if not loaded:
        raise ValueError("nothing to plot: give at least one result or sweep")
    names = list(names) if names else [f"file {i + 1}" for i in range(len(loaded))]
    kinds = {k for k, _ in loaded}
    if len(kinds) > 1:
        raise ValueError("a picture shows sweeps or results, not both: plot them apart")
    if kinds == {"sweep"}:
        fig = sweep_figure(Figure, [obj for _, obj in loaded], names)
    else:
        fig = results_figure(Figure, [obj for _, obj in loaded], names)
    folder = os.path.dirname(os.fspath(out))
    if folder:
        os.makedirs(folder, exist_ok=True)   # -o docs/sweep.png from anywhere
    fig.savefig(out, format=fmt, dpi=DPI)
    return fig

__all__ = ["plot_files", "plot_documents", "load_document", "PlotUnavailableError", "FORMATS"]
