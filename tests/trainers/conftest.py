"""Fixtures shared by the trainer tests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The fake Tinker service; at teardown no future may be left pending or never waited on."""
    pytest.importorskip("tinker")
    from trainers import fake_tinker as ft

    fake = ft.install(monkeypatch)
    try:
        yield fake
        fake.assert_all_futures_resolved()
    finally:
        fake.shutdown()
