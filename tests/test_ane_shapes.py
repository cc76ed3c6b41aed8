"""Shapes a chip rejects: the ANE backend says so, and says what would work.

- spatial sizes that are not a multiple of 16, or below 32, are reported to fail at eval on the
  ANE: a warning before compiling (the shape is still tried) and, when it fails, the report
  named as the likely cause;
- every form rejected: "this chip rejected every program form for CxS"; the doctor then tries
  the known-good 512x64 to tell a refused shape from an ANE that compiles nothing;
- the model's identifier (the temp directory's name) has no length cap of its own.
Driven through the simulated framework (tests/sim_ane.py) where the ANE is needed.
"""

import warnings

import pytest

import anethru
from anethru.errors import AneShapeWarning
from anethru.native.programs import ane_shape_concern
from sim_ane import run, sim  # noqa: F401 (fixtures)
from sim_ane import assert_clean


@pytest.mark.parametrize("spatial,why", [(7, "below 32"), (16, "below 32"), (24, "below 32"),
                                         (36, "not a multiple of 16"), (40, "not a multiple of 16"),
                                         (32, ""), (48, ""), (256, "")])
def test_the_rule_for_spatial_sizes(spatial, why):
    concern = ane_shape_concern(spatial)
    assert (concern == "") is (why == "")
    if why:
        assert concern.startswith(f"spatial {spatial} is {why}; ") and "rustane" in concern


def test_other_backends_get_no_warning(no_leaks):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        anethru.Chain(64, 7, kernels=2, backend="cpu").close()


CHAIN = """
    import warnings
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        try:
            with anethru.Chain(64, {spatial}, kernels=2, backend="ane", chained=False) as c:
                c.check()
        except anethru.AnethruError as exc:
            report(error=f"{{type(exc).__name__}}: {{exc}}")
    report(warned=[f"{{w.category.__name__}}: {{w.message}}" for w in seen], after=counters())
"""


def test_a_refused_spatial_size_is_warned_before_compiling_and_still_tried(run):
    r = run(CHAIN.format(spatial=24))
    assert r["warned"] == [f"AneShapeWarning: 64x24: {ane_shape_concern(24)}; trying it anyway"]
    assert "error" not in r and r["after"]["compile_calls"] > 0   # tried, and the fake ran it
    assert_clean(r["after"])


def test_a_failed_eval_of_such_a_shape_names_the_likely_cause(run):
    r = run(CHAIN.format(spatial=40), FAKE_ANE_FAIL_AT="eval")
    assert r["error"].startswith("EvalError: running 64x40 on ane")
    assert "injected failure in eval" in r["error"]
    assert r["error"].endswith(f"; likely cause: {ane_shape_concern(40)}")
    assert_clean(r["after"])


def test_a_failed_eval_of_a_good_shape_names_no_cause(run):
    r = run(CHAIN.format(spatial=32), FAKE_ANE_FAIL_AT="eval")
    assert r["warned"] == [] and "injected failure in eval" in r["error"]
    assert "likely cause" not in r["error"]
    assert_clean(r["after"])


def test_every_form_rejected_says_this_chip_rejected_every_form_for_the_shape(run):
    r = run("""
        try:
            anethru.Chain(768, 256, kernels=2, backend="ane", chained=False)
        except anethru.CompileError as exc:
            report(error=str(exc))
        with anethru.Chain(512, 256, kernels=2, backend="ane", chained=False) as c:
            report(form=c.forms()["kernels"]["form"])
        report(after=counters())
    """, FAKE_ANE_FAIL_AT="compile", FAKE_ANE_FAIL_CHANNELS="768")
    assert "this chip rejected every program form for 768x256: ios16: " in r["error"]
    assert "; ios18: " in r["error"] and r["form"] == "ios16"
    assert_clean(r["after"])


DOCTOR = """
    rep = anethru.doctor("ane", shape=({channels}, {spatial}))
    report(steps={{s.name: [s.status, s.message] for s in rep.steps}}, summary=rep.summary(),
           hints=rep.hints, diagnosis=rep.to_dict()["diagnosis"], text=str(rep),
           md=rep.to_markdown(), after=counters(), dirs=kernel_dirs())
"""


def test_doctor_names_the_shape_when_768_channels_are_refused_and_512_compile(run):
    r = run(DOCTOR.format(channels=768, spatial=256), FAKE_ANE_FAIL_AT="compile",
            FAKE_ANE_FAIL_CHANNELS="768")
    steps = r["steps"]
    assert steps["compile ios16"][0] == steps["compile ios18"][0] == "failed"
    verdict = ("the shape is the cause: this chip rejected every program form for 768x256, but "
               "compiled 512x64 (form ios16)")
    assert steps["shape or chip"][0] == "failed" and steps["shape or chip"][1].startswith(verdict)
    assert r["diagnosis"] == steps["shape or chip"][1]
    assert f"; diagnosis: {verdict}" in r["summary"]
    assert any("M3 Pro compiled only 512 channels" in h for h in r["hints"])
    assert any(h.startswith("M1 and M2") and "ios18" in h for h in r["hints"])
    assert "hint: an M3 Pro" in r["text"] and "- hint: an M3 Pro" in r["md"]
    assert not any(h.startswith("this run's") for h in r["hints"])   # 256 is a good spatial size
    assert_clean(r["after"])
    assert r["dirs"] == {}


def test_doctor_says_the_ane_compiles_nothing_when_512_is_refused_too(run):
    r = run(DOCTOR.format(channels=768, spatial=24), FAKE_ANE_FAIL_AT="compile")
    status, message = r["steps"]["shape or chip"]
    assert status == "failed"
    assert message.startswith("this ANE cannot compile anything: this chip rejected every program "
                              "form for 768x24, and for 512x64 too: ios16: ")
    assert "injected failure in compile" in message
    assert f"this run's 768x24: {ane_shape_concern(24)}" in r["hints"]
    assert_clean(r["after"])


def test_doctor_needs_no_diagnosis_when_a_form_compiles(run):
    r = run(DOCTOR.format(channels=64, spatial=32))
    assert r["steps"]["shape or chip"] == ["ok", "not needed: a program compiled at 64x32"]
    assert r["hints"] == [] and r["diagnosis"] == "" and "hint:" not in r["text"]
    assert_clean(r["after"])


def test_doctor_shape_is_for_the_ane_only(capsys):
    with pytest.raises(ValueError, match="only the ane doctor takes a shape"):
        anethru.doctor("cpu", shape=(64, 32))
    with pytest.raises(ValueError, match="shape must be"):
        anethru.doctor("ane", shape=(64,))
    from anethru.cli import main

    assert main(["doctor", "--backend", "cpu", "--shape", "64x32"]) == 2
    assert "--shape applies to the ane backend only, not cpu" in capsys.readouterr().err


def test_an_identifier_longer_than_200_characters_is_used(run):
    hex_id = "ab" * 110   # 220 characters: the old cap was 200, today's identifier is 194
    r = run("""
        with anethru.Chain(64, 32, kernels=2, backend="ane", chained=False) as c:
            report(check=c.check().passed, during=sorted(kernel_dirs()))
        report(after=counters())
    """, FAKE_ANE_HEX=hex_id)
    assert r["check"] is True and r["during"] == [hex_id]
    assert_clean(r["after"])
