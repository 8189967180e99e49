"""Unit-test fixtures of the channels: no socket, fakes for the answer service and the tickets.

The fakes stand in only here; the integration tests use the real ``AnswerService`` on a small
invented knowledge base and the real ``TicketService``.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr

from answer_service.api.body_limit import BodySizeLimitMiddleware
from answer_service.channels.api import ChannelsState, router
from answer_service.channels.inbox import InlineDispatcher
from answer_service.channels.processor import MessageProcessor
from answer_service.channels.runtime import ChannelRuntime
from answer_service.channels.settings import ChannelSettings
from answer_service.channels.store import Conversation, ConversationStore, StoredMessage
from answer_service.compose import Citation
from answer_service.errors import install_error_handlers
from answer_service.schemas import (
    AnswerOption,
    AnswerOut,
    FiltersIn,
    HitOut,
    QueryInfo,
    SearchOut,
)
from ingestion.models import Procedure
from search.errors import ErrorCode, SearchError
from search.models import Section
from tests.utils.offline import go_offline
from tickets.intake import Channel, ContactRequest, EntryKind, TicketRef

ACK = "Tổng đài 1022 đã nhận được thông tin của Quý khách, xin cảm ơn."
LINK_BASE = "https://dvc.example/tthc?ma="


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    attempts: list[Any] = []
    go_offline(monkeypatch, attempts)
    for name in list(os.environ):
        if name.startswith("HOTLINE_"):
            monkeypatch.delenv(name)
    yield
    assert attempts == [], f"a unit test tried to open a socket: {attempts}"


class FakeAnswerer:
    """Answers "khai sinh" questions with a citation, asks which of two procedures a "hộ chiếu"
    question is about; hands over anything else."""

    def __init__(self) -> None:
        self.questions: list[str] = []

    def answer(self, question: str) -> AnswerOut:
        self.questions.append(question)
        if not any(ch.isalnum() for ch in question):
            raise SearchError("query has no words to search for")  # as the real service does
        lowered = question.lower()
        common: dict[str, Any] = {"confidence": 0.9, "generated_by": "composer", "took_ms": 1.0}
        if "cháy" in lowered:
            return AnswerOut(
                route="emergency_114",
                answered=False,
                handover=False,
                text="Quý khách vui lòng gọi ngay 114.",
                citations=[],
                **common,
            )
        if "bóng đá" in lowered:
            return AnswerOut(
                route="out_of_domain",
                answered=False,
                handover=False,
                text="Câu hỏi nằm ngoài phạm vi hỗ trợ.",
                citations=[],
                **common,
            )
        if "hộ chiếu" in lowered:
            return AnswerOut(
                route="procedure",
                answered=False,
                handover=False,
                text="Câu hỏi có thể thuộc: 1. Cấp hộ chiếu (mã 1.900201); 2. Cấp lại hộ chiếu"
                " (mã 1.900202). Quý khách vui lòng nhắn lại mã.",
                options=[
                    AnswerOption(code="1.900201", name="Cấp hộ chiếu thử nghiệm"),
                    AnswerOption(code="1.900202", name="Cấp lại hộ chiếu thử nghiệm"),
                ],
                citations=[],
                **common,
            )
        if "khai sinh" in lowered:
            citation = Citation(
                code="1.900100",
                section=Section.METHODS,
                title="Đăng ký khai sinh thử nghiệm",
                source_url="",
            )
            return AnswerOut(
                route="procedure",
                answered=True,
                handover=False,
                text="Lệ phí đăng ký khai sinh: miễn phí.",
                citations=[citation],
                **common,
            )
        return AnswerOut(
            route="procedure",
            answered=False,
            handover=True,
            handover_reason="no matching procedure",
            text="Câu hỏi đã được chuyển.",
            citations=[],
            **common,
        )

    def search(self, query: str, *, top_k: int, filters: FiltersIn | None) -> SearchOut:
        hits = []
        if "khai sinh" in query.lower():
            hits.append(
                HitOut(
                    doc_id="procedure:1.900100",
                    doc_kind="procedure",
                    code="1.900100",
                    title="Đăng ký khai sinh thử nghiệm",
                    field="Hộ tịch",
                    levels=[],
                    agency="",
                    source_url="",
                    score=1.0,
                    exact_code_match=False,
                    matched=[],
                )
            )
        info = QueryInfo(text=query, restored=query, unaccented=False, expansions=[], codes=[])
        return SearchOut(query=info, hits=hits[:top_k], took_ms=1.0)

    def procedure(self, code: str) -> Procedure:
        raise SearchError(f"no procedure with code {code!r}", error_code=ErrorCode.NOT_FOUND)


@dataclass
class FakeIntake:
    """An in-memory ``TicketIntake``: one open ticket per (channel, thread_key)."""

    tickets: dict[int, dict[str, Any]] = field(default_factory=dict)
    entries: list[tuple[int, EntryKind, str]] = field(default_factory=list)
    _ids: Any = field(default_factory=lambda: itertools.count(1))

    def open_or_append(self, request: ContactRequest) -> TicketRef:
        ref = self.find_open(request.channel, request.thread_key)
        if ref is not None:
            self.entries.append((ref.id, EntryKind.MESSAGE_IN, request.content))
            return TicketRef(ref.id, ref.number, "new", 1, created=False)
        ticket_id = next(self._ids)
        self.tickets[ticket_id] = {"request": request, "status": "new"}
        return TicketRef(ticket_id, f"1022-2026-{ticket_id:06d}", "new", 1, created=True)

    def find_open(self, channel: Channel, thread_key: str) -> TicketRef | None:
        for ticket_id, ticket in self.tickets.items():
            request = ticket["request"]
            if (request.channel, request.thread_key) == (channel, thread_key) and ticket[
                "status"
            ] != "closed":
                return TicketRef(ticket_id, f"1022-2026-{ticket_id:06d}", "new", 1, False)
        return None

    def add_entry(self, ticket_id: int, *, kind: EntryKind, text: str, actor: str) -> None:
        self.entries.append((ticket_id, kind, text))

    def attach_recording(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError

    def record_call(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError

    def transfer(self, *args: Any, **kwargs: Any) -> TicketRef:
        raise NotImplementedError

    def history_for_contact(self, *args: Any, **kwargs: Any) -> list[Any]:
        return []


class RecordingSender:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str]] = []  # thread key, text, link

    def send(
        self,
        conversation: Conversation,
        text: str,
        *,
        link: str = "",
        reply_to: StoredMessage | None = None,
    ) -> dict[str, Any]:
        self.sent.append((conversation.thread_key, text, link))
        return {"provider_message_id": f"out-{len(self.sent)}"}


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ConversationStore]:
    opened = ConversationStore(f"sqlite:///{tmp_path / 'channels.sqlite'}")
    yield opened
    opened.close()


@dataclass
class Harness:
    store: ConversationStore
    answerer: FakeAnswerer
    intake: FakeIntake
    sender: RecordingSender
    processor: MessageProcessor


class FakeDossiers:
    def dossier_status(self, number: str) -> Any:
        from answer_service.channels.sms.onestop import DossierStatus

        if number == "000.00.12.H99-260101-0001":
            return DossierStatus(number, "Đang xử lý", "Cấp giấy phép thử nghiệm", "2026-12-20")
        return None


@pytest.fixture
def harness(store: ConversationStore) -> Harness:
    answerer, intake, sender = FakeAnswerer(), FakeIntake(), RecordingSender()
    processor = MessageProcessor(
        store=store,
        answerer=answerer,
        intake=intake,
        senders={c.value: sender for c in Channel},
        ack_text=ACK,
        link_base=LINK_BASE,
        dossiers=FakeDossiers(),
    )
    return Harness(store, answerer, intake, sender, processor)


APP_ID = "1234567890123456789"
OA_SECRET = "oa-secret-for-tests"
FB_SECRET = "fb-app-secret-for-tests"
SMS_SECRET = "sms-secret-for-tests"
USER_ID = "4368496045530239786"  # Zalo ids are large numbers sent as strings


class FakeCelery:
    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []

    def send_task(self, name: str, **options: Any) -> None:
        self.sent.append((name, options))


@pytest.fixture
def settings(tmp_path: Any) -> ChannelSettings:
    return ChannelSettings(
        data_dir=tmp_path,
        zalo_app_id=APP_ID,
        zalo_oa_secret_key=SecretStr(OA_SECRET),
        messenger_app_secret=SecretStr(FB_SECRET),
        messenger_verify_token=SecretStr("verify-me"),
        sms_inbound_secret=SecretStr(SMS_SECRET),
        campaign_token=SecretStr("campaign-token-for-tests"),
        sms_rate_limit=3,
        max_inbound_chars=500,
    )


@pytest.fixture
def client(harness: Harness, settings: ChannelSettings) -> Iterator[TestClient]:
    app = FastAPI()
    install_error_handlers(app)
    app.add_middleware(BodySizeLimitMiddleware, limit=64 * 1024)
    app.include_router(router)
    runtime = ChannelRuntime(settings=settings, store=harness.store, http=httpx.Client())
    inbox = runtime.inbox(InlineDispatcher(harness.processor))
    app.state.channels = ChannelsState(settings, runtime, inbox, FakeCelery())
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client
    runtime.http.close()
