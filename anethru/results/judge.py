"""The verdict on one figure of two inputs: a stated test AND a minimum effect, never medians
alone.  Between inputs with enough runs, Welch's t test on the runs' medians; otherwise the
Mann-Whitney U test's interval for the shift on the per-block samples, with a verdict only
beyond the spread of single runs.  Then Holm's correction over every verdict of one comparison
(anethru/results/compare.py pairs the figures)."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, replace
from typing import Optional, Sequence

from anethru.results.stats import CI_LEVEL
from anethru.results.twosample import Shift, holm, ratio_ci, shift_ci, welch, welch_ratio
from anethru.units import duration


@dataclass(frozen=True)
class Change:
    """How one input's figure differs from the reference's, and the verdict."""

    source: str          # the label of the input compared with the reference
    kind: str            # "ratio" (B / A) or "difference" (B - A, in ms)
    estimate: Optional[float]
    ci_low: Optional[float]
    ci_high: Optional[float]
    ci_level: Optional[float]
    verdict: str         # faster/slower (times), larger/smaller, same, uncertain, undefined
    why: str             # the reason behind the verdict, one phrase
    p_value: Optional[float] = None   # Mann-Whitney, two-sided, before Holm's correction

    def to_dict(self) -> dict:
        d = dict(self.__dict__)
        d.pop("p_value")   # the verdict already carries it (compare/2 has no such field)
        return d


def judge_times(a: Sequence[float], b: Sequence[float], same_within: float, source: str,
                level: float = CI_LEVEL, words: tuple[str, str] = ("faster", "slower")) -> Change:
    """The ratio b/a of two samples of positive values, and its verdict."""
    try:
        s = ratio_ci(a, b, level)
    except ValueError as exc:
        return Change(source, "ratio", None, None, None, None, "uncertain", str(exc))
    low_word, high_word = words
    band_low, band_high = 1 / (1 + same_within), 1 + same_within
    if s.ci_low is None:
        return Change(source, "ratio", s.estimate, None, None, None, "uncertain",
                      f"too few blocks ({len(a)} and {len(b)}) for a {level:.0%} interval")
    return _verdict(source, "ratio", s, 1.0, band_low, band_high, low_word, high_word)


def judge_difference(a: Sequence[float], b: Sequence[float], band: float, source: str,
                     level: float = CI_LEVEL, in_ms: bool = True) -> Change:
    """The shift b - a of two samples (any sign), and its verdict within +/- ``band``."""
    s = shift_ci(a, b, level)
    if s.ci_low is None:
        return Change(source, "difference", s.estimate, None, None, None, "uncertain",
                      f"too few blocks ({len(a)} and {len(b)}) for a {level:.0%} interval")
    show = (lambda x: ("+" if x >= 0 else "") + duration(x)) if in_ms else (lambda x: f"{x:+.3g}")
    return _verdict(source, "difference", s, 0.0, -band, band, "smaller", "larger", show)


def judge_runs(a: Sequence[float], b: Sequence[float], same_within: float, source: str, *,
               ratio: bool, words: tuple[str, str], in_ms: bool = True,
               level: float = CI_LEVEL) -> Change:
    """The change between two inputs' runs, one value per run (each run's median): Welch's t
    test, on logarithms for a ratio b/a, else on the values for a difference b - a with the band
    ``same_within`` x |the reference runs' median|."""
    runs = f"Welch's t test between {len(a)} and {len(b)} runs"
    if ratio:
        w = welch_ratio(a, b, level)
        ch = _verdict(source, "ratio", w, 1.0, 1 / (1 + same_within), 1 + same_within, *words)
    else:
        band = same_within * abs(statistics.median(a))
        show = (lambda x: ("+" if x >= 0 else "") + duration(x)) if in_ms else (lambda x: f"{x:+.3g}")
        w = welch(a, b, level)
        ch = _verdict(source, "difference", w, 0.0, -band, band, "smaller", "larger", show)
    return replace(ch, why=f"{ch.why} ({runs})", p_value=w.p_value)


def beyond_floor(ch: Change, floor: float, runs_needed: int) -> Change:
    """A test time's verdict between inputs with too few runs: kept only where the whole
    interval of the ratio lies outside [1/(1+floor), 1+floor], the spread that single runs of
    one configuration show; otherwise uncertain, saying what a verdict needs."""
    if ch.verdict not in DIRECTIONAL + ("same",) or ch.ci_low is None or ch.ci_high is None:
        return ch
    beyond = ch.ci_low > 1 + floor or ch.ci_high < 1 / (1 + floor)
    if ch.verdict in DIRECTIONAL and beyond:
        return replace(ch, why=f"{ch.why}, and beyond the +/-{floor:.0%} that single runs differ by")
    return replace(ch, verdict="uncertain",
                   why=f"single runs differ by up to +/-{floor:.0%} on their own: a verdict within "
                       f"that needs --runs {runs_needed} on both sides")


def _verdict(source: str, kind: str, s: Shift, none: float, band_low: float, band_high: float,
             low_word: str, high_word: str, show=lambda x: f"{x:.3g}x") -> Change:
    lo, hi, est = s.ci_low, s.ci_high, s.estimate
    assert lo is not None and hi is not None
    band = f"[{show(band_low)} .. {show(band_high)}]"
    if band_low <= lo and hi <= band_high:
        verdict, why = "same", f"the interval lies within {band}"
    elif lo > none and est >= band_high:
        verdict, why = high_word, f"the interval excludes {show(none)} and the change is beyond {band}"
    elif hi < none and est <= band_low:
        verdict, why = low_word, f"the interval excludes {show(none)} and the change is beyond {band}"
    elif lo > none or hi < none:
        verdict, why = "uncertain", f"a change, but too small to tell from {band}"
    else:
        verdict, why = "uncertain", f"the interval includes {show(none)} and reaches beyond {band}"
    return Change(source, kind, est, lo, hi, s.ci_level, verdict, why)


DIRECTIONAL = ("faster", "slower", "larger", "smaller")


def holm_adjust(configs: list) -> list:
    """Holm's correction over every figure and configuration of one comparison: a directional
    verdict whose test does not survive it becomes uncertain, saying so."""
    tested = [ch for c in configs for row in c.rows for ch in row.changes if ch.p_value is not None]
    keep = dict(zip(map(id, tested), holm([ch.p_value for ch in tested])))
    m = len(tested)

    def fix(ch: Change) -> Change:
        if ch.verdict in DIRECTIONAL and not keep.get(id(ch), True):
            return replace(ch, verdict="uncertain",
                           why=f"{ch.verdict} at {CI_LEVEL:.0%} alone, but not after Holm's "
                               f"correction over {m} figures (p = {ch.p_value:.2g})")
        return ch

    return [replace(c, rows=tuple(replace(row, changes=tuple(fix(ch) for ch in row.changes))
                                  for row in c.rows)) for c in configs]


__all__ = ["Change", "judge_times", "judge_difference", "judge_runs", "beyond_floor",
           "holm_adjust", "DIRECTIONAL"]
