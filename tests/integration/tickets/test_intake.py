"""The channels' seam: open or append by thread, entries, recordings, calls, caller history."""

from __future__ import annotations

import logging
from datetime import datetime

import pytest

import tickets
from tests.utils.tickets import make_actor, make_agency, make_ticket
from tickets.errors import InvalidTransition, TicketError, TicketNotFound, UnknownAgency
from tickets.intake import (
    Channel,
    Contact,
    ContactRequest,
    EntryKind,
    TicketIntake,
    TicketKind,
    Urgency,
)
from tickets.service import TicketService
from tickets.settings import TicketSettings
from tickets.sla import VIETNAM_TIME
from tickets.workflow import Status

pytestmark = pytest.mark.integration

CALLER = Contact(name="Trần Thị Thử", phone="0900000456", social_id="zalo-test-0001")


def _request(thread: str, content: str, **extra: object) -> ContactRequest:
    return ContactRequest(
        channel=Channel.ZALO,
        thread_key=thread,
        content=content,
        contact=CALLER,
        actor="system:zalo",
        **extra,  # type: ignore[arg-type]
    )


def test_service_is_a_ticket_intake(ticket_service: TicketService) -> None:
    assert isinstance(ticket_service, TicketIntake)


def test_open_intake_migrates_the_configured_database(tmp_path: object) -> None:
    url = f"sqlite:///{tmp_path}/intake.sqlite"
    service = tickets.open_intake(TicketSettings(database_url=url))
    try:
        ref = service.open_or_append(_request("thread-1", "Xin chào"))
        assert ref.created and ref.number.startswith("1022-")
    finally:
        service.engine.dispose()


def test_same_thread_appends_while_the_ticket_is_open(ticket_service: TicketService) -> None:
    first = ticket_service.open_or_append(_request("thread-A", "Cho hỏi làm hộ chiếu"))
    again = ticket_service.open_or_append(_request("thread-A", "Ở đâu ạ?"))
    other = ticket_service.open_or_append(_request("thread-B", "Câu hỏi khác"))
    assert first.created and not again.created and other.created
    assert again.id == first.id and other.id != first.id
    assert ticket_service.find_open(Channel.ZALO, "thread-A") == again
    assert ticket_service.find_open(Channel.FACEBOOK, "thread-A") is None

    events = ticket_service.events(first.id)
    assert [e.action for e in events] == ["create", "message_in"]
    assert events[1].text == "Ở đâu ạ?" and events[1].actor == "system:zalo"
    ticket = ticket_service.get(first.id)
    assert ticket.contact_phone == "0900000456" and ticket.channel is Channel.ZALO


def test_closed_thread_opens_a_new_ticket(ticket_service: TicketService) -> None:
    operator = make_actor(ticket_service)
    first = ticket_service.open_or_append(_request("thread-C", "Câu hỏi một"))
    ticket_service.classify(first.id, actor=operator)
    ticket_service.answer(first.id, text="Trả lời", actor=operator)
    ticket_service.close(first.id, actor=operator)
    second = ticket_service.open_or_append(_request("thread-C", "Câu hỏi hai"))
    assert second.created and second.id != first.id


def test_request_fields_reach_the_ticket(ticket_service: TicketService) -> None:
    received = datetime(2026, 3, 2, 7, 30, tzinfo=VIETNAM_TIME)
    ref = ticket_service.open_or_append(
        _request(
            "thread-D",
            "Đường ống nước vỡ",
            kind=TicketKind.INCIDENT,
            urgency=Urgency.URGENT,
            field="Hạ tầng",
            procedure_codes=("1.000001",),
            public=True,
            received_at=received,
        )
    )
    ticket = ticket_service.get(ref.id)
    assert (ticket.kind, ticket.urgency, ticket.field, ticket.public) == (
        TicketKind.INCIDENT,
        Urgency.URGENT,
        "Hạ tầng",
        True,
    )
    assert ticket.procedure_codes == ["1.000001"]
    assert ticket.created_at == received
    assert ticket.due_at is not None and ticket.due_at > received


def test_entries_recordings_and_calls_are_logged(ticket_service: TicketService) -> None:
    ref = ticket_service.open_or_append(_request("call-1", "Cuộc gọi"))
    ticket_service.add_entry(ref.id, kind=EntryKind.TRANSCRIPT, text="xin chào", actor="asr")
    ticket_service.add_entry(ref.id, kind=EntryKind.NOTE, text="ghi chú", actor="op")
    ticket_service.attach_recording(
        ref.id, uri="file:///var/rec/call-1.wav", duration_seconds=42.5, actor="system:bridge"
    )
    ticket_service.record_call(ref.id, duration_seconds=61, outcome="answered", actor="bridge")
    ticket = ticket_service.get(ref.id)
    assert ticket.recording_uri == "file:///var/rec/call-1.wav"
    assert (ticket.recording_seconds, ticket.call_seconds, ticket.call_outcome) == (
        42.5,
        61.0,
        "answered",
    )
    log = [(e.action, e.field, e.new_value, e.text) for e in ticket_service.events(ref.id)]
    assert ("transcript", None, None, "xin chào") in log
    assert ("note", None, None, "ghi chú") in log
    assert ("attach_recording", "recording_uri", "file:///var/rec/call-1.wav", None) in log
    assert ("record_call", "call_outcome", "answered", None) in log
    with pytest.raises(TicketError):
        ticket_service.add_entry(ref.id, kind=EntryKind.NOTE, text="  ", actor="op")
    with pytest.raises(TicketError):
        ticket_service.record_call(ref.id, duration_seconds=-1, outcome="answered", actor="b")
    with pytest.raises(TicketNotFound):
        ticket_service.add_entry(999_999, kind=EntryKind.NOTE, text="x", actor="op")


def test_urgent_call_is_transferred_with_its_recording(ticket_service: TicketService) -> None:
    agency = make_agency(ticket_service)
    ref = ticket_service.open_or_append(_request("call-2", "Cháy nhà", urgency=Urgency.URGENT))
    ticket_service.attach_recording(
        ref.id, uri="file:///var/rec/call-2.wav", duration_seconds=10, actor="bridge"
    )
    moved = ticket_service.transfer(
        ref.id, agency_code=agency.code, reason="Khẩn cấp", actor="bridge"
    )
    assert moved.status == Status.TRANSFERRED.value and moved.version > ref.version
    notes = [e.text for e in ticket_service.events(ref.id) if e.action == "transfer_reason"]
    assert notes == ["Khẩn cấp (recording attached: file:///var/rec/call-2.wav)"]
    with pytest.raises(InvalidTransition):
        ticket_service.transfer(ref.id, agency_code=agency.code, reason="again", actor="bridge")


def test_unknown_agency_is_refused_and_nothing_changes(ticket_service: TicketService) -> None:
    ref = ticket_service.open_or_append(_request("call-3", "Hỏi"))
    with pytest.raises(UnknownAgency) as raised:
        ticket_service.transfer(ref.id, agency_code="NOPE", reason="x", actor="bridge")
    assert raised.value.error_code.http_status == 422
    assert ticket_service.get(ref.id).status is Status.NEW
    assert [e.action for e in ticket_service.events(ref.id)] == ["create"]


def test_history_for_contact_newest_first(ticket_service: TicketService) -> None:
    operator = make_actor(ticket_service)
    older = make_ticket(ticket_service, operator, phone="0900000777", content="Câu cũ")
    ticket_service.clock.advance(hours=1)  # type: ignore[attr-defined]
    newer = make_ticket(ticket_service, operator, phone="0900000777", content="Câu mới\nchi tiết")
    make_ticket(ticket_service, operator, phone="0900000778")
    history = ticket_service.history_for_contact(Contact(phone="0900000777"))
    assert [h.id for h in history] == [newer.id, older.id]
    assert history[0].summary == "Câu mới"
    assert ticket_service.history_for_contact(Contact()) == []
    assert len(ticket_service.history_for_contact(Contact(phone="0900000777"), limit=1)) == 1


def test_contact_data_never_reaches_logging(
    ticket_service: TicketService, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    agency = make_agency(ticket_service)
    ref = ticket_service.open_or_append(_request("thread-P", "Hỏi về đất đai"))
    operator = make_actor(ticket_service)
    ticket_service.classify(ref.id, actor=operator)
    ticket_service.transfer(ref.id, agency_code=agency.code, reason="x", actor=operator)
    text = caplog.text
    for secret in (CALLER.name, CALLER.phone, CALLER.social_id):
        assert secret and secret not in text
