"""Does the test suite catch a broken harness?  Plant known bugs, one at a time, each in a
scratch copy of this tree (a timed block that runs the wrong pass, evals on the wrong thread, a
clock restarted mid-block, unlocks in the wrong order, repeats unpaired, fp16 accumulation, an
eval under a lock, a warning never emitted, a CSV column holding the wrong figure), build it,
run the tests that should notice, and report which test caught each bug.

    python tools/plant_bugs.py                # every bug, each against its relevant tests
    python tools/plant_bugs.py --full         # each against the whole suite
    python tools/plant_bugs.py --only unlocks_swapped --keep

The scratch copy holds the working tree as it is now (tracked and untracked files, not the
ignored ones such as .venv), so uncommitted changes are tested too; this tree is never touched.
The unplanted copy is built and tested first: a bug only counts as caught if the same tests
pass without it.  Exit status: 0 when every planted bug was caught, 1 otherwise.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Knobs that would change what the tests see.
SCRUB_ENV = ("ANETHRU_TEST_BACKENDS", "ANETHRU_CPU_KERNEL", "ANETHRU_NATIVE_MODULE",
             "ANETHRU_CUDA_LIBRARY")


@dataclass(frozen=True)
class Edit:
    path: str
    old: str
    new: str
    count: int = 1  # how many times `old` must occur (all are replaced)


@dataclass(frozen=True)
class Bug:
    name: str
    where: str
    what: str
    edits: tuple[Edit, ...]
    tests: tuple[str, ...] = ()  # the relevant tests; () = the whole suite
    notes: str = field(default="")


BUGS = (
    Bug("sequential_runs_run_only", "run_pass in csrc/throughput.m",
        "the timed sequential block runs the run_only pass (no copies timed)",
        (Edit("csrc/throughput.m",
              "case ANETHRU_TEST_SEQUENTIAL: return pass_sequential(c, msg, kernel);",
              "case ANETHRU_TEST_SEQUENTIAL: return pass_run_only(c, msg, kernel);"),),
        ("tests/test_virtual_clock.py", "tests/test_trace.py")),
    Bug("serial_queue_on_caller", "pass_serial_queue in csrc/throughput.m",
        "the timed serial_queue block evaluates on the caller's thread",
        # The jobs run right here instead of being posted (sq_post stays referenced, so the
        # compile checks' -Werror does not give the bug away).
        (Edit("csrc/throughput.m",
              "for (int i = 0; i < c->kernels; i++) sq_post(p->queue, queued_eval_run, &jobs[i]);",
              "for (int i = 0; i < c->kernels; i++) (void)sq_post, queued_eval_run(&jobs[i]);"),),
        ("tests/test_virtual_clock.py", "tests/test_trace.py")),
    Bug("clock_restarts_before_last_pass", "the timed block loop in csrc/throughput.m",
        "the clock restarts before the last pass (times one pass, divides by n)",
        (Edit("csrc/throughput.m",
              "        for (int p = 0; p < n; p++) {\n",
              "        for (int p = 0; p < n; p++) {\n            if (p == n - 1) t0 = chain_clock(c);\n"),),
        ("tests/test_virtual_clock.py", "tests/test_trace.py")),
    Bug("unlocks_swapped", "copy_to_next in csrc/throughput.m",
        "the two unlocks swapped (the seed unlocks the next input before the previous output)",
        (Edit("csrc/throughput.m",
              "    rc = b->unlock(c->kernel[i + 1], ANETHRU_PORT_INPUT, ANETHRU_LOCK_READWRITE, msg,\n"
              "                   ANETHRU_ERRLEN);\n"
              "    int rc2 = b->unlock(c->kernel[i], ANETHRU_PORT_OUTPUT, ANETHRU_LOCK_READONLY,\n"
              "                        rc ? NULL : msg, rc ? 0 : ANETHRU_ERRLEN);\n",
              "    int rc2 = b->unlock(c->kernel[i], ANETHRU_PORT_OUTPUT, ANETHRU_LOCK_READONLY, msg,\n"
              "                        ANETHRU_ERRLEN);\n"
              "    rc = b->unlock(c->kernel[i + 1], ANETHRU_PORT_INPUT, ANETHRU_LOCK_READWRITE,\n"
              "                   rc2 ? NULL : msg, rc2 ? 0 : ANETHRU_ERRLEN);\n"),),
        ("tests/test_virtual_clock.py", "tests/test_trace.py")),
    Bug("blocks_sorted_before_pairing", "Measurement.results in anethru/measure/schedule.py",
        "blocks sorted before pairing, so repeats are no longer paired",
        (Edit("anethru/measure/schedule.py",
              "blocks = tuple(ns for t, ns in zip(self.schedule, self.block_ns) if t == name)",
              "blocks = tuple(sorted(ns for t, ns in zip(self.schedule, self.block_ns) if t == name))"),),
        ("tests/test_pairing.py", "tests/test_stats.py", "tests/test_results.py")),
    Bug("portable_conv_fp16_accumulation", "run_portable in csrc/cpu/cpu_conv.c",
        "the portable conv accumulates in fp16",
        (Edit("csrc/cpu/cpu_conv.c",
              "for (int j = 0; j < S; j++) acc[j] += wi * xi[j];",
              "for (int j = 0; j < S; j++) acc[j] = cpu_half_to_float(cpu_float_to_half(acc[j] + wi * xi[j]));"),),
        ("tests/test_conv_numerics.py",)),
    Bug("cpu_eval_under_lock", "cpu_eval in csrc/cpu/cpu_backend.c",
        "the CPU backend evaluates while a lock is held",
        (Edit("csrc/cpu/cpu_backend.c", "if (k->lock[0].state || k->lock[1].state) {", "if (0) {"),),
        ("tests/test_cpu_locks.py",)),
    Bug("spans_zero_warning_never_emitted", "result_warnings in anethru/results/warnings.py",
        'the "overhead not resolved" warning is never emitted',
        (Edit("anethru/results/warnings.py", "        if rto.not_resolved:",
              "        if False:"),),
        ("tests/test_report_contract.py", "tests/test_ratios.py")),
    Bug("csv_median_is_the_mean", "to_csv in anethru/report/csv.py",
        "the CSV's median column writes the mean",
        (Edit("anethru/report/csv.py", '{"median": s.median,', '{"median": s.mean,'),),
        ("tests/test_report_contract.py",)),
)


class PlantError(Exception):
    pass


def tree_files(root: str) -> list[str]:
    """The working tree's files as git sees them: tracked and untracked, not ignored."""
    out = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
                         cwd=root, check=True, capture_output=True).stdout.decode()
    return [p for p in out.split("\0") if p and os.path.isfile(os.path.join(root, p))]


def copy_tree(src: str, dst: str) -> None:
    for rel in tree_files(src):
        os.makedirs(os.path.dirname(os.path.join(dst, rel)), exist_ok=True)
        shutil.copy2(os.path.join(src, rel), os.path.join(dst, rel))


def env_for(tree: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in SCRUB_ENV}
    env["PYTHONPATH"] = tree  # the scratch copy's anethru, not an installed one
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def build(tree: str) -> None:
    """Build anethru._native in place (the cffi builder writes it into tree/anethru)."""
    for dirpath, _, files in os.walk(tree):
        for f in files:
            if f.endswith((".o", ".so")) and "tests" not in os.path.relpath(dirpath, tree).split(os.sep):
                os.remove(os.path.join(dirpath, f))
    p = subprocess.run([sys.executable, os.path.join("anethru", "_build.py")], cwd=tree,
                       env=env_for(tree), capture_output=True, text=True)
    if p.returncode != 0:
        raise PlantError("build failed: " + (p.stderr or p.stdout)[-1500:])
    where = subprocess.run([sys.executable, "-c", "import anethru._native as n; print(n.__file__)"],
                           cwd=tree, env=env_for(tree), capture_output=True, text=True)
    if not where.stdout.strip().startswith(tree):
        raise PlantError(f"the scratch copy's build is not what imports: {where.stdout}{where.stderr}")


def plant(tree: str, bug: Bug) -> None:
    for e in bug.edits:
        path = os.path.join(tree, e.path)
        with open(path, encoding="utf-8") as f:
            text = f.read()
        found = text.count(e.old)
        if found != e.count:
            raise PlantError(f"cannot plant: {e.path} has the code to change {found} times, "
                             f"expected {e.count} (has it moved? update tools/plant_bugs.py)")
        with open(path, "w", encoding="utf-8") as f:
            f.write(text.replace(e.old, e.new))


def run_tests(tree: str, tests: tuple[str, ...]) -> tuple[bool, str]:
    """(passed, the first failing test or the tail of the output)."""
    cmd = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests]
    p = subprocess.run(cmd, cwd=tree, env=env_for(tree), capture_output=True, text=True)
    if p.returncode == 0:
        return True, ""
    failed = [ln.split(" - ")[0].split(" ", 1)[1] for ln in p.stdout.splitlines()
              if ln.startswith(("FAILED ", "ERROR "))]
    return False, failed[0] if failed else "pytest: " + (p.stdout + p.stderr)[-800:]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="the bugs it plants (--only NAME):\n" + "\n".join(
            f"  {b.name}: {b.what} ({b.where})" for b in BUGS))
    ap.add_argument("--full", action="store_true", help="run the whole suite for every bug")
    ap.add_argument("--only", action="append", metavar="NAME", choices=[b.name for b in BUGS],
                    help="plant only this bug (repeatable)")
    ap.add_argument("--keep", action="store_true", help="keep the scratch copies")
    args = ap.parse_args(argv)
    bugs = [b for b in BUGS if not args.only or b.name in args.only]

    scratch = tempfile.mkdtemp(prefix="anethru-plant-")
    base = os.path.join(scratch, "base")
    rows = []
    try:
        copy_tree(ROOT, base)
        print(f"scratch copy: {base}; building", file=sys.stderr, flush=True)
        build(base)
        wanted = sorted({t for b in bugs for t in b.tests}) if not args.full and all(b.tests for b in bugs) else []
        t0 = time.time()
        ok, why = run_tests(base, tuple(wanted))
        if not ok:
            print(f"the unplanted tree fails its tests ({why}); fix that first", file=sys.stderr)
            return 2
        print(f"unplanted: {' '.join(wanted) or 'whole suite'} passed ({time.time() - t0:.0f} s)",
              file=sys.stderr, flush=True)
        for bug in bugs:
            tree = os.path.join(scratch, bug.name)
            shutil.copytree(base, tree, symlinks=True)
            tests = () if args.full else bug.tests
            t0 = time.time()
            try:
                plant(tree, bug)
                if any(e.path.startswith("csrc/") for e in bug.edits):
                    build(tree)
                passed, first = run_tests(tree, tests)
                verdict = "NOT CAUGHT" if passed else f"caught by {first}"
            except PlantError as exc:
                verdict = str(exc)
            rows.append((bug, verdict, tests))
            print(f"{bug.name}: {verdict} ({time.time() - t0:.0f} s)", file=sys.stderr, flush=True)
            if not args.keep:
                shutil.rmtree(tree, ignore_errors=True)
    finally:
        if not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)

    print("| planted bug | where | tests run | result |")
    print("|---|---|---|---|")
    for bug, verdict, tests in rows:
        scope = ", ".join(os.path.basename(t) for t in tests) or "whole suite"
        note = f" ({bug.notes})" if bug.notes and verdict == "NOT CAUGHT" else ""
        print(f"| {bug.what} | {bug.where} | {scope} | {verdict}{note} |")
    return 0 if all(v.startswith("caught") for _, v, _ in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
