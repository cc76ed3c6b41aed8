"""The direct eval path tries both clients known to work, in order, and says which one did.

ane-infer's direct path (an M5) used [[_ANEClient alloc] initWithRestrictedAccessAllowed:YES];
maderix's chaining research got doEvaluateDirectWithModel: to return YES through
[_ANEClient sharedConnection] (an M4 Max).  The restricted client is tried first; the shared
connection when it fails; the result and the doctor name the one that worked, and a failure
of both reports both messages.  Driven through the simulated framework (tests/sim_ane.py).
"""

from sim_ane import run, sim  # noqa: F401 (fixtures)
from sim_ane import assert_clean

RESTRICTED = "[[_ANEClient alloc] initWithRestrictedAccessAllowed:YES]"
SHARED = "[_ANEClient sharedConnection]"

RUN = """
    res = anethru.run_ceiling(64, 32, backend="ane", iters=1, warmup=0, repeats=1,
                              tests=["run_only"], ane_eval="direct", seed=1)
    anethru.release_cached_chains()
    back = anethru.load_results(res.to_json())[0]
    report(forms=res.program_forms, back=back.program_forms, text=str(res), check=res.check.passed,
           after=counters())
"""

DOCTOR = """
    rep = anethru.doctor("ane")
    report(steps={s.name: [s.status, s.message] for s in rep.steps}, after=counters())
"""


def test_the_restricted_client_is_tried_first_and_recorded(run):
    r = run(RUN)
    assert r["forms"]["kernels"]["clients"] == {"direct": RESTRICTED}
    assert r["back"] == r["forms"]                      # through the JSON format and back
    assert f"eval path clients: direct through {RESTRICTED}" in r["text"]
    assert r["check"] is True
    assert_clean(r["after"])


def test_the_shared_connection_when_the_restricted_client_fails(run):
    r = run(RUN, FAKE_ANE_FAIL_AT="direct_client")
    assert r["forms"]["kernels"]["clients"] == {"direct": SHARED}
    assert r["check"] is True
    assert r["after"]["direct_eval_calls"] > 0 and r["after"]["eval_calls"] == 0  # no fallback
    assert_clean(r["after"])


def test_the_doctor_names_the_client_that_worked(run):
    ok = run(DOCTOR)["steps"]["direct eval"]
    assert ok[0] == "ok" and ok[1].endswith(f"; through {RESTRICTED}")
    r = run(DOCTOR, FAKE_ANE_FAIL_AT="direct_client")
    status, message = r["steps"]["direct eval"]
    assert status == "ok" and message.endswith(f"; through {SHARED}")
    assert_clean(r["after"])


def test_both_clients_failing_reports_both_messages(run):
    r = run(DOCTOR, FAKE_ANE_FAIL_AT="direct_client", FAKE_ANE_NOOP="direct_eval")
    status, message = r["steps"]["direct eval"]
    assert status == "failed"
    assert message.startswith(f"{RESTRICTED}: {RESTRICTED} returned nil; {SHARED}: the direct "
                              "eval reported success, but the output was not written")
    assert_clean(r["after"])
