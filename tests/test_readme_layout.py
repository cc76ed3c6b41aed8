"""The README's Layout section is the tree as built: every folder and module it names exists,
and every sub-package of anethru/ and every folder of csrc/ is named there."""

from __future__ import annotations

import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def layout_tree() -> str:
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        text = f.read()
    section = text[text.index("## Layout\n"):]
    section = section[:section.index("\n## ", 5)] if "\n## " in section[5:] else section
    return re.findall(r"^```\n(.*?)^```", section, re.S | re.M)[1]   # the layers, then the tree


def named_folders(tree: str) -> set[str]:
    """'anethru/native', 'csrc/ane/forms', ...: each folder line, under its parents."""
    out, stack = set(), []
    for line in tree.splitlines():
        m = re.match(r"^( *)([\w.]+)/(?:\s|$)", line)
        if not m:
            continue
        depth = len(m.group(1)) // 2
        stack = stack[:depth] + [m.group(2)]
        out.add("/".join(stack))
    return out


def test_every_folder_the_layout_names_exists():
    folders = named_folders(layout_tree())
    assert "anethru/measure/worker" in folders and "csrc/cuda/kernels" in folders
    missing = [f for f in folders if not os.path.isdir(os.path.join(ROOT, f))]
    assert not missing, missing


def test_every_package_and_native_folder_is_in_the_layout():
    folders = named_folders(layout_tree())
    actual = set()
    for top in ("anethru", "csrc"):
        for folder, dirs, names in os.walk(os.path.join(ROOT, top)):
            dirs[:] = [d for d in dirs if not d.startswith(("__", "."))]
            rel = os.path.relpath(folder, ROOT)
            if rel != top and (top == "csrc" or "__init__.py" in names):
                actual.add(rel.replace(os.sep, "/"))
    assert actual <= folders, sorted(actual - folders)


def test_every_module_the_layout_names_exists():
    tree = layout_tree()
    for name in set(re.findall(r"\b([\w]+\.(?:py|h|m))\b", tree)):
        hits = [p for p in (os.path.join(d, name) for d, _, n in os.walk(ROOT) if name in n)]
        assert hits, name
