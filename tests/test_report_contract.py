"""What the report, the Markdown and the CSV promise: every warning appears exactly when its
condition holds, every CSV column holds the figure it names (computed here independently, with
numpy), tiny figures are shown in a unit that shows them, and statistics never crash."""

from __future__ import annotations

import csv
import io
import json
import math
import re
import subprocess
import sys

import numpy as np
import pytest

import anethru
from anethru.report.csv import CSV_FIELDS, to_csv
from anethru.units import duration
from anethru.results.ceiling import CeilingResult, ChainCheck, Config, Stopping, TestResult

K = 12


def result(passes: dict, *, repeats=None, iters=10, stopping=None, machine=None, state=None,
           kernels=K) -> CeilingResult:
    """A result from per-pass ms figures, repeat by repeat ({test: [ms, ms, ...]})."""
    tests = {}
    for name, per_pass in passes.items():
        unit, units = ("copy", kernels - 1) if name == "memcpy_only" else ("kernel", kernels)
        tests[name] = TestResult(name, unit, units, iters,
                                 tuple(int(round(p * iters * 1e6)) for p in per_pass))
    n = len(next(iter(passes.values())))
    config = Config("cpu", 64, 32, kernels, 4096, False, 0, n, "identity", 1,
                    tuple(t for _ in range(n) for t in passes))
    return CeilingResult.build(
        config=config, tests=tests, device="test device", simulated=False, compile_ms=1.0,
        check=ChainCheck("identity", ("sequential",), True, 0.0, 0.0, True), unsupported={},
        machine=machine or {"cpu_count": 8, "os": "Linux", "cpu_model": "test"},
        clock="test", anethru_version="0.1.0", stopping=stopping,
        machine_state=state or {})


STEADY = {"sequential": [3.0, 3.01, 2.99, 3.0, 3.02, 2.98, 3.0],
          "run_only": [2.0, 2.01, 1.99, 2.0, 2.0, 2.01, 1.99]}


def warned(r: CeilingResult, prefix: str) -> bool:
    hits = [w for w in r.warnings if w.startswith(prefix)]
    for w in hits:   # every warning is printed, in every format
        assert f" warning: {w}" in str(r)
        assert f"> **warning**: {w}".replace("|", "\\|") in r.to_markdown()  # pipes escaped
    return bool(hits)


def test_steady_figures_on_an_idle_machine_raise_no_warning():
    assert result(STEADY).warnings == ()


@pytest.mark.parametrize("name,prefix,bad,good", [
    ("one repeat", "1 repeat: no spread and no confidence interval",
     dict(passes={"sequential": [3.0], "run_only": [2.0]}), dict(passes=STEADY)),
    ("CV", "sequential: CV ",
     dict(passes={**STEADY, "sequential": [3.0, 3.9, 2.4, 3.0, 3.6, 2.5, 3.1]}), dict(passes=STEADY)),
    ("max over min", "run_only: max is 5.0x min",
     dict(passes={**STEADY, "run_only": [2.0, 2.0, 10.0, 2.0, 2.01, 2.0, 1.999]}), dict(passes=STEADY)),
    ("imprecise median", "sequential: median known only to +/-",
     dict(passes={**STEADY, "sequential": [3.0, 4.0, 2.2, 3.1, 3.9, 2.3, 3.0]}), dict(passes=STEADY)),
    ("overhead spans zero", "round_trip_overhead is not resolved: |overhead| < ",
     dict(passes={"sequential": [2.0, 2.02, 1.98, 2.0, 2.01, 1.99, 2.0], "run_only": STEADY["run_only"]}),
     dict(passes=STEADY)),
    ("overhead negative", "round_trip_overhead is negative (its whole CI is below zero)",
     dict(passes={"sequential": STEADY["run_only"], "run_only": STEADY["sequential"]}),
     dict(passes=STEADY)),
    ("time ran out", "the time limit (15 s) ran out after 7 repeats, before the precision target (+/-1.0%)",
     dict(passes={**STEADY, "sequential": [3.0, 3.3, 2.8, 3.0, 3.2, 2.9, 3.0]},
          stopping=Stopping("precision", "max_time", 0.01, 15.0, 6, 500, 15.1)),
     dict(passes={**STEADY, "sequential": [3.0, 3.3, 2.8, 3.0, 3.2, 2.9, 3.0]},
          stopping=Stopping("precision", "precision", 0.2, 15.0, 6, 500, 3.0))),
    ("repeat cap", "the cap of 7 repeats was reached after 7 repeats",
     dict(passes=STEADY, stopping=Stopping("precision", "max_repeats", 0.0001, 15.0, 6, 7, 1.0)),
     dict(passes=STEADY, stopping=Stopping("repeats", "repeats"))),
    ("busy machine", "load average 3.50 at start on 2 CPUs",
     dict(passes=STEADY, machine={"cpu_count": 2}, state={"start": {"load_average_1m": 3.5}}),
     dict(passes=STEADY, machine={"cpu_count": 2}, state={"start": {"load_average_1m": 0.8}})),
    ("governor", "CPU frequency governor is 'powersave'",
     dict(passes=STEADY, state={"start": {"cpu_governor": "powersave"}}),
     dict(passes=STEADY, state={"start": {"cpu_governor": "performance"}})),
    ("GPU throttling", "GPU SM clock fell from 1980 to 1500 MHz during the run",
     dict(passes=STEADY, state={"start": {"gpu_sm_clock_mhz": 1980, "gpu_temperature_c": 50},
                                "end": {"gpu_sm_clock_mhz": 1500, "gpu_temperature_c": 84}}),
     dict(passes=STEADY, state={"start": {"gpu_sm_clock_mhz": 1980}, "end": {"gpu_sm_clock_mhz": 1900}})),
])
def test_each_warning_appears_exactly_when_its_condition_holds(name, prefix, bad, good):
    assert warned(result(**bad), prefix), (name, result(**bad).warnings)
    assert not warned(result(**good), prefix), (name, result(**good).warnings)


def test_every_warning_ends_in_advice_or_a_reason():
    r = result({"sequential": [3.0], "run_only": [2.0]}, machine={"cpu_count": 2},
               state={"start": {"load_average_1m": 9.0, "cpu_governor": "ondemand"}})
    assert len(r.warnings) == 3
    assert all(":" in w and len(w) > 40 for w in r.warnings)


# ---------------------------------------------------------------------- CSV


def median_ci_independent(xs, level=0.95):
    n = len(xs)
    if n < 2:
        return None, None, None
    def cover(j):
        return 1 - 2 * sum(math.comb(n, i) for i in range(j)) / 2 ** n
    j = 1
    while j + 1 <= n // 2 and cover(j + 1) >= level:
        j += 1
    s = np.sort(xs)
    level_j = cover(j)
    # A series with positive lag-1 autocorrelation r (bias-corrected by (1 + 3r) / n) has its
    # ranks moved away from the middle by sqrt((1 + r) / (1 - r)) (issue 19).
    d = np.asarray(xs, float) - np.mean(xs)
    if n >= 6 and np.dot(d, d) > 0:
        r = np.dot(d[:-1], d[1:]) / np.dot(d, d)
        r = min(r + (1 + 3 * r) / n, 0.9)
        if r > 0:
            j = max(1, math.floor((n + 1) / 2 - ((n + 1) / 2 - j) * math.sqrt((1 + r) / (1 - r))))
    return s[j - 1], s[n - j], level_j


def expected_row(values, unit):
    xs = np.asarray(values, float)
    lo, hi, level = median_ci_independent(xs)
    sd = float(np.std(xs, ddof=1)) if len(xs) > 1 else 0.0
    return {"median": float(np.median(xs)), "mean": float(np.mean(xs)), "min": float(xs.min()),
            "max": float(xs.max()), "stdev": sd,
            "cv": sd / abs(float(np.mean(xs))) if np.mean(xs) != 0 else None,   # undefined: empty
            "ci_low": lo, "ci_high": hi, "ci_level": level, "unit": unit}


def ratio_row(num, den, d):
    """A ratio figure's row: the ratio of the medians, computed here; the interval and the
    spread of its bootstrap replicates as the figure states them (cross-checked against scipy
    in test_confidence), but the median must lie inside it."""
    s = d.stats
    median = float(np.median(num)) / float(np.median(den))
    assert s.ci_low <= median <= s.ci_high
    return {"median": median, "mean": s.mean, "min": s.min, "max": s.max, "stdev": s.stdev,
            "cv": s.cv, "ci_low": s.ci_low, "ci_high": s.ci_high, "ci_level": s.ci_level}


def same(cell: str, want) -> bool:
    if want is None or want == "":
        return cell == ""
    if isinstance(want, str):
        return cell == want
    return math.isclose(float(cell), float(want), rel_tol=1e-9, abs_tol=1e-15)


@pytest.fixture(scope="module")
def measured():
    return anethru.run_ceiling(64, 32, backend="cpu", iters=3, warmup=1, repeats=6, seed=3,
                               tests=["sequential", "run_only", "memcpy_only", "serial_queue",
                                      "chained", "null_eval"])


def test_every_csv_column_holds_the_figure_it_names(measured):
    tied = result({"sequential": [2.0, 2.0, 2.0], "run_only": [2.0, 2.0, 2.0],
                   "memcpy_only": [0.1, 0.1, 0.1]})   # memcpy_share undefined
    rows = list(csv.DictReader(io.StringIO(to_csv([measured, tied]))))
    assert list(rows[0]) == CSV_FIELDS
    checked = set()
    split = len(measured.tests) + len(measured.derived)
    for r, mine in ((measured, rows[:split]), (tied, rows[split:])):
        assert [row["test"] for row in mine] == list(r.tests) + list(r.derived)
        k = r.config.kernels
        passes = {n: np.asarray(t.block_ns, float) / 1e6 / t.iters for n, t in r.tests.items()}
        for row in mine:
            name = row["test"]
            want = {"backend": r.config.backend, "channels": str(r.config.channels),
                    "spatial": str(r.config.spatial), "kernels": str(k),
                    "repeats": str(r.config.repeats), "simulated": str(r.simulated),
                    "stopped_by": r.stopping.stopped_by}
            if name in r.tests:
                t = r.tests[name]
                units = k - 1 if name == "memcpy_only" else k
                want.update(expected_row(passes[name] / units, f"ms/{t.unit}"))
                want.update(iters=str(t.iters), per_pass_median_ms=float(np.median(passes[name])),
                            note="")
            else:
                d = r.derived[name]
                over = (passes["sequential"] - passes["run_only"]) / (k - 1)
                if r.pairs is not None:   # the per-pass pairs, where measured
                    over = np.asarray([(s - q) / 1e6 / (k - 1) for s, q in r.pairs.wall_ns])
                if name == "round_trip_overhead":
                    values = over
                elif name == "round_trip_overhead_cpu":
                    values = np.asarray([(s - q) / 1e6 / (k - 1) for s, q in r.pairs.cpu_ns])
                elif name == "memcpy_share":
                    lo, hi, _ = median_ci_independent(over)
                    values = None if lo <= 0 <= hi else \
                        ratio_row(passes["memcpy_only"] / (k - 1), over, d)
                elif name == "serial_queue_vs_direct":
                    values = ratio_row(passes["serial_queue"], passes["run_only"], d)
                elif name == "chaining_saves":
                    values = (passes["sequential"] - passes["chained"]) / (k - 1)
                else:
                    values = (passes["run_only"] - passes["chained"]) / (k - 1)
                unit = "ratio" if d.unit == "ratio" else "ms/layer"
                if values is None:
                    want.update({c: "" for c in ("median", "mean", "min", "max", "stdev", "cv",
                                                 "ci_low", "ci_high", "ci_level")})
                    want.update(unit=unit, note=d.undefined)
                    assert "round_trip_overhead is not resolved" in d.undefined
                elif isinstance(values, dict):
                    want.update(values, unit=unit, note="")
                else:
                    want.update(expected_row(values, unit))
                    want.update(note="")
                want.update(iters="", per_pass_median_ms="")
            want["test"] = name
            for col in CSV_FIELDS:
                assert same(row[col], want[col]), (name, col, row[col], want[col])
                checked.add(col)
    assert checked == set(CSV_FIELDS)


# ---------------------------------------------------------------------- text and Markdown


@pytest.mark.parametrize("ms,text", [(3.4727, "3.473 ms"), (41.67, "41.67 ms"), (1500.0, "1.500 s"),
                                     (0.0092, "9.200 us"), (0.0000123, "12.30 ns"),
                                     (0.0, "0 ms"), (-0.0036, "-3.600 us"), (4.6e-9, "0.0046 ns")])
def test_durations_are_shown_in_a_unit_that_shows_them(ms, text):
    assert duration(ms) == text


def test_tiny_figures_never_print_as_zero(measured):
    text = str(measured)
    line = next(ln for ln in text.splitlines() if ln.startswith(" null_eval "))
    median = measured.tests["null_eval"].per_unit_ms.median
    m = re.match(r" null_eval +kernel +(\d+\.\d+) \[\S+ \.\. \S+\] (ns|us) ", line)
    assert m, line
    shown = float(m.group(1)) * {"ns": 1e-6, "us": 1e-3}[m.group(2)]
    assert median > 0 and shown == pytest.approx(median, rel=2e-3)
    assert " 0.0000 " not in text
    s = measured.tests["run_only"].per_unit_ms
    assert "median [CI]" in text and "intervals: 96.9% for each median" in text
    assert any(ln.startswith(" run_only ") and duration(s.min) in ln for ln in text.splitlines())


def test_the_markdown_report(measured):
    md = measured.to_markdown()
    assert md.startswith("### anethru: 64x32 (channels x spatial), 12 kernels, backend `cpu`")
    assert "| test | per | median | CI | min | max | CV | per pass |" in md
    for name, t in measured.tests.items():
        s = t.per_unit_ms
        row = next(ln for ln in md.splitlines() if ln.startswith(f"| `{name}` |"))
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert cells[1] == t.unit and cells[6] == f"{s.cv:.0%}"
        assert cells[2].split()[1] == cells[4].split()[1]   # median and min in one unit
    for key in ("cpu_model", "os_release", "anethru_version", "time_utc"):
        assert f"| {key} | {measured.machine[key]} |" in md
    assert "| round-trip overhead per layer (what chaining would eliminate) |" in md


def test_the_cli_prints_markdown():
    p = subprocess.run([sys.executable, "-m", "anethru", "-b", "cpu", "-c", "16x8", "-k", "2",
                        "-n", "2", "-r", "3", "-q", "--markdown"], capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("### anethru: 16x8 (channels x spatial), 2 kernels, backend `cpu`")
    assert "<summary>machine fingerprint</summary>" in p.stdout


# ---------------------------------------------------------------------- never crash


def strict(text):
    def refuse(token):
        raise ValueError(f"{token} in JSON")
    return json.loads(text, parse_constant=refuse)


def test_the_1x1_tie_that_crashed_0_1_0_is_an_undefined_ratio():
    # `anethru -c 1x1 -k 2 -n 1 -r 200 -b cpu`: sequential and run_only tie in some repeats
    rng = np.random.default_rng(0)
    run = rng.integers(900, 1100, 200)
    seq = run.copy()
    seq[::7] += rng.integers(1, 50, len(seq[::7]))        # most repeats tie exactly
    tests = {"sequential": TestResult("sequential", "kernel", 2, 1, tuple(int(x) for x in seq)),
             "run_only": TestResult("run_only", "kernel", 2, 1, tuple(int(x) for x in run)),
             "memcpy_only": TestResult("memcpy_only", "copy", 1, 10, tuple([400] * 200))}
    config = Config("cpu", 1, 1, 2, 2, False, 5, 200, "identity", 0,
                    tuple(t for _ in range(200) for t in tests))
    r = CeilingResult.build(config=config, tests=tests, device="d", simulated=False, compile_ms=0.1,
                            check=ChainCheck("identity", ("sequential",), True, 0, 0, True),
                            unsupported={}, machine={}, clock="c", anethru_version="0.1.0")
    d = r.derived["memcpy_share"]
    assert d.stats is None and "round_trip_overhead is not resolved" in d.undefined
    assert r.derived["round_trip_overhead"].stats.median == 0.0
    doc = strict(r.to_json())
    assert anethru.CeilingResult.from_json(json.dumps(doc)) == r
    assert "undefined: round_trip_overhead is not resolved" in str(r) and to_csv([r])


def test_the_1x1_run_many_times_never_raises(no_leaks):
    for i in range(15):
        r = anethru.run_ceiling(1, 1, kernels=2, iters=1, repeats=200, backend="cpu", seed=i)
        assert str(r) and r.to_markdown() and to_csv([r])
        assert anethru.CeilingResult.from_json(json.dumps(strict(r.to_json()))) == r
    one = anethru.run_ceiling(1, 1, kernels=2, iters=1, repeats=1, backend="cpu")
    assert one.warnings[0].startswith("1 repeat: no spread")
    assert "(1 repeat: no interval)" in str(one)
    strict(one.to_json())


def test_the_1x1_command_line_prints_strict_json():
    p = subprocess.run([sys.executable, "-m", "anethru", "-c", "1x1", "-k", "2", "-n", "1", "-r",
                        "200", "-b", "cpu", "--json", "-q"], capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 0, p.stderr
    doc = strict(p.stdout)
    assert len(doc["results"][0]["tests"]["sequential"]["block_ns"]) == 200




def test_a_rows_unit_is_the_one_that_shows_its_largest_figure():
    """The max column printed `10301.0 ns`, in the median's unit: the row's unit now comes
    from every figure of the row, max included."""
    copies = [0.0099] * 11 + [0.11331]  # per pass of 11 copies: 900 ns per copy, one 10.30 us
    r = result({"sequential": [3.0] * 12, "run_only": [2.0] * 12, "memcpy_only": copies})
    (row,) = [ln for ln in str(r).splitlines() if ln.startswith(" memcpy_only ")]
    assert row.split()[2:11] == ["0.900", "[0.900", "..", "0.900]", "us", "0.900", "us",
                                 "10.30", "us"], row   # median [CI], min, max: one unit
    (md,) = [ln for ln in r.to_markdown().splitlines() if ln.startswith("| `memcpy_only`")]
    cells = [c.strip() for c in md.strip("|").split("|")]
    assert cells[2:6] == ["0.900 us", "0.900 us .. 0.900 us", "0.900 us", "10.30 us"], md


def test_the_precision_shortfall_names_tiny_intervals_in_a_unit_that_shows_them():
    """It said `+/-0.000123 ms (target +/-5e-05 ms)`: anethru.units picks the unit here too."""
    from anethru.results.stats import Stats, precision_shortfall

    overhead = Stats.of([-0.0002, -0.0001, 0.0, 0.0001, 0.0002, 0.00005, -0.00005, 0.0])
    run_only = Stats.of([0.001] * 8)
    (line,) = precision_shortfall({}, overhead, run_only, 0.05)
    hw = overhead.half_width
    assert hw is not None and hw < 0.001
    assert line == (f"round_trip_overhead's interval spans zero and is +/-{duration(hw)} "
                    f"(target +/-{duration(0.05 * 0.001)})")
    assert line.endswith("(target +/-50.00 ns)") and " ms" not in line
