"""examples/ run as written, on the CPU backend at small sizes."""

from __future__ import annotations

import json
import re
import os
import subprocess
import sys

import anethru
from anethru.units import duration

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_training_loop_logs_the_round_trip_at_its_layer_sizes_before_training():
    p = subprocess.run([sys.executable, os.path.join(ROOT, "examples", "train_loop.py"),
                        "--backend", "cpu", "--hidden", "48", "--tokens", "24", "--layers", "5",
                        "--steps", "30", "--max-time", "1"], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    figures = [i for i, ln in enumerate(lines) if ln.startswith("anethru {")]
    steps = [i for i, ln in enumerate(lines) if ln.startswith("step ")]
    assert len(figures) == 1 and len(steps) == 30 and figures[0] < steps[0]

    r = anethru.CeilingResult.from_dict(json.loads(lines[figures[0]][len("anethru "):]))
    assert (r.config.channels, r.config.spatial, r.config.kernels) == (48, 24, 5)
    assert r.config.backend == "cpu" and "isolated" in r.config.options
    assert "round_trip_overhead" in r.derived
    losses = [float(lines[i].split()[-1]) for i in steps]
    assert losses[-1] < losses[0] / 2  # it trains

    # The figures in anethru's own units (the line printed `0.0001 ms` for ~100 ns).
    seq = r.per_kernel_ms("sequential")
    rt = r.derived["round_trip_overhead"].stats.median
    said = [ln for ln in lines if ln.startswith("round trip at 48x24 on ")]
    assert said == [f"round trip at 48x24 on {r.device}: {duration(rt)} per layer boundary, "
                    f"{duration(seq)} per layer sequential (median of {r.config.repeats} "
                    f"repeats)"]
    assert not re.search(r"\b0\.0\d* ms\b", said[0]), said   # never a run of zeros before the unit
