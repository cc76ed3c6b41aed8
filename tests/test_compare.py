"""`anethru compare` and anethru.results.compare: pairs with known differences get the right verdicts."""

from __future__ import annotations

import dataclasses
import json
import random
import re
import subprocess
import sys

import jsonschema
import pytest

from anethru.results import schema
from anethru.results.compare import compare, judge_difference, judge_times
from anethru.results.ceiling import CeilingResult, ChainCheck, Config, TestResult, suite_document

KERNELS = 12
BASE_PASS_MS = {"sequential": 3.0, "run_only": 2.0, "memcpy_only": 0.05, "serial_queue": 2.4,
                "chained": 1.5}


def synthetic(scale=1.0, noise=0.01, repeats=20, seed=0, backend="cpu", channels=64, spatial=32,
              tests=BASE_PASS_MS, scales=None):
    """A result whose blocks are the base pass times x scale, with lognormal noise."""
    rng = random.Random(seed)
    iters = 10
    results = {}
    for name, ms in tests.items():
        f = (scales or {}).get(name, scale)
        unit, units = ("copy", KERNELS - 1) if name == "memcpy_only" else ("kernel", KERNELS)
        blocks = tuple(int(ms * f * iters * 1e6 * rng.lognormvariate(0, noise)) for _ in range(repeats))
        results[name] = TestResult(name, unit, units, iters, blocks)
    schedule = tuple(n for _ in range(repeats) for n in tests)
    config = Config(backend, channels, spatial, KERNELS, channels * spatial * 2, False, 0, repeats,
                    "identity", seed, schedule)
    return CeilingResult.build(config=config, tests=results, device=f"{backend} device",
                               simulated=False, compile_ms=1.0,
                               check=ChainCheck("identity", ("sequential",), True, 0.0, 0.0, True),
                               unsupported={}, machine={"cpu_model": "test", "os": "Linux"},
                               clock="test clock", anethru_version="0.1.0")


def verdicts(cmp, source="B"):
    return {row.name: ch.verdict for c in cmp.configs for row in c.rows for ch in row.changes
            if ch.source == source}


def test_a_2x_slower_run_is_slower_everywhere_with_a_ratio_of_2():
    a, b = synthetic(seed=1), synthetic(scale=2.0, seed=2)
    cmp = compare(a, b)
    (c,) = cmp.configs
    assert c.reference == "A" and c.present == ("A", "B")
    for row in c.rows:
        if row.is_test:
            (ch,) = row.changes
            assert ch.verdict == "slower" and ch.kind == "ratio"
            assert ch.ci_low < 2.0 * 1.02 and ch.ci_high > 2.0 / 1.02 and ch.ci_low > 1.05
            assert ch.estimate == pytest.approx(2.0, rel=0.02)
    # the overheads doubled too (sequential - run_only went from 1 to 2 ms per pass), but a
    # derived figure gets a verdict only between runs
    assert verdicts(cmp)["round_trip_overhead"] == "uncertain"
    runs = compare([synthetic(seed=60 + i) for i in range(3)],
                   [synthetic(scale=2.0, seed=63 + i) for i in range(3)])
    assert verdicts(runs)["round_trip_overhead"] == "larger"
    assert [(c.label, row.name) for c, row, _ in cmp.slower_than(0.05)] == [
        ("64x32, 12 kernels", t) for t in BASE_PASS_MS]


def test_exactly_scaled_blocks_give_exactly_the_scale():
    a = synthetic(seed=3)
    b = dataclasses.replace(a, tests={n: dataclasses.replace(t, block_ns=tuple(2 * x for x in t.block_ns))
                                      for n, t in a.tests.items()})
    ch = compare(a, b).configs[0].rows[0].changes[0]
    assert ch.estimate == pytest.approx(2.0, rel=1e-9)


def test_the_same_machine_twice_is_the_same_with_three_runs_and_unknown_with_one():
    runs = lambda first, **kw: [synthetic(seed=first + i, **kw) for i in range(3)]
    cmp = compare(runs(40), runs(43))
    v = verdicts(cmp)
    assert all(v[t] == "same" for t in BASE_PASS_MS), v
    assert all("between 3 and 3 runs" in ch.why for _, row, ch in cmp.changes() if row.is_test)
    assert cmp.slower_than(0.0) == []
    # One run per side: two runs differ by more than their own intervals say, so within the
    # single-run floor there is no verdict, "same" included; it says what a verdict needs.
    single = compare(synthetic(seed=4), synthetic(seed=5))
    for _, row, ch in single.changes():
        if row.is_test:
            assert ch.verdict == "uncertain" and "needs --runs 3 on both sides" in ch.why


def test_a_faster_run_is_faster():
    v = verdicts(compare(synthetic(seed=6), synthetic(scale=0.5, seed=7)))
    assert all(v[t] == "faster" for t in BASE_PASS_MS), v
    v = verdicts(compare([synthetic(seed=70 + i) for i in range(3)],
                         [synthetic(scale=0.5, seed=73 + i) for i in range(3)]))
    assert all(v[t] == "faster" for t in BASE_PASS_MS), v
    assert v["round_trip_overhead"] == "smaller"


def test_too_few_blocks_or_too_much_noise_is_uncertain_never_guessed():
    few = compare(synthetic(seed=8, repeats=3), synthetic(scale=2.0, seed=9, repeats=3))
    for c, row, ch in few.changes():
        if row.is_test:
            assert ch.verdict == "uncertain" and "too few blocks (3 and 3)" in ch.why
            assert ch.estimate == pytest.approx(2.0, rel=0.05)   # the medians alone say 2x
    noisy = compare(synthetic(seed=10, noise=0.5), synthetic(scale=1.05, seed=11, noise=0.5))
    assert set(verdicts(noisy)[t] for t in BASE_PASS_MS) == {"uncertain"}


def test_one_test_slower_the_others_the_same():
    cmp = compare([synthetic(seed=12 + i) for i in range(3)],
                  [synthetic(seed=50 + i, scales={"serial_queue": 1.3}) for i in range(3)])
    v = verdicts(cmp)
    assert v["serial_queue"] == "slower" and v["run_only"] == "same" and v["sequential"] == "same"
    assert [row.name for _, row, _ in cmp.slower_than(0.2)] == ["serial_queue"]
    assert cmp.slower_than(0.4) == []     # 1.3x is not slower by more than 40%


def test_verdict_rules_on_hand_made_samples():
    a = [1.0, 1.01, 0.99, 1.02, 0.98, 1.0, 1.01, 0.99]
    assert judge_times(a, [x * 1.5 for x in a], 0.05, "B").verdict == "slower"
    assert judge_times(a, [x / 1.5 for x in a], 0.05, "B").verdict == "faster"
    assert judge_times(a, [x * 1.01 for x in a], 0.05, "B").verdict == "same"
    small = judge_times(a, [x * 1.025 for x in a], 0.03, "B")   # a real change under the band
    assert small.verdict == "uncertain" and "too small to tell" in small.why
    assert judge_times([0.0, 1.0], [1.0, 1.0], 0.05, "B").verdict == "uncertain"
    d = judge_difference([0.1, 0.11, 0.09, 0.1, 0.1, 0.12], [0.3, 0.31, 0.29, 0.3, 0.3, 0.32], 0.01, "B")
    assert d.verdict == "larger" and d.estimate == pytest.approx(0.2)


def test_across_backends_different_configurations_are_listed_not_paired():
    cpu = [synthetic(seed=14), synthetic(seed=15, channels=768, spatial=256)]
    cuda = [synthetic(scale=0.01, seed=16, backend="cuda"),
            synthetic(seed=17, backend="cuda", channels=256, spatial=64)]
    cmp = compare(cpu, cuda)
    assert [c.label for c in cmp.configs] == ["64x32, 12 kernels"]
    assert set(cmp.unpaired) == {("A", "768x256, 12 kernels"), ("B", "256x64, 12 kernels")}
    assert any("backend 'cuda' vs 'cpu'" in n for n in cmp.notes)
    # cpu vs cuda: the ratio (0.01x) is shown, but it is no verdict (issue 19, section 3)
    assert all(v == "uncertain" for n, v in verdicts(cmp).items() if n in BASE_PASS_MS)
    assert all(ch.estimate == pytest.approx(0.01, rel=0.1) for _, row, ch in cmp.changes()
               if row.is_test)


def test_three_inputs_each_against_the_first_that_has_the_configuration():
    a = [synthetic(seed=18)]
    b = [synthetic(scale=2.0, seed=19), synthetic(seed=20, channels=8, spatial=8)]
    c = [synthetic(seed=21), synthetic(scale=3.0, seed=22, channels=8, spatial=8)]
    cmp = compare(a, b, c)
    first, second = cmp.configs
    assert (first.reference, first.present) == ("A", ("A", "B", "C"))
    assert (second.reference, second.present) == ("B", ("B", "C"))
    assert verdicts(cmp, "C")["run_only"] in ("same", "slower")   # 64x32 vs A; 8x8 vs B
    ch = [ch for row in second.rows for ch in row.changes if row.name == "run_only"][0]
    assert ch.source == "C" and ch.estimate == pytest.approx(3.0, rel=0.05)


def test_undefined_figures_say_why():
    a = synthetic(seed=23)
    tied = synthetic(seed=24, scales={"sequential": 1.0})
    tests = dict(tied.tests)
    tests["sequential"] = dataclasses.replace(tests["run_only"], name="sequential")
    b = CeilingResult.build(config=tied.config, tests=tests, device=tied.device, simulated=False,
                            compile_ms=1.0, check=tied.check, unsupported={}, machine=tied.machine,
                            clock=tied.clock, anethru_version="0.1.0")
    cmp = compare(a, b)
    (ch,) = [ch for _, row, ch in cmp.changes() if row.name == "memcpy_share"]
    assert ch.verdict == "undefined" and "round_trip_overhead is not resolved" in ch.why
    assert "undefined" in str(cmp) and "undefined" in cmp.to_markdown()


def test_renderings_and_json(tmp_path):
    cmp = compare(synthetic(seed=25), synthetic(scale=2.0, seed=26), names=["base.json", "new.json"])
    text = str(cmp)
    assert "[A] base.json" in text and "[B] new.json" in text
    assert "Mann-Whitney U" in text and "B/A [CI]" in text
    assert re.search(r" sequential +kernel .* (1\.9\d\d|2\.0\d\d)x \[\S+ \.\. \S+\] +slower", text), text
    md = cmp.to_markdown()
    assert "| `sequential` | kernel |" in md and "**slower**" in md
    doc = json.loads(json.dumps(cmp.to_dict(), allow_nan=False))
    assert doc["schema"] == "anethru.compare/2"
    jsonschema.Draft202012Validator(schema.json_schema()["$defs"]["compare"] | {
        "$defs": schema.json_schema()["$defs"]}).validate(doc)
    schema.check(doc, schema.json_schema()["$defs"]["compare"])


def cli(*args):
    return subprocess.run([sys.executable, "-m", "anethru", "compare", *args], capture_output=True,
                          text=True, timeout=120)


def test_the_command_line(tmp_path):
    base, slow, same = tmp_path / "base.json", tmp_path / "slow.json", tmp_path / "same.json"
    base.write_text(json.dumps(suite_document([synthetic(seed=27)])))
    slow.write_text(synthetic(scale=2.0, seed=28).to_json())
    same.write_text(json.dumps(suite_document([synthetic(seed=29)])))
    p = cli(str(base), str(slow), "--fail-if-slower", "5%")
    assert p.returncode == 1, p.stderr
    assert re.search(r"anethru: error: 64x32, 12 kernels: sequential in \[B\] is (1\.9\d|2\.0\d?)x the "
                     r"reference \[A\] \(95% interval", p.stderr), p.stderr
    assert "slower by more than 5%" in p.stderr and "slower" in p.stdout
    p = cli(str(base), str(same), "--fail-if-slower", "5%")
    assert p.returncode == 0 and p.stderr == "", p.stderr
    p = cli(str(base), str(slow), "--markdown")
    assert p.returncode == 0 and p.stdout.startswith("### anethru compare: 2 inputs")
    p = cli(str(base), str(slow), "--json")
    assert json.loads(p.stdout)["configs"][0]["figures"][0]["changes"][0]["verdict"] == "slower"
    bad = tmp_path / "bad.json"
    bad.write_text('{"schema": "anethru.suite/2", "results": [{}], "failures": []}')
    p = cli(str(base), str(bad))
    assert p.returncode == 1
    assert p.stderr.strip() == (f"anethru: error: {bad}: not a readable anethru result: "
                                f"$.results[0].schema: is missing: not an anethru document")
    p = cli(str(base))
    assert p.returncode == 2 and "compare needs at least two files" in p.stderr
    p = cli(str(base), str(tmp_path / "missing.json"))
    assert p.returncode == 1 and "No such file" in p.stderr and "Traceback" not in p.stderr


def test_the_0_1_0_h100_file_compares_with_a_cpu_run():
    h100 = "tests/data/h100-suite-anethru-0.1.0.json"
    cpu = synthetic(seed=30, channels=768, spatial=256, scale=1000.0)
    cmp = compare(h100, [cpu])
    (c,) = cmp.configs
    assert c.label == "768x256, 12 kernels"
    # Across backends and machines: ratios, never a verdict, and the report says so first.
    assert all(ch.verdict in ("uncertain", "undefined") for _, row, ch in cmp.changes())
    assert any(ch.estimate and ch.estimate > 100 for _, row, ch in cmp.changes() if row.is_test)
    assert any("backend 'cpu' vs 'cuda'" in n for n in cmp.notes)
    assert cmp.across == ("768x256, 12 kernels: [B] vs [A]: different backend/device/machine",)
    assert str(cmp).splitlines()[3].startswith(" ACROSS MACHINES: ratios only, no faster/slower")
    assert cmp.slower_than(0.05) == [] and cmp.slower_than(0.05, across_machines=True)


def test_fail_if_slower_refuses_across_machines_unless_told(tmp_path):
    base, other = tmp_path / "base.json", tmp_path / "other.json"
    base.write_text(synthetic(seed=31).to_json())
    other.write_text(synthetic(scale=2.0, seed=32, backend="virtual").to_json())
    p = cli(str(base), str(other), "--fail-if-slower", "5%")
    assert p.returncode == 2 and p.stdout == "" and len(p.stderr.splitlines()) == 1
    assert "--fail-if-slower refuses to judge across machines" in p.stderr
    assert "different backend/device" in p.stderr
    p = cli(str(base), str(other), "--fail-if-slower", "5%", "--across-machines")
    assert p.returncode == 1 and "sequential in [B]" in p.stderr
    p = cli(str(base), str(other))       # without the gate: the table, ratios, no verdicts
    assert p.returncode == 0 and "ACROSS MACHINES" in p.stdout.splitlines()[3]


def test_directional_verdicts_survive_holm_over_every_figure():
    a = [synthetic(seed=40), synthetic(seed=41, channels=8, spatial=8)]
    b = [synthetic(scale=1.08, noise=0.05, seed=42), synthetic(seed=43, channels=8, spatial=8)]
    cmp = compare(a, b)
    tested = [ch for _, _, ch in cmp.changes() if ch.p_value is not None]
    ps = sorted(ch.p_value for ch in tested)
    m = len(ps)
    # Holm's step-down by hand: the first p above 0.05 / (m - rank) ends the rejections.
    cut = next((r for r, p in enumerate(ps) if p > 0.05 / (m - r)), m)
    for ch in tested:
        rejected = ch.p_value <= (ps[cut - 1] if cut else -1)
        if ch.verdict in ("faster", "slower", "larger", "smaller"):
            assert rejected, ch
        if not rejected and "Holm" in ch.why:
            assert ch.verdict == "uncertain"
    assert "p_value" not in cmp.to_dict()["configs"][0]["figures"][0]["changes"][0]
