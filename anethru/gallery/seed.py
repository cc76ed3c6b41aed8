"""The original experiment's own figures: Experiment I (``test_throughput_ceiling.m``) run once on
an M4 Max, the numbers anethru exists to pin down.  The results gallery shows them as a row of
their own, marked as one-run figures (no repeats, no interval, no ``chained`` test).

Where they come from: the table "The figures to compare with" in README.md, which records the
seed's printed "Per kernel" (and "Per memcpy") lines from the project's ANE reference notes
("The figures to reproduce": M4 Max, macOS 15, 12 kernels, 50 iterations, one run each).  The
seed program prints per-kernel times with three decimals (``%.3f ms``), so these carry three.
tests/test_gallery.py checks them against the README's table.
"""

from __future__ import annotations

from types import MappingProxyType

SEED_CHIP = "Apple M4 Max"
SEED_OS = "macOS 15"
SEED_BACKEND = "ane"
SEED_KERNELS = 12
SEED_PASSES = 50            # the seed's `iters`; memcpy-only ran 10x as many
SEED_PROGRAM = "test_throughput_ceiling.m"
# Where the figures are written down in this repository, and what they are.
SEED_SOURCE_FILE = "README.md"
SEED_SOURCE_SECTION = "The figures to compare with"
SEED_SOURCE_ANCHOR = "the-figures-to-compare-with"
SEED_PROVENANCE = (f"the seed's Experiment I ({SEED_PROGRAM}) run once on an {SEED_CHIP}, "
                   f"{SEED_OS}, {SEED_KERNELS} kernels, {SEED_PASSES} passes, as recorded in the "
                   f"project's ANE reference notes")

# (channels, spatial) -> test -> ms per kernel (per copy for memcpy_only), one run each.
SEED_MS = MappingProxyType({
    (64, 32): MappingProxyType({"sequential": 0.272, "run_only": 0.158, "memcpy_only": 0.001,
                                "serial_queue": 0.200}),
    (256, 64): MappingProxyType({"sequential": 0.191, "run_only": 0.181, "memcpy_only": 0.002,
                                 "serial_queue": 0.176}),
    (768, 256): MappingProxyType({"sequential": 0.177, "run_only": 0.226, "memcpy_only": 0.006,
                                  "serial_queue": 0.186}),
})


def seed_round_trip_ms(channels: int, spatial: int) -> float:
    """The round-trip overhead per layer the seed printed the formula for but never computed:
    (sequential - run_only) per pass / (kernels - 1), from its rounded per-kernel figures."""
    f = SEED_MS[(channels, spatial)]
    return (f["sequential"] - f["run_only"]) * SEED_KERNELS / (SEED_KERNELS - 1)


__all__ = ["SEED_MS", "SEED_CHIP", "SEED_OS", "SEED_BACKEND", "SEED_KERNELS", "SEED_PROGRAM",
           "SEED_SOURCE_FILE", "SEED_SOURCE_SECTION", "SEED_SOURCE_ANCHOR", "SEED_PROVENANCE",
           "seed_round_trip_ms"]
