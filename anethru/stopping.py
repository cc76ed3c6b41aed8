"""``anethru.stopping``, the documented home of the stopping rules: they live in
:mod:`anethru.measure.stopping`, and this name stays importable as the README shows it."""

from anethru.measure.stopping import *  # noqa: F401,F403
from anethru.measure.stopping import __all__  # noqa: F401
