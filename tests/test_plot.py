"""``anethru plot`` and ``result.plot(path)``: each kind of picture rendered headlessly (Agg),
the file checked (format, pixel size), and the drawn data checked against the data; without
matplotlib, one line saying how to install it."""

from __future__ import annotations

import json
import os
import re
import struct
import subprocess
import sys

import numpy as np
import pytest

import anethru
from anethru.report import plot

pytest.importorskip("matplotlib")

from virtual_clock import Costs, virtual_costs  # noqa: E402

MODEL_TESTS = ["sequential", "run_only", "memcpy_only", "chained"]


@pytest.fixture(scope="module")
def sweep_doc():
    with virtual_costs(Costs()):
        sw = anethru.run_sweep(channels=[1], spatial=[32, 64, 96, 128, 160, 192, 256, 320],
                               backend="virtual", tests=MODEL_TESTS, repeats=3, iters=2, warmup=1)
    return sw.to_dict()


@pytest.fixture(scope="module")
def result_doc():
    return anethru.run_ceiling(64, 32, backend="cpu", repeats=4, iters=3).to_dict()


def png_size(path) -> tuple[int, int]:
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def by_gid(fig, gid):
    found = [a for ax in fig.axes for a in ax.get_children() if a.get_gid() == gid]
    assert found, f"nothing drawn with gid {gid!r}"
    return found[0]


def line_data(artist):
    """x and y of a Line2D, or of the data line inside an errorbar container's parts."""
    return np.asarray(artist.get_xdata(), float), np.asarray(artist.get_ydata(), float)


def errorbar_line(fig, gid):
    # errorbar passes the gid to its data line (and its bars); the data line comes first
    for ax in fig.axes:
        for c in ax.containers:
            if c.lines[0] is not None and c.lines[0].get_gid() == gid:
                return c.lines[0]
    raise AssertionError(f"no errorbar with gid {gid!r}")


def test_a_sweep_plot_draws_the_data_the_fit_and_the_crossover(sweep_doc, tmp_path):
    out = tmp_path / "sweep.png"
    fig = plot.plot_documents([sweep_doc], out)
    w, h = png_size(out)
    assert (w, h) == (round(fig.get_figwidth() * plot.DPI), round(fig.get_figheight() * plot.DPI))
    assert out.stat().st_size > 20_000
    sw = anethru.SweepResult.from_dict(sweep_doc)
    byte_sizes = [r.config.bytes_per_tensor for r in sw.results]
    for test in MODEL_TESTS:
        x, y = line_data(errorbar_line(fig, f"test:0:{test}"))
        assert list(x) == byte_sizes
        assert y == pytest.approx([r.tests[test].per_unit_ms.median for r in sw.results])
    line = sw.model.round_trip.model.line
    fx, fy = line_data(by_gid(fig, "fit:0:0"))
    assert (fx[0], fx[-1]) == pytest.approx((byte_sizes[0], byte_sizes[-1]))
    assert fy == pytest.approx(line.alpha + line.beta * fx)
    crossover = sw.model.series[0].crossover.bytes
    mx, my = line_data(by_gid(fig, "crossover:0:1"))
    assert (mx[0], my[0]) == (pytest.approx(crossover), 50)
    assert line_data(by_gid(fig, "crossover-line:0:1"))[0][0] == pytest.approx(crossover)
    sx, sy = line_data(by_gid(fig, "share:0:1"))
    assert sy == pytest.approx([100 * s for s in sw.model.series[0].shares])
    times = fig.axes[0]
    assert times.get_xscale() == "log" and times.get_yscale() == "log"
    lo, hi = times.get_xlim()
    assert lo <= byte_sizes[0] and hi >= byte_sizes[-1]
    texts = " ".join(t.get_text() for t in fig.texts)
    assert "backend virtual" in texts and f"anethru {anethru.__version__}" in texts and "SIMULATED" in texts
    assert sw.created_utc[:10] in texts and sw.machine["cpu_model"] in texts


def test_sweep_plot_as_svg_and_through_the_result(sweep_doc, tmp_path):
    out = tmp_path / "sweep.svg"
    anethru.SweepResult.from_dict(sweep_doc).plot(out)
    text = out.read_text()
    assert text.lstrip().startswith("<?xml") and "<svg" in text


def test_a_one_configuration_plot_shows_each_test_with_its_interval(result_doc, tmp_path):
    out = tmp_path / "one.png"
    r = anethru.CeilingResult.from_dict(result_doc)
    r.plot(out)
    png_size(out)
    fig = plot.plot_documents([result_doc], tmp_path / "again.png")
    x, y = line_data(errorbar_line(fig, "result:0"))
    tests = list(r.tests)
    assert y == pytest.approx([r.tests[t].per_unit_ms.median for t in tests])
    assert list(x) == pytest.approx([i for i in range(len(tests))])  # one series: centred
    labels = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert labels[0] == "sequential" and "memcpy_only (per copy)" in labels
    assert "round_trip_overhead" in " ".join(t.get_text() for t in fig.axes[1].texts)


def test_several_files_get_one_colour_each(tmp_path, sweep_doc, result_doc):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(json.dumps(result_doc))
    b.write_text(json.dumps(result_doc))
    fig = plot.plot_files([a, b], tmp_path / "two.png")
    ca = errorbar_line(fig, "result:0").get_color()
    cb = errorbar_line(fig, "result:1").get_color()
    assert ca != cb
    c, d = tmp_path / "c.json", tmp_path / "d.json"
    c.write_text(json.dumps(sweep_doc))
    d.write_text(json.dumps(sweep_doc))
    fig = plot.plot_files([c, d], tmp_path / "two-sweeps.png")
    assert errorbar_line(fig, "test:0:run_only").get_color() != \
        errorbar_line(fig, "test:1:run_only").get_color()
    texts = " ".join(t.get_text() for t in fig.texts)
    assert "c.json: backend virtual" in texts and "d.json: backend virtual" in texts


def test_sweeps_and_results_do_not_share_a_picture(tmp_path, sweep_doc, result_doc):
    with pytest.raises(ValueError, match="sweeps or results, not both"):
        plot.plot_documents([sweep_doc, result_doc], tmp_path / "x.png")


def cli(*args):
    return subprocess.run([sys.executable, "-m", "anethru", "plot", *args], capture_output=True,
                          text=True, timeout=300)


def test_cli_writes_the_picture(tmp_path, sweep_doc):
    src = tmp_path / "s.json"
    src.write_text(json.dumps(sweep_doc))
    p = cli(str(src), "-o", str(tmp_path / "s.png"))
    assert p.returncode == 0, p.stderr
    assert p.stderr.startswith(f"anethru: wrote {tmp_path / 's.png'}")
    png_size(tmp_path / "s.png")


def test_cli_errors(tmp_path, sweep_doc):
    src = tmp_path / "s.json"
    src.write_text(json.dumps(sweep_doc))
    p = cli(str(src), "-o", str(tmp_path / "s.gif"))
    assert p.returncode == 2 and "the file must end in .png, .svg, .pdf" in p.stderr
    bad = json.loads(json.dumps(sweep_doc))
    bad["points"][0]["tests"]["run_only"]["iters"] = 0
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    p = cli(str(tmp_path / "bad.json"), "-o", str(tmp_path / "b.png"))
    assert p.returncode == 1
    assert f"{tmp_path / 'bad.json'}: $.points[0].tests.run_only.iters: must be >= 1" in p.stderr
    p = cli(str(tmp_path / "missing.json"), "-o", str(tmp_path / "m.png"))
    assert p.returncode == 1 and "No such file" in p.stderr and "Traceback" not in p.stderr


def test_without_matplotlib_one_line_says_how_to_install_it(tmp_path, sweep_doc):
    src = tmp_path / "s.json"
    src.write_text(json.dumps(sweep_doc))
    code = ("import sys; sys.modules['matplotlib'] = None; from anethru.cli import main; "
            f"sys.exit(main(['plot', {str(src)!r}, '-o', {str(tmp_path / 'x.png')!r}]))")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert p.returncode == 1
    assert p.stderr == ("anethru: error: plotting needs matplotlib, which is not installed: "
                        "pip install matplotlib (or, in anethru's clone: pip install '.[plot]')\n")
    assert not (tmp_path / "x.png").exists()
    code = ("import sys; sys.modules['matplotlib'] = None; import anethru; "
            f"r = anethru.load_sweep(open({str(src)!r}).read())\n"
            "try:\n    r.plot('x.png')\nexcept ImportError as e:\n    print(e)")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                       cwd=tmp_path)
    assert "pip install matplotlib (or, in anethru's clone: pip install '.[plot]')" in p.stdout


def test_no_install_hint_names_a_package_pip_cannot_find():
    """`pip install "anethru[plot]"` fails: anethru is not on an index.  Every hint, in the
    package and in the README, names what works (matplotlib, or ".[plot]" in the clone)."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    offenders = []
    for folder, _, names in os.walk(os.path.join(root, "anethru")):
        for name in names:
            if name.endswith(".py"):
                with open(os.path.join(folder, name), encoding="utf-8") as f:
                    offenders += [f"{name}:{i}" for i, ln in enumerate(f, 1)
                                  if re.search(r"install\W+anethru\[", ln)]
    with open(os.path.join(root, "README.md"), encoding="utf-8") as f:
        offenders += [f"README.md:{i}" for i, ln in enumerate(f, 1)
                      if re.search(r"install\W+anethru\[", ln)]
    assert offenders == []
