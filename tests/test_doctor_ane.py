"""``anethru doctor --backend ane`` against the simulated framework (tests/sim_ane.py): every
step passes on a framework that works; and each step's failure, driven through the fake, is
reported failed with the framework's message, the steps that need it skipped, the others run,
nothing leaked and no temporary directory left behind."""

import pytest

from sim_ane import run, sim  # noqa: F401 (fixtures)
from anethru.bringup import ane as ane_steps
from sim_ane import assert_clean


DOCTOR = """
    import contextlib, io, json, os
    from anethru.cli import main
    {prepare}
    if {cli}:  # the command line, in this process (the fake's one-shot knobs fire once)
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            rc = main(["doctor", "--backend", "ane", "--json"])
        doc = json.loads(out.getvalue())
        steps = {{s["name"]: [s["status"], s["message"]] for s in doc["steps"]}}
        report(steps=steps, ok=doc["ok"], rc=rc)
    else:
        rep = anethru.doctor("ane")
        report(steps={{s.name: [s.status, s.message] for s in rep.steps}}, ok=rep.ok,
               text=str(rep), md=rep.to_markdown())
    {cleanup}
    report(after=counters(), dirs=kernel_dirs())
"""


def doctor(run, prepare="", cleanup="", cli=False, **env):
    return run(DOCTOR.format(prepare=prepare, cleanup=cleanup, cli=cli), **env)


def expected_statuses(failed: set[str]) -> dict[str, str]:
    """What the report must say when exactly `failed` fail: a step that needs one of them (or
    needs one that was skipped) is skipped, one with needs_any runs if any alternative passed,
    every other step passes."""
    status: dict[str, str] = {}
    for step in ane_steps.steps():
        if step.name in failed:
            status[step.name] = "failed"
        elif any(status.get(n) != "ok" for n in step.needs) or (
                step.needs_any and not any(status.get(n) == "ok" for n in step.needs_any)):
            status[step.name] = "skipped"
        else:
            status[step.name] = "ok"
    return status


def test_every_step_passes_on_a_working_framework(run):
    r = doctor(run)
    assert {n: s for n, (s, _) in r["steps"].items()} == expected_statuses(set())
    assert r["ok"] is True
    steps = r["steps"]
    assert steps["identity"][1] == "output == input, bit for bit (2048 fp16 values)"
    assert steps["realtime eval"][1] == steps["identity"][1] + "; through [_ANEClient sharedConnection]"
    assert steps["direct eval"][1] == (steps["identity"][1] + "; through [[_ANEClient alloc] "
                                       "initWithRestrictedAccessAllowed:YES]")
    assert steps["chained 12 layers ios16-files"][1].startswith("12 layers compiled, loaded and run: "
                                                                "output == input, bit for bit")
    assert steps["compiles left"][1] == ("109 of 115 compiles left in this process (6 made, 0 of "
                                         "them rejected by the framework)")
    assert steps["load ios16"][1].endswith("the next steps use this form")
    assert "native core: _anethru_sim_native (not the installed core)" in r["text"]
    assert r["md"].startswith("### anethru doctor --backend ane\n")
    assert "| identity | ok |" in r["md"] and "**all 28 steps passed**" in r["md"]
    assert_clean(r["after"])
    assert r["dirs"] == {}


SYMLINK = ("link = os.path.join(temporary_directory(), f'anethru-doctor-{os.getpid()}'); "
           "os.symlink('/nonexistent-target', link)")

# (the failing step, knobs, what its message says, other steps that fail with it)
FAILURES = [
    ("platform", dict(ANETHRU_SIM_HOST="Darwin x86_64 1"), "runs as x86_64 under Rosetta", ()),
    ("platform", dict(ANETHRU_SIM_HOST="Linux x86_64 0"), "the ANE needs macOS; this is Linux", ()),
    ("framework", dict(ANETHRU_SIM_ANE_FRAMEWORK="/nonexistent/AppleNeuralEngine"),
     "AppleNeuralEngine.framework could not be loaded (/nonexistent/AppleNeuralEngine", ()),
    *[(f"class {name}", dict(variant=variant), f'NSClassFromString(@"{name}") returned nil', ())
      for name, variant in (("_ANEInMemoryModelDescriptor", "no_descriptor"),
                            ("_ANEInMemoryModel", "no_model"), ("_ANERequest", "no_request"),
                            ("_ANEIOSurfaceObject", "no_surface_object"))],
    ("class _ANEClient", dict(variant="no_client"), "(only the realtime and direct eval paths need it)", ()),
    ("selectors", dict(variant="no_unload"),
     "does not respond to -[_ANEInMemoryModel unloadWithQoS:error:]", ()),
    ("client selectors", dict(variant="no_direct"),
     "does not respond to -[_ANEClient doEvaluateDirectWithModel:options:request:qos:error:]",
     ("direct eval",)),
    ("temp directory", dict(prepare=SYMLINK, cleanup="os.unlink(link)"), "it is a symbolic link", ()),
    # each form's steps: the n-th call of that stage fails (a load is tried twice)
    *[(f"{stage} {form}", dict(FAKE_ANE_FAIL_AT=stage, FAKE_ANE_FAIL_AFTER=i,
                               FAKE_ANE_FAIL_TIMES=tries), words, ())
      for i, form in enumerate(("ios16", "ios18"))
      for stage, tries, words in (("descriptor", 1, "modelWithMILText:weights:optionsPlist: returned nil"),
                                  ("compile", 1, "compileWithQoS:options:error: returned NO"),
                                  ("load", 2, "loadWithQoS:options:error: returned NO twice, 100 ms apart"))],
    # every compile refused, at 64x32 and at the known-good 512x64 (tests/test_ane_shapes.py)
    ("shape or chip", dict(FAKE_ANE_FAIL_AT="compile"), "this ANE cannot compile anything: this "
     "chip rejected every program form for 64x32, and for 512x64 too: ios16: ",
     ("compile ios16", "compile ios18")),
    ("IOSurfaces", dict(LINUX_FAKE_IOSURFACE_FAIL=1), "IOSurfaceCreate(4096 bytes) failed", ()),
    ("request", dict(FAKE_ANE_FAIL_AT="request"), "_ANERequest requestWithInputs:... returned nil", ()),
    ("eval", dict(FAKE_ANE_FAIL_AT="eval", FAKE_ANE_FAIL_TIMES=1), "ANE eval failed: ", ()),
    ("identity", dict(FAKE_ANE_CORRUPT="eval"),
     "the output differs from the input in 1 of 2048 values; first at [c=0, s=0]", ()),
    # the two 1-layer forms compile first, then the chained forms in order
    *[(f"chained 12 layers {form}", dict(FAKE_ANE_FAIL_AT="compile", FAKE_ANE_FAIL_AFTER=2 + i,
                                         FAKE_ANE_FAIL_TIMES=1),
       "compile: compileWithQoS:options:error: returned NO", ())
      for i, form in enumerate(("ios16-files", "ios16-onefile", "ios18-files", "ios18-onefile"))],
    ("realtime eval", dict(FAKE_ANE_FAIL_AT="rt_eval"), "ANE realtime eval failed: ", ()),
    # the direct path fails only when both of its clients do (tests/test_ane_direct_clients.py)
    ("direct eval", dict(FAKE_ANE_FAIL_AT="direct_eval"),
     "[[_ANEClient alloc] initWithRestrictedAccessAllowed:YES]: ANE direct eval failed: ", ()),
]


@pytest.mark.parametrize("step,knobs,words,also", FAILURES,
                         ids=[f"{f[0]}-{i}" for i, f in enumerate(FAILURES)])
def test_a_failing_step_is_named_and_what_needs_it_is_skipped(run, step, knobs, words, also):
    knobs = dict(knobs)
    prepare, cleanup = knobs.pop("prepare", ""), knobs.pop("cleanup", "")
    if "variant" in knobs:
        knobs["ANETHRU_SIM_ANE_FRAMEWORK"] = run.framework(knobs.pop("variant"))
    r = doctor(run, prepare, cleanup, **knobs)
    assert {n: s for n, (s, _) in r["steps"].items()} == expected_statuses({step, *also})
    assert words in r["steps"][step][1]
    if knobs.get("FAKE_ANE_FAIL_AT") in ("compile", "load", "eval", "rt_eval", "direct_eval"):
        # the framework's own NSError text, carried through
        assert f"injected failure in {knobs['FAKE_ANE_FAIL_AT']}" in r["steps"][step][1]
    assert r["ok"] is False
    assert f"first failure: {step if not also else min([step, *also], key=list(r['steps']).index)}: " in r["text"]
    assert_clean(r["after"])
    assert r["dirs"] == {}


@pytest.mark.parametrize("knobs,rc", [({}, 0), (dict(FAKE_ANE_FAIL_AT="eval", FAKE_ANE_FAIL_TIMES=1), 1)])
def test_command_line_exit_status(run, knobs, rc):
    r = doctor(run, cli=True, **knobs)
    assert r["rc"] == rc and r["ok"] is (rc == 0)
    assert {n: s for n, (s, _) in r["steps"].items()} == expected_statuses(set() if rc == 0 else {"eval"})
    assert_clean(r["after"])
    assert r["dirs"] == {}


def test_an_exception_inside_the_framework_fails_its_step_only(run):
    r = doctor(run, FAKE_ANE_FAIL_AT="compile", FAKE_ANE_FAIL_TIMES=1, FAKE_ANE_FAIL_HOW="raise")
    assert {n: s for n, (s, _) in r["steps"].items()} == expected_statuses({"compile ios16"})
    assert r["steps"]["compile ios16"][1] == ("ANE bring-up: Objective-C exception "
                                              "FakeANEInjectedException: injected exception in compile")
    assert_clean(r["after"])
    assert r["dirs"] == {}


def test_no_compiles_left_is_reported(run):
    r = doctor(run, prepare="""
    made = 0
    while True:
        try:
            anethru.Chain(64, 32, kernels=12, backend="ane").close()
        except anethru.LimitError:
            break
    """)
    steps = r["steps"]
    assert steps["compiles left"] == ["failed", "0 of 115 compiles left in this process (115 made, "
                                                "0 of them rejected by the framework)"]
    assert steps["compile ios16"][0] == steps["compile ios18"][0] == "failed"
    assert "anethru stops at 115" in steps["compile ios16"][1]
    assert all(steps[n][0] == "skipped" for n in ("IOSurfaces", "eval", "realtime eval"))
    assert_clean(r["after"])
    assert r["dirs"] == {}


def test_every_step_has_its_failure_driven():
    assert {f[0] for f in FAILURES} == {s.name for s in ane_steps.steps()} - {"compiles left"}
    # (compiles left: test_no_compiles_left_is_reported)


def test_the_dependencies_are_the_ones_a_bring_up_has():
    steps = {s.name: s for s in ane_steps.steps()}
    assert steps["framework"].needs == ("platform",)
    assert set(steps["selectors"].needs) == {"class _ANEInMemoryModelDescriptor", "class _ANEInMemoryModel",
                                             "class _ANERequest", "class _ANEIOSurfaceObject"}
    assert steps["compile ios18"].needs == ("descriptor ios18",)
    assert steps["IOSurfaces"].needs_any == ("load ios16", "load ios18")
    assert steps["eval"].needs == ("request",) and steps["identity"].needs == ("eval",)
    assert steps["realtime eval"].needs == ("eval", "class _ANEClient")
    assert list(steps)[:2] == ["platform", "framework"] and list(steps)[-1] == "compiles left"
