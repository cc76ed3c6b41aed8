"""Which work each timed block runs, operation by operation: the virtual backend's trace of a
pass of each test against the seed's order (tests/virtual_clock.py quotes the seed), the thread
of every operation, and where the harness reads the clock."""

from __future__ import annotations

import pytest

import anethru
from anethru import TEST_NAMES
from virtual_clock import COSTS, caller_thread, clear_trace, op_cost, read_trace, seed_pass, virtual_costs

CHANNELS, SPATIAL = 8, 4
NBYTES = CHANNELS * SPATIAL * 2
CLOCK = ("clock",)


@pytest.fixture
def traced(no_leaks):
    """open(kernels) -> a virtual chain whose operations are traced; closed (and checked for
    leaks) afterwards."""
    chains = []

    def open_chain(kernels: int) -> anethru.Chain:
        with virtual_costs(trace=100_000):
            chain = anethru.Chain(CHANNELS, SPATIAL, kernels=kernels, backend="virtual")
        chains.append(chain)
        return chain

    yield open_chain
    for c in chains:
        c.close()


def whats(ops):
    return [op.what for op in ops]


@pytest.mark.parametrize("kernels", [2, 4, 12])
@pytest.mark.parametrize("test", TEST_NAMES)
def test_one_pass_is_the_seeds_order_of_operations(traced, test, kernels):
    chain = traced(kernels)
    chain.measure([test], iters=1, memcpy_iters=1, warmup=0, repeats=1)
    ops = read_trace(chain)
    # Nothing but the clock around the pass: no warm-up (warmup=0, explicit iters).
    assert whats(ops) == [CLOCK] + seed_pass(test, kernels, NBYTES) + [CLOCK]
    me = caller_thread()
    assert ops[0].thread == me and ops[-1].thread == me  # the caller reads the clock
    work = ops[1:-1]
    if test == "serial_queue":
        # Every eval on the queue's one worker thread, not the caller's; in order k0..kN-1.
        workers = {op.thread for op in work}
        assert len(workers) == 1 and me not in workers
        assert [op.what[1] for op in work] == list(range(kernels))
    else:
        assert {op.thread for op in work} == {me}


def test_every_operation_advances_the_clock_by_its_cost(traced):
    chain = traced(3)  # opened with virtual_clock.COSTS
    chain.measure(list(TEST_NAMES), iters=1, warmup=1, repeats=2, seed=4)
    ops = read_trace(chain)
    me = caller_thread()
    # The hand-off is charged to evals off the thread that reads the clock: none before the
    # first read, in the untimed warm-up (whose serial_queue evals still run on the worker).
    read = False
    for before, op in zip(ops, ops[1:]):
        read = read or before.what == CLOCK
        handed_off = read and op.thread != me
        assert op.clock_ns - before.clock_ns == op_cost(op.what, COSTS, handed_off), op
    assert read and any(op.thread != me for op in ops)


def test_a_block_reads_the_clock_only_around_all_its_passes(traced):
    chain = traced(3)
    chain.check()  # untimed: no clock read
    assert CLOCK not in whats(read_trace(chain))
    clear_trace(chain)
    chain.measure(["sequential"], iters=4, warmup=2, repeats=2)
    one = seed_pass("sequential", 3, NBYTES)
    warm = one * 2   # untimed: passes per block are calibrated from a timed block instead
    block = [CLOCK] + one * 4 + [CLOCK]
    assert whats(read_trace(chain)) == warm + block + block


def test_auto_iters_calibrate_with_one_timed_pass_when_there_is_no_warm_up(traced):
    chain = traced(2)
    m = chain.measure(["run_only"], warmup=0, repeats=1, max_block_ms=1.0)
    one = seed_pass("run_only", 2, NBYTES)
    assert whats(read_trace(chain)) == [CLOCK] + one + [CLOCK] + [CLOCK] + one * m.iters["run_only"] + [CLOCK]


def split_blocks(ops):
    """The operations between each pair of clock reads."""
    blocks, current, inside = [], [], False
    for op in ops:
        if op.what == CLOCK:
            if inside:
                blocks.append(current)
                current = []
            inside = not inside
        else:
            assert inside, f"{op} outside a timed region"
            current.append(op.what)
    assert not inside
    return blocks


def test_blocks_run_in_the_recorded_schedule(traced):
    # The warm-up runs each test once per first appearance, untimed; then block b runs iters
    # passes of schedule[b].  So the schedule a result records is the order the work really ran.
    kernels = 4
    chain = traced(kernels)
    m = chain.measure(list(TEST_NAMES), iters=2, memcpy_iters=3, warmup=1, repeats=3, seed=11)
    ops = read_trace(chain)
    timed = whats(ops).index(CLOCK)
    first_seen = list(dict.fromkeys(m.schedule))
    assert whats(ops[:timed]) == [op for t in first_seen for op in seed_pass(t, kernels, NBYTES)]
    blocks = split_blocks(ops[timed:])
    assert blocks == [seed_pass(t, kernels, NBYTES) * m.iters[t] for t in m.schedule]
    assert m.iters["memcpy_only"] == 3 and m.iters["run_only"] == 2


def test_the_chain_check_carries_data_through_the_seeds_round_trips(traced):
    chain = traced(3)
    chain.check()
    ops = whats(read_trace(chain))
    write = [("lock", 0, "input", "read-write"), ("unlock", 0, "input", "read-write")]
    read_last = [("lock", 2, "output", "read-only"), ("unlock", 2, "output", "read-only")]
    read_chained = [("lock", -1, "output", "read-only"), ("unlock", -1, "output", "read-only")]
    chained = [("lock", -1, "input", "read-write"), ("unlock", -1, "input", "read-write"),
               ("eval", -1)] + read_chained
    # every output poisoned first, so an eval that writes nothing cannot pass the check
    poison = [op for k in range(3) for op in (("lock", k, "output", "read-write"),
                                               ("unlock", k, "output", "read-write"))]
    poison_chained = [("lock", -1, "output", "read-write"), ("unlock", -1, "output", "read-write")]
    assert ops == (poison + write + seed_pass("sequential", 3, NBYTES) + read_last
                   + poison_chained + chained)
