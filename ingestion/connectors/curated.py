"""Connectors for curated answers: a file kept by editors, and answered tickets.

A curated answer is a question and its answer approved by an editor. Editors keep them in a JSON
Lines or CSV file with the fields ``question``, ``answer``, ``field``, ``procedure_codes``,
``approved_by``, ``approved_at`` and, optionally, ``id``. In CSV, ``procedure_codes`` is one cell
with the codes separated by ";", "," or "|"; in JSON Lines it may also be a list. ``approved_at``
is an ISO 8601 date or date-time, or "dd/mm/yyyy"; a time without an offset is Vietnam time.

An answer's key is its ``id`` when given, else a hash of its question. A row without an approver,
a question or an answer is still listed, and fails with ``RecordError`` when normalized, so that
the run report names it. A line of a JSON Lines file that is not a JSON object fails the same
way; the other lines go on.

The ticket system will offer the answers its agents gave and an editor approved. It only has to
implement ``AnsweredTicketSource``; ``ApprovedTicketConnector`` turns any such source into a
connector.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from ingestion.connectors.base import ItemRef, version_changed
from ingestion.errors import ConnectorError, RecordError
from ingestion.models import CuratedAnswer, RecordKind, SourceRecord, stable_hash
from search.errors import ConfigurationError, PlatformError

logger = logging.getLogger(__name__)

VIETNAM_TIME = timezone(timedelta(hours=7), "ICT")
"""The offset given to approval times written without one."""

_UNPARSED_LINE = "_unparsed_line"
_CODE_SEPARATORS = re.compile(r"[;,|\s]+")
_DMY_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")


@runtime_checkable
class ApprovedAnswer(Protocol):
    """One approved answer as a source offers it; ``CuratedAnswer`` itself qualifies."""

    @property
    def answer_key(self) -> str:
        """Stable id of the answer in its source (for a ticket, the ticket id)."""

    @property
    def question(self) -> str:
        """The citizen's question."""

    @property
    def answer(self) -> str:
        """The approved answer."""

    @property
    def field(self) -> str:
        """The field (lĩnh vực) the question belongs to, if known."""

    @property
    def procedure_codes(self) -> Sequence[str]:
        """Codes of the procedures the answer is about."""

    @property
    def approved_by(self) -> str:
        """Who approved the answer; empty means not approved."""

    @property
    def approved_at(self) -> datetime | None:
        """When the answer was approved."""


@runtime_checkable
class AnsweredTicketSource(Protocol):
    """Where answered tickets come from; the ticket system implements it."""

    def approved_answers(self) -> Sequence[ApprovedAnswer]:
        """Every answer currently approved for reuse, complete.

        Raises:
            PlatformError: the answers could not be read.
        """


def curated_answer_from_row(
    row: Mapping[str, Any], *, source_id: str, origin: str = "editor"
) -> CuratedAnswer:
    """Validate one curated-answer row and build the ``CuratedAnswer``.

    Args:
        row: The row's fields as read from the source.
        source_id: The row's id in its source, which becomes the answer key.
        origin: "editor" for the curated file, "ticket" for answered tickets.

    Raises:
        RecordError: the question, the answer or the approver is missing, or a field cannot be
            read.
    """
    missing = [key for key in ("question", "answer", "approved_by") if not _text(row.get(key))]
    if missing:
        raise RecordError(
            f"{source_id}: curated answer lacks {', '.join(missing)}", source_id=source_id
        )
    try:
        approved_at = _approval_time(row.get("approved_at"))
    except ValueError as exc:
        raise RecordError(f"{source_id}: {exc}", source_id=source_id) from exc
    return CuratedAnswer(
        answer_key=source_id,
        question=_text(row.get("question")),
        answer=_text(row.get("answer")),
        field=_text(row.get("field")),
        procedure_codes=_procedure_codes(row.get("procedure_codes")),
        approved_by=_text(row.get("approved_by")),
        approved_at=approved_at,
        origin=origin,
        content_hash=stable_hash(dict(row)),
    )


@dataclass(frozen=True)
class _Row:
    source_id: str
    raw: dict[str, Any]


class CuratedAnswerConnector:
    """Reads curated answers from a JSON Lines (``.jsonl``) or CSV (``.csv``) file.

    Args:
        path: The file; it must exist and end in ``.jsonl`` or ``.csv``.

    Raises:
        ConfigurationError: the file is missing or of another type.

    Usage example:
        ```python
        curated = CuratedAnswerConnector("/srv/curated/answers.csv")
        answers = [curated.normalize(curated.fetch(ref)) for ref in curated.list_items()]
        ```
    """

    def __init__(self, path: str | Path) -> None:
        self._path = Path(path)
        if self._path.suffix.lower() not in {".jsonl", ".csv"}:
            raise ConfigurationError(
                f"curated answers must be a .jsonl or .csv file, got {str(self._path)!r}"
            )
        self._check_file()
        self._cache: tuple[tuple[int, int], dict[str, _Row]] | None = None

    @property
    def name(self) -> str:
        """Stable name of the source."""
        return "curated-answers"

    def list_items(self) -> Sequence[ItemRef]:
        """One ref per row; rows that cannot be parsed are listed and fail when normalized.

        Raises:
            ConfigurationError: the file no longer exists.
            ConnectorError: the file cannot be read, or two rows share a key.
        """
        rows = self._rows()
        logger.info("Listed %s curated answers from %s", len(rows), self._path)
        return [
            ItemRef(
                source_id=row.source_id,
                version=_row_version(row.raw),
                identified=_UNPARSED_LINE not in row.raw,
            )
            for row in rows.values()
        ]

    def has_changed(self, ref: ItemRef, known_version: str | None) -> bool:
        """Whether the row's content differs from the stored one."""
        return version_changed(ref, known_version)

    def fetch(self, ref: ItemRef) -> SourceRecord:
        """The row as read from the file.

        Raises:
            ConnectorError: the file cannot be read.
            RecordError: the row is no longer in the file.
        """
        row = self._rows().get(ref.source_id)
        if row is None:
            raise RecordError(
                f"{ref.source_id}: no longer in {self._path.name}", source_id=ref.source_id
            )
        return SourceRecord(
            source=self.name,
            source_id=ref.source_id,
            kind=RecordKind.CURATED_ANSWER,
            raw=row.raw,
            url=self._path.resolve().as_uri(),
        )

    def normalize(self, record: SourceRecord) -> CuratedAnswer:
        """The row as a ``CuratedAnswer``.

        Raises:
            RecordError: the row is not a JSON object, or lacks a question, an answer or an
                approver.
        """
        if _UNPARSED_LINE in record.raw:
            raise RecordError(
                f"{record.source_id}: not a JSON object: {record.raw.get('error', '')}",
                source_id=record.source_id,
            )
        return curated_answer_from_row(record.raw, source_id=record.source_id)

    def _check_file(self) -> None:
        if not self._path.is_file():
            raise ConfigurationError(f"curated answer file {str(self._path)!r} does not exist")

    def _rows(self) -> dict[str, _Row]:
        """The file's rows by key, read again only when the file changed."""
        self._check_file()
        stat = self._path.stat()
        stamp = (stat.st_mtime_ns, stat.st_size)
        if self._cache is None or self._cache[0] != stamp:
            self._cache = (stamp, self._read_rows())
        return self._cache[1]

    def _read_rows(self) -> dict[str, _Row]:
        try:
            text = self._path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConnectorError(f"cannot read {self._path}: {exc}") from exc
        if self._path.suffix.lower() == ".csv":
            numbered = _csv_rows(text, self._path)
        else:
            numbered = _jsonl_rows(text)
        rows: dict[str, _Row] = {}
        first_line: dict[str, int] = {}
        for line_number, raw in numbered:
            source_id = _row_key(raw, line_number)
            if source_id in rows:
                raise ConnectorError(
                    f"{self._path.name}: lines {first_line[source_id]} and {line_number} share "
                    f"the key {source_id!r}; give one of them another id or merge them"
                )
            rows[source_id] = _Row(source_id=source_id, raw=raw)
            first_line[source_id] = line_number
        return rows


class ApprovedTicketConnector:
    """Turns an ``AnsweredTicketSource`` into a connector of curated answers.

    Args:
        source: Anything with ``approved_answers()``.
        name: The source name stored with every record.

    Usage example:
        ```python
        tickets = ApprovedTicketConnector(ticket_client)
        answers = [tickets.normalize(tickets.fetch(ref)) for ref in tickets.list_items()]
        ```
    """

    def __init__(self, source: AnsweredTicketSource, *, name: str = "answered-tickets") -> None:
        if not name.strip():
            raise ConfigurationError("name must not be empty")
        self._source = source
        self._name = name
        self._answers: dict[str, dict[str, Any]] = {}

    @property
    def name(self) -> str:
        """Stable name of the source."""
        return self._name

    def list_items(self) -> Sequence[ItemRef]:
        """One ref per approved answer.

        Raises:
            ConnectorError: the source failed, or gave two answers with the same key.
        """
        answers = self._load()
        return [ItemRef(source_id=key, version=stable_hash(raw)) for key, raw in answers.items()]

    def has_changed(self, ref: ItemRef, known_version: str | None) -> bool:
        """Whether the answer's content differs from the stored one."""
        return version_changed(ref, known_version)

    def fetch(self, ref: ItemRef) -> SourceRecord:
        """The answer as the source gave it at the last listing.

        Raises:
            ConnectorError: the source failed while being read again.
            RecordError: the source no longer offers the answer.
        """
        raw = self._answers.get(ref.source_id)
        if raw is None:
            raw = self._load().get(ref.source_id)
        if raw is None:
            raise RecordError(
                f"{ref.source_id}: no longer offered by {self._name}", source_id=ref.source_id
            )
        return SourceRecord(
            source=self._name, source_id=ref.source_id, kind=RecordKind.CURATED_ANSWER, raw=raw
        )

    def normalize(self, record: SourceRecord) -> CuratedAnswer:
        """The answer as a ``CuratedAnswer`` of origin "ticket".

        Raises:
            RecordError: the answer lacks a question, an answer or an approver.
        """
        return curated_answer_from_row(record.raw, source_id=record.source_id, origin="ticket")

    def _load(self) -> dict[str, dict[str, Any]]:
        try:
            offered = self._source.approved_answers()
        except ConnectorError:
            raise
        except (PlatformError, OSError) as exc:
            raise ConnectorError(f"{self._name} could not list approved answers: {exc}") from exc
        answers: dict[str, dict[str, Any]] = {}
        for position, answer in enumerate(offered):
            key = _text(getattr(answer, "answer_key", ""))
            if not key:
                raise ConnectorError(f"{self._name}: answer {position} has no answer_key")
            if key in answers:
                raise ConnectorError(f"{self._name}: two answers share the key {key!r}")
            answers[key] = _answer_raw(answer)
        self._answers = answers
        return answers


def _text(value: Any) -> str:
    if value is None:
        return ""
    return unicodedata.normalize("NFC", str(value)).strip()


def _procedure_codes(value: Any) -> list[str]:
    if isinstance(value, list | tuple):
        codes = [_text(code) for code in value]
    else:
        codes = _CODE_SEPARATORS.split(_text(value))
    return list(dict.fromkeys(code for code in codes if code))


def _approval_time(value: Any) -> datetime | None:
    """An approval time; naive times are taken as Vietnam time.

    Raises:
        ValueError: the value is neither ISO 8601 nor "dd/mm/yyyy".
    """
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime(value.year, value.month, value.day)
    else:
        text = _text(value)
        if not text:
            return None
        dmy = _DMY_DATE.match(text)
        try:
            if dmy:
                day, month, year = (int(part) for part in dmy.groups())
                parsed = datetime(year, month, day)
            else:
                parsed = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"approved_at {text!r} is neither ISO 8601 nor dd/mm/yyyy") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=VIETNAM_TIME)


def _row_key(raw: dict[str, Any], line_number: int) -> str:
    """The row's ``id``, else a hash of its question, else its line number."""
    given = _text(raw.get("id"))
    if given:
        return given
    question = " ".join(_text(raw.get("question")).lower().split())
    if question:
        return "q-" + hashlib.sha256(question.encode("utf-8")).hexdigest()[:16]
    return f"line-{line_number}"


def _row_version(raw: dict[str, Any]) -> str:
    # An unparsed line has no stable content to compare; it is fetched and fails every run.
    return "" if _UNPARSED_LINE in raw else stable_hash(raw)


def _csv_rows(text: str, path: Path) -> list[tuple[int, dict[str, Any]]]:
    # newline="" keeps line breaks inside quoted cells, as the csv module requires.
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if not reader.fieldnames or "question" not in reader.fieldnames:
        raise ConnectorError(
            f"{path.name}: the header row must name the columns question, answer, field, "
            f"procedure_codes, approved_by, approved_at; got {reader.fieldnames!r}"
        )
    rows = []
    for row in reader:
        fields = {key: value for key, value in row.items() if key is not None}
        if any(_text(value) for value in fields.values()):
            rows.append((reader.line_num, fields))
    return rows


def _jsonl_rows(text: str) -> list[tuple[int, dict[str, Any]]]:
    rows = []
    for line_number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            value, error = None, f"line {line_number}: {exc.msg}"
        else:
            error = f"line {line_number} holds a {type(value).__name__}"
        if isinstance(value, dict):
            rows.append((line_number, value))
        else:
            rows.append((line_number, {_UNPARSED_LINE: line_number, "text": line, "error": error}))
    return rows


def _answer_raw(answer: ApprovedAnswer) -> dict[str, Any]:
    """A JSON-serialisable copy of an answer's fields, as stored in ``SourceRecord.raw``."""
    approved_at = getattr(answer, "approved_at", None)
    if isinstance(approved_at, date):  # datetime is a date too
        approved_at = approved_at.isoformat()
    return {
        "question": getattr(answer, "question", ""),
        "answer": getattr(answer, "answer", ""),
        "field": getattr(answer, "field", ""),
        "procedure_codes": list(getattr(answer, "procedure_codes", None) or []),
        "approved_by": getattr(answer, "approved_by", ""),
        "approved_at": approved_at if isinstance(approved_at, str) else None,
    }
