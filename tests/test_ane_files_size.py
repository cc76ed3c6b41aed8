"""`anethru ane-files` asks before writing gigabytes: a large request is refused before anything
is built, naming the size, unless --yes (issue 22)."""

from __future__ import annotations

from anethru import cli
from anethru.commands import ane_files


def test_gigabytes_of_files_are_refused_before_anything_is_built(tmp_path, capsys, monkeypatch):
    def never(*a, **k):
        raise AssertionError("the programs were built")

    monkeypatch.setattr(ane_files, "ane_programs", never)
    out = tmp_path / "out"
    assert cli.main(["ane-files", "-c", "4096x1", "--layers", "64", str(out)]) == 2
    err = capsys.readouterr().err
    # 4 forms x 64 layers x 4096 x 4096 fp16 weights
    assert f"about {4 * 64 * 4096 * 4096 * 2 / 2**30:.1f} GiB of files; give --yes" in err
    assert not out.exists()


def test_small_requests_and_yes_go_ahead(tmp_path, capsys, monkeypatch):
    calls = []
    monkeypatch.setattr(ane_files, "ane_programs", lambda *a, **k: calls.append(a) or [])
    assert cli.main(["ane-files", "-c", "64x32", str(tmp_path / "a")]) == 0
    assert cli.main(["ane-files", "-c", "4096x1", "--layers", "64", "--yes",
                     str(tmp_path / "b")]) == 0
    assert len(calls) == 2
