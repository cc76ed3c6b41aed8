"""An eval that says YES and writes nothing must never pass as a working path.

The simulated framework's FAKE_ANE_NOOP makes the evals of one path return success without
touching the output surface.  Every check that an eval worked (the doctor's steps, the
backend's probe of a realtime or direct path, the chain check) poisons the output before the
eval and feeds a fresh input, so such a path is reported failed, saying the output was not
written, and is never measured.
"""

import pytest

from sim_ane import run, sim  # noqa: F401 (fixtures)
from sim_ane import assert_clean

NOT_WRITTEN = "the output was not written"

DOCTOR = """
    rep = anethru.doctor("ane")
    report(steps={s.name: [s.status, s.message] for s in rep.steps}, ok=rep.ok)
    report(after=counters(), dirs=kernel_dirs())
"""


def test_doctor_fails_realtime_and_direct_evals_that_write_nothing(run):
    r = run(DOCTOR, FAKE_ANE_NOOP="rt_eval,direct_eval")
    steps = r["steps"]
    assert steps["identity"][0] == "ok"   # the standard path really wrote its output
    for step, words in (("realtime eval", "realtime eval"), ("direct eval", "direct eval")):
        status, message = steps[step]
        assert status == "failed", (step, message)
        assert NOT_WRITTEN in message and words in message
        assert "2048 of 2048 values still hold the poison 0x7d5a" in message
    assert r["ok"] is False
    assert_clean(r["after"])
    assert r["dirs"] == {}


def test_doctor_fails_a_standard_eval_that_writes_nothing(run):
    r = run(DOCTOR, FAKE_ANE_NOOP="eval")
    assert r["steps"]["eval"][0] == "ok"   # it said YES
    status, message = r["steps"]["identity"]
    assert status == "failed" and NOT_WRITTEN in message
    assert_clean(r["after"])


@pytest.mark.parametrize("path,fake", [("realtime", "rt_eval"), ("direct", "direct_eval")])
def test_backend_refuses_a_path_whose_eval_writes_nothing(run, path, fake):
    r = run(f"""
        try:
            anethru.run_ceiling(64, 32, backend="ane", iters=1, warmup=0, repeats=1,
                                tests=["run_only"], ane_eval="{path}")
        except anethru.UnsupportedError as exc:
            report(error=str(exc))
        report(after=counters(), dirs=kernel_dirs())
    """, FAKE_ANE_NOOP=fake)
    assert f"cannot evaluate 64x32 through the {path} eval path: " in r["error"]
    assert NOT_WRITTEN in r["error"]
    assert_clean(r["after"])
    assert r["dirs"] == {}


def test_all_paths_never_measures_paths_whose_evals_write_nothing(run):
    r = run("""
        res = anethru.run_ceiling(64, 32, backend="ane", iters=1, warmup=0, repeats=2,
                                  tests=["run_only"], ane_eval="all", seed=3)
        anethru.release_cached_chains()
        report(unsupported=res.eval_paths["unsupported"], measured=sorted(res.eval_path_tests()),
               after=counters())
    """, FAKE_ANE_NOOP="rt_eval,direct_eval")
    assert sorted(r["unsupported"]) == ["direct", "realtime"]
    assert all(NOT_WRITTEN in why for why in r["unsupported"].values()), r["unsupported"]
    assert r["measured"] in ([], ["standard"])
    assert_clean(r["after"])


def test_the_chain_check_fails_a_standard_eval_that_writes_nothing(run):
    r = run("""
        try:
            anethru.run_ceiling(64, 32, backend="ane", iters=1, warmup=0, repeats=1,
                                tests=["run_only"])
        except anethru.ChainCheckError as exc:
            report(error=str(exc))
        anethru.release_cached_chains()
        report(after=counters())
    """, FAKE_ANE_NOOP="eval")
    assert NOT_WRITTEN in r["error"]
    assert_clean(r["after"])
