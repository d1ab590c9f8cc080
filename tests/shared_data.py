"""Where the real survey data lives for tests (``../shared/data``), and a clean skip where it is absent."""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def shared(sub: str) -> Path:
    """``../shared/data/<sub>``, or skip the test (a user's fresh clone has no shared data)."""
    p = SHARED / sub
    if not p.exists():
        pytest.skip(f"{p} not present (real-data tests need ../shared/data)")
    return p
