"""docs/ane.md says only what a source says: every fact in its tables names where it was seen
(or says it is unverified), and the claims a review found untraceable or contradicted are gone
or carry both sources."""

import os
import re

DOC = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs", "ane.md")
# The sources the page defines, by the short names its tables use.
SOURCES = ("the seed", "the bridge", "the research code", "the training kernels", "the same",
           "the fused Q/K/V test", "Apple's writer", "the chaining research", "the benchmark report",
           "community reports", "ane-infer", "rustane", "the decompiled framework")


def text() -> str:
    with open(DOC, encoding="utf-8") as f:
        return f.read()


def fact_rows() -> list[list[str]]:
    """Every body row of every table whose last column is "seen in"."""
    rows, seen_in = [], False
    for line in text().splitlines():
        if not line.startswith("|"):
            seen_in = False
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells[-1] == "seen in":
            seen_in = True
        elif seen_in and not set(line) <= set("|- "):
            rows.append(cells)
    return rows


def test_every_fact_names_a_defined_source_or_says_unverified():
    rows = fact_rows()
    assert len(rows) >= 20
    for row in rows:
        where = row[-1]
        assert "**unverified**" in where or any(s in where for s in SOURCES), row


def test_the_claims_found_untraceable_are_gone():
    doc = text()
    for gone in ("means the MIL was not accepted", "often succeeds",
                 "The compiler writes files of its own"):
        assert gone not in doc


def test_the_disputed_and_unsourced_claims_carry_their_sources():
    rows = {" | ".join(row[:-1]): row[-1] for row in fact_rows()}

    def row_with(words):
        (key,) = [k for k in rows if words in k]
        return key, rows[key]

    fact, where = row_with("the framework's `-saveModelFiles`")
    assert "not by the compiler" in fact and "the decompiled framework" in where
    fact, where = row_with("never parses the MIL")
    assert where == "the decompiled framework"
    fact, _ = row_with("doEvaluateDirectWithModel")
    assert "about 10% faster" in fact and "0.78x" in fact and "M5" in fact and "M4 Max" in fact
    for words in ("About 128 programs", "Per-eval dispatch floors"):
        assert "**unverified**" in row_with(words)[1]
    assert "**unverified**" in row_with("the bridge waits 100 ms")[0]
    assert row_with("only `ch=512`")[1] == "the benchmark report"
    assert "ANE-LM" in row_with("multiple of 16")[1]
