"""Statistics against figures the test computes itself from the tickets it made."""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pytest

from tests.utils.tickets import make_actor, make_agency, make_ticket
from tickets.errors import PermissionDenied
from tickets.intake import Channel, TicketKind
from tickets.service import TicketService
from tickets.sla import VIETNAM_TIME
from tickets.stats import GroupStats, Period
from tickets.workflow import Role

pytestmark = pytest.mark.integration

PENDING = {"new", "classified", "transferred", "agency_processing", "reopened"}


@dataclass
class Made:
    """What the test did to one ticket, written down as it happened."""

    field: str
    channel: str
    agency: str | None
    status: str
    operator_id: int | None
    created_at: datetime
    due_at: datetime
    answered_at: datetime | None = None


# (day of creation, field, channel, kind, what happens, hours until the answer)
PLAN = [
    (date(2026, 3, 2), "Hộ tịch", Channel.PHONE, TicketKind.QUESTION, "desk", 3),
    (date(2026, 3, 2), "Hộ tịch", Channel.ZALO, TicketKind.QUESTION, "desk", 24 * 6),
    (date(2026, 3, 3), "Đất đai", Channel.PHONE, TicketKind.COMPLAINT, "agency", 24 * 20),
    (date(2026, 3, 4), "Đất đai", Channel.EMAIL, TicketKind.QUESTION, "pending", None),
    (date(2026, 3, 10), "Giao thông", Channel.PHONE, TicketKind.INCIDENT, "agency", 24 * 9),
    (date(2026, 3, 11), "Hộ tịch", Channel.SMS, TicketKind.QUESTION, "transferred", None),
    (date(2026, 3, 30), "Đất đai", Channel.ZALO, TicketKind.QUESTION, "closed", 5),
    (date(2026, 4, 6), "Giao thông", Channel.PHONE, TicketKind.QUESTION, "desk", 30),
    (date(2026, 4, 28), "Hộ tịch", Channel.PHONE, TicketKind.QUESTION, "new", None),
    (date(2026, 5, 4), "Hộ tịch", Channel.EMAIL, TicketKind.COMPLAINT, "new", None),
    (date(2026, 3, 5), "Hộ tịch", Channel.PHONE, TicketKind.QUESTION, "merged", None),
]
REPORT_AT = datetime(2026, 5, 4, 15, 0, tzinfo=VIETNAM_TIME)


def _expected(rows: list[Made], key: str) -> dict[str, GroupStats]:
    groups: dict[str, GroupStats] = {}
    for row in rows:
        name = getattr(row, key) or ""
        group = groups.setdefault(name, GroupStats(key=name))
        group.total += 1
        pending = row.status in PENDING
        late = pending and row.due_at < REPORT_AT
        group.pending += pending
        group.overdue += late
        if row.answered_at is not None:
            group.answered += 1
            if row.answered_at <= row.due_at:
                group.sla_met += 1
            else:
                group.sla_missed += 1
        elif late:
            group.sla_missed += 1
    for group in groups.values():
        decided = group.sla_met + group.sla_missed
        group.compliance = round(group.sla_met / decided, 4) if decided else None
    return groups


def _make_world(service: TicketService) -> tuple[list[Made], dict[int, str]]:
    clock = service.clock
    operators = [make_actor(service), make_actor(service)]
    supervisor = make_actor(service, Role.SUPERVISOR)
    agency = make_agency(service)
    liaison = make_actor(service, Role.AGENCY_LIAISON, agency_code=agency.code)
    made: list[Made] = []
    merged_source = first_id = None
    for index, (day, field, channel, kind, outcome, hours) in enumerate(PLAN):
        operator = operators[index % 2]
        created = datetime.combine(day, datetime.min.time(), VIETNAM_TIME) + timedelta(hours=9)
        clock.set(created)  # type: ignore[attr-defined]
        ticket = make_ticket(service, operator, channel=channel, kind=kind, field=field)
        first_id = first_id or ticket.id
        row = Made(field, channel.value, None, "new", None, created, ticket.due_at)  # type: ignore[arg-type]
        if outcome == "merged":
            merged_source = ticket.id
            continue
        made.append(row)
        if outcome == "new":
            continue
        service.assign(ticket.id, operator_id=operator.user_id, actor=supervisor)
        row.operator_id = operator.user_id
        service.classify(ticket.id, actor=operator)
        row.status = "classified"
        if outcome in ("agency", "transferred"):
            service.transfer(
                ticket.id, agency_code=agency.code, reason="thẩm quyền", actor=operator
            )
            row.status, row.agency = "transferred", agency.code
        if outcome == "agency":
            service.agency_accept(ticket.id, actor=liaison)
            clock.set(created + timedelta(hours=hours))  # type: ignore[attr-defined,operator]
            service.agency_answer(ticket.id, text="Cơ quan trả lời", actor=liaison)
            row.status, row.answered_at = "answered", clock()  # type: ignore[operator]
        if outcome in ("desk", "closed"):
            clock.set(created + timedelta(hours=hours))  # type: ignore[attr-defined,operator]
            service.answer(ticket.id, text="Trả lời", actor=operator)
            row.status, row.answered_at = "answered", clock()  # type: ignore[operator]
        if outcome == "closed":
            service.close(ticket.id, actor=operator)
            row.status = "closed"
    assert merged_source is not None and first_id is not None
    service.merge(merged_source, into_id=first_id, actor=operators[0])
    clock.set(REPORT_AT)  # type: ignore[attr-defined]
    names = {op.user_id: op.username for op in operators if op.user_id is not None}
    return made, names


def test_every_figure_matches_an_independent_count(ticket_service: TicketService) -> None:
    made, names = _make_world(ticket_service)
    supervisor = make_actor(ticket_service, Role.SUPERVISOR)
    report = ticket_service.stats(actor=supervisor, period=Period.MONTH)

    assert report.overall.total == len(PLAN) - 1  # the merged duplicate is left out
    assert report.merged_excluded == 1  # and the report says so
    outside = ticket_service.stats(
        actor=supervisor, created_from=datetime(2026, 3, 6, tzinfo=VIETNAM_TIME)
    )
    assert outside.merged_excluded == 0  # the duplicate was created on 5 March
    everything = _expected([*made], "channel")
    total = GroupStats(key="all")
    for group in everything.values():
        for name in ("total", "answered", "pending", "overdue", "sla_met", "sla_missed"):
            setattr(total, name, getattr(total, name) + getattr(group, name))
    decided = total.sla_met + total.sla_missed
    total.compliance = round(total.sla_met / decided, 4) if decided else None
    assert report.overall == total
    # The plan mixes every case: on time, late, overdue and not yet due.
    assert total.sla_met > 0 and total.sla_missed > 0 and total.overdue > 0
    assert total.pending > total.overdue

    for key, groups in (
        ("field", report.by_field),
        ("channel", report.by_channel),
        ("agency", report.by_agency),
        ("status", report.by_status),
    ):
        expected = _expected(made, key)
        assert {g.key: g for g in groups} == expected, key

    for row in made:
        row.period = row.created_at.astimezone(VIETNAM_TIME).date().replace(day=1).isoformat()  # type: ignore[attr-defined]
    assert {g.key: g for g in report.by_period} == _expected(made, "period")
    assert [g.key for g in report.by_period] == ["2026-03-01", "2026-04-01", "2026-05-01"]

    weekly = ticket_service.stats(actor=supervisor, period="week")
    for row in made:
        local = row.created_at.astimezone(VIETNAM_TIME).date()
        row.period = (local - timedelta(days=local.weekday())).isoformat()  # type: ignore[attr-defined]
    assert {g.key: g for g in weekly.by_period} == _expected(made, "period")

    by_operator: dict[int, list[Made]] = defaultdict(list)
    for row in made:
        if row.operator_id is not None:
            by_operator[row.operator_id].append(row)
    assert [o.operator_id for o in report.operators] == sorted(by_operator)
    for stats in report.operators:
        rows = by_operator[stats.operator_id]
        hours = [
            (r.answered_at - r.created_at).total_seconds() / 3600 for r in rows if r.answered_at
        ]
        assert stats.username == names[stats.operator_id]
        assert stats.assigned == len(rows)
        assert stats.pending == sum(r.status in PENDING for r in rows)
        assert stats.answered == len(hours)
        assert stats.median_handling_hours == round(statistics.median(hours), 4)

    overdue = ticket_service.overdue(actor=supervisor)
    assert len(overdue) == sum(1 for r in made if r.status in PENDING and r.due_at < REPORT_AT)
    assert len(overdue) == report.overall.overdue
    assert [t.due_at for t in overdue] == sorted(t.due_at for t in overdue)


def test_period_filter_and_permissions(ticket_service: TicketService) -> None:
    made, _ = _make_world(ticket_service)
    supervisor = make_actor(ticket_service, Role.SUPERVISOR)
    april = ticket_service.stats(
        actor=supervisor,
        created_from=datetime(2026, 4, 1),  # read as Vietnam time
        created_to=datetime(2026, 5, 1),
        period=Period.DAY,
    )
    in_april = [r for r in made if r.created_at.astimezone(VIETNAM_TIME).month == 4]
    assert april.overall.total == len(in_april) == 2
    assert [g.key for g in april.by_period] == ["2026-04-06", "2026-04-28"]
    with pytest.raises(PermissionDenied):
        ticket_service.stats(actor=make_actor(ticket_service, Role.OPERATOR))
