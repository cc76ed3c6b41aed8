"""Single passes, each timed alone, in one native call (``anethru_chain_measure_passes``): the
raw data of the per-pass paired estimate of the round trip (anethru.results.pairs)."""

from __future__ import annotations

from typing import Any, Optional, Sequence

from anethru.native.lib import ffi, lib, new_status, raise_for
from anethru.native.vocab import TEST_IDS


def thread_cpu_clock_name() -> str:
    return ffi.string(lib.anethru_thread_cpu_clock_name()).decode()


def measure_passes(handle: Any, tests: Sequence[str], cpu_time: bool, context: str
                   ) -> tuple[list[int], Optional[list[int]]]:
    """One pass of each of ``tests`` in order: (wall ns on the chain's clock, thread CPU ns or
    None).  The caller holds the chain's lock and the SIGINT guard."""
    n = len(tests)
    ids = ffi.new("int[]", [TEST_IDS[t] for t in tests])
    wall = ffi.new("uint64_t[]", n)
    cpu = ffi.new("uint64_t[]", n) if cpu_time else ffi.NULL
    st = new_status()
    rc = lib.anethru_chain_measure_passes(handle, ids, n, wall, cpu, st)
    if rc != lib.ANETHRU_OK and st.block >= 0:
        context += f", pass {st.block + 1} of {n}"
    raise_for(rc, st, context)
    return [int(x) for x in wall], ([int(x) for x in cpu] if cpu_time else None)
