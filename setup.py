"""Build glue only: the metadata lives in pyproject.toml, the native build in anethru/_build.py."""
from setuptools import setup

setup(cffi_modules=["anethru/_build.py:ffibuilder"])
