"""``anethru doctor``: the step framework, the CLI, and the cpu step list (the ANE's, against
the simulated framework, are in test_doctor_ane.py; CUDA's, against the fake driver, in
test_doctor_cuda.py)."""

import json
import os

import pytest

import anethru
from anethru.bringup import Step, StepFailed, run_steps
from anethru.cli import main

# ---------------------------------------------------------------------------- the framework


def test_steps_pass_fail_and_skip_what_needs_a_failure():
    def boom(ctx):
        raise StepFailed("the framework said no")

    def bug(ctx):
        return {}["missing"]

    ran = []
    steps = [Step("a", lambda ctx: ran.append("a") or "fine"),
             Step("b", boom, needs=("a",)),
             Step("c", lambda ctx: ran.append("c") or "", needs=("b",)),
             Step("d", lambda ctx: ran.append("d") or "", needs=("c",)),
             Step("e", bug, needs=("a",)),
             Step("f", lambda ctx: ran.append("f") or "alt", needs_any=("b", "a")),
             Step("g", lambda ctx: ran.append("g") or "", needs_any=("b", "c"))]
    results = {r.name: r for r in run_steps(steps, None)}
    assert ran == ["a", "f"]                                      # c, d and g never ran
    assert [(r.status, r.message) for r in results.values()] == [
        ("ok", "fine"), ("failed", "the framework said no"), ("skipped", "needs b, which failed"),
        ("skipped", "needs c, which was skipped"),
        ("failed", "internal error in this step: KeyError: 'missing'"), ("ok", "alt"),
        ("skipped", "needs one of b, c to have passed; none did")]
    assert results["b"].ms >= 0 and results["c"].ms == 0


def test_an_anethru_error_in_a_step_is_its_message():
    (r,) = run_steps([Step("x", lambda ctx: (_ for _ in ()).throw(anethru.CompileError("nope: why")))],
                     None)
    assert (r.status, r.message) == ("failed", "nope: why")


# ---------------------------------------------------------------------------- cpu


def test_cpu_doctor_json_exits_0_with_every_step_ok(capsys, no_leaks):
    assert main(["doctor", "--backend", "cpu", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["schema"] == "anethru.doctor/1" and doc["backend"] == "cpu" and doc["ok"] is True
    assert [s["name"] for s in doc["steps"]] == ["probe", "kernel variant", "compile",
                                                 "one conv vs numpy", "chain check"]
    assert {s["status"] for s in doc["steps"]} == {"ok"}
    variant = anethru.native.lib.ffi.string(anethru.native.lib.lib.anethru_cpu_kernel_variant()).decode()
    assert doc["steps"][1]["message"].startswith(variant)
    assert doc["machine"]["cpu_count"] == os.cpu_count()


@pytest.mark.parametrize("kind,kernel,step,words", [
    ("compile", 0, "compile", "injected compile failure"),
    ("wrong", 0, "one conv vs numpy", "against numpy's fp32 matmul, allowed"),
])
def test_cpu_step_failures_are_reported(inject_fault, no_leaks, kind, kernel, step, words):
    inject_fault(kind, kernel)
    rep = anethru.doctor("cpu")
    status = {s.name: s.status for s in rep.steps}
    assert status[step] == "failed" and words in {s.name: s.message for s in rep.steps}[step]
    assert not rep.ok
    if step == "compile":
        assert status == {"probe": "ok", "kernel variant": "ok", "compile": "failed",
                          "one conv vs numpy": "skipped", "chain check": "skipped"}
    else:
        assert status["chain check"] == "failed"                  # the same wrong element


def test_ane_doctor_on_linux_fails_the_platform_step_and_skips_the_rest(capsys):
    assert main(["doctor", "--backend", "ane", "--json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    (platform, *rest) = doc["steps"]
    assert platform["name"] == "platform" and platform["status"] == "failed"
    assert "the ANE backend needs macOS on Apple Silicon; this is Linux" in platform["message"]
    assert rest and {s["status"] for s in rest} == {"skipped"}
    assert doc["counts"] == {"ok": 0, "failed": 1, "skipped": len(rest)}


def test_markdown_is_a_block_to_paste(capsys):
    assert main(["doctor", "--backend", "ane", "--markdown"]) == 1
    md = capsys.readouterr().out
    lines = md.splitlines()
    assert lines[0] == "### anethru doctor --backend ane"
    assert "| step | status | ms | message |" in lines and "|---|---|---:|---|" in lines
    assert any(ln.startswith("| platform | **failed** | ") for ln in lines)
    assert "| framework | skipped |  | needs platform, which failed |" in lines
    machine = md[md.index("```json\n") + 8:md.index("\n```\n")]
    assert json.loads(machine)["os"] == "Linux"
    assert "**1 failed," in md


def test_text_report_and_usage_errors(capsys):
    assert main(["doctor", "--backend", "cpu"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("anethru doctor --backend cpu (anethru ")
    assert "  ok       probe" in out and out.rstrip().endswith("result: all 5 steps passed")
    assert main(["doctor", "--backend", "tpu"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("anethru: usage error: argument -b/--backend: invalid choice: 'tpu'")
    assert "Traceback" not in err
    with pytest.raises(ValueError, match=r"backend must be one of ane, cuda, cpu; got 'tpu'"):
        anethru.doctor("tpu")
