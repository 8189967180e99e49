"""The answer service over the invented knowledge base, served by uvicorn on 127.0.0.1.

The consoles talk to the service over HTTP only, so their tests need a real server: the app of
``answer_service.main.create_app`` on the invented procedures of the answer-service tests, with
an editable copy of the synonym dictionary in the temporary folder (the packaged one is never
written), a ticket database of its own there with one user per role and two agencies, in a
uvicorn server on a free loopback port, in a thread of the test process.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI

from answer_service.main import create_app
from answer_service.quality import QualityStore
from answer_service.service import AnswerService
from ingestion.settings import Settings
from search.text.synonyms import DEFAULT_SYNONYMS_PATH
from tests.integration.answer_service.invented_kb import build_knowledge_base, open_service

START_TIMEOUT_S = 30
PASSWORD = "mat-khau-thu-nghiem-01"
USERS = {
    "operator": ("tdv-thu", "Nguyễn Thị Thử"),
    "editor": ("btv-thu", "Trần Văn Mẫu"),
    "supervisor": ("gsv-thu", "Lê Thị Kiểm"),
}
AGENCIES = {"SO-TN-THU": "Sở Thử nghiệm Môi trường", "UB-XA-MAU": "Ủy ban nhân dân xã Mẫu"}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LiveService:
    url: str
    app: FastAPI
    service: AnswerService
    settings: Settings
    server: uvicorn.Server
    thread: threading.Thread
    loop: asyncio.AbstractEventLoop

    def run_in_server(self, coroutine: Any, timeout_s: float = 10) -> Any:
        """Run a coroutine on the server's event loop (e.g. feed a call event to the hub)."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout_s)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.loop.close()
        self.app.state.tickets.engine.dispose()

    def token(self, role: str) -> str:
        """A fresh bearer token of the test user of ``role``."""
        username = USERS[role][0]
        response = httpx.post(
            f"{self.url}/v1/auth/token", json={"username": username, "password": PASSWORD}
        )
        response.raise_for_status()
        return str(response.json()["access_token"])


def build_settings(root: Path) -> Settings:
    """The invented knowledge base synced lexical-only, with an editable synonym copy."""
    settings = build_knowledge_base(root / "data", embedder="none")
    synonyms = root / "synonyms.json"
    shutil.copyfile(DEFAULT_SYNONYMS_PATH, synonyms)
    return settings.model_copy(update={"synonyms_path": synonyms})


def open_tickets(root: Path) -> object:
    """A ticket service on SQLite in ``root``, with the test users and agencies."""
    from tickets.auth import AuthStore, UserCreate
    from tickets.db import open_service as open_ticket_service
    from tickets.schemas import Actor
    from tickets.settings import TicketSettings
    from tickets.workflow import Role

    ticket_settings = TicketSettings(
        database_url=f"sqlite:///{root / 'tickets.sqlite'}", data_dir=root, rate_limit_burst=500
    )
    tickets = open_ticket_service(ticket_settings)
    auth = AuthStore(tickets.engine)
    for role, (username, full_name) in USERS.items():
        auth.create_user(
            UserCreate(username=username, full_name=full_name, role=Role(role), password=PASSWORD)
        )
    admin = Actor(username="kiem-thu", role=Role.ADMIN)
    for code, name in AGENCIES.items():
        tickets.create_agency(code=code, name=name, phone="0900000199", actor=admin)
    return ticket_settings, tickets


def start_service(settings: Settings, root: Path) -> LiveService:
    service = open_service(settings)
    quality = QualityStore(f"sqlite:///{root / 'quality.sqlite'}")
    app = create_app(service=service, quality=quality)
    # The ticket routes would otherwise open the default database under ./var.
    app.state.ticket_settings, app.state.tickets = open_tickets(root)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    loop = asyncio.new_event_loop()
    thread = threading.Thread(
        target=loop.run_until_complete, args=(server.serve(),), name="answer-service", daemon=True
    )
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.started:
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
        time.sleep(0.1)
    else:
        server.should_exit = True
        raise RuntimeError(f"the answer service did not start on {url}")
    return LiveService(
        url=url,
        app=app,
        service=service,
        settings=settings,
        server=server,
        thread=thread,
        loop=loop,
    )
