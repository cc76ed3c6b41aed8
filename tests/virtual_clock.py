"""The virtual backend from the tests' side: set its costs, read a chain's operation trace, and
what the seed's passes and costs should produce, written out here independently of anethru.

The virtual backend (csrc/virtual/virtual_backend.c) computes like the cpu backend, but every lock,
unlock, byte copied, eval, hand-off to another thread, chained submission and null eval
advances its chain's clock by a fixed cost, and the harness times blocks with that clock.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from dataclasses import dataclass, fields
from typing import Iterator, NamedTuple

from anethru.native.lib import ffi, lib


@dataclass(frozen=True)
class Costs:
    """ns per operation: distinct primes (not the backend's defaults, so setting them counts)."""

    eval: int = 2003
    lock: int = 29
    unlock: int = 31
    copy_byte: int = 5
    handoff: int = 211
    chained: int = 7919
    null_eval: int = 13

    def copy(self, nbytes: int) -> int:
        """One round trip between neighbours: two locks, the bytes, two unlocks."""
        return 2 * self.lock + nbytes * self.copy_byte + 2 * self.unlock

    def pass_ns(self, test: str, kernels: int, nbytes: int) -> int:
        """What one pass of `test` costs: the seed's operations, counted by hand."""
        n = kernels
        return {
            "sequential": n * self.eval + (n - 1) * self.copy(nbytes),
            "run_only": n * self.eval,
            "memcpy_only": (n - 1) * self.copy(nbytes),
            "serial_queue": n * (self.eval + self.handoff),
            "chained": self.chained,
            "null_eval": n * self.null_eval,
        }[test]


COSTS = Costs()


@contextmanager
def virtual_costs(costs: Costs = COSTS, trace: int = 0) -> Iterator[Costs]:
    """Chains of the virtual backend opened inside get `costs` and a trace of `trace` entries."""
    c = ffi.new("anethru_virtual_costs *", {f.name: getattr(costs, f.name) for f in fields(costs)})
    lib.anethru_virtual_set_costs(c, trace)
    try:
        yield costs
    finally:
        lib.anethru_virtual_set_costs(ffi.NULL, 0)


class Op(NamedTuple):
    """One traced operation, readable: ("eval", 3), ("lock", 0, "output", "read-only"),
    ("copy", 1, "input", 0, "output", 4096), ("clock",) ..."""

    what: tuple
    thread: int
    clock_ns: int


PORT = {0: "input", 1: "output", -1: None}
FLAGS = {0: "read-write", 1: "read-only", -1: None}


def _readable(e) -> tuple:
    op = e.op
    if op == lib.ANETHRU_TRACE_CLOCK:
        return ("clock",)
    if op == lib.ANETHRU_TRACE_EVAL:
        return ("eval", e.kernel)
    if op == lib.ANETHRU_TRACE_EVAL_NULL:
        return ("null_eval", e.kernel)
    if op in (lib.ANETHRU_TRACE_LOCK, lib.ANETHRU_TRACE_UNLOCK):
        return ("lock" if op == lib.ANETHRU_TRACE_LOCK else "unlock", e.kernel, PORT[e.port],
                FLAGS[e.flags])
    if op == lib.ANETHRU_TRACE_COPY:
        return ("copy", e.kernel, PORT[e.port], e.src_kernel, PORT[e.src_port], int(e.bytes))
    raise AssertionError(f"unknown trace op {op}")


def chain_id(chain) -> int:
    return int(lib.anethru_chain_id(chain._live()))


def read_trace(chain) -> list[Op]:
    """Every operation recorded for `chain` since it opened (or the last clear_trace)."""
    cid = chain_id(chain)
    dropped = ffi.new("long *")
    n = lib.anethru_virtual_trace(cid, 0, ffi.NULL, 0, dropped)
    assert n >= 0, f"chain {cid} is not a virtual chain"
    assert dropped[0] == 0, f"the trace was full: {dropped[0]} operations not recorded"
    buf = ffi.new("anethru_trace_entry[]", max(n, 1))
    assert lib.anethru_virtual_trace(cid, 0, buf, n, ffi.NULL) == n
    return [Op(_readable(buf[i]), int(buf[i].thread), int(buf[i].clock_ns)) for i in range(n)]


def clear_trace(chain) -> None:
    lib.anethru_virtual_trace_clear(chain_id(chain))


def op_cost(what: tuple, costs: Costs, handed_off: bool = False) -> int:
    kind = what[0]
    if kind == "clock":
        return 0
    if kind == "eval":
        return (costs.chained if what[1] == -1 else costs.eval) + (costs.handoff if handed_off else 0)
    if kind == "null_eval":
        return costs.null_eval
    if kind == "copy":
        return what[5] * costs.copy_byte
    return costs.lock if kind == "lock" else costs.unlock


# ---------------------------------------------------------------- the seed's order of operations
# From the seed (test_throughput_ceiling.m, "Test 1: Sequential (run + memcpy)"): for each i < N-1,
#   ane_eval(kernels[i]);
#   IOSurfaceLock(kernels[i]->ioOutputs[0], kIOSurfaceLockReadOnly, NULL);
#   IOSurfaceLock(kernels[i+1]->ioInputs[0], 0, NULL);
#   memcpy(IOSurfaceGetBaseAddress(kernels[i+1]->ioInputs[0]),
#          IOSurfaceGetBaseAddress(kernels[i]->ioOutputs[0]), ioBytes);
#   IOSurfaceUnlock(kernels[i+1]->ioInputs[0], 0, NULL);
#   IOSurfaceUnlock(kernels[i]->ioOutputs[0], kIOSurfaceLockReadOnly, NULL);
# then ane_eval(kernels[compiled - 1]).  "Test 3: Memcpy-only" is the same round trip without
# the evals; "Test 2: Run-only" is ane_eval(kernels[i]) for every i; "Test 4: GCD serial queue"
# posts each ane_eval to a serial queue (dispatch_async) and waits on a semaphore for the last.
# `chained` (one submission of the whole chain) and `null_eval` (N empty submissions) are
# anethru's additions (README, "What it measures").

def round_trip(i: int, nbytes: int) -> list[tuple]:
    return [("lock", i, "output", "read-only"),
            ("lock", i + 1, "input", "read-write"),
            ("copy", i + 1, "input", i, "output", nbytes),
            ("unlock", i + 1, "input", "read-write"),
            ("unlock", i, "output", "read-only")]


def seed_pass(test: str, kernels: int, nbytes: int) -> list[tuple]:
    """One pass of `test`, operation by operation, in the seed's order."""
    n = kernels
    if test == "sequential":
        ops: list[tuple] = []
        for i in range(n - 1):
            ops += [("eval", i)] + round_trip(i, nbytes)
        return ops + [("eval", n - 1)]
    if test == "memcpy_only":
        return [op for i in range(n - 1) for op in round_trip(i, nbytes)]
    if test in ("run_only", "serial_queue"):
        return [("eval", i) for i in range(n)]
    if test == "chained":
        return [("eval", -1)]
    if test == "null_eval":
        return [("null_eval", i) for i in range(n)]
    raise AssertionError(test)


def caller_thread() -> int:
    return threading.get_native_id()
