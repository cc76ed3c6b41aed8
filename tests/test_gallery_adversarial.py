"""The gallery shows nothing false: copies and doubled results are refused, links out of the
folder are not read, the page says which figures were stated and which recomputed, and text
from the files cannot inject Markdown (issue 22)."""

from __future__ import annotations

import json
import os
import re
import shutil

import pytest

from anethru import cli

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
V1_SUITE = os.path.join(ROOT, "tests", "data", "h100-suite-anethru-0.1.0.json")
H100 = "nvidia-h100-80gb-hbm3-cuda-2026-11-26.json"


def h100_doc() -> dict:
    with open(V1_SUITE, encoding="utf-8") as f:
        return json.load(f)


@pytest.fixture
def folder(tmp_path):
    d = tmp_path / "g"
    d.mkdir()
    shutil.copy(V1_SUITE, d / H100)
    return d


def gallery(d, capsys, *args):
    code = cli.main(["gallery", str(d), "-q", *args])
    return code, capsys.readouterr().err


def page(d) -> str:
    return (d / "RESULTS.md").read_text(encoding="utf-8")


def test_a_copied_file_is_refused_not_shown_twice(folder, capsys):
    shutil.copy(V1_SUITE, folder / (H100[:-5] + "-copy.json"))
    code, err = gallery(folder, capsys)
    assert code == 1
    # Files are read in name order: the copy comes first, so the original is the one refused.
    assert f"{H100}: holds the 64x32 measurement that {H100[:-5]}-copy.json holds (the same " \
           f"raw blocks): a copy" in err
    assert not (folder / "RESULTS.md").exists()


def test_a_suite_with_its_results_doubled_is_refused(folder, capsys):
    doc = h100_doc()
    doc["results"] = doc["results"] + doc["results"]
    os.unlink(folder / H100)
    (folder / H100).write_text(json.dumps(doc))
    code, err = gallery(folder, capsys)
    assert code == 1 and "$.results[3]: is 64x32 with 12 kernels again (results[0] is too)" in err


def test_a_link_to_a_file_outside_the_folder_is_not_read(folder, tmp_path, capsys):
    outside = tmp_path / "elsewhere.json"
    outside.write_text((folder / H100).read_text())
    os.unlink(folder / H100)
    os.symlink(outside, folder / H100)
    code, err = gallery(folder, capsys)
    assert code == 1 and f"{H100}: is a link to {outside}, outside the gallery folder" in err


def test_the_page_says_when_every_figure_was_recomputed_from_raw_blocks(folder, capsys):
    assert gallery(folder, capsys)[0] == 0
    assert "- figures: stated in the file and checked against its raw blocks" in page(folder)
    doc = h100_doc()
    for r in doc["results"]:
        for t in r["tests"].values():
            for key in ("per_unit_ms", "per_pass_ms", "units_per_second"):
                t.pop(key, None)
        r.pop("derived", None)
    (folder / H100).write_text(json.dumps(doc))
    assert gallery(folder, capsys)[0] == 0
    assert ("- figures: the file holds raw blocks only; every figure here is recomputed from "
            "them") in page(folder)


def table_row_cells(line: str) -> int:
    return len(re.split(r"(?<!\\)\|", line)) - 2


def test_a_newline_in_a_file_name_cannot_inject_markdown(folder, capsys):
    name = H100[:-5] + "-x\n\n# Injected heading\n[click](javascript:alert).json"
    os.rename(folder / H100, folder / name)
    assert gallery(folder, capsys)[0] == 0
    text = page(folder)
    assert "\n# Injected" not in text and "[click](javascript" not in text
    assert not any(line.startswith("# Injected") for line in text.splitlines())


def test_a_carriage_return_or_pipe_in_a_text_field_stays_in_its_cell(folder, capsys):
    doc = h100_doc()
    for r in doc["results"]:
        r["machine"]["os"] = "Linux\r| injected | cells |\n## heading"
    (folder / H100).write_text(json.dumps(doc))
    assert gallery(folder, capsys)[0] == 0
    text = page(folder)
    assert "\r" not in text and "\n## heading" not in text
    header = next(ln for ln in text.splitlines() if ln.startswith("| machine |"))
    rows = [ln for ln in text.splitlines() if ln.startswith("| [")]
    assert rows and all(table_row_cells(r) == table_row_cells(header) for r in rows)
