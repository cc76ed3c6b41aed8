"""The derived figures: what the round trip costs per layer, and what chaining would change.

Differences (the round-trip overhead, what chaining saves) are medians of paired differences;
ratios are ratios of medians with a bootstrap interval (``stats.ratio_of_medians``), never the
median of per-repeat ratios, and a ratio whose denominator's interval includes zero is
undefined.  An overhead whose interval spans zero is *not resolved*: it is reported as a bound
on its size, never as a (possibly negative) median.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

from anethru.results.stats import (Stats, UndefinedFigure, paired_difference, per_pass_ms,
                                   per_unit_ms, ratio_of_medians)
from anethru.units import duration

# Figures that are overheads: reported as "not resolved" when their interval spans zero.
OVERHEADS = ("round_trip_overhead", "round_trip_overhead_cpu")


@dataclass(frozen=True)
class Derived:
    """A figure computed from two tests.  ``stats`` is None when the figure is undefined (a
    ratio whose denominator's interval includes zero); ``undefined`` then says why."""

    name: str
    formula: str
    unit: str            # "ms" or "ratio"
    stats: Optional[Stats]
    undefined: Optional[str] = None

    @property
    def not_resolved(self) -> Optional[str]:
        """For an overhead whose interval spans zero: "|overhead| < X per layer (95% bound)";
        None when resolved (or not an overhead)."""
        s = self.stats
        if self.name not in OVERHEADS or s is None or s.ci_low is None or s.ci_high is None:
            return None
        if not s.ci_low <= 0 <= s.ci_high:
            return None
        bound = max(abs(s.ci_low), abs(s.ci_high))
        if bound == 0:
            return f"overhead 0 per layer (every sample in its {s.ci_level:.0%} interval is 0)"
        return f"|overhead| < {duration(bound)} per layer ({s.ci_level:.0%} bound)"

    def to_dict(self) -> dict:
        return {"name": self.name, "formula": self.formula, "unit": self.unit,
                "stats": None if self.stats is None else self.stats.to_dict(),
                "undefined": self.undefined}


def _figure(name: str, formula: str, unit: str, compute: Callable[[], Stats]) -> Derived:
    try:
        return Derived(name, formula, unit, compute())
    except UndefinedFigure as why:
        return Derived(name, formula, unit, None, str(why))


def overhead_share(copy: Stats, overhead: Derived, copy_samples: list, over_samples: list,
                   paired: bool) -> Derived:
    """memcpy's share of the overhead: median copy / median overhead; undefined (with the
    overhead's bound as the reason) when the overhead is not resolved."""
    formula = "median(memcpy_only per copy) / median(round_trip_overhead)"
    if overhead.stats is None:
        return Derived("memcpy_share", formula, "ratio", None,
                       f"round_trip_overhead is undefined: {overhead.undefined}")
    if overhead.not_resolved:
        return Derived("memcpy_share", formula, "ratio", None,
                       f"round_trip_overhead is not resolved: {overhead.not_resolved}")
    return _figure("memcpy_share", formula, "ratio",
                   lambda: ratio_of_medians(copy_samples, over_samples, paired=paired,
                                            what="round_trip_overhead"))


def derive(tests: dict, kernels: int, overhead: Optional[tuple[Derived, list]] = None,
           extra: tuple = ()) -> dict[str, Derived]:
    """The figures the seed printed the formula for, and what chaining changes.  ``overhead``:
    the round-trip overhead measured some other way (the per-pass pairs) and its samples;
    by default the blocks of a round are paired.  ``extra``: more figures, placed after it."""
    out: dict[str, Derived] = {}
    passes = {name: per_pass_ms(t.block_ns, t.iters) for name, t in tests.items()}
    layers = kernels - 1
    if "sequential" in passes and "run_only" in passes:
        paired_blocks = overhead is None
        if overhead is None:
            samples = paired_difference(passes["sequential"], passes["run_only"], layers)
            overhead = (Derived("round_trip_overhead",
                                f"(sequential - run_only) per pass / {layers}",
                                "ms", Stats.of_series(samples)), samples)
        out["round_trip_overhead"] = overhead[0]
        for d in extra:
            out[d.name] = d
        if "memcpy_only" in tests:
            m = tests["memcpy_only"]
            copy = per_unit_ms(m.block_ns, m.iters, layers)
            out["memcpy_share"] = overhead_share(m.per_unit_ms, overhead[0], copy, overhead[1],
                                                 paired=paired_blocks)
    if "serial_queue" in passes and "run_only" in passes:
        out["serial_queue_vs_direct"] = _figure(
            "serial_queue_vs_direct", "median(serial_queue per pass) / median(run_only per pass)",
            "ratio", lambda: ratio_of_medians(passes["serial_queue"], passes["run_only"],
                                              paired=True, what="run_only"))
    if "chained" in passes and "sequential" in passes:
        out["chaining_saves"] = _figure(
            "chaining_saves", f"(sequential - chained) per pass / {layers}", "ms",
            lambda: Stats.of_series(paired_difference(passes["sequential"], passes["chained"], layers)))
    if "chained" in passes and "run_only" in passes:
        out["dispatch_saved"] = _figure(
            "dispatch_saved", f"(run_only - chained) per pass / {layers}", "ms",
            lambda: Stats.of_series(paired_difference(passes["run_only"], passes["chained"], layers)))
    return out


__all__ = ["Derived", "derive", "overhead_share", "OVERHEADS"]
