"""An in-memory ``TicketIntake`` for unit tests only (integration tests use the real service)."""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tickets.intake import (
    Channel,
    Contact,
    ContactRequest,
    EntryKind,
    TicketKind,
    TicketRef,
    TicketSummary,
)


@dataclass
class FakeTicket:
    id: int
    number: str
    request: ContactRequest
    status: str = "new"
    version: int = 1
    log: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


class FakeIntake:
    """Keeps tickets in a dict and every call in ``log``; ``fail_transfer`` makes transfer raise."""

    def __init__(self) -> None:
        self.tickets: dict[int, FakeTicket] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self.fail_transfer: Exception | None = None

    def open_or_append(self, request: ContactRequest) -> TicketRef:
        with self._lock:
            for ticket in self.tickets.values():
                same = (ticket.request.channel, ticket.request.thread_key)
                if same == (request.channel, request.thread_key) and ticket.status != "closed":
                    ticket.log.append(("append", {"content": request.content}))
                    return TicketRef(ticket.id, ticket.number, ticket.status, ticket.version, False)
            ticket_id = next(self._ids)
            ticket = FakeTicket(ticket_id, f"1022-2026-{ticket_id:06d}", request)
            self.tickets[ticket_id] = ticket
            return TicketRef(ticket_id, ticket.number, "new", 1, True)

    def find_open(self, channel: Channel, thread_key: str) -> TicketRef | None:
        for ticket in self.tickets.values():
            if (ticket.request.channel, ticket.request.thread_key) == (channel, thread_key):
                return TicketRef(ticket.id, ticket.number, ticket.status, ticket.version, False)
        return None

    def add_entry(self, ticket_id: int, *, kind: EntryKind, text: str, actor: str) -> None:
        self.tickets[ticket_id].log.append(("entry", {"kind": kind, "text": text, "actor": actor}))

    def attach_recording(
        self, ticket_id: int, *, uri: str, duration_seconds: float | None, actor: str
    ) -> None:
        self.tickets[ticket_id].log.append(
            ("recording", {"uri": uri, "duration": duration_seconds, "actor": actor})
        )

    def record_call(
        self, ticket_id: int, *, duration_seconds: float, outcome: str, actor: str
    ) -> None:
        self.tickets[ticket_id].log.append(
            ("call", {"duration": duration_seconds, "outcome": outcome, "actor": actor})
        )

    def transfer(self, ticket_id: int, *, agency_code: str, reason: str, actor: str) -> TicketRef:
        if self.fail_transfer is not None:
            raise self.fail_transfer
        ticket = self.tickets[ticket_id]
        ticket.status = "transferred"
        ticket.log.append(("transfer", {"agency": agency_code, "reason": reason, "actor": actor}))
        return TicketRef(ticket.id, ticket.number, ticket.status, ticket.version, False)

    def history_for_contact(self, contact: Contact, *, limit: int = 10) -> list[TicketSummary]:
        found = [
            TicketSummary(
                id=t.id,
                number=t.number,
                channel=t.request.channel,
                kind=TicketKind.QUESTION,
                status=t.status,
                field=None,
                summary=t.request.content[:80],
                created_at=datetime(2026, 1, 1, tzinfo=UTC),
                answered_at=None,
            )
            for t in self.tickets.values()
            if contact.phone and t.request.contact.phone == contact.phone
        ]
        return sorted(found, key=lambda s: -s.id)[:limit]

    def actions(self, ticket_id: int) -> list[str]:
        return [kind for kind, _ in self.tickets[ticket_id].log]
