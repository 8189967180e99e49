"""Export of one ticket or a filtered set, each with its processing log."""

from __future__ import annotations

import csv
import io
import json

import pytest
from openpyxl import load_workbook

from tests.utils.tickets import make_actor, make_agency, make_ticket
from tickets.errors import TicketError, TicketNotFound
from tickets.intake import Channel
from tickets.schemas import TicketFilters
from tickets.service import TicketService
from tickets.workflow import Role

pytestmark = pytest.mark.integration

ANSWER = "Công dân đến Ủy ban nhân dân phường để làm thủ tục."


def _answered(service: TicketService, content: str, channel: Channel = Channel.PHONE) -> int:
    operator = make_actor(service)
    ticket = make_ticket(service, operator, content=content, channel=channel, field="Hộ tịch")
    service.classify(ticket.id, actor=operator)
    service.answer(ticket.id, text=ANSWER, actor=operator)
    return ticket.id


def test_one_ticket_as_json_carries_its_whole_log(ticket_service: TicketService) -> None:
    ticket_id = _answered(ticket_service, "Đăng ký khai sinh cho con")
    exported = ticket_service.export(actor="system:test", fmt="json", ticket_ids=[ticket_id])
    assert exported.media_type == "application/json"
    number = ticket_service.get(ticket_id).number
    assert exported.filename == f"{number}.json"
    body = json.loads(exported.content.decode("utf-8"))
    (ticket,) = body["tickets"]
    assert ticket["number"] == number and ticket["answer"] == ANSWER
    logged = [(e["action"], e["field"], e["new_value"]) for e in ticket["events"]]
    assert logged == [(e.action, e.field, e.new_value) for e in ticket_service.events(ticket_id)]
    assert ("answer", "answer", ANSWER) in logged


def test_filtered_set_as_csv_opens_in_excel_with_vietnamese(ticket_service: TicketService) -> None:
    first = _answered(ticket_service, "Đăng ký khai sinh", Channel.ZALO)
    formula = _answered(ticket_service, '=HYPERLINK("http://example.invalid")', Channel.ZALO)
    _answered(ticket_service, "Hỏi qua điện thoại", Channel.PHONE)
    exported = ticket_service.export(
        actor="system:test", fmt="csv", filters=TicketFilters(channel=[Channel.ZALO])
    )
    assert exported.content.startswith("\ufeff".encode())
    rows = list(csv.DictReader(io.StringIO(exported.content.decode("utf-8-sig"))))
    numbers = {ticket_service.get(i).number for i in (first, formula)}
    assert {row["number"] for row in rows} == numbers
    expected_lines = sum(len(ticket_service.events(i)) for i in (first, formula))
    assert len(rows) == expected_lines  # one row per log line
    assert any(row["content"] == "Đăng ký khai sinh" for row in rows)
    assert any(row["event_new_value"] == ANSWER for row in rows)
    dangerous = [row["content"] for row in rows if "HYPERLINK" in row["content"]]
    assert dangerous and all(cell.startswith("'=") for cell in dangerous)


def test_xlsx_has_tickets_and_log_sheets(ticket_service: TicketService) -> None:
    ids = [_answered(ticket_service, f"Câu hỏi {n}") for n in range(3)]
    exported = ticket_service.export(actor="system:test", fmt="XLSX", ticket_ids=ids)
    workbook = load_workbook(io.BytesIO(exported.content))
    assert workbook.sheetnames == ["Tickets", "Log"]
    tickets_sheet, log_sheet = workbook["Tickets"], workbook["Log"]
    header = [cell.value for cell in tickets_sheet[1]]
    rows = [
        dict(zip(header, (c.value for c in row), strict=True))
        for row in tickets_sheet.iter_rows(min_row=2)
    ]
    assert [row["number"] for row in rows] == [ticket_service.get(i).number for i in ids]
    assert rows[0]["content"] == "Câu hỏi 0" and rows[0]["answer"] == ANSWER
    log_rows = list(log_sheet.iter_rows(min_row=2, values_only=True))
    assert len(log_rows) == sum(len(ticket_service.events(i)) for i in ids)


def test_export_respects_visibility_and_refuses_bad_requests(
    ticket_service: TicketService,
) -> None:
    agency = make_agency(ticket_service)
    liaison = make_actor(ticket_service, Role.AGENCY_LIAISON, agency_code=agency.code)
    hidden = _answered(ticket_service, "Không thuộc cơ quan")
    with pytest.raises(TicketNotFound):
        ticket_service.export(actor=liaison, fmt="json", ticket_ids=[hidden])
    mine = ticket_service.export(actor=liaison, fmt="json", filters=TicketFilters())
    assert json.loads(mine.content)["tickets"] == []
    with pytest.raises(TicketError, match="allowed: json, csv, xlsx"):
        ticket_service.export(actor="system:test", fmt="pdf", ticket_ids=[hidden])
    with pytest.raises(TicketError, match="ticket_ids or filters"):
        ticket_service.export(actor="system:test", fmt="json")
