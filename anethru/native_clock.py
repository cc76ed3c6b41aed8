"""``anethru.native_clock``, the documented home of ``NATIVE_CLOCK``: it lives in
:mod:`anethru.native.clock`, and this name stays importable as the README shows it."""

from anethru.native.clock import NATIVE_CLOCK  # noqa: F401

__all__ = ["NATIVE_CLOCK"]
