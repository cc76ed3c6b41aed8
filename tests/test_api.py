"""The public API beyond run_ceiling: backends, Chain, measure."""

from __future__ import annotations

import importlib
import threading

import numpy as np
import pytest

import anethru
from anethru.native import tensors
from anethru.native.lib import lib


def test_backends_lists_every_backend_with_a_reason_when_missing(monkeypatch):
    monkeypatch.delenv("ANETHRU_TEST_BACKENDS", raising=False)  # the test backends stay hidden
    infos = anethru.backends()
    assert [b.name for b in infos] == ["ane", "cuda", "cpu"]
    for b in infos:
        assert b.available != bool(b.reason)
        assert "\n" not in b.reason
    cpu = infos[-1]
    assert cpu.available and cpu.device.startswith("CPU")


@pytest.mark.skipif(anethru.backends()[0].available, reason="this machine has an ANE")
def test_missing_ane_is_explained_in_one_line():
    ane = anethru.backends()[0]
    assert "macOS on Apple Silicon" in ane.reason or "SIMULATED" in ane.device
    with pytest.raises(anethru.BackendUnavailableError, match="backend 'ane' is unavailable: "):
        anethru.run_ceiling(64, 32, backend="ane")


@pytest.mark.parametrize("available,picked", [
    ({"cpu"}, "cpu"), ({"cuda", "cpu"}, "cuda"), ({"ane", "cpu"}, "ane"),
    ({"ane", "cuda", "cpu"}, "ane"),
])
def test_auto_picks_the_first_available_backend(monkeypatch, available, picked):
    # The registry's order is ane, cuda, cpu; "auto" takes the first whose probe succeeds.
    backends_module = importlib.import_module("anethru.native.backends")  # anethru.native.backends is the function

    def probe(name):
        up = name in available
        return backends_module.BackendInfo(name, up, "" if up else "switched off", name if up else "")

    monkeypatch.setattr(backends_module, "probe", probe)
    assert anethru.best_backend() == picked


def test_chain_measures_many_times_after_one_compile(no_leaks):
    with anethru.Chain(64, 32, kernels=4, backend="cpu") as chain:
        assert lib.anethru_live_kernels() >= 5  # 4 kernels + the chained program
        chain.check()
        m1 = chain.measure(["run_only", "sequential"], iters=3, warmup=0, repeats=2, seed=1)
        m2 = chain.measure("memcpy_only", iters=3, warmup=1, repeats=3)
        assert m1.schedule[:2] in (("run_only", "sequential"), ("sequential", "run_only"))
        assert len(m1.block_ns) == 4 and m1.iters == {"run_only": 3, "sequential": 3}
        assert m2.iters == {"memcpy_only": 30} and len(m2.block_ns) == 3
        res = m1.results(4)
        assert res["run_only"].block_ns == tuple(b for t, b in zip(m1.schedule, m1.block_ns) if t == "run_only")


def test_auto_iters_never_exceed_the_seeds_50(no_leaks):
    with anethru.Chain(16, 8, kernels=2, backend="cpu") as chain:
        m = chain.measure(["run_only", "memcpy_only"], repeats=1, warmup=0)
        assert m.iters == {"run_only": 50, "memcpy_only": 500}
        # a tiny budget forces one pass per block
        m = chain.measure(["run_only"], repeats=1, warmup=2, max_block_ms=1e-6)
        assert m.iters == {"run_only": 1}


def test_explicit_iters_are_exact(no_leaks):
    with anethru.Chain(16, 8, kernels=2, backend="cpu") as chain:
        m = chain.measure(["run_only"], iters=7, repeats=1, warmup=0, max_block_ms=1e-6)
        assert m.iters == {"run_only": 7}


def test_null_eval_floor_runs_on_the_cpu(no_leaks):
    # Its figures are checked exactly on the virtual clock (test_virtual_clock.py); here, that
    # the cpu backend runs it at all, as many blocks and passes as asked.
    r = anethru.run_ceiling(16, 8, backend="cpu", tests=["null_eval", "run_only"], iters=5, repeats=2)
    assert list(r.tests) == ["run_only", "null_eval"]
    null = r.tests["null_eval"]
    assert (null.iters, null.units_per_pass, len(null.block_ns)) == (5, 12, 2)


def test_chains_on_threads_do_not_interfere(no_leaks):
    # Native calls release the GIL; two chains measured from two threads both stay correct.
    errors = []

    def work(c, s):
        try:
            with anethru.Chain(c, s, kernels=3, backend="cpu", weights="random", seed=c) as chain:
                for _ in range(3):
                    chain.check()
                    chain.measure(["sequential", "serial_queue"], iters=2, warmup=0, repeats=2)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(c, s)) for c, s in ((64, 32), (32, 48))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_run_suite_keep_going_turns_runtime_failures_into_entries(inject_fault, no_leaks):
    inject_fault("compile", kernel=0)  # the first configuration's first compile fails
    out = anethru.run_suite([(16, 8), (8, 8)], backend="cpu", iters=2, repeats=1, keep_going=True)
    assert isinstance(out[0], anethru.ConfigFailure) and isinstance(out[1], anethru.CeilingResult)
    assert "injected compile failure" in str(out[0])
    assert out[0].to_dict()["error"] == "CompileError"


def test_run_suite_checks_every_config_before_running():
    with pytest.raises(ValueError, match="spatial must be >= 1; got 0"):
        anethru.run_suite([(16, 8), (8, 0)], backend="cpu")


def test_identity_weights_are_the_seeds():
    w = tensors.make_weights("identity", 5, 3)
    assert w.dtype == np.float16 and w.shape == (3, 5, 5)
    assert np.array_equal(w[2], np.eye(5, dtype=np.float16))
