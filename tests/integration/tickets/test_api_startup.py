"""Start-up: the API opens and migrates the embedded SQLite default; the main app mounts it."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, inspect, text

from answer_service.main import create_app
from tickets.api import create_tickets_app

pytestmark = pytest.mark.integration


def test_starts_on_the_embedded_sqlite_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HOTLINE_TICKETS_DATABASE_URL", raising=False)
    monkeypatch.delenv("HOTLINE_TICKETS_REDIS_URL", raising=False)
    monkeypatch.setenv("HOTLINE_DATA_DIR", str(tmp_path))
    app = create_tickets_app()
    with TestClient(app) as client:
        assert client.get("/open311/v2/services.json").status_code == 200
        assert client.get("/v1/me").status_code == 401
    database = tmp_path / "tickets.sqlite"
    assert database.is_file()
    engine = create_engine(f"sqlite:///{database}")
    try:
        tables = set(inspect(engine).get_table_names())
        assert {"tickets", "ticket_events", "users", "api_tokens", "alembic_version"} <= tables
        with engine.connect() as connection:
            assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    finally:
        engine.dispose()
    # The service it opened was closed with the app.
    assert app.state.tickets is None


def test_the_answer_service_mounts_the_ticket_api() -> None:
    paths = create_app().openapi()["paths"]
    for path in (
        "/v1/auth/token",
        "/v1/me",
        "/v1/users",
        "/v1/agencies",
        "/v1/tickets",
        "/v1/tickets/{ticket_id}/transitions",
        "/v1/tickets/{ticket_id}/events",
        "/v1/tickets/export",
        "/v1/stats/tickets",
        "/v1/knowledge/proposals",
        "/open311/v2/requests.json",
    ):
        assert path in paths, path
