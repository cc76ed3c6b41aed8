"""pytest fixtures shared by the cuda test files: the fake driver and the vtable driver, built
once per session into a temporary folder (import them into a test module to use them)."""
import os

import pytest

import cuda_helpers as H
from shared_build import shared_build, tool_facts


@pytest.fixture(scope="session")
def build_dir(tmp_path_factory):
    return str(tmp_path_factory.mktemp("cuda_fake"))


# The fake driver and the vtable driver are built once for every xdist worker and later run
# (tests/shared_build.py); a test that builds a variant (a dropped symbol) builds it in build_dir.
CUDA_INPUTS = ("csrc", "tests/cuda_fake")


@pytest.fixture(scope="session")
def fake():
    out = shared_build("cuda_fake", CUDA_INPUTS, H.build_fake, tool_facts("gcc"))
    return os.path.join(out, "libcuda_fake.so")


@pytest.fixture(scope="session")
def vtable():
    out = shared_build("cuda_vtable", CUDA_INPUTS, H.build_vtable_check, tool_facts(H.CC))
    return os.path.join(out, "vtable_check")
