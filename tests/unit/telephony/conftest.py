"""Unit-test fixtures for the telephony bridge: a mock ARI transport and a controller on it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from telephony_bridge.ari_client import AriRestClient
from telephony_bridge.calls import CallController
from telephony_bridge.hub import InProcessHub
from telephony_bridge.state import CallStateStore
from tests.unit.telephony.ari_fakes import APP, MockAri
from tests.unit.telephony.fake_intake import FakeIntake


@pytest.fixture
def mock_ari() -> MockAri:
    return MockAri()


@pytest.fixture
def make_controller(mock_ari: MockAri) -> Callable[..., tuple[CallController, FakeIntake]]:
    def make(**kwargs: Any) -> tuple[CallController, FakeIntake]:
        client = httpx.AsyncClient(transport=httpx.MockTransport(mock_ari.handler))
        intake = FakeIntake()
        controller = CallController(
            ari=AriRestClient("http://ari.test", "hotline", "pw", client=client),
            intake=intake,
            store=kwargs.pop("store", None) or CallStateStore(":memory:"),
            hub=InProcessHub(),
            app=APP,
            **kwargs,
        )
        return controller, intake

    return make
