"""Small rules: ticket numbers, masking of personal data, folded search text, export cells."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tickets.errors import TicketError
from tickets.export import ExportFormat, _cell
from tickets.schemas import Actor
from tickets.service import mask_personal, search_text_of, ticket_number
from tickets.workflow import Role


def test_ticket_number_uses_the_year_in_vietnam() -> None:
    # 17:30 UTC on 31 December is already 1 January in Vietnam.
    assert ticket_number(7, datetime(2026, 12, 31, 17, 30, tzinfo=UTC)) == "1022-2027-000007"
    assert ticket_number(1_234_567, datetime(2026, 6, 1, tzinfo=UTC)) == "1022-2026-1234567"


def test_mask_keeps_only_the_last_two_characters() -> None:
    assert mask_personal("0900000123") == "********23"
    assert mask_personal("ab") == "**"
    assert mask_personal(None) is None


def test_search_text_is_folded_and_single_spaced() -> None:
    assert search_text_of("  Làm LẠI\n căn   cước ") == "lam lai can cuoc"
    assert search_text_of("Đăng ký") == "dang ky"


@pytest.mark.parametrize("value", ["=1+1", "+cmd", "-2", "@SUM(A1)"])
def test_export_cells_never_start_a_formula(value: str) -> None:
    assert _cell(value) == "'" + value


def test_export_cells_show_times_in_vietnam_and_join_lists() -> None:
    assert _cell(datetime(2026, 3, 2, 2, 0, tzinfo=UTC)) == "2026-03-02 09:00:00+07:00"
    assert _cell(["1.1", "1.2"]) == "1.1; 1.2"
    assert _cell(None) == ""


def test_export_format_names_allowed_values() -> None:
    assert ExportFormat.from_str("CSV") is ExportFormat.CSV
    with pytest.raises(TicketError, match="json, csv, xlsx"):
        ExportFormat.from_str("docx")


def test_system_actor_from_a_name() -> None:
    actor = Actor.of("system:zalo")
    assert (actor.username, actor.role, actor.user_id) == ("system:zalo", Role.SYSTEM, None)
    human = Actor(username="op", role=Role.OPERATOR, user_id=3)
    assert Actor.of(human) is human


def test_xlsx_shows_control_characters_instead_of_failing() -> None:
    import io
    from datetime import UTC, datetime

    from openpyxl import load_workbook

    from tickets.export import render_export
    from tickets.intake import Channel, TicketKind, Urgency
    from tickets.schemas import TicketOut
    from tickets.workflow import Status

    moment = datetime(2026, 3, 2, tzinfo=UTC)
    ticket = TicketOut(
        id=1, number="1022-2026-000001", channel=Channel.PHONE, thread_key=None,
        kind=TicketKind.QUESTION, urgency=Urgency.NORMAL, field=None, status=Status.NEW,
        content="Hỏi\x01 thủ tục\x0b khai\tsinh", public=False, contact_name=None,
        contact_phone=None, contact_email=None, contact_social_id=None, procedure_codes=[],
        operator_id=None, agency_code=None, answer=None, answered_at=None, closed_at=None,
        due_at=None, recording_uri=None, recording_seconds=None, call_seconds=None,
        call_outcome=None, merged_into_id=None, version=1, created_at=moment, updated_at=moment,
    )  # fmt: skip
    exported = render_export([ticket], {}, ExportFormat.XLSX, generated_at=moment)
    sheet = load_workbook(io.BytesIO(exported.content))["Tickets"]
    assert sheet["H2"].value == "Hỏi\u2401 thủ tục\u240b khai\tsinh"
