"""The ANE backend's program forms against the simulated framework (tests/sim_ane.py): the
first form the framework accepts is used and recorded, every rejection is kept, compiles of
rejected forms count toward the per-process limit, a failed load is retried once; and the
fake's own check that every method has the signature csrc/ane/ane_msg.h declares."""

import pytest

from sim_ane import assert_clean, run, sim  # noqa: F401 (run, sim: fixtures)


RUN_AND_REPORT = """
    res = anethru.run_ceiling(64, 32, backend="ane", iters=2, warmup=0, repeats=1,
                              tests=["sequential", "chained"], seed=3)
    during = counters()
    notes = {b.name: b.notes for b in anethru.backends()}["ane"]
    anethru.release_cached_chains()
    report(forms=res.program_forms, json_forms=res.to_dict()["program_forms"], text=str(res),
           check=list(res.check.tests), during=during, notes=notes, after=counters(),
           listed=str({b.name: b for b in anethru.backends()}["ane"]))
"""


def test_first_form_rejected_second_compiled_and_recorded(run):
    r = run(RUN_AND_REPORT, FAKE_ANE_REJECT="ios16")
    kernels, chained = r["forms"]["kernels"], r["forms"]["chained"]
    assert kernels["form"] == "ios18" and chained["form"] == "ios18-files"
    (rejected,) = kernels["rejected"]
    assert rejected.startswith("ios16: compileWithQoS:options:error: returned NO")
    assert "MIL compat: ios16 programs are not supported here" in rejected   # the framework's words
    assert [x.split(":")[0] for x in chained["rejected"]] == ["ios16-files", "ios16-onefile"]
    assert r["json_forms"] == r["forms"]
    assert "program form: kernels ios18, chained ios18-files" in r["text"]
    assert "note: kernels compiled as ios18 only after the framework rejected ios16: " in r["text"]
    assert r["check"] == ["sequential", "chained"]                       # and it computes right
    # Kernel 0 spent a compile on ios16; kernels 1-11 started from ios18 (remembered); the
    # chained program spent two on the ios16 forms: 1 + 12 + 2 + 1 compiles in all.
    assert r["during"]["compile_calls"] == 16 and r["during"]["loaded_now"] == 13
    assert "64x32 kernels: compiled as ios18 after the framework rejected ios16: " in r["notes"]
    assert "64x32 chained program: compiled as ios18-files" in r["notes"]
    assert "note: 64x32 kernels: compiled as ios18" in r["listed"]
    assert_clean(r["after"])


def test_chained_falls_back_from_a_file_per_layer_to_one_file(run):
    r = run(RUN_AND_REPORT, FAKE_ANE_REJECT="files")
    assert r["forms"]["kernels"] == {"form": "ios16", "rejected": []}
    assert r["forms"]["chained"]["form"] == "ios16-onefile"
    assert r["forms"]["chained"]["rejected"][0].startswith("ios16-files: ")
    assert "one weight file per layer is not supported" in r["forms"]["chained"]["rejected"][0]
    assert r["during"]["compile_calls"] == 14
    assert r["notes"] == "64x32 chained program: compiled as ios16-onefile after the framework " \
                         "rejected ios16-files: " + r["forms"]["chained"]["rejected"][0][len("ios16-files: "):]
    assert_clean(r["after"])


def test_no_fallback_no_note(run):
    r = run(RUN_AND_REPORT)
    assert r["forms"] == {"kernels": {"form": "ios16", "rejected": []},
                          "chained": {"form": "ios16-files", "rejected": []}}
    assert "note:" not in r["text"] and r["notes"] == "" and r["during"]["compile_calls"] == 13


def test_every_form_rejected_is_one_compile_error_listing_each(run):
    r = run("""
        for attempt in range(2):
            try:
                anethru.Chain(64, 32, kernels=2, backend="ane", chained=False)
            except anethru.CompileError as exc:
                report(**{f"error{attempt}": str(exc), f"compiles{attempt}": counters()["compile_calls"]})
        report(after=counters(), dirs=kernel_dirs())
    """, FAKE_ANE_REJECT="ios16,ios18")
    error = r["error0"]
    assert ("ANE compile of a 64x32 kernel (1 layer): this chip rejected every program form "
            "for 64x32: ") in error
    assert "ios16: compileWithQoS:options:error: returned NO" in error
    assert "; ios18: compileWithQoS:options:error: returned NO" in error
    assert "ios16 programs are not supported" in error and "ios18 programs are not supported" in error
    assert r["compiles0"] == 2
    # The same configuration again in this process: nothing more spent on forms known to fail.
    assert r["compiles1"] == 2 and "rejected earlier in this process, not tried again" in r["error1"]
    assert "ios18 programs are not supported" in r["error1"]
    assert_clean(r["after"])
    assert r["dirs"] == {}


def test_a_descriptor_the_framework_refuses_is_a_rejection_too(run):
    r = run("""
        with anethru.Chain(64, 32, kernels=2, backend="ane", chained=False) as c:
            report(forms=c.forms(), compiles=counters()["compile_calls"])
        report(after=counters())
    """, FAKE_ANE_FAIL_AT="descriptor", FAKE_ANE_FAIL_TIMES=1)
    assert r["forms"]["kernels"]["form"] == "ios18"
    assert r["forms"]["kernels"]["rejected"] == [
        "ios16: modelWithMILText:weights:optionsPlist: returned nil (it does so for nil MIL "
        "text or nil or empty weights; it does not parse the MIL)"]
    assert r["compiles"] == 2                                 # no compile for the refused one
    assert_clean(r["after"])


def test_compiles_of_rejected_forms_count_toward_the_limit(run):
    r = run("""
        made = 0
        while True:
            try:
                anethru.Chain(64 + made, 32, kernels=2, backend="ane", chained=False).close()
                made += 1
            except anethru.LimitError as exc:
                report(error=str(exc), made=made)
                break
        report(after=counters())
    """, FAKE_ANE_REJECT="ios16")
    # Each new channel count: a compile rejected (ios16) and two that worked (ios18).
    assert r["after"]["compile_calls"] == 115 and r["made"] == 115 // 3
    assert "this process has made 115 ANE compiles (39 of them of program forms the framework " \
           "rejected)" in r["error"]
    assert_clean(r["after"])


def test_a_failed_load_is_retried_once(run):
    r = run("""
        with anethru.Chain(64, 32, kernels=2, backend="ane", chained=False) as c:
            report(check=c.check().passed, loads=counters()["load_calls"])
        report(after=counters())
    """, FAKE_ANE_FAIL_AT="load", FAKE_ANE_FAIL_TIMES=1)
    assert r["check"] is True
    assert r["loads"] == 3                  # kernel 0: NO, then yes 100 ms later; kernel 1: yes
    assert_clean(r["after"])


@pytest.mark.parametrize("channels,spatial,warned", [(64, 7, True), (64, 32, False), (36, 96, False)])
def test_rows_not_a_multiple_of_64_bytes_run_with_a_warning(run, channels, spatial, warned):
    r = run(f"""
        res = anethru.run_ceiling({channels}, {spatial}, backend="ane", iters=1, warmup=0,
                                  repeats=1, tests=["sequential"])
        anethru.release_cached_chains()
        report(warnings=list(res.warnings), json=res.to_dict()["warnings"], text=str(res),
               check=res.check.passed)
    """)
    assert r["check"] is True
    layout = [w for w in r["warnings"] if "not a multiple of 64" in w]
    if warned:
        assert layout == [f"spatial {spatial}: a row is {spatial * 2} bytes, not a multiple of 64; "
                          f"no run on an ANE with such rows has been seen (the chain check above "
                          f"is what vouches for the layout)"]
        assert layout[0] in r["json"] and f"warning: {layout[0]}" in r["text"]
    else:
        assert layout == []


def test_the_fake_refuses_a_method_whose_signature_differs_from_the_declaration(run):
    """compileWithQoS: built to take a long: the fake's check against csrc/ane/ane_msg.h (the list
    the backend's casts come from) stops the run with the method and both types named."""
    r = run("""
        try:
            anethru.Chain(64, 32, kernels=2, backend="ane", chained=False)
        except anethru.AnethruError as exc:
            report(kind=type(exc).__name__, error=str(exc))
        report(after=counters())
    """, ANETHRU_SIM_ANE_FRAMEWORK=run.framework("mistyped"))
    assert r["kind"] == "InternalError"
    assert "signature mismatch: -[_ANEInMemoryModel compileWithQoS:options:error:]: argument 1 " \
           "is q, csrc/ane/ane_msg.h says I" in r["error"]
    assert_clean(r["after"])
