"""The names the native core numbers (csrc/anethru.h): tests (ANETHRU_TEST_*) and eval paths
(ANETHRU_EVAL_*), in native id order. tests/test_vocab.py checks them against the header."""

from __future__ import annotations

# The seed's configurations (channels x spatial) and chain length, the weights a run takes, and
# the defaults of a precision run: here, with no native code behind them, so that a command's
# --help (and --version) works even where the native build is stale or missing.
SEED_CONFIGS = ((64, 32), (256, 64), (768, 256))
SEED_KERNELS = 12
WEIGHT_KINDS = ("identity", "random")
DEFAULT_PRECISION = 0.05
DEFAULT_MAX_TIME = 15.0

TEST_NAMES = ("sequential", "run_only", "memcpy_only", "serial_queue", "chained", "null_eval")
TEST_IDS = {name: i for i, name in enumerate(TEST_NAMES)}

# The seed's four tests, plus `chained` (what chaining leaves) where a backend can chain.
DEFAULT_TESTS = ("sequential", "run_only", "memcpy_only", "serial_queue", "chained")

DESCRIPTIONS = {
    "sequential": "eval + lock/memcpy/unlock between kernels",
    "run_only": "evals back to back, nothing between",
    "memcpy_only": "lock/memcpy/unlock between neighbours, no eval",
    "serial_queue": "evals posted to a serial queue, wait for the last",
    "chained": "the whole chain as one submission",
    "null_eval": "submissions of no work: the dispatch floor",
}


def units(test: str, kernels: int) -> tuple[str, int]:
    """What one pass of `test` is made of, and how many: per-kernel figures divide by this."""
    if test == "memcpy_only":
        return "copy", kernels - 1
    return "kernel", kernels


# The ANE has three known eval paths: standard (the model's own eval), realtime and direct
# (_ANEClient's); every other backend has only standard.
EVAL_PATHS = ("standard", "realtime", "direct")   # native order: ANETHRU_EVAL_*
EVAL_CHOICES = EVAL_PATHS + ("all",)
PATH_IDS = {name: i for i, name in enumerate(EVAL_PATHS)}
