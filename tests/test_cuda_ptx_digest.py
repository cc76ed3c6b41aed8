"""The committed PTX header names the SHA-256 of the kernel sources it was generated from, and
this test recomputes it without nvcc: a .cu (or tile header) edited without regenerating the PTX
fails here, on every machine, CI included."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KERNELS = os.path.join(ROOT, "csrc", "cuda", "kernels")


def generator():
    spec = importlib.util.spec_from_file_location("gen_cuda_ptx",
                                                  os.path.join(ROOT, "tools", "gen_cuda_ptx.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def stated_digest() -> str:
    with open(os.path.join(KERNELS, "cuda_kernels_ptx.h"), encoding="utf-8") as f:
        head = f.read(1000)
    match = re.search(r"^ \* sources sha256: ([0-9a-f]{64})", head, re.M)
    assert match, "the PTX header states no sources digest: regenerate it with tools/gen_cuda_ptx.py"
    return match.group(1)


def test_the_ptx_header_was_generated_from_these_sources():
    assert generator().sources_digest() == stated_digest(), (
        "csrc/cuda/kernels changed since cuda_kernels_ptx.h was generated: run "
        "python tools/gen_cuda_ptx.py (needs nvcc)")


def test_every_source_the_kernels_include_is_in_the_digest():
    gen = generator()
    included = set()
    for name in ("cuda_kernels.cu", "cuda_kernels_sm80.cu"):
        with open(os.path.join(KERNELS, name), encoding="utf-8") as f:
            included |= set(re.findall(r'#include "([^"]+)"', f.read()))
    assert {os.path.basename(i) for i in included} | {"cuda_kernels.cu", "cuda_kernels_sm80.cu"} \
        <= set(gen.SOURCES)


def test_an_edited_kernel_changes_the_digest(tmp_path):
    gen = generator()
    copy = tmp_path / "kernels"
    shutil.copytree(KERNELS, copy)
    assert gen.sources_digest(str(copy)) == stated_digest()
    for name in gen.SOURCES:
        edited = tmp_path / f"edited-{name}"
        shutil.copytree(KERNELS, edited)
        with open(edited / name, "a", encoding="utf-8") as f:
            f.write("\n// one more line\n")
        assert gen.sources_digest(str(edited)) != stated_digest(), name


def test_the_header_is_marked_generated():
    with open(os.path.join(ROOT, ".gitattributes"), encoding="utf-8") as f:
        assert re.search(r"^csrc/cuda/kernels/cuda_kernels_ptx\.h .*linguist-generated", f.read(),
                         re.M)
