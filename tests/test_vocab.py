"""Every constant the Python side mirrors from csrc/anethru.h, checked against the header itself:
a new test, eval path or status code in the header fails here until Python knows it."""

from __future__ import annotations

import os
import re

import pytest

import anethru
from anethru import errors
from anethru.native.lib import STATUS_NAMES, lib, new_status, raise_for
from anethru.native.vocab import EVAL_PATHS, PATH_IDS, TEST_IDS, TEST_NAMES

HEADER = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "csrc",
                      "anethru.h")


def defines(prefix: str) -> dict[str, int]:
    with open(HEADER, encoding="utf-8") as f:
        text = f.read()
    return {m.group(1): int(m.group(2))
            for m in re.finditer(rf"^#define ({prefix}\w+)\s+(\d+)\b", text, re.M)}


def test_test_names_are_the_headers_in_native_order():
    found = defines("ANETHRU_TEST_")
    assert len(found) == 6
    assert {f"ANETHRU_TEST_{name.upper()}": i for i, name in enumerate(TEST_NAMES)} == found
    assert all(TEST_IDS[name] == i for i, name in enumerate(TEST_NAMES))


def test_eval_paths_are_the_headers_in_native_order():
    found = defines("ANETHRU_EVAL_")
    assert {f"ANETHRU_EVAL_{name.upper()}": i for i, name in enumerate(EVAL_PATHS)} == found
    assert PATH_IDS == {name: i for i, name in enumerate(EVAL_PATHS)}


def test_every_status_code_has_its_own_exception():
    found = defines("ANETHRU_E_")
    assert len(found) >= 10
    assert set(errors.BY_NATIVE_NAME) == set(found), "a status code without an exception, or a stale one"
    classes = list(errors.BY_NATIVE_NAME.values())
    assert len(set(classes)) == len(classes), "two status codes share one exception class"
    # The numbers the native module was built with are the header's.
    assert {name: getattr(lib, name) for name in found} == found
    assert STATUS_NAMES == {code: name for name, code in found.items()}


@pytest.mark.parametrize("name", sorted(defines("ANETHRU_E_")))
def test_a_native_status_raises_its_exception_with_the_native_message(name):
    st = new_status()
    st.test, st.kernel = 1, 3
    with pytest.raises(errors.BY_NATIVE_NAME[name]) as info:
        raise_for(getattr(lib, name), st, "measuring")
    assert str(info.value).startswith("measuring (run_only, kernel 3)")


def test_an_unknown_status_is_internal():
    unknown = max(defines("ANETHRU_E_").values()) + 1
    st = new_status()
    st.test = st.kernel = -1
    with pytest.raises(anethru.InternalError):
        raise_for(unknown, st)


def test_lock_failures_stay_eval_errors_for_old_handlers():
    assert issubclass(anethru.LockError, anethru.EvalError)
