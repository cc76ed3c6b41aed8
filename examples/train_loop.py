"""A training loop that measures anethru's round trip at its own layer sizes before it trains.

    python examples/train_loop.py                         # best backend here (the ANE on a Mac)
    python examples/train_loop.py --backend cpu --hidden 64 --tokens 32 --layers 4 --steps 20

The model is a stack of `layers` residual 1x1 layers, `hidden` channels over `tokens` positions,
trained with numpy to fit a linear map.  A chain of anethru kernels of the same shape
(channels=hidden, spatial=tokens, kernels=layers) shows what the CPU round trip between layers
would cost on the accelerator.  The measurement runs in a fresh worker process (isolate=True):
none of the ANE's per-process compiles are spent in the training process, and a framework that
misbehaves cannot take the training down with it.  The figures are logged before the first step
as one JSON line, the result's to_dict().
"""

from __future__ import annotations

import argparse
import json
import logging
import sys

import numpy as np

import anethru
from anethru.units import duration

log = logging.getLogger("train_loop")


def measure_round_trip(hidden: int, tokens: int, layers: int, backend: str,
                       timeout: float, max_time: float | None = None) -> anethru.CeilingResult:
    result = anethru.run_ceiling(hidden, tokens, kernels=layers, backend=backend, isolate=True,
                                 timeout=timeout, max_time=max_time)
    log.info("anethru %s", json.dumps(result.to_dict()))
    per_layer = result.derived.get("round_trip_overhead")
    if per_layer is not None:
        # anethru's own formatter picks the unit (ns, us, ms, s), as the report does
        log.info("round trip at %dx%d on %s: %s per layer boundary, %s per layer "
                 "sequential (median of %d repeats%s)", hidden, tokens, result.device,
                 duration(per_layer.stats.median), duration(result.per_kernel_ms("sequential")),
                 result.config.repeats, "; simulated" if result.simulated else "")
    return result


def train(hidden: int, tokens: int, layers: int, steps: int, lr: float,
          seed: int = 0) -> list[float]:
    """Gradient descent on h <- h + W_i h (i = 1..layers) fitting y = A x; returns the losses."""
    rng = np.random.default_rng(seed)
    target = np.eye(hidden) + rng.standard_normal((hidden, hidden)) / (4 * np.sqrt(hidden))
    weights = [np.zeros((hidden, hidden)) for _ in range(layers)]
    losses = []
    for step in range(steps):
        x = rng.standard_normal((hidden, tokens))
        y = target @ x
        hs = [x]
        for w in weights:
            hs.append(hs[-1] + w @ hs[-1])
        err = hs[-1] - y
        losses.append(float(np.mean(err ** 2)))
        grad = 2 * err / tokens  # d loss / d h, per position
        for i in reversed(range(layers)):
            w_grad = grad @ hs[i].T / hidden
            grad = grad + weights[i].T @ grad
            weights[i] -= lr * w_grad
        log.info("step %d loss %.6f", step + 1, losses[-1])
    return losses


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--backend", default="auto", help="anethru backend (default: auto)")
    p.add_argument("--hidden", type=int, default=768, help="channels per layer (default 768)")
    p.add_argument("--tokens", type=int, default=256, help="positions per batch (default 256)")
    p.add_argument("--layers", type=int, default=12, help="layers (default 12)")
    p.add_argument("--steps", type=int, default=50, help="training steps (default 50)")
    p.add_argument("--lr", type=float, default=0.2, help="learning rate (default 0.2)")
    p.add_argument("--timeout", type=float, default=600.0,
                   help="seconds the measurement may take before it is stopped (default 600)")
    p.add_argument("--max-time", type=float, default=None,
                   help="seconds of measuring per the precision loop (default: anethru's 15)")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    try:
        measure_round_trip(args.hidden, args.tokens, args.layers, args.backend, args.timeout,
                           args.max_time)
    except anethru.AnethruError as exc:  # training goes on without the figures
        log.warning("round trip not measured: %s: %s", type(exc).__name__, exc)
    train(args.hidden, args.tokens, args.layers, args.steps, args.lr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
