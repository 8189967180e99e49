"""The knowledge model: what the hotline knows, in normalized form, beside its raw source.

Glossary (one English name per Vietnamese term, used throughout the code):

- procedure: thủ tục hành chính (TTHC), identified by its ``code`` (mã thủ tục, "1.001193",
  provincial forms "1.000948.H38").
- level: cấp thực hiện (Cấp bộ, Cấp tỉnh, Cấp xã).
- field: lĩnh vực (Hộ tịch, Đất đai …).
- submission method: cách thức thực hiện, one per channel (trực tiếp, trực tuyến, bưu chính),
  each with its processing time (thời hạn giải quyết) and fees (phí, lệ phí).
- dossier component: thành phần hồ sơ, with how many originals (bản chính) and copies (bản sao).
- legal basis: căn cứ pháp lý.
- policy document: văn bản chính sách/pháp luật.
- curated answer: a question and answer approved by an editor, possibly from an answered ticket.
- source record: one record exactly as a connector received it (``raw``), kept beside its
  normalized form so an editor can compare them.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime
from enum import Enum
from typing import Any

from pydantic import BaseModel, Field


def utc_now() -> datetime:
    return datetime.now(UTC)


def stable_hash(value: Any) -> str:
    """Hash a JSON-serialisable value independently of key order."""
    canonical = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class RecordKind(str, Enum):
    """What a source record becomes once normalized."""

    PROCEDURE = "procedure"
    POLICY_DOCUMENT = "policy_document"
    CURATED_ANSWER = "curated_answer"

    @classmethod
    def from_str(cls, value: str) -> RecordKind:
        try:
            return cls(value)
        except ValueError:
            allowed = ", ".join(kind.value for kind in cls)
            raise ValueError(f"unknown record kind {value!r}; allowed: {allowed}") from None


class SourceRecord(BaseModel):
    """One record exactly as its connector received it."""

    source: str = Field(description="Name of the connector that produced the record.")
    source_id: str = Field(description="The record's id inside its source.")
    kind: RecordKind
    raw: dict[str, Any]
    url: str = ""
    fetched_at: datetime = Field(default_factory=utc_now)

    @property
    def content_hash(self) -> str:
        return stable_hash(self.raw)


class SubmissionChannel(str, Enum):
    """How a dossier can be submitted."""

    DIRECT = "direct"  # Trực tiếp
    ONLINE = "online"  # Trực tuyến
    POSTAL = "postal"  # Dịch vụ bưu chính
    OTHER = "other"


class TimeUnit(str, Enum):
    WORKING_DAY = "working_day"
    DAY = "day"
    HOUR = "hour"
    WEEK = "week"
    MONTH = "month"
    YEAR = "year"
    UNKNOWN = "unknown"


class ProcessingTime(BaseModel):
    """Thời hạn giải quyết: a number and a unit, plus the text it came from."""

    value: float | None = None
    unit: TimeUnit = TimeUnit.UNKNOWN
    text: str = ""


class Fee(BaseModel):
    """One fee or charge (phí, lệ phí). ``amount`` is in đồng; 0 means free of charge."""

    amount: int | None = None
    currency: str = "VND"
    description: str = ""
    text: str = ""


class SubmissionMethod(BaseModel):
    channel: SubmissionChannel
    processing_time: ProcessingTime | None = None
    fees: list[Fee] = Field(default_factory=list)
    description: str = ""


class DossierComponent(BaseModel):
    """One document of the dossier (thành phần hồ sơ)."""

    name: str
    form: str = ""  # the template (mẫu đơn, tờ khai) it is written on, when there is one
    original_count: int | None = None
    copy_count: int | None = None
    group: str = ""  # e.g. "Giấy tờ phải nộp" or a case the component applies to


class LegalBasis(BaseModel):
    title: str
    number: str = ""


class ProcedureStep(BaseModel):
    order: int
    text: str


class Procedure(BaseModel):
    """A normalized administrative procedure."""

    code: str
    name: str
    levels: list[str] = Field(default_factory=list)
    field: str = ""
    procedure_type: str = ""
    decision_number: str = ""
    subjects: list[str] = Field(default_factory=list)
    competent_agency: str = ""
    implementing_agency: str = ""
    receiving_address: str = ""
    authorized_agency: str = ""
    coordinating_agency: str = ""
    agency_codes: list[str] = Field(
        default_factory=list,
        description="Codes of the provinces or agencies the procedure is scoped to; empty for "
        "the national catalogue.",
    )
    description: str = ""
    steps: list[ProcedureStep] = Field(default_factory=list)
    submission_methods: list[SubmissionMethod] = Field(default_factory=list)
    dossier: list[DossierComponent] = Field(default_factory=list)
    conditions: str = ""
    results: list[str] = Field(default_factory=list)
    legal_basis: list[LegalBasis] = Field(default_factory=list)
    related_procedures: str = ""
    source_url: str = ""
    content_hash: str = ""
    last_seen: datetime = Field(default_factory=utc_now)
    parse_warnings: list[str] = Field(
        default_factory=list, description="Parts of the source that did not parse completely."
    )

    @property
    def doc_id(self) -> str:
        return f"procedure:{self.code}"

    @property
    def can_submit_online(self) -> bool:
        return any(m.channel is SubmissionChannel.ONLINE for m in self.submission_methods)


class PolicyDocument(BaseModel):
    """A policy or legal document (văn bản)."""

    doc_key: str
    title: str
    issuer: str = ""
    number: str = ""
    issue_date: date | None = None
    effective_date: date | None = None
    expiry_date: date | None = None
    body: str = ""
    source_url: str = ""
    content_hash: str = ""
    last_seen: datetime = Field(default_factory=utc_now)

    @property
    def doc_id(self) -> str:
        return f"policy:{self.doc_key}"


class CuratedAnswer(BaseModel):
    """A question and its answer, approved by an editor."""

    answer_key: str
    question: str
    answer: str
    field: str = ""
    procedure_codes: list[str] = Field(default_factory=list)
    approved_by: str
    approved_at: datetime | None = None
    origin: str = "editor"  # "editor" or "ticket"
    content_hash: str = ""
    last_seen: datetime = Field(default_factory=utc_now)

    @property
    def doc_id(self) -> str:
        return f"answer:{self.answer_key}"


KnowledgeItem = Procedure | PolicyDocument | CuratedAnswer
