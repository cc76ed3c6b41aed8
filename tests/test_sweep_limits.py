"""A sweep's grid arguments: the configuration limit is checked before any loop, and every
argument is checked for its type, naming it (issue 22)."""

from __future__ import annotations

import itertools

import pytest

import anethru
from anethru.cli import main
from anethru.measure import grid


@pytest.fixture
def counted_loop(monkeypatch):
    """Counts the grid's per-point work (one max() per size), failing at 10,000 calls: a
    limit checked only after the loop would take hours at 2**63 points."""
    calls = []

    def counting_max(*args, **kw):
        calls.append(1)
        if len(calls) > 10_000:
            raise AssertionError("the grid looped before checking its limit")
        return max(*args, **kw)

    monkeypatch.setattr(grid, "max", counting_max, raising=False)
    return calls


@pytest.mark.parametrize("points", [10**9, 2**63])
def test_too_many_points_are_refused_before_any_loop(counted_loop, points):
    with pytest.raises(ValueError, match=f"points={points} .* at most {grid.MAX_CONFIGS}"):
        anethru.run_sweep(points=points, backend="cpu")
    assert counted_loop == []


def test_the_command_refuses_a_billion_points_with_a_usage_message(counted_loop, capsys):
    assert main(["sweep", "--points", "1000000000", "--backend", "cpu"]) in (1, 2)
    err = capsys.readouterr().err
    assert "points=1000000000" in err and "Traceback" not in err
    assert counted_loop == []


def test_an_endless_configs_generator_is_refused():
    endless = ((64, 32 * (i + 1)) for i in itertools.count())
    with pytest.raises(ValueError, match=f"configs has more than {grid.MAX_CONFIGS}"):
        anethru.run_sweep(endless, backend="cpu")


@pytest.mark.parametrize("kw,name", [
    ({"spatial": b"8"}, "spatial"),          # bytes iterate as ints: 56 for b"8"
    ({"spatial": "8"}, "spatial"),
    ({"channels": b"@", "spatial": [32]}, "channels"),
    ({"spatial": [32, 8.5]}, r"spatial\[1\]"),
    ({"spatial": [32, True]}, r"spatial\[1\]"),
    ({"bytes_range": "4K"}, "bytes_range"),
    ({"bytes_range": (4096, "2M")}, r"bytes_range\[1\]"),
    ({"bytes_range": (1, 2, 3)}, "bytes_range"),
    ({"configs": [(64, 32), (64,)]}, r"configs\[1\]"),
    ({"configs": [(64, 32), "ab"]}, r"configs\[1\]"),
    ({"configs": [(64, 32.0)]}, r"configs\[0\]\[1\]"),
])
def test_grid_arguments_of_a_wrong_type_are_refused_naming_them(kw, name):
    with pytest.raises((TypeError, ValueError), match=name):
        anethru.run_sweep(backend="cpu", **kw)


def test_channels_times_spatial_over_the_limit_is_refused():
    with pytest.raises(ValueError, match="channels x spatial is 40 x 40 = 1600"):
        anethru.run_sweep(channels=range(1, 41), spatial=range(32, 32 * 41, 32), backend="cpu")
