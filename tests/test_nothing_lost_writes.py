"""Writing results never loses a measurement nor replaces what is not a regular file: `submit`
into a full disk or past a file size limit keeps the measurement and says where; `gallery
--out` onto a device writes into it (its errors are errors), onto a link writes through it
(issue 22)."""

from __future__ import annotations

import errno
import json
import os
import shutil
import stat
import subprocess
import sys
import textwrap

import pytest

import anethru
from anethru import cli
from anethru.gallery import output

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
V1_SUITE = os.path.join(ROOT, "tests", "data", "h100-suite-anethru-0.1.0.json")
H100 = "nvidia-h100-80gb-hbm3-cuda-2026-11-26.json"
SUBMIT = ["submit", "-b", "cpu", "-c", "16x8", "--max-time", "0.5", "-q"]


def test_submit_into_a_full_disk_keeps_the_measurement_elsewhere(tmp_path, capsys, monkeypatch):
    results = tmp_path / "results"
    real = output._temporary_beside

    def disk_full_in_results(path, data):
        if os.path.dirname(path) == str(results):
            with open(os.path.join(results, "partial"), "wb") as f:
                f.write(data[:100])      # what a full disk leaves: the start of the file
            os.unlink(os.path.join(results, "partial"))
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(path, data)

    monkeypatch.setattr(output, "_temporary_beside", disk_full_in_results)
    code = cli.main([*SUBMIT, "--results", str(results)])
    out, err = capsys.readouterr()
    assert code == 1 and out == ""
    assert os.listdir(results) == []
    assert "No space left on device" in err and "the measurement is kept in " in err
    spare = err.split("the measurement is kept in ")[1].split(":")[0]
    try:
        [r] = anethru.load_results(open(spare, "rb").read())
        assert r.config.label == "16x8" and r.tests["sequential"].block_ns
    finally:
        os.unlink(spare)


SIZE_LIMITED = textwrap.dedent("""
    import resource, signal, sys
    from anethru import cli
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)   # a write past the limit fails with EFBIG
    resource.setrlimit(resource.RLIMIT_FSIZE, (2048, 2048))
    sys.exit(cli.main(sys.argv[1:]))
""")


def test_submit_past_a_file_size_limit_leaves_no_truncated_file_and_prints_the_measurement(
        tmp_path):
    results = tmp_path / "results"
    p = subprocess.run([sys.executable, "-c", SIZE_LIMITED, *SUBMIT, "--results", str(results)],
                       capture_output=True, timeout=600)
    assert p.returncode == 1, p.stderr
    assert [f for f in os.listdir(results) if not f.startswith(".")] == []
    assert os.listdir(results) == []
    err = p.stderr.decode()
    assert "File too large" in err and "the measurement follows on stdout" in err
    [r] = anethru.load_results(p.stdout)
    assert r.config.label == "16x8"


@pytest.fixture
def small_gallery(tmp_path):
    d = tmp_path / "small"
    d.mkdir()
    shutil.copy(V1_SUITE, d / H100)
    return d


@pytest.mark.skipif(os.geteuid() != 0, reason="creating a device node needs root")
def test_gallery_out_onto_a_full_device_is_an_error_and_the_device_stays(small_gallery, capsys):
    full = small_gallery.parent / "full"
    os.mknod(full, stat.S_IFCHR | 0o666, os.makedev(1, 7))   # a /dev/full of our own
    code = cli.main(["gallery", str(small_gallery), "--out", str(full), "-q"])
    _, err = capsys.readouterr()
    assert code == 1
    assert f"cannot write {full}" in err and "No space left on device" in err
    assert stat.S_ISCHR(os.lstat(full).st_mode)
    assert sorted(os.listdir(full.parent)) == sorted(["full", "small", *(
        ["full.png"] if os.path.exists(str(full) + ".png") else [])])


def test_gallery_out_onto_a_link_writes_through_it(small_gallery, capsys):
    target = small_gallery.parent / "page.md"
    target.write_text("old\n")
    link = small_gallery.parent / "link.md"
    os.symlink(target, link)
    assert cli.main(["gallery", str(small_gallery), "--out", str(link), "-q"]) == 0
    assert os.path.islink(link)
    assert target.read_text().startswith("<!-- anethru gallery format")


def test_a_failed_replacement_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    page = tmp_path / "RESULTS.md"
    page.write_text("old\n")

    def fail(*a):
        raise OSError(errno.EXDEV, "rename failed")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="rename failed"):
        output.replace_file(str(page), b"new\n")
    assert page.read_text() == "old\n" and os.listdir(tmp_path) == ["RESULTS.md"]


def test_write_new_never_replaces(tmp_path):
    p = tmp_path / "a.json"
    output.write_new(str(p), b"1")
    with pytest.raises(FileExistsError):
        output.write_new(str(p), b"2")
    assert p.read_bytes() == b"1" and os.listdir(tmp_path) == ["a.json"]
