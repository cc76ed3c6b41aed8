"""Lines for the closing summary (benchmarks/conftest.py): ratios measured side by side in this
run."""

from __future__ import annotations

RATIOS: list[str] = []
