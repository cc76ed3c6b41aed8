"""What JSON Schema cannot say about a result or a sweep: its parts must agree with each other
(bytes against the shape, units against the test, block counts against the schedule, the eval
paths' results like the main tests, ``simulated`` against the device line, a sweep's points
against its grid).  Called by the validator (validation.py) after the schema; each failure
names the first bad field by its JSON path."""

from __future__ import annotations

from collections import Counter

from anethru.native.vocab import TEST_NAMES, units
from anethru.results.jsondoc import child, fail as _fail, show as _show


def check_ceiling_consistency(doc: dict, path: str) -> None:
    """What the schema cannot say: the parts of a result must agree with each other."""
    c = doc["config"]
    cpath = child(path, "config")
    if c["bytes_per_tensor"] != c["channels"] * c["spatial"] * 2:
        _fail(child(cpath, "bytes_per_tensor"),
              f"is {c['bytes_per_tensor']}, but channels x spatial x 2 is "
              f"{c['channels'] * c['spatial'] * 2}")
    _check_simulated(doc, path)
    _check_tests(doc["tests"], c["schedule"], c, child(path, "tests"), child(cpath, "schedule"))
    _check_eval_paths(doc.get("eval_paths", {}), doc["tests"], c, child(path, "eval_paths"))
    for name in doc["unsupported"]:
        if name in doc["tests"]:
            _fail(child(child(path, "unsupported"), name), "names a test that has results")
    for name, d in doc.get("derived", {}).items():
        if d["name"] != name:
            _fail(child(child(child(path, "derived"), name), "name"),
                  f"is {_show(d['name'])} under the key {_show(name)}")
    if doc.get("pairs") is not None:
        check_pairs(doc["pairs"], doc, child(path, "pairs"))
    s = doc["stopping"]
    if s["criterion"] == "precision" and s.get("precision") is None:
        _fail(child(child(path, "stopping"), "precision"), "is missing for a precision run")
    if s["criterion"] == "repeats" and s["stopped_by"] != "repeats":
        _fail(child(child(path, "stopping"), "stopped_by"),
              f"must be \"repeats\" for an exact count of repeats; got {_show(s['stopped_by'])}")
    for limit, field in (("max_time", "max_time_s"), ("max_repeats", "max_repeats")):
        if s["stopped_by"] == limit and s.get(field) is None:
            _fail(child(child(path, "stopping"), field),
                  f"is {'null' if field in s else 'missing'}, but the run was stopped by it "
                  f"(stopped_by {_show(limit)})")


def check_pairs(p: dict, doc: dict, path: str) -> None:
    """Per-pass pairs: one count per repeat, one order flag (and CPU time pair) per pair, and
    only where both tests they pair were measured."""
    for name in ("sequential", "run_only"):
        if name not in doc["tests"]:
            _fail(path, f"holds pairs of sequential and run_only, but {name} has no results")
    n = len(p["wall_ns"])
    if len(p["per_round"]) != doc["config"]["repeats"]:
        _fail(child(path, "per_round"), f"has {len(p['per_round'])} rounds, but config.repeats "
                                        f"is {doc['config']['repeats']}")
    if sum(p["per_round"]) != n:
        _fail(child(path, "per_round"), f"adds up to {sum(p['per_round'])} pairs; wall_ns has {n}")
    if len(p["sequential_first"]) != n:
        _fail(child(path, "sequential_first"), f"has {len(p['sequential_first'])} entries for "
                                               f"{n} pairs")
    cpu = p.get("cpu_ns")
    if cpu is not None and len(cpu) != n:
        _fail(child(path, "cpu_ns"), f"has {len(cpu)} pairs; wall_ns has {n}")
    if (cpu is None) != (p.get("cpu_clock") is None):
        _fail(child(path, "cpu_clock"), "must name the CPU clock exactly when cpu_ns is given")


def _check_simulated(doc: dict, path: str) -> None:
    """``simulated`` is what the backend's device line says (a fake driver, the virtual clock,
    the simulated framework all name themselves SIMULATED there): one boolean cannot turn a
    simulation into hardware."""
    says = "SIMULATED" in doc["device"].upper()
    if doc["simulated"] is not says:
        _fail(child(path, "simulated"),
              f"is {_show(doc['simulated'])}, but the device {_show(doc['device'])} "
              f"{'says' if says else 'does not say'} SIMULATED")


def _check_tests(tests: dict, schedule: list, c: dict, tpath: str, spath: str) -> None:
    """Each test's name, unit and units per pass as its kind and the kernels say, one block per
    repeat, and a schedule that runs each test present once per repeat."""
    for name, t in tests.items():
        here = child(tpath, name)
        if t["name"] != name:
            _fail(child(here, "name"), f"is {_show(t['name'])} under the key {_show(name)}")
        unit, per_pass = units(name, c["kernels"])
        if t["unit"] != unit:
            _fail(child(here, "unit"), f"must be {_show(unit)} for {name}; got {_show(t['unit'])}")
        if t["units_per_pass"] != per_pass:
            _fail(child(here, "units_per_pass"),
                  f"must be {per_pass} for {name} with {c['kernels']} kernels; got "
                  f"{t['units_per_pass']}")
        if len(t["block_ns"]) != c["repeats"]:
            _fail(child(here, "block_ns"), f"has {len(t['block_ns'])} blocks, but config.repeats "
                                           f"is {c['repeats']}")
    counts = Counter(schedule)
    for name in TEST_NAMES:
        want = c["repeats"] if name in tests else 0
        if counts.get(name, 0) != want:
            _fail(spath, f"runs {name} {counts.get(name, 0)} times; the tests say {want} "
                         f"(one block per repeat of each test present)")


def _check_eval_paths(e: dict, standard_tests: dict, c: dict, path: str) -> None:
    """The other eval paths' results (ane_eval="all") are checked like the main tests: the same
    tests, one round per repeat, each round running the standard path and every path measured,
    and no path both measured and unsupported."""
    if not e:
        return
    for key in ("rounds", "unsupported", "results"):
        if key not in e:
            _fail(child(path, key), "is missing")
    results, rounds = e["results"], e["rounds"]
    if "ane_eval=all" not in c.get("options", []):
        _fail(path, "holds eval paths, but config.options does not say ane_eval=all")
    if len(rounds) != c["repeats"]:
        _fail(child(path, "rounds"), f"has {len(rounds)} rounds, but config.repeats is "
                                     f"{c['repeats']}")
    measured = {"standard", *results}
    for i, r in enumerate(rounds):
        if len(set(r)) != len(r) or set(r) != measured:
            _fail(child(child(path, "rounds"), i),
                  f"runs {_show(r)}; every round runs each path measured once "
                  f"({', '.join(sorted(measured))})")
    for name in e["unsupported"]:
        if name in measured:
            _fail(child(child(path, "unsupported"), name), "names a path that has results")
    for name, r in results.items():
        here = child(child(path, "results"), name)
        if set(r["tests"]) != set(standard_tests):
            _fail(child(here, "tests"), f"has {', '.join(r['tests'])}; the standard path has "
                                        f"{', '.join(standard_tests)}")
        _check_tests(r["tests"], r["schedule"], c, child(here, "tests"), child(here, "schedule"))


def check_sweep_consistency(doc: dict, path: str) -> None:
    """A sweep's points and failures are configurations of its grid, in grid order, measured
    on its backend with its kernels."""
    _check_simulated(doc, path)
    order = {tuple(c): i for i, c in enumerate(doc["grid"]["configs"])}
    if len(order) != len(doc["grid"]["configs"]):
        _fail(child(child(path, "grid"), "configs"), "lists a configuration more than once")
    seen: dict[tuple, str] = {}
    for section in ("points", "failures"):
        last = -1
        for i, entry in enumerate(doc[section]):
            here = child(child(path, section), i)
            if section == "points":
                check_ceiling_consistency(entry, here)
                c = entry["config"]
                for key, want in (("backend", doc["backend"]), ("kernels", doc["kernels"])):
                    if c[key] != want:
                        _fail(child(child(here, "config"), key),
                              f"is {_show(c[key])}, but the sweep's {key} is {_show(want)}")
            else:
                c = entry
            key = (c["channels"], c["spatial"])
            if key not in order:
                _fail(here, f"is {key[0]}x{key[1]}, which is not in the sweep's grid")
            if key in seen:
                _fail(here, f"is {key[0]}x{key[1]}, which {seen[key]} already holds")
            if order[key] < last:
                _fail(here, "is out of grid order")
            seen[key], last = here, order[key]
    if doc["interrupted"] is not None:
        key = (doc["interrupted"]["channels"], doc["interrupted"]["spatial"])
        if key not in order:
            _fail(child(path, "interrupted"), f"is {key[0]}x{key[1]}, which is not in the grid")


__all__ = ["check_ceiling_consistency", "check_sweep_consistency"]
