"""Export of tickets with their processing log, as JSON, CSV or XLSX.

- JSON: ``{"generated_at", "tickets": [{…ticket…, "events": [...]}]}``, times in UTC.
- CSV: one row per log line, the ticket's columns repeated on each, UTF-8 with a byte-order mark
  so that Excel shows Vietnamese letters; times in Vietnam time.
- XLSX: a "Tickets" sheet (one row per ticket) and a "Log" sheet (one row per log line).

Control characters that XLSX cannot hold are shown as their Unicode control pictures (U+0001
becomes "␁"). Cells that a spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``
or ``@``) are written as text, so a citizen's message can never execute in the reader's
spreadsheet.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from tickets.errors import TicketError
from tickets.schemas import EventOut, TicketOut
from tickets.sla import VIETNAM_TIME

TICKET_COLUMNS = (
    "number", "channel", "kind", "urgency", "field", "status", "public", "content",
    "contact_name", "contact_phone", "contact_email", "contact_social_id", "procedure_codes",
    "operator_id", "agency_code", "answer", "created_at", "due_at", "overdue", "answered_at",
    "closed_at", "merged_into_id", "recording_uri", "recording_seconds", "call_seconds",
    "call_outcome", "version",
)  # fmt: skip
EVENT_COLUMNS = ("at", "actor", "action", "field", "old_value", "new_value", "text")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class ExportFormat(str, Enum):
    """File formats of an export."""

    JSON = "json"
    CSV = "csv"
    XLSX = "xlsx"

    @classmethod
    def from_str(cls, value: ExportFormat | str) -> ExportFormat:
        """The format named ``value``.

        Raises:
            TicketError: not a format; the message lists the allowed ones.
        """
        try:
            return cls(str(value).lower() if not isinstance(value, cls) else value)
        except ValueError:
            allowed = ", ".join(f.value for f in cls)
            raise TicketError(f"unknown export format {value!r}; allowed: {allowed}") from None


@dataclass(frozen=True)
class ExportFile:
    """An export ready to send: bytes, media type and a file name."""

    content: bytes
    media_type: str
    filename: str


def render_export(
    tickets: Sequence[TicketOut],
    logs: Mapping[int, Sequence[EventOut]],
    fmt: ExportFormat,
    *,
    generated_at: datetime,
) -> ExportFile:
    """The tickets and their logs in ``fmt``."""
    stamp = generated_at.astimezone(VIETNAM_TIME).strftime("%Y%m%d-%H%M%S")
    name = tickets[0].number if len(tickets) == 1 else f"tickets-{stamp}"
    if fmt is ExportFormat.JSON:
        return ExportFile(_json(tickets, logs, generated_at), "application/json", f"{name}.json")
    if fmt is ExportFormat.CSV:
        return ExportFile(_csv(tickets, logs), "text/csv; charset=utf-8", f"{name}.csv")
    return ExportFile(
        _xlsx(tickets, logs),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        f"{name}.xlsx",
    )


def _json(
    tickets: Sequence[TicketOut], logs: Mapping[int, Sequence[EventOut]], generated_at: datetime
) -> bytes:
    body = {
        "generated_at": generated_at.isoformat(),
        "tickets": [
            {
                **ticket.model_dump(mode="json"),
                "events": [event.model_dump(mode="json") for event in logs.get(ticket.id, [])],
            }
            for ticket in tickets
        ],
    }
    return json.dumps(body, ensure_ascii=False, indent=2).encode("utf-8")


def _cell(value: Any) -> Any:
    """A value as a spreadsheet cell: local times, joined lists, formulas defused."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(VIETNAM_TIME).isoformat(sep=" ", timespec="seconds")
    if isinstance(value, list | tuple):
        return "; ".join(str(item) for item in value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _ticket_cells(ticket: TicketOut) -> list[Any]:
    return [_cell(getattr(ticket, column)) for column in TICKET_COLUMNS]


def _event_cells(event: EventOut) -> list[Any]:
    return [_cell(getattr(event, column)) for column in EVENT_COLUMNS]


def _csv(tickets: Sequence[TicketOut], logs: Mapping[int, Sequence[EventOut]]) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow([*TICKET_COLUMNS, *(f"event_{c}" for c in EVENT_COLUMNS)])
    for ticket in tickets:
        cells = _ticket_cells(ticket)
        events = logs.get(ticket.id, [])
        if not events:
            writer.writerow(cells + [""] * len(EVENT_COLUMNS))
        for event in events:
            writer.writerow(cells + _event_cells(event))
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _xlsx(tickets: Sequence[TicketOut], logs: Mapping[int, Sequence[EventOut]]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None  # a new workbook always has one sheet
    sheet.title = "Tickets"
    sheet.append(list(TICKET_COLUMNS))
    log_sheet = workbook.create_sheet("Log")
    log_sheet.append(["number", *EVENT_COLUMNS])
    for ticket in tickets:
        _append_text_safe(sheet, _ticket_cells(ticket))
        for event in logs.get(ticket.id, []):
            _append_text_safe(log_sheet, [ticket.number, *_event_cells(event)])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _visible_controls(value: Any) -> Any:
    """XLSX cannot hold most control characters; show each as its Unicode control picture."""
    if isinstance(value, str):
        return ILLEGAL_CHARACTERS_RE.sub(lambda m: chr(0x2400 + ord(m.group())), value)
    return value


def _append_text_safe(sheet: Any, cells: list[Any]) -> None:
    sheet.append([_visible_controls(cell) for cell in cells])
    for cell in sheet[sheet.max_row]:
        # openpyxl reads any string starting with "=" as a formula; pin strings to text.
        if isinstance(cell.value, str):
            cell.data_type = "s"
