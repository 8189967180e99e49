"""Property-based run of schemathesis against the ticket API's OpenAPI schema: no 5xx.

Schemathesis generates valid (positive) and invalid (negative) requests for every operation of
the ticket API and sends them through the ASGI app with an admin token, on a database (SQLite,
then PostgreSQL) that holds an agency, users and tickets in several states. Any answer of 500 or
more fails the test. The number of examples per operation is bounded so that each run stays well
under a minute.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.generation.modes import GenerationMode

from tests.utils.tickets import fresh_postgres_database, make_agency, make_ticket
from tests.utils.tickets_api import api_client, signed_in_user
from tickets.db import open_service
from tickets.schemas import Actor
from tickets.settings import TicketSettings
from tickets.workflow import Role

pytestmark = pytest.mark.integration

EXAMPLES_PER_OPERATION = 5
SETUP = Actor(username="setup", role=Role.ADMIN)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A new SQLite file, or a new PostgreSQL database dropped at the end."""
    if request.param == "sqlite":
        path: Path = tmp_path_factory.mktemp("schemathesis") / "tickets.sqlite"
        yield f"sqlite:///{path}"
        return
    with fresh_postgres_database("tickets_schemathesis") as url:
        yield url


@pytest.fixture(scope="module")
def running_api(database_url: str) -> Iterator[tuple[TestClient, str, int]]:
    """The ticket app started on seeded data, and an admin token."""
    # Limits high enough that the generated traffic reaches the handlers instead of 429.
    ticket_settings = TicketSettings(
        database_url=database_url, rate_limit_per_minute=100_000, rate_limit_burst=100_000
    )
    service = open_service(ticket_settings)
    agency = make_agency(service, code="TN-SCHEMA").code
    make_ticket(service, SETUP, public=True, field="Tư pháp")
    moved = make_ticket(service, SETUP, content="Đèn đường hỏng", kind="incident")
    service.transfer(moved.id, agency_code=agency, reason="Thẩm quyền", actor=SETUP)
    answered = make_ticket(service, SETUP, content="Hỏi thủ tục hộ chiếu")
    service.classify(answered.id, field="Xuất nhập cảnh", actor=SETUP)
    service.answer(answered.id, text="Nộp tại phòng xuất nhập cảnh.", actor=SETUP)
    service.propose_answer(answered.id, actor=SETUP)
    try:
        with api_client(service) as client:
            admin = signed_in_user(client, service, Role.ADMIN)
            yield client, admin.token, admin.user.id
    finally:
        service.engine.dispose()


def server_errors(
    schema: Any, mode: GenerationMode, headers: dict[str, str], admin_id: int
) -> list[str]:
    """Run every operation with generated cases; describe each answer of 500 or more."""
    found: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if (operation.method.upper(), operation.path) == ("DELETE", "/v1/auth/token"):
            continue  # signing out would end the run's own token; test_auth_tokens covers it

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def run(case: Any) -> None:
            if (case.path_parameters or {}).get("user_id") == admin_id:
                return  # a new password for the run's own admin would revoke its token
            try:
                response = case.call(headers=headers)
            except Exception as exc:  # the ASGI transport re-raises what the app did not handle
                found.append(f"{case.method} {case.formatted_path} raised {exc!r:.200}")
                return
            if response.status_code >= 500:
                found.append(
                    f"{case.method} {case.formatted_path} -> {response.status_code}: "
                    f"{response.text[:200]}"
                )

        try:
            run()
        except Unsatisfiable:
            continue  # nothing of this operation can be made invalid (no parameters, no body)
    return found


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_server_errors(running_api: tuple[TestClient, str, int], mode: GenerationMode) -> None:
    client, token, admin_id = running_api
    # The pytest plugin's lazy loader fails on pytest 9 ('Function' has no '_nodeid'), so the
    # schema is loaded from the ASGI app directly and each operation runs under @given.
    schema = schemathesis.openapi.from_asgi("/openapi.json", client.app)
    assert len(list(schema.get_all_operations())) >= 30
    errors = server_errors(schema, mode, {"Authorization": f"Bearer {token}"}, admin_id)
    assert not errors, "\n".join(errors)
