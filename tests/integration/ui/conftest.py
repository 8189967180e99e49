"""One answer service for the consoles' integration and browser tests of a session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.ui.live_service import LiveService, build_settings, start_service


@pytest.fixture(scope="session")
def live_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveService]:
    root = tmp_path_factory.mktemp("ui-service")
    live = start_service(build_settings(root), root)
    yield live
    live.stop()
    live.service.engine.close()
    live.service.catalog.close()


@pytest.fixture
def ui_env(monkeypatch: pytest.MonkeyPatch, live_service: LiveService) -> LiveService:
    """The consoles' settings pointing at the live service, in demonstration login mode."""
    monkeypatch.setenv("HOTLINE_UI_API_URL", live_service.url)
    monkeypatch.setenv("HOTLINE_UI_AUTH", "none")
    return live_service
