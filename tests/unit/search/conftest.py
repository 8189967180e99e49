from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.utils.offline import go_offline


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Search unit tests load models from disk only and open no socket."""
    attempts: list[Any] = []
    go_offline(monkeypatch, attempts)
    yield
    assert attempts == [], f"a test tried to reach the network: {attempts}"
