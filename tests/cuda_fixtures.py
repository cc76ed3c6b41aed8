"""pytest fixtures shared by the cuda test files: the fake driver and the vtable driver, built
once per session into a temporary folder (import them into a test module to use them)."""
import pytest

import cuda_helpers as H


@pytest.fixture(scope="session")
def build_dir(tmp_path_factory):
    return str(tmp_path_factory.mktemp("cuda_fake"))


@pytest.fixture(scope="session")
def fake(build_dir):
    return H.build_fake(build_dir)


@pytest.fixture(scope="session")
def vtable(build_dir):
    return H.build_vtable_check(build_dir)
