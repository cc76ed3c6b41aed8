"""examples/ run as written, on the CPU backend at small sizes."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import anethru

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_training_loop_logs_the_round_trip_at_its_layer_sizes_before_training():
    p = subprocess.run([sys.executable, os.path.join(ROOT, "examples", "train_loop.py"),
                        "--backend", "cpu", "--hidden", "48", "--tokens", "24", "--layers", "5",
                        "--steps", "30"], capture_output=True, text=True, timeout=300)
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
