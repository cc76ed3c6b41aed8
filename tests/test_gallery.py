"""The results gallery (`anethru gallery`): the committed results/ check, and every way a
gallery must refuse or notice a change -- a hand-edited number, a failed chain check, a
simulated backend, raw blocks that disagree with the stated figures, a misnamed file, a stale
figure -- each on a scratch copy.  Figures are checked against numpy on the raw blocks, the seed's
row against the README's table."""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
import zlib

import numpy as np
import pytest

import anethru
from anethru import cli
from anethru.gallery.files import read_gallery, submission_stem
from anethru.gallery.markdown import FORMAT_LINE, GALLERY_FORMAT, render
from anethru.gallery.figure import data_stamp, figure_data, stamp_of
from anethru.gallery.tables import tables
from anethru.gallery.seed import SEED_MS, seed_round_trip_ms

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, "results")
H100 = "nvidia-h100-80gb-hbm3-cuda-2026-11-26.json"
V1_SUITE = os.path.join(ROOT, "tests", "data", "h100-suite-anethru-0.1.0.json")


def gallery(*args: str, capsys) -> tuple[int, str, str]:
    code = cli.main(["gallery", *args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def committed_copy(tmp_path):
    """A copy of the committed results/ folder."""
    d = tmp_path / "results"
    shutil.copytree(RESULTS, d)
    return d


@pytest.fixture(scope="module")
def scratch_made(tmp_path_factory):
    """A gallery of the H100 file alone (quick to read), its page and figure written: made once
    (the page and figure take a few tenths of a second), copied for each test."""
    d = tmp_path_factory.mktemp("gallery") / "small"
    d.mkdir()
    shutil.copy(V1_SUITE, d / H100)
    assert cli.main(["gallery", str(d), "-q"]) == 0
    return d


@pytest.fixture
def scratch(tmp_path, scratch_made):
    """A copy of scratch_made of this test's own."""
    d = tmp_path / "small"
    shutil.copytree(scratch_made, d)
    return d


@pytest.fixture(scope="module")
def committed():
    """read_gallery of the committed results/, read once for the tests that only look at it
    (its CPU file holds ~10,000 raw blocks and pairs, recomputed on every read)."""
    return read_gallery(RESULTS)


def page_of(directory) -> str:
    with open(os.path.join(directory, "RESULTS.md"), encoding="utf-8") as f:
        return f.read()


def h100_doc() -> dict:
    with open(V1_SUITE, encoding="utf-8") as f:
        return json.load(f)


def add_file(directory, name: str, doc: dict) -> None:
    with open(os.path.join(directory, name), "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=2)


def table_rows(page: str, config: str) -> list[list[str]]:
    """The rows (cells, stripped) of the table under '## <config> ...'."""
    lines = page.splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.startswith(f"## {config} "))
    rows = []
    for ln in lines[start + 4:]:
        if not ln.startswith("|"):
            break
        rows.append([c.strip() for c in re.split(r"(?<!\\)\|", ln)[1:-1]])
    return rows


# ---------------------------------------------------------------------- the committed gallery


def test_the_committed_gallery_passes_its_check(capsys):
    code, out, err = gallery(RESULTS, "--check", capsys=capsys)
    assert code == 0, err
    assert "is what the result files give" in out


def test_the_committed_gallery_has_the_cpu_the_h100_and_the_seed_side_by_side(committed):
    page = page_of(RESULTS)
    accepted, refused = committed
    assert refused == []
    backends = {s.backend for s in accepted}
    assert {"cpu", "cuda"} <= backends
    for config in ("64x32", "256x64", "768x256"):
        rows = table_rows(page, config)
        first_cells = [r[0] for r in rows]
        assert any("NVIDIA H100 80GB HBM3" in c for c in first_cells), first_cells
        assert any("(CPU figures)" in c for c in first_cells), first_cells
        assert first_cells[-1].startswith("Apple M4 Max (the seed's own one-run figures)")
        for r in rows:  # a cpu row is labelled as such, and nothing else is
            assert ("(CPU figures)" in r[0]) == (r[2] == "cpu")


def test_the_committed_cpu_file_was_made_from_a_clean_committed_tree(committed):
    accepted, _ = committed
    [cpu] = [s for s in accepted if s.name == "amd-epyc-cpu-2026-12-07.json"]
    assert cpu.backend == "cpu" and len(cpu.results) == 3
    for s in [cpu]:
        for r in s.results:
            assert re.fullmatch(r"[0-9a-f]{40}", r.machine.get("anethru_git_commit", ""))
            assert r.machine.get("anethru_git_dirty") is False


# ---------------------------------------------------------------------- figures


def test_figures_are_the_raw_blocks_medians_and_the_old_format_still_loads(tmp_path, capsys):
    """The 0.1.0 file (anethru.suite/1, no intervals, no stopping) is upgraded by the loader
    and its figures are the medians of its raw blocks, computed here with numpy."""
    shutil.copy(V1_SUITE, tmp_path / H100)
    code, _, err = gallery(str(tmp_path), capsys=capsys)
    assert code == 0, err
    page = page_of(tmp_path)
    assert "format `anethru.suite/1`" in page
    doc = h100_doc()
    assert doc["schema"] == "anethru.suite/1"
    columns = ["sequential", "run_only", "memcpy_only", "serial_queue", "chained"]
    for res in doc["results"]:
        label = f"{res['config']['channels']}x{res['config']['spatial']}"
        row = table_rows(page, label)[0]
        assert row[6] == "5 (93.8%)"  # 5 repeats: [min .. max] covers the median 93.75%
        for col, test in enumerate(columns, start=7):
            t = res["tests"][test]
            per_unit_us = np.array(t["block_ns"], dtype=np.float64) / t["iters"] / t[
                "units_per_pass"] / 1e3
            m = re.fullmatch(r"(\S+) \[(\S+) \.\. (\S+)\] us", row[col])
            assert m, row[col]
            median, low, high = (float(x) for x in m.groups())
            assert median == pytest.approx(np.median(per_unit_us), abs=0.0051)
            assert low == pytest.approx(per_unit_us.min(), abs=0.0051)
            assert high == pytest.approx(per_unit_us.max(), abs=0.0051)
        # round trip per layer: (sequential - run_only) per pass / 11, paired by repeat
        seq, run = res["tests"]["sequential"], res["tests"]["run_only"]
        per_layer_us = (np.array(seq["block_ns"]) / seq["iters"]
                        - np.array(run["block_ns"]) / run["iters"]) / 11 / 1e3
        m = re.fullmatch(r"(\S+) \[(\S+) \.\. (\S+)\] us", row[12])
        assert float(m.group(1)) == pytest.approx(np.median(per_layer_us), abs=0.0051)


def test_the_seed_row_is_the_readme_table():
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        readme = f.read()
    section = readme[readme.index("### The figures to compare with"):]
    found = {}
    for line in section.splitlines()[4:]:
        if not line.startswith("|"):
            if found:
                break
            continue
        cells = [c.strip() for c in line.strip("|").split("|")]
        m = re.fullmatch(r"(\d+)x(\d+)", cells[0])
        if not m:
            continue
        values = [float(c.split()[0]) for c in cells[1:5]]
        found[(int(m.group(1)), int(m.group(2)))] = dict(
            zip(["sequential", "run_only", "memcpy_only", "serial_queue"], values))
    assert found == {k: dict(v) for k, v in SEED_MS.items()}
    assert seed_round_trip_ms(64, 32) == pytest.approx((0.272 - 0.158) * 12 / 11)


def test_the_seed_row_in_the_page(tmp_path, capsys):
    shutil.copy(V1_SUITE, tmp_path / H100)
    assert gallery(str(tmp_path), capsys=capsys)[0] == 0
    seed = table_rows(page_of(tmp_path), "64x32")[-1]
    assert seed[7:11] == ["0.272 ms", "0.158 ms", "0.001 ms", "0.200 ms"]
    assert seed[11] == "not measured"             # the seed had no chained test
    assert seed[12] == "0.124 ms \u2020"          # (0.272 - 0.158) x 12 / 11 = 0.1244
    seed = table_rows(page_of(tmp_path), "768x256")[-1]
    assert seed[12] == "-0.053 ms \u2020"         # (0.177 - 0.226) x 12 / 11 = -0.0535


# ---------------------------------------------------------------------- --check fails when ...


def test_check_fails_on_a_number_edited_by_hand_naming_the_line(committed_copy, capsys):
    scratch = committed_copy
    page = page_of(scratch)
    lines = page.splitlines(keepends=True)
    n = next(i for i, ln in enumerate(lines) if ln.startswith("| [NVIDIA H100"))
    m = re.search(r"\| (\d+)\.(\d+) \[", lines[n])
    edited = lines[n][:m.start(2)] + str((int(m.group(2)[0]) + 1) % 10) + lines[n][m.start(2) + 1:]
    assert edited != lines[n]
    lines[n] = edited
    (scratch / "RESULTS.md").write_text("".join(lines), encoding="utf-8")
    code, _, err = gallery(str(scratch), "--check", capsys=capsys)
    assert code == 1
    assert f"RESULTS.md line {n + 1} differs from what the result files give" in err
    assert repr(edited.rstrip("\n"))[:100] in err.replace("...", "")
    assert "anethru gallery" in err and err.count("\n") == 1


def test_check_fails_when_the_page_is_missing_or_of_another_layout(scratch, capsys):
    page = page_of(scratch)
    (scratch / "RESULTS.md").write_text(page.replace(FORMAT_LINE, FORMAT_LINE.replace(
        f"format {GALLERY_FORMAT}", "format 0")), encoding="utf-8")
    code, _, err = gallery(str(scratch), "--check", capsys=capsys)
    assert code == 1 and "another layout of the page" in err
    os.unlink(scratch / "RESULTS.md")
    code, _, err = gallery(str(scratch), "--check", capsys=capsys)
    assert code == 1 and "RESULTS.md does not exist" in err


def _refused(scratch, capsys, name: str, doc: dict) -> str:
    """Add a file; both --check and a write must fail naming it, and write nothing."""
    before = page_of(scratch)
    add_file(scratch, name, doc)
    code, out, err = gallery(str(scratch), "--check", capsys=capsys)
    assert code == 1 and out == ""
    assert os.path.join(str(scratch), name) in err
    assert "the page was not checked" in err
    code, out, err2 = gallery(str(scratch), capsys=capsys)
    assert code == 1 and out == ""
    assert "nothing was written" in err2
    assert page_of(scratch) == before
    assert set(os.listdir(scratch)) - {"RESULTS.png"} == {H100, name, "RESULTS.md"}
    return err


def test_a_file_with_a_failed_chain_check_is_refused(scratch, capsys):
    doc = h100_doc()
    doc["results"][1]["check"]["passed"] = False
    err = _refused(scratch, capsys, H100[:-5] + "-bad.json", doc)
    assert "$.results[1].check.passed: is false: the chain check failed" in err


def test_a_simulated_file_is_refused(scratch, capsys):
    doc = h100_doc()
    for r in doc["results"]:
        r["device"] = "SIMULATED (fake CUDA driver, no GPU): " + r["device"]
        r["simulated"] = True
    err = _refused(scratch, capsys, H100[:-5] + "-sim.json", doc)
    assert "$.results[0].simulated: is true: SIMULATED figures" in err


def test_a_simulated_flag_the_device_contradicts_is_refused(scratch, capsys):
    doc = h100_doc()
    doc["results"][0]["simulated"] = True
    err = _refused(scratch, capsys, H100[:-5] + "-sim.json", doc)
    assert "$.results[0].simulated: is true, but the device" in err
    assert "does not say SIMULATED" in err


def test_a_file_whose_raw_blocks_disagree_with_its_figures_is_refused(scratch, capsys):
    doc = h100_doc()
    doc["results"][2]["tests"]["run_only"]["block_ns"][3] += 1000
    err = _refused(scratch, capsys, H100[:-5] + "-edited.json", doc)
    assert "$.results[2].tests.run_only.per_unit_ms" in err
    assert "but the raw blocks give" in err


def test_a_file_without_the_anethru_version_is_refused(scratch, capsys):
    doc = h100_doc()
    doc["results"][0]["anethru_version"] = ""
    err = _refused(scratch, capsys, H100[:-5] + "-noversion.json", doc)
    assert "$.results[0].anethru_version: is ''" in err


def test_an_interrupted_or_empty_suite_and_other_documents_are_refused(scratch, capsys):
    doc = h100_doc()
    doc["schema"] = "anethru.suite/2"   # /2 can say it was interrupted
    for r in doc["results"]:
        r["schema"] = "anethru.ceiling/1"
    doc["interrupted"] = {"channels": 768, "spatial": 256}
    doc["results"] = doc["results"][:2]
    err = _refused(scratch, capsys, H100[:-5] + "-stopped.json", doc)
    assert "interrupted (Ctrl-C) during 768x256" in err
    os.unlink(scratch / (H100[:-5] + "-stopped.json"))
    err = _refused(scratch, capsys, H100[:-5] + "-empty.json",
                   {"schema": "anethru.suite/1", "results": [], "failures": [
                       {"channels": 64, "spatial": 32, "error": "CompileError", "message": "no"}]})
    assert "holds no results (all 1 configurations failed)" in err
    os.unlink(scratch / (H100[:-5] + "-empty.json"))
    err = _refused(scratch, capsys, H100[:-5] + "-one.json", h100_doc()["results"][0])
    assert "the gallery shows suite documents" in err


def test_a_misnamed_file_is_refused_with_the_name_it_should_have(scratch, capsys):
    err = _refused(scratch, capsys, "apple-m4-max-ane-2026-11-26.json", h100_doc())
    assert f"name it {H100}" in err


def test_a_malformed_file_is_named_with_the_json_path(scratch, capsys):
    doc = h100_doc()
    doc["results"][0]["config"]["repeats"] = "five"
    err = _refused(scratch, capsys, H100[:-5] + "-x.json", doc)
    assert "$.results[0].config.repeats: must be an integer" in err


# ---------------------------------------------------------------------- what a gallery shows


def test_configurations_that_failed_are_shown_as_failed_rows(tmp_path, capsys):
    doc = h100_doc()
    doc["failures"] = [{"channels": 512, "spatial": 64, "error": "CompileError",
                        "message": "ANE compiler rejected 512 channels"}]
    add_file(tmp_path, H100, doc)
    assert gallery(str(tmp_path), capsys=capsys)[0] == 0
    rows = table_rows(page_of(tmp_path), "512x64")
    assert len(rows) == 1
    assert rows[0][6] == "failed: CompileError: ANE compiler rejected 512 channels"


def test_rows_are_sorted_by_file_name_and_the_output_is_deterministic(tmp_path, capsys,
                                                                      monkeypatch):
    add_file(tmp_path, H100, h100_doc())
    again = h100_doc()          # another run of the same machine: other raw blocks
    for r in again["results"]:
        for t in r["tests"].values():
            t["block_ns"][0] += 1
            for key in ("per_unit_ms", "per_pass_ms", "units_per_second"):
                t.pop(key, None)
        r.pop("derived", None)
        r.pop("warnings", None)
    add_file(tmp_path, H100[:-5] + "-again.json", again)
    assert gallery(str(tmp_path), capsys=capsys)[0] == 0
    first = page_of(tmp_path)
    links = [r[0] for r in table_rows(first, "64x32")[:2]]
    assert links[0].endswith(f"({H100[:-5]}-again.json)") and links[1].endswith(f"({H100})")
    # A new anethru version renders the same page from the same files.
    monkeypatch.setattr(anethru, "__version__", "9.9.9")
    accepted, _ = read_gallery(str(tmp_path))
    assert render(list(reversed(accepted)), tables(list(reversed(accepted))), str(tmp_path),
                  str(tmp_path), figure_name="RESULTS.png") == first
    assert "9.9.9" not in first
    code, _, err = gallery(str(tmp_path), "--check", capsys=capsys)
    assert code == 0, err


def test_out_elsewhere_links_back_to_the_files(tmp_path, capsys):
    d = tmp_path / "r"
    d.mkdir()
    shutil.copy(V1_SUITE, d / H100)
    out = tmp_path / "docs" / "gallery.md"
    out.parent.mkdir()
    assert gallery(str(d), "--out", str(out), capsys=capsys)[0] == 0
    text = out.read_text(encoding="utf-8")
    assert f"](../r/{H100})" in text
    assert gallery(str(d), "--out", str(out), "--check", capsys=capsys)[0] == 0


def test_a_folder_without_result_files_is_an_error(tmp_path, capsys):
    code, _, err = gallery(str(tmp_path), capsys=capsys)
    assert code == 1 and "no result files" in err
    code, _, err = gallery(str(tmp_path / "nope"), capsys=capsys)
    assert code == 1 and "not a folder" in err


def test_a_new_kind_of_document_joins_the_tables_through_its_reader(tmp_path, monkeypatch,
                                                                    capsys):
    """How sweeps will be added: one reader in READERS.  Here a single-result document."""
    from anethru.gallery import files as g
    from anethru.results.ceiling import CeilingResult

    def read_one(raw, doc):
        return [CeilingResult.from_json(raw)], []

    monkeypatch.setitem(g.READERS, "ceiling", read_one)
    add_file(tmp_path, H100, h100_doc()["results"][0])
    assert gallery(str(tmp_path), capsys=capsys)[0] == 0
    assert table_rows(page_of(tmp_path), "64x32")[0][0].startswith("[NVIDIA H100")


# ---------------------------------------------------------------------- the figure's stamp


def png_with_text(**text: str) -> bytes:
    """A minimal PNG (1x1, grey) with tEXt chunks, written here by hand."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(
            ">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    out = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0))
    for k, v in text.items():
        out += chunk(b"tEXt", k.encode("latin-1") + b"\0" + v.encode("latin-1"))
    return out + chunk(b"IDAT", zlib.compress(b"\0\x80")) + chunk(b"IEND", b"")


def test_stamp_of_reads_the_stamp_and_nothing_else(tmp_path):
    p = tmp_path / "f.png"
    p.write_bytes(png_with_text(Title="x", **{"anethru-gallery-data": "sha256:abc"}))
    assert stamp_of(str(p)) == "sha256:abc"
    p.write_bytes(png_with_text(Title="x"))
    assert stamp_of(str(p)) is None
    p.write_bytes(b"not a png")
    assert stamp_of(str(p)) is None
    assert stamp_of(str(tmp_path / "missing.png")) is None


def test_check_fails_on_a_figure_of_other_data(scratch, capsys):
    (scratch / "RESULTS.png").write_bytes(png_with_text(**{"anethru-gallery-data": "sha256:0"}))
    code, _, err = gallery(str(scratch), "--check", capsys=capsys)
    assert code == 1
    assert "RESULTS.png shows other data than the result files" in err


def test_the_committed_figure_shows_the_committed_files(committed):
    accepted, _ = committed
    assert stamp_of(os.path.join(RESULTS, "RESULTS.png")) == data_stamp(
        figure_data(tables(accepted)))


def test_the_figure_is_drawn_stamped_and_not_redrawn_when_current(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    shutil.copy(V1_SUITE, tmp_path / H100)
    assert gallery(str(tmp_path), capsys=capsys)[0] == 0
    png = tmp_path / "RESULTS.png"
    assert png.read_bytes().startswith(b"\x89PNG")
    first = png.stat().st_mtime_ns
    assert gallery(str(tmp_path), "--check", capsys=capsys)[0] == 0
    code, _, err = gallery(str(tmp_path), capsys=capsys)
    assert code == 0 and "already shows these figures" in err
    assert png.stat().st_mtime_ns == first


def test_without_matplotlib_a_stale_figure_is_an_error_and_a_missing_one_a_note(
        tmp_path, capsys, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_matplotlib(name, *a, **kw):
        if name == "matplotlib" or name.startswith("matplotlib."):
            raise ImportError("No module named 'matplotlib'")
        return real_import(name, *a, **kw)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    shutil.copy(V1_SUITE, tmp_path / H100)
    code, _, err = gallery(str(tmp_path), capsys=capsys)
    assert code == 0 and "figure not drawn: matplotlib is missing" in err
    assert not (tmp_path / "RESULTS.png").exists()
    code, _, err = gallery(str(tmp_path), "--check", capsys=capsys)
    assert code == 0 and "no figure at" in err
    (tmp_path / "RESULTS.png").write_bytes(png_with_text(**{"anethru-gallery-data": "sha256:0"}))
    code, _, err = gallery(str(tmp_path), capsys=capsys)
    assert code == 1 and "redrawing it needs matplotlib" in err


def test_submission_names(tmp_path):
    r = anethru.load_results(open(V1_SUITE, "rb").read())[0]
    assert submission_stem(r) == "nvidia-h100-80gb-hbm3-cuda-2026-11-26"


def test_a_machine_state_of_strings_is_shown_as_written(tmp_path, capsys):
    """The format allows any JSON scalar in machine_state: the page and the report show it."""
    from anethru.results.ceiling import suite_document

    r = anethru.run_ceiling(8, 8, kernels=2, backend="cpu", iters=2, repeats=3, seed=3)
    doc = suite_document([r])
    doc["results"][0]["machine_state"] = {"start": {"load_average_1m": "busy"},
                                          "end": {"load_average_1m": 1.5}}
    add_file(tmp_path, submission_stem(r) + ".json", doc)
    assert gallery(str(tmp_path), capsys=capsys)[0] == 0
    [row] = table_rows(page_of(tmp_path), "8x8")
    assert row[5].startswith("load busy -> 1.50")
    [loaded] = anethru.load_results(json.dumps(doc))
    assert "load busy -> 1.50" in str(loaded)
