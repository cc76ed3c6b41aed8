"""A chain inherited through fork() raises a clear error in the child, never hangs it."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")

# The child reports through its exit status: 0 = the inherited chain raised our error and a new
# chain worked, 3 = it hung (the alarm fired), other = something else went wrong.
SCRIPT = textwrap.dedent("""
    import os, signal, sys, threading, time, warnings
    warnings.simplefilter("ignore", DeprecationWarning)  # fork() with threads: that is the point
    import anethru

    chain = anethru.Chain(64, 32, backend="cpu")
    busy = threading.Thread(target=lambda: chain.measure("run_only", iters=BUSY_ITERS, repeats=1,
                                                         warmup=0))
    if BUSY_ITERS:
        busy.start()
        while not chain._lock.locked():  # fork while that thread is inside measure
            time.sleep(0.001)
    pid = os.fork()
    if pid == 0:
        signal.signal(signal.SIGALRM, lambda *a: os._exit(3))
        signal.alarm(30)
        try:
            chain.measure("run_only", iters=1, repeats=1, warmup=0)
            print("the inherited chain ran", flush=True)
            os._exit(4)
        except anethru.AnethruError as exc:
            print("ERROR", exc, flush=True)
        print("REPR", repr(chain), chain.closed, flush=True)
        chain.close()  # disowned: nothing of the parent's is freed, no error
        with anethru.Chain(16, 8, backend="cpu") as fresh:
            fresh.check()
        r = anethru.run_ceiling(16, 8, backend="cpu", iters=1, repeats=1)
        print("FRESH", r.check.passed, flush=True)
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    if BUSY_ITERS:
        busy.join()
    chain.check()  # the parent's chain is untouched
    chain.close()
    print("CHILD", os.WEXITSTATUS(status) if os.WIFEXITED(status) else -1, flush=True)
""")


@pytest.mark.parametrize("busy_iters", [20_000, 0], ids=["inside-measure", "idle"])
def test_inherited_chain_raises_in_the_child_and_a_new_one_works(busy_iters):
    p = subprocess.run([sys.executable, "-c", SCRIPT.replace("BUSY_ITERS", str(busy_iters))],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[-1] == "CHILD 0", (p.stdout, p.stderr)
    ppid_error = [ln for ln in lines if ln.startswith("ERROR")]
    assert len(ppid_error) == 1
    assert "<anethru.Chain 64x32 x12 on cpu (inherited through fork, unusable)> was opened in " \
           "process " in ppid_error[0]
    assert "inherited it through fork(): a chain cannot be used across a fork" in ppid_error[0]
    assert "open a new Chain here" in ppid_error[0]
    assert "REPR <anethru.Chain 64x32 x12 on cpu (inherited through fork, unusable)> True" in lines
    assert "FRESH True" in lines
