"""Curated answers from an editor's JSON Lines or CSV file, and from answered tickets."""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from ingestion.connectors.base import Connector, ItemRef
from ingestion.connectors.curated import (
    AnsweredTicketSource,
    ApprovedAnswer,
    ApprovedTicketConnector,
    CuratedAnswerConnector,
)
from ingestion.errors import ConnectorError, RecordError
from ingestion.models import CuratedAnswer
from search.errors import ConfigurationError, PlatformError

VIETNAM = timezone(timedelta(hours=7))
COLUMNS = ["id", "question", "answer", "field", "procedure_codes", "approved_by", "approved_at"]

APPROVED_ROW = {
    "id": "cccd-01",
    "question": "Làm căn cước cho trẻ dưới 6 tuổi ở đâu?",
    "answer": "Cha, mẹ hoặc người giám hộ làm thủ tục qua ứng dụng VNeID hoặc Cổng dịch vụ công.",
    "field": "Căn cước",
    "procedure_codes": ["1.001193", "1.000948.H38"],
    "approved_by": "bien-tap-vien-1",
    "approved_at": "2026-03-01T09:30:00",
}


def write_jsonl(path: Path, lines: Sequence[Any]) -> Path:
    path.write_text(
        "\n".join(
            line if isinstance(line, str) else json.dumps(line, ensure_ascii=False)
            for line in lines
        )
        + "\n",
        encoding="utf-8",
    )
    return path


def write_csv(path: Path, rows: Sequence[dict[str, Any]], *, bom: bool = False) -> Path:
    with path.open("w", encoding="utf-8-sig" if bom else "utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return path


def _all(connector: CuratedAnswerConnector) -> list[CuratedAnswer]:
    return [connector.normalize(connector.fetch(ref)) for ref in connector.list_items()]


class TestCuratedFile:
    def test_jsonl_row_becomes_curated_answer(self, tmp_path: Path) -> None:
        connector = CuratedAnswerConnector(write_jsonl(tmp_path / "a.jsonl", [APPROVED_ROW]))

        (answer,) = _all(connector)

        assert answer.answer_key == "cccd-01"
        assert answer.doc_id == "answer:cccd-01"
        assert answer.question == APPROVED_ROW["question"]
        assert answer.procedure_codes == ["1.001193", "1.000948.H38"]
        assert answer.approved_by == "bien-tap-vien-1"
        assert answer.approved_at == datetime(2026, 3, 1, 9, 30, tzinfo=VIETNAM)
        assert answer.origin == "editor"
        assert answer.content_hash

    def test_csv_with_bom_and_multiline_answer(self, tmp_path: Path) -> None:
        row = dict(
            APPROVED_ROW,
            answer="Bước 1: khai báo.\nBước 2: nộp lệ phí.",
            procedure_codes="1.001193; 1.000948.H38|2.000815",
            approved_at="01/03/2026",
        )
        connector = CuratedAnswerConnector(write_csv(tmp_path / "a.csv", [row], bom=True))

        (answer,) = _all(connector)

        assert answer.answer == "Bước 1: khai báo.\nBước 2: nộp lệ phí."
        assert answer.procedure_codes == ["1.001193", "1.000948.H38", "2.000815"]
        assert answer.approved_at == datetime(2026, 3, 1, tzinfo=VIETNAM)

    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            ("2026-03-01T02:30:00Z", datetime(2026, 3, 1, 2, 30, tzinfo=UTC)),
            ("2026-03-01", datetime(2026, 3, 1, tzinfo=VIETNAM)),
            ("", None),
            (None, None),
        ],
    )
    def test_approval_times(self, tmp_path: Path, value: Any, expected: Any) -> None:
        row = dict(APPROVED_ROW, approved_at=value)
        connector = CuratedAnswerConnector(write_jsonl(tmp_path / "a.jsonl", [row]))

        assert _all(connector)[0].approved_at == expected

    def test_key_defaults_to_a_hash_of_the_question(self, tmp_path: Path) -> None:
        row = {k: v for k, v in APPROVED_ROW.items() if k != "id"}
        spaced = dict(row, question="  " + row["question"].upper() + "  ")
        first = CuratedAnswerConnector(write_jsonl(tmp_path / "a.jsonl", [row])).list_items()
        second = CuratedAnswerConnector(write_jsonl(tmp_path / "b.jsonl", [spaced])).list_items()

        assert first[0].source_id.startswith("q-")
        assert first[0].source_id == second[0].source_id

    @pytest.mark.parametrize("missing", ["approved_by", "question", "answer"])
    def test_row_missing_required_field_is_listed_then_fails(
        self, tmp_path: Path, missing: str
    ) -> None:
        bad = dict(APPROVED_ROW, id="bad", **{missing: "  "})
        good = dict(APPROVED_ROW, id="good")
        connector = CuratedAnswerConnector(write_jsonl(tmp_path / "a.jsonl", [bad, good]))
        refs = {ref.source_id: ref for ref in connector.list_items()}

        with pytest.raises(RecordError, match=missing) as caught:
            connector.normalize(connector.fetch(refs["bad"]))

        assert caught.value.source_id == "bad"
        assert connector.normalize(connector.fetch(refs["good"])).answer_key == "good"

    def test_csv_row_without_approver_fails(self, tmp_path: Path) -> None:
        row = dict(APPROVED_ROW, approved_by="", procedure_codes="1.001193")
        connector = CuratedAnswerConnector(write_csv(tmp_path / "a.csv", [row]))
        (ref,) = connector.list_items()

        with pytest.raises(RecordError, match="approved_by"):
            connector.normalize(connector.fetch(ref))

    def test_malformed_jsonl_line_is_listed_then_fails(self, tmp_path: Path) -> None:
        path = write_jsonl(tmp_path / "a.jsonl", [APPROVED_ROW, "{not json", "[1, 2]", ""])
        connector = CuratedAnswerConnector(path)
        refs = connector.list_items()

        assert [ref.source_id for ref in refs] == ["cccd-01", "line-2", "line-3"]
        for ref in refs[1:]:
            assert ref.version == ""
            with pytest.raises(RecordError, match="not a JSON object"):
                connector.normalize(connector.fetch(ref))

    def test_unreadable_approval_time_fails(self, tmp_path: Path) -> None:
        row = dict(APPROVED_ROW, approved_at="hôm qua")
        connector = CuratedAnswerConnector(write_jsonl(tmp_path / "a.jsonl", [row]))
        (ref,) = connector.list_items()

        with pytest.raises(RecordError, match="approved_at"):
            connector.normalize(connector.fetch(ref))

    def test_duplicate_keys_fail_the_listing(self, tmp_path: Path) -> None:
        path = write_jsonl(tmp_path / "a.jsonl", [APPROVED_ROW, dict(APPROVED_ROW, answer="Khác")])

        with pytest.raises(ConnectorError, match="lines 1 and 2"):
            CuratedAnswerConnector(path).list_items()

    def test_csv_without_question_column_fails_the_listing(self, tmp_path: Path) -> None:
        path = tmp_path / "a.csv"
        path.write_text("cau_hoi,tra_loi\nA,B\n", encoding="utf-8")

        with pytest.raises(ConnectorError, match="header row"):
            CuratedAnswerConnector(path).list_items()

    def test_not_utf8_fails_the_listing(self, tmp_path: Path) -> None:
        path = tmp_path / "a.csv"
        path.write_bytes("question,answer\nCâu hỏi,Trả lời\n".encode("utf-16"))

        with pytest.raises(ConnectorError, match="cannot read"):
            CuratedAnswerConnector(path).list_items()

    def test_edited_row_changes_version_and_removed_row_fails_fetch(self, tmp_path: Path) -> None:
        other = dict(APPROVED_ROW, id="khac", question="Câu hỏi khác?")
        path = write_jsonl(tmp_path / "a.jsonl", [APPROVED_ROW, other])
        connector = CuratedAnswerConnector(path)
        before = {ref.source_id: ref.version for ref in connector.list_items()}

        write_jsonl(path, [dict(APPROVED_ROW, answer="Câu trả lời đã sửa, dài hơn trước.")])
        (after,) = connector.list_items()

        assert connector.has_changed(after, before["cccd-01"])
        assert connector.normalize(connector.fetch(after)).answer.endswith("dài hơn trước.")
        with pytest.raises(RecordError, match="no longer"):
            connector.fetch(ItemRef(source_id="khac"))

    def test_missing_file_raises(self, tmp_path: Path) -> None:
        with pytest.raises(ConfigurationError, match="does not exist"):
            CuratedAnswerConnector(tmp_path / "absent.jsonl")

    def test_other_file_type_raises(self, tmp_path: Path) -> None:
        path = tmp_path / "a.xlsx"
        path.write_bytes(b"PK")

        with pytest.raises(ConfigurationError, match=r"\.jsonl or \.csv"):
            CuratedAnswerConnector(path)

    def test_satisfies_the_connector_protocol(self, tmp_path: Path) -> None:
        connector = CuratedAnswerConnector(write_jsonl(tmp_path / "a.jsonl", [APPROVED_ROW]))

        assert isinstance(connector, Connector)
        assert connector.name == "curated-answers"


@dataclass
class TicketAnswer:
    """What a ticket system might hand over: not a CuratedAnswer, but shaped like one."""

    answer_key: str
    question: str
    answer: str
    approved_by: str
    field: str = ""
    procedure_codes: tuple[str, ...] = ()
    approved_at: datetime | None = None


@dataclass
class FakeTicketSource:
    answers: list[ApprovedAnswer] = field(default_factory=list)
    error: Exception | None = None
    calls: int = 0

    def approved_answers(self) -> Sequence[ApprovedAnswer]:
        self.calls += 1
        if self.error is not None:
            raise self.error
        return list(self.answers)


def _ticket(key: str = "T-1001", **overrides: Any) -> TicketAnswer:
    values: dict[str, Any] = {
        "answer_key": key,
        "question": "Đăng ký kết hôn cần giấy tờ gì?",
        "answer": "Tờ khai đăng ký kết hôn và giấy tờ tùy thân của hai bên.",
        "approved_by": "truong-ca-2",
        "procedure_codes": ("1.000894",),
        "approved_at": datetime(2026, 2, 3, 8, 0, tzinfo=VIETNAM),
    }
    values.update(overrides)
    return TicketAnswer(**values)


class TestApprovedTickets:
    def test_source_protocol_is_structural(self) -> None:
        source = FakeTicketSource()

        assert isinstance(source, AnsweredTicketSource)
        assert isinstance(ApprovedTicketConnector(source), Connector)

    def test_ticket_answers_become_curated_answers(self) -> None:
        source = FakeTicketSource([_ticket(), _ticket("T-1002", question="Câu hỏi thứ hai?")])
        connector = ApprovedTicketConnector(source)

        answers = [connector.normalize(connector.fetch(ref)) for ref in connector.list_items()]

        assert [a.answer_key for a in answers] == ["T-1001", "T-1002"]
        assert all(a.origin == "ticket" for a in answers)
        assert answers[0].procedure_codes == ["1.000894"]
        assert answers[0].approved_at == datetime(2026, 2, 3, 8, 0, tzinfo=VIETNAM)
        assert source.calls == 1  # fetch reuses what the listing read

    def test_curated_answer_objects_are_accepted(self) -> None:
        curated = CuratedAnswer(
            answer_key="E-1", question="Hỏi?", answer="Đáp.", approved_by="bien-tap-vien-1"
        )
        connector = ApprovedTicketConnector(FakeTicketSource([curated]))

        (ref,) = connector.list_items()

        assert connector.normalize(connector.fetch(ref)).question == "Hỏi?"

    def test_answer_without_approver_is_listed_then_fails(self) -> None:
        connector = ApprovedTicketConnector(FakeTicketSource([_ticket(approved_by="")]))
        (ref,) = connector.list_items()

        with pytest.raises(RecordError, match="approved_by"):
            connector.normalize(connector.fetch(ref))

    def test_changed_answer_changes_version(self) -> None:
        source = FakeTicketSource([_ticket()])
        connector = ApprovedTicketConnector(source)
        (before,) = connector.list_items()

        source.answers = [_ticket(answer="Câu trả lời đã được biên tập lại.")]
        (after,) = connector.list_items()

        assert connector.has_changed(after, before.version)

    def test_withdrawn_answer_fails_fetch(self) -> None:
        source = FakeTicketSource([_ticket()])
        connector = ApprovedTicketConnector(source)
        connector.list_items()
        source.answers = []
        connector.list_items()

        with pytest.raises(RecordError, match="no longer offered"):
            connector.fetch(ItemRef(source_id="T-1001"))

    @pytest.mark.parametrize("error", [PlatformError("ticket store down"), OSError("reset")])
    def test_source_failure_raises_connector_error(self, error: Exception) -> None:
        connector = ApprovedTicketConnector(FakeTicketSource(error=error))

        with pytest.raises(ConnectorError) as caught:
            connector.list_items()

        assert caught.value.__cause__ is error

    def test_duplicate_keys_fail_the_listing(self) -> None:
        connector = ApprovedTicketConnector(FakeTicketSource([_ticket(), _ticket()]))

        with pytest.raises(ConnectorError, match="share the key"):
            connector.list_items()
