"""Statistics for supervisors: counts and SLA compliance by field, channel, agency, status and
period; each operator's workload and median handling time; overdue counts.

Definitions (the test suite recomputes every figure from them):

- a ticket counts in a report when it was created in ``[created_from, created_to)``; tickets merged
  into another are duplicates and are left out;
- ``answered``: it has an answer time; ``pending``: its status still waits for an answer;
- ``overdue``: pending and past its deadline at the report's time;
- ``sla_met``: answered no later than its deadline; ``sla_missed``: answered after its deadline,
  or overdue; ``compliance = sla_met / (sla_met + sla_missed)``, ``None`` when both are 0;
- periods are calendar days, ISO weeks (starting Monday) or months, in Vietnam time, keyed by their
  first day;
- an operator's handling time is from creation to answer, over the tickets assigned to them that
  have an answer; the median is in hours.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import Enum

from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tickets.models import Ticket, User
from tickets.sla import is_overdue, vietnam_date
from tickets.workflow import PENDING_STATUSES


class Period(str, Enum):
    """How the timeline of a report is cut."""

    DAY = "day"
    WEEK = "week"
    MONTH = "month"

    def start_of(self, day: date) -> date:
        """The first day of the period that contains ``day``."""
        if self is Period.DAY:
            return day
        if self is Period.WEEK:
            return day - timedelta(days=day.weekday())
        return day.replace(day=1)


class GroupStats(BaseModel):
    """Counts and SLA compliance of one group of tickets."""

    key: str
    total: int = 0
    answered: int = 0
    pending: int = 0
    overdue: int = 0
    sla_met: int = 0
    sla_missed: int = 0
    compliance: float | None = None


class OperatorStats(BaseModel):
    """One operator's workload."""

    operator_id: int
    username: str
    assigned: int
    pending: int
    answered: int
    median_handling_hours: float | None


class StatsReport(BaseModel):
    """A supervisor's report."""

    generated_at: datetime
    created_from: datetime | None
    created_to: datetime | None
    period: Period
    overall: GroupStats
    by_field: list[GroupStats]
    by_channel: list[GroupStats]
    by_agency: list[GroupStats]
    by_status: list[GroupStats]
    by_period: list[GroupStats]
    operators: list[OperatorStats]
    merged_excluded: int = 0
    """Tickets of the period merged into another: duplicates, left out of every figure above
    (the ticket list shows them, closed)."""


@dataclass(frozen=True)
class _Row:
    id: int
    field: str | None
    channel: str
    agency_code: str | None
    status: str
    operator_id: int | None
    created_at: datetime
    answered_at: datetime | None
    due_at: datetime | None


def _accumulate(group: GroupStats, row: _Row, now: datetime) -> None:
    group.total += 1
    late = is_overdue(row.status, row.due_at, now)
    group.pending += row.status in PENDING_STATUSES
    group.overdue += late
    if row.answered_at is not None:
        group.answered += 1
        if row.due_at is not None:
            if row.answered_at <= row.due_at:
                group.sla_met += 1
            else:
                group.sla_missed += 1
    elif late:
        group.sla_missed += 1


def _finish(groups: dict[str, GroupStats]) -> list[GroupStats]:
    for group in groups.values():
        decided = group.sla_met + group.sla_missed
        group.compliance = round(group.sla_met / decided, 4) if decided else None
    return [groups[key] for key in sorted(groups)]


def _grouped(
    rows: Iterable[_Row], key_of: Callable[[_Row], str | None], now: datetime
) -> list[GroupStats]:
    groups: dict[str, GroupStats] = {}
    for row in rows:
        key = key_of(row) or ""
        group = groups.setdefault(key, GroupStats(key=key))
        _accumulate(group, row, now)
    return _finish(groups)


def compute_stats(
    session: Session,
    *,
    now: datetime,
    created_from: datetime | None,
    created_to: datetime | None,
    period: Period,
) -> StatsReport:
    """The report over tickets created in ``[created_from, created_to)``."""
    query = select(
        Ticket.id,
        Ticket.field,
        Ticket.channel,
        Ticket.agency_code,
        Ticket.status,
        Ticket.operator_id,
        Ticket.created_at,
        Ticket.answered_at,
        Ticket.due_at,
    )
    merged = select(func.count()).select_from(Ticket).where(Ticket.merged_into_id.is_not(None))
    if created_from is not None:
        query = query.where(Ticket.created_at >= created_from)
        merged = merged.where(Ticket.created_at >= created_from)
    if created_to is not None:
        query = query.where(Ticket.created_at < created_to)
        merged = merged.where(Ticket.created_at < created_to)
    query = query.where(Ticket.merged_into_id.is_(None))
    rows = [_Row(*row) for row in session.execute(query)]
    overall = GroupStats(key="all")
    for row in rows:
        _accumulate(overall, row, now)
    _finish({"all": overall})
    return StatsReport(
        generated_at=now,
        created_from=created_from,
        created_to=created_to,
        period=period,
        overall=overall,
        by_field=_grouped(rows, lambda r: r.field, now),
        by_channel=_grouped(rows, lambda r: r.channel, now),
        by_agency=_grouped(rows, lambda r: r.agency_code, now),
        by_status=_grouped(rows, lambda r: r.status, now),
        by_period=_grouped(
            rows, lambda r: period.start_of(vietnam_date(r.created_at)).isoformat(), now
        ),
        operators=_operators(session, rows),
        merged_excluded=session.scalar(merged) or 0,
    )


def _operators(session: Session, rows: list[_Row]) -> list[OperatorStats]:
    by_operator: dict[int, list[_Row]] = defaultdict(list)
    for row in rows:
        if row.operator_id is not None:
            by_operator[row.operator_id].append(row)
    if not by_operator:
        return []
    query = select(User.id, User.username).where(User.id.in_(list(by_operator)))
    names: dict[int, str] = {row.id: row.username for row in session.execute(query)}
    report = []
    for operator_id in sorted(by_operator):
        assigned = by_operator[operator_id]
        hours = [
            (r.answered_at - r.created_at).total_seconds() / 3600
            for r in assigned
            if r.answered_at is not None
        ]
        report.append(
            OperatorStats(
                operator_id=operator_id,
                username=names.get(operator_id, ""),
                assigned=len(assigned),
                pending=sum(r.status in PENDING_STATUSES for r in assigned),
                answered=len(hours),
                median_handling_hours=round(statistics.median(hours), 4) if hours else None,
            )
        )
    return report
