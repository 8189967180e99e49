"""Edits, merging, reopening, holidays, the public view and bad input."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from pydantic import ValidationError

from tests.utils.tickets import SETUP_ADMIN, make_actor, make_agency, make_ticket
from tickets.errors import (
    InvalidTransition,
    PermissionDenied,
    TicketError,
    TicketNotFound,
    VersionConflict,
)
from tickets.intake import Channel, TicketKind, Urgency
from tickets.schemas import ContactIn, HolidayIn, TicketCreate, TicketFilters, TicketUpdate
from tickets.service import TicketService
from tickets.sla import VIETNAM_TIME
from tickets.workflow import Role, Status

pytestmark = pytest.mark.integration


def test_each_edit_is_logged_with_old_and_new(ticket_service: TicketService) -> None:
    operator = make_actor(ticket_service)
    ticket = make_ticket(ticket_service, operator)
    updated = ticket_service.update(
        ticket.id,
        TicketUpdate(
            field="Hộ tịch",
            urgency=Urgency.HIGH,
            public=True,
            procedure_codes=["2.000001", "2.000001", " 2.000002 "],
            contact=ContactIn(email="nguoi.thu@example.invalid"),
        ),
        actor=operator,
        expected_version=ticket.version,
    )
    assert updated.version == ticket.version + 1
    assert updated.procedure_codes == ["2.000001", "2.000002"]
    assert updated.contact_phone == "0900000123"  # untouched contact fields stay
    assert updated.contact_email == "nguoi.thu@example.invalid"
    changes = {e.field: (e.old_value, e.new_value) for e in ticket_service.events(ticket.id)}
    assert changes["field"] == (None, "Hộ tịch")
    assert changes["urgency"] == ("normal", "high")
    assert changes["public"] == ("false", "true")
    assert changes["procedure_codes"] == ("", "2.000001, 2.000002")
    # Contact details are personal data: the log keeps them masked.
    old_email, new_email = changes["contact_email"]
    assert old_email is None and new_email is not None
    assert "nguoi.thu" not in new_email and new_email.endswith("id")


def test_new_kind_moves_the_deadline(ticket_service: TicketService) -> None:
    operator = make_actor(ticket_service)
    ticket = make_ticket(ticket_service, operator)  # Monday 2 March 2026, a question: 2 days
    assert ticket.due_at == datetime(2026, 3, 4, 23, 59, 59, tzinfo=VIETNAM_TIME)
    complaint = ticket_service.update(
        ticket.id, TicketUpdate(kind=TicketKind.COMPLAINT), actor=operator, expected_version=1
    )
    # 30 working days from Monday 2 March 2026 (no holiday in between) is Monday 13 April.
    assert complaint.due_at == datetime(2026, 4, 13, 23, 59, 59, tzinfo=VIETNAM_TIME)
    assert any(e.field == "due_at" for e in ticket_service.events(ticket.id))


def test_overdue_filter_and_list(ticket_service: TicketService) -> None:
    operator = make_actor(ticket_service)
    late = make_ticket(ticket_service, operator)
    answered = make_ticket(ticket_service, operator)
    ticket_service.classify(answered.id, actor=operator)
    ticket_service.answer(answered.id, text="Đã trả lời", actor=operator)
    ticket_service.clock.advance(days=10)  # type: ignore[attr-defined]
    fresh = make_ticket(ticket_service, operator)
    overdue = ticket_service.list(TicketFilters(overdue=True), actor=operator)
    assert [t.id for t in overdue.items] == [late.id]
    assert overdue.items[0].overdue
    not_overdue = ticket_service.list(TicketFilters(overdue=False), actor=operator)
    assert {t.id for t in not_overdue.items} == {answered.id, fresh.id}
    assert [t.id for t in ticket_service.overdue(actor=operator)] == [late.id]


def test_list_filters_combine_and_page(ticket_service: TicketService) -> None:
    operator = make_actor(ticket_service)
    ids = []
    for index in range(5):
        ticket = make_ticket(
            ticket_service,
            operator,
            channel=Channel.EMAIL if index % 2 else Channel.PHONE,
            field="Đất đai" if index < 3 else "Hộ tịch",
            content=f"Câu hỏi số {index} về làm lại căn cước",
        )
        ids.append(ticket.id)
        ticket_service.clock.advance(minutes=1)  # type: ignore[attr-defined]
    page = ticket_service.list(
        TicketFilters(channel=[Channel.PHONE], field="Đất đai", limit=1), actor=operator
    )
    assert page.total == 2 and [t.id for t in page.items] == [ids[2]]
    second = ticket_service.list(
        TicketFilters(channel=[Channel.PHONE], field="Đất đai", limit=1, offset=1), actor=operator
    )
    assert [t.id for t in second.items] == [ids[0]]
    folded = ticket_service.list(TicketFilters(text="LAM LAI CAN CUOC"), actor=operator)
    assert folded.total == 5
    by_number = ticket_service.list(
        TicketFilters(text=ticket_service.get(ids[1]).number), actor=operator
    )
    assert [t.id for t in by_number.items] == [ids[1]]
    assert ticket_service.list(TicketFilters(text="50%_"), actor=operator).total == 0


def test_merge_closes_the_duplicate_and_keeps_both_logs(ticket_service: TicketService) -> None:
    operator = make_actor(ticket_service)
    target = make_ticket(ticket_service, operator, content="Hỏi cấp đổi giấy phép lái xe")
    duplicate = make_ticket(ticket_service, operator, content="Đổi bằng lái xe ở đâu")
    merged = ticket_service.merge(duplicate.id, into_id=target.id, actor=operator)
    assert merged.id == target.id
    source = ticket_service.get(duplicate.id)
    assert source.status is Status.CLOSED and source.merged_into_id == target.id
    assert source.closed_at is not None
    merge_log = [(e.action, e.field) for e in ticket_service.events(duplicate.id)]
    assert merge_log == [
        ("create", "status"),
        ("merge", "status"),
        ("merge", "merged_into_id"),
        ("merge", "closed_at"),
    ]
    target_log = ticket_service.events(target.id)
    assert target_log[-1].action == "merge_in"
    assert target_log[-1].new_value == duplicate.number
    with pytest.raises(InvalidTransition, match="merged into"):
        ticket_service.reopen(duplicate.id, reason="thử", actor=operator)
    with pytest.raises(TicketError):
        ticket_service.merge(target.id, into_id=target.id, actor=operator)
    with pytest.raises(InvalidTransition):
        ticket_service.merge(duplicate.id, into_id=target.id, actor=operator)
    assert ticket_service.allowed_transitions(duplicate.id, actor=operator) == []


def test_reopen_gives_a_new_deadline_and_keeps_history(ticket_service: TicketService) -> None:
    operator = make_actor(ticket_service)
    ticket = make_ticket(ticket_service, operator)
    ticket_service.classify(ticket.id, actor=operator)
    ticket_service.answer(ticket.id, text="Trả lời lần một", actor=operator)
    closed = ticket_service.close(ticket.id, actor=operator)
    ticket_service.clock.advance(days=7)  # type: ignore[attr-defined]
    reopened = ticket_service.reopen(
        ticket.id, reason="Công dân hỏi lại", actor=operator, expected_version=closed.version
    )
    assert reopened.status is Status.REOPENED
    assert reopened.answer is None  # the wrong answer is kept in the log only
    assert reopened.answered_at is None and reopened.closed_at is None
    assert reopened.due_at is not None and closed.due_at is not None
    assert reopened.due_at > closed.due_at
    ticket_service.classify(ticket.id, actor=operator)
    again = ticket_service.answer(ticket.id, text="Trả lời lần hai", actor=operator)
    answers = [
        (e.old_value, e.new_value) for e in ticket_service.events(ticket.id) if e.field == "answer"
    ]
    assert answers == [
        (None, "Trả lời lần một"),
        ("Trả lời lần một", None),
        (None, "Trả lời lần hai"),
    ]
    assert again.operator_id == operator.user_id  # the answering operator was assigned
    assert ticket_service.allowed_transitions(ticket.id, actor=operator) == ["closed", "reopened"]


def test_reopen_clears_the_agency_and_counts_the_deadline_from_now(
    ticket_service: TicketService,
) -> None:
    operator = make_actor(ticket_service)
    agency = make_agency(ticket_service).code
    liaison = make_actor(ticket_service, Role.AGENCY_LIAISON, agency_code=agency)
    ticket = make_ticket(ticket_service, operator)
    ticket_service.transfer(ticket.id, agency_code=agency, reason="Đất đai", actor=operator)
    ticket_service.agency_accept(ticket.id, actor=liaison)
    answered = ticket_service.agency_answer(ticket.id, text="Đã xử lý", actor=liaison)
    now = ticket_service.clock.advance(days=20)  # type: ignore[attr-defined]
    reopened = ticket_service.reopen(ticket.id, reason="Chưa xử lý xong", actor=operator)

    assert (reopened.agency_code, reopened.answer, reopened.answered_at) == (None, None, None)
    assert reopened.due_at == ticket_service.due_date(reopened.kind, now)
    assert answered.due_at is not None and reopened.due_at is not None
    assert reopened.due_at > answered.due_at
    logged = {
        (e.field, e.old_value, e.new_value)
        for e in ticket_service.events(ticket.id)
        if e.action == "reopen"
    }
    assert ("agency_code", agency, None) in logged
    assert ("answer", "Đã xử lý", None) in logged
    with pytest.raises(TicketNotFound):
        ticket_service.get(ticket.id, actor=liaison)


def test_generic_transition_dispatches_to_the_step(ticket_service: TicketService) -> None:
    operator = make_actor(ticket_service)
    agency = make_agency(ticket_service)
    ticket = make_ticket(ticket_service, operator)
    moved = ticket_service.transition(ticket.id, to="classified", actor=operator)
    moved = ticket_service.transition(
        ticket.id,
        to="transferred",
        agency_code=agency.code,
        reason="Chuyển",
        actor=operator,
        expected_version=moved.version,
    )
    assert moved.status is Status.TRANSFERRED and moved.agency_code == agency.code
    with pytest.raises(InvalidTransition):
        ticket_service.transition(ticket.id, to="closed", actor=operator)
    with pytest.raises(TicketError, match="unknown status"):
        ticket_service.transition(ticket.id, to="teleported", actor=operator)
    with pytest.raises(VersionConflict):
        ticket_service.transition(
            ticket.id, to="agency_processing", actor=SETUP_ADMIN, expected_version=1
        )


def test_assignment_rules(ticket_service: TicketService) -> None:
    operator = make_actor(ticket_service)
    colleague = make_actor(ticket_service)
    supervisor = make_actor(ticket_service, Role.SUPERVISOR)
    editor = make_actor(ticket_service, Role.EDITOR)
    ticket = make_ticket(ticket_service, operator)
    mine = ticket_service.assign(ticket.id, operator_id=operator.user_id, actor=operator)
    assert mine.operator_id == operator.user_id
    with pytest.raises(PermissionDenied):
        ticket_service.assign(ticket.id, operator_id=colleague.user_id, actor=operator)
    theirs = ticket_service.assign(ticket.id, operator_id=colleague.user_id, actor=supervisor)
    assert theirs.operator_id == colleague.user_id
    with pytest.raises(TicketError, match="not an operator"):
        ticket_service.assign(ticket.id, operator_id=editor.user_id, actor=supervisor)
    with pytest.raises(PermissionDenied):
        ticket_service.update(
            ticket.id, TicketUpdate(field="x"), actor=editor, expected_version=None
        )


def test_public_view_has_no_contact_data(ticket_service: TicketService) -> None:
    operator = make_actor(ticket_service)
    private = make_ticket(ticket_service, operator, content="Riêng tư")
    public = make_ticket(ticket_service, operator, content="Công khai", public=True)
    view = ticket_service.public_view(public.id)
    dumped = view.model_dump_json()
    assert "0900000123" not in dumped and "Nguyễn Văn Thử" not in dumped
    assert view.content == "Công khai"
    assert ticket_service.public_view(private.id).content is None
    items, total = ticket_service.public_page(TicketFilters())
    assert total == 1 and [i.id for i in items] == [public.id]
    everything, total = ticket_service.public_page(TicketFilters(), public_only=False)
    assert total == 2
    assert {i.id: i.content for i in everything} == {public.id: "Công khai", private.id: None}
    assert "0900000123" not in str([i.model_dump() for i in everything])
    with pytest.raises(TicketNotFound):
        ticket_service.public_view(123_456)


def test_admin_overrides_the_holidays_of_a_year(ticket_service: TicketService) -> None:
    operator = make_actor(ticket_service)
    bundled = ticket_service.holidays(2026)
    assert {h.source for h in bundled} == {"bundled"}
    assert date(2026, 4, 30) in {h.day for h in bundled}
    # The province adds Wednesday 4 March as a day off, replacing the list for 2026.
    days = [HolidayIn(day=h.day, name=h.name) for h in bundled]
    days.append(HolidayIn(day=date(2026, 3, 4), name="Ngày nghỉ thử nghiệm"))
    with pytest.raises(PermissionDenied):
        ticket_service.set_holidays(2026, days, actor=operator)
    result = ticket_service.set_holidays(2026, days, actor=SETUP_ADMIN)
    assert {h.source for h in result} == {"override"} and len(result) == len(bundled) + 1
    ticket = make_ticket(ticket_service, operator)  # Monday 2 March, 2 working days
    assert ticket.due_at == datetime(2026, 3, 5, 23, 59, 59, tzinfo=VIETNAM_TIME)
    with pytest.raises(TicketError, match="another year"):
        ticket_service.set_holidays(
            2026, [HolidayIn(day=date(2027, 1, 1), name="x")], actor=SETUP_ADMIN
        )
    ticket_service.set_holidays(2026, [], actor=SETUP_ADMIN)
    assert {h.source for h in ticket_service.holidays(2026)} == {"bundled"}


def test_bad_input_is_refused_before_anything_is_written(ticket_service: TicketService) -> None:
    operator = make_actor(ticket_service)
    with pytest.raises(ValidationError):
        TicketCreate(channel=Channel.PHONE, content="   ")
    with pytest.raises(ValidationError):
        TicketCreate(channel=Channel.PHONE, content="x" * 20_001)
    with pytest.raises(ValidationError):
        TicketCreate(channel="pigeon", content="x")  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        TicketUpdate(procedure_codes=["x" * 65])
    ticket = make_ticket(ticket_service, operator)
    ticket_service.classify(ticket.id, actor=operator)
    with pytest.raises(TicketError):
        ticket_service.answer(ticket.id, text=" ", actor=operator)
    with pytest.raises(TicketError):
        ticket_service.answer(ticket.id, text="x" * 20_001, actor=operator)
    with pytest.raises(TicketError, match="no active user"):
        make_ticket(ticket_service, operator, operator_id=987_654)
    assert ticket_service.list(actor=operator).total == 1
    with pytest.raises(TicketError, match="taken"):
        ticket_service.create_user(username=operator.username, role="operator", actor=SETUP_ADMIN)
    with pytest.raises(TicketError, match="agency_code"):
        ticket_service.create_user(username="lien-lac-x", role="agency_liaison", actor=SETUP_ADMIN)
    with pytest.raises(TicketError, match="unknown role"):
        ticket_service.create_user(username="x-1", role="boss", actor=SETUP_ADMIN)


def test_nul_characters_and_huge_ids_are_bad_input(ticket_service: TicketService) -> None:
    from tickets.intake import Contact, ContactRequest, EntryKind

    operator = make_actor(ticket_service)
    ticket = make_ticket(ticket_service, operator)
    with pytest.raises(ValidationError):
        TicketCreate(channel=Channel.PHONE, content="a\x00b")
    with pytest.raises(TicketError, match="NUL"):
        ticket_service.add_entry(ticket.id, kind=EntryKind.NOTE, text="x\x00", actor=operator)
    with pytest.raises(TicketError, match="NUL"):
        ticket_service.open_or_append(
            ContactRequest(channel=Channel.SMS, thread_key="t\x00", content="xin chào")
        )
    with pytest.raises(TicketError, match="NUL"):
        ticket_service.history_for_contact(Contact(phone="0900\x00"))
    with pytest.raises(TicketError, match="NUL"):
        ticket_service.get_by_number("1022\x00")
    for huge in (2**31, 2**63):
        with pytest.raises(TicketNotFound):
            ticket_service.get(huge)
        with pytest.raises(TicketNotFound):
            ticket_service.get_user(huge)
        with pytest.raises(TicketNotFound):
            ticket_service.get_proposal(huge)
        with pytest.raises(TicketError):
            ticket_service.assign(ticket.id, operator_id=huge, actor=SETUP_ADMIN)
    with pytest.raises(TicketError, match="invalid TicketUpdate"):
        ticket_service.classify(ticket.id, field="x" * 300, actor=operator)
    assert [e.action for e in ticket_service.events(ticket.id)] == ["create"]
