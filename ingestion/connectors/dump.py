"""Procedures from the crawl dump of dichvucong.gov.vn, one JSON object per line.

The dump (``dvcqg-procedures.jsonl.gz``, described in ``shared/data/README.md``) is small, so the
connector reads it once and keeps the parsed lines. A line that cannot become a procedure (not
JSON, not an object, no ``ma_thu_tuc``, a code seen on an earlier line) is still listed, under
``line-<number>``, so that the run reports it: its ``normalize`` raises ``RecordError`` naming
the line.
"""

from __future__ import annotations

import gzip
import json
import logging
import re
import unicodedata
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ingestion.connectors.base import ItemRef, version_changed
from ingestion.errors import ConnectorError, RecordError
from ingestion.jurisdiction import province_code_from_procedure_code
from ingestion.models import Procedure, RecordKind, SourceRecord, stable_hash
from ingestion.parsers.flattened import (
    Parsed,
    clean_block,
    clean_inline,
    is_placeholder,
    parse_dossier,
    parse_legal_basis,
    parse_results,
    parse_steps,
    parse_submission_methods,
)
from search.errors import ConfigurationError

logger = logging.getLogger(__name__)

_SUFFIXES = (".jsonl", ".jsonl.gz")
_GZIP_MAGIC = b"\x1f\x8b"
_KEPT_LINE_CHARS = 2000
# Keys of the stand-in ``raw`` of a line that is no procedure.
_BAD_LINE = "_dump_line"
_BAD_REASON = "_dump_error"
_BAD_TEXT = "_dump_text"

SECTION_PARSERS: dict[str, Callable[[object], Parsed[list[Any]]]] = {
    "trinh_tu_thuc_hien": parse_steps,
    "cach_thuc_thuc_hien": parse_submission_methods,
    "thanh_phan_ho_so": parse_dossier,
    "can_cu_phap_ly": parse_legal_basis,
    "ket_qua_xu_ly": parse_results,
}
"""The flattened sections of a dump record and the function that parses each."""


@dataclass(frozen=True)
class _DumpLine:
    line_number: int
    source_id: str
    version: str
    raw: dict[str, Any]


class ProcedureDumpConnector:
    """Reads the procedure dump (``.jsonl`` or ``.jsonl.gz``) and normalizes its records.

    Usage example:

    ```python
    connector = ProcedureDumpConnector("../shared/data/procedures/dvcqg-procedures.jsonl.gz")
    for ref in connector.list_items():
        procedure = connector.normalize(connector.fetch(ref))
    ```

    Args:
        path: The dump file.

    Raises:
        ConfigurationError: ``path`` is missing, not a file, not named ``.jsonl`` or
            ``.jsonl.gz``, or named ``.gz`` without being gzip.
    """

    def __init__(self, path: str | Path) -> None:
        self._path = _checked_dump_path(Path(path))
        self._lines: dict[str, _DumpLine] | None = None

    @property
    def name(self) -> str:
        """Stable name of the source."""
        return "dvcqg-dump"

    @property
    def path(self) -> Path:
        """The dump file."""
        return self._path

    def list_items(self) -> list[ItemRef]:
        """Every line of the dump, bad lines included; ``version`` is the record's content hash.

        Raises:
            ConnectorError: the file could not be read to the end.
        """
        lines = self._read().values()
        return [
            ItemRef(
                source_id=line.source_id,
                version=line.version,
                identified=_BAD_LINE not in line.raw,
            )
            for line in lines
        ]

    def has_changed(self, ref: ItemRef, known_version: str | None) -> bool:
        """Whether the record differs from the one stored under ``known_version``."""
        return version_changed(ref, known_version)

    def fetch(self, ref: ItemRef) -> SourceRecord:
        """The record of ``ref`` as the dump holds it.

        A bad line comes back as a stand-in record naming its line number and problem, so that
        ``normalize`` reports it.

        Raises:
            ConnectorError: the dump has no item ``ref.source_id`` or could not be read.
        """
        line = self._read().get(ref.source_id)
        if line is None:
            raise ConnectorError(f"{self._path.name} has no item {ref.source_id!r}")
        return SourceRecord(
            source=self.name,
            source_id=line.source_id,
            kind=RecordKind.PROCEDURE,
            raw=line.raw,
            url=str(line.raw.get("detail_url") or ""),
        )

    def normalize(self, record: SourceRecord) -> Procedure:
        """The dump record as a ``Procedure``; ``parse_warnings`` lists what did not parse.

        Raises:
            RecordError: the record is a bad line of the dump, comes from another source, or has
                no code or name.
        """
        raw = record.raw
        if record.source != self.name:
            raise RecordError(
                f"record from {record.source!r} given to {self.name!r}", source_id=record.source_id
            )
        if _BAD_REASON in raw:
            raise RecordError(
                f"{self._path.name} line {raw.get(_BAD_LINE)}: {raw[_BAD_REASON]}",
                source_id=record.source_id,
            )
        return _procedure_from_record(record)

    def _read(self) -> dict[str, _DumpLine]:
        """The dump's lines by source id, read on first use and kept (the dump is small)."""
        if self._lines is None:
            self._lines = {line.source_id: line for line in _read_dump(self._path)}
        return self._lines


def _procedure_from_record(record: SourceRecord) -> Procedure:
    """Normalize one dump record (its ``raw`` holds the crawl's fields).

    Raises:
        RecordError: the record has no code (``ma_thu_tuc``) or no name (``ten_thu_tuc``).
    """
    raw = record.raw
    code = _text(raw, "ma_thu_tuc")
    name = _text(raw, "ten_thu_tuc")
    if not code:
        raise RecordError("record has no procedure code (ma_thu_tuc)", source_id=record.source_id)
    if not name:
        raise RecordError(f"procedure {code} has no name (ten_thu_tuc)", source_id=code)

    steps = parse_steps(raw.get("trinh_tu_thuc_hien"))
    methods = parse_submission_methods(raw.get("cach_thuc_thuc_hien"))
    dossier = parse_dossier(raw.get("thanh_phan_ho_so"))
    legal_basis = parse_legal_basis(raw.get("can_cu_phap_ly"))
    results = parse_results(raw.get("ket_qua_xu_ly"))
    sections: list[Parsed[Any]] = [steps, methods, dossier, legal_basis, results]
    conditions = _block(raw, "yeu_cau_dieu_kien")
    return Procedure(
        code=code,
        name=name,
        levels=_split_list(_text(raw, "cap_thuc_hien")),
        field=_text(raw, "linh_vuc"),
        procedure_type=_text(raw, "loai_thu_tuc"),
        decision_number=_text(raw, "so_quyet_dinh"),
        subjects=_split_list(_text(raw, "doi_tuong_thuc_hien")),
        competent_agency=_text(raw, "co_quan_co_tham_quyen"),
        implementing_agency=_text(raw, "co_quan_thuc_hien"),
        receiving_address=_text(raw, "dia_chi_tiep_nhan"),
        authorized_agency=_text(raw, "co_quan_duoc_uy_quyen"),
        coordinating_agency=_text(raw, "co_quan_phoi_hop"),
        agency_codes=_agency_codes(code),
        # The portal's own "description" of a procedure is this conditions text (see the API
        # fixture in shared/data/fixtures/dvcqg-api), so both fields carry it.
        description=conditions,
        conditions=conditions,
        steps=steps.value,
        submission_methods=methods.value,
        dossier=dossier.value,
        results=results.value,
        legal_basis=legal_basis.value,
        related_procedures=_block(raw, "thu_tuc_lien_quan"),
        source_url=_text(raw, "detail_url"),
        content_hash=record.content_hash,
        last_seen=record.fetched_at,
        parse_warnings=[warning for parsed in sections for warning in parsed.warnings],
    )


def parse_report(connector: ProcedureDumpConnector) -> dict[str, Any]:
    """How many records of the dump parse completely, per flattened section and overall.

    A section counts as complete when its parser gave no warning; an empty or placeholder section
    is complete (and also counted as ``empty``). Bad lines count as incomplete everywhere.
    ``top_warnings`` counts warnings (a record may have several) by kind, quoted text left out.

    Args:
        connector: The dump to measure.

    Returns:
        ``{"source", "path", "records", "bad_lines", "sections": {name: {"complete", "empty",
        "incomplete", "complete_percent", "top_warnings"}}, "overall": {"complete",
        "complete_percent"}}``.
    """
    refs = connector.list_items()
    tallies = {key: Counter[str]() for key in SECTION_PARSERS}
    warning_kinds = {key: Counter[str]() for key in SECTION_PARSERS}
    bad_lines = 0
    overall_complete = 0
    for ref in refs:
        raw = connector.fetch(ref).raw
        if _BAD_REASON in raw:
            bad_lines += 1
            continue
        results = {key: parse(raw.get(key)) for key, parse in SECTION_PARSERS.items()}
        for key, parsed in results.items():
            tallies[key].update(_section_outcome(parsed))
            warning_kinds[key].update(_warning_kind(warning) for warning in parsed.warnings)
        overall_complete += all(parsed.complete for parsed in results.values())

    total = len(refs)
    return {
        "source": connector.name,
        "path": str(connector.path),
        "records": total,
        "bad_lines": bad_lines,
        "sections": {
            key: {
                "complete": tallies[key]["complete"],
                "empty": tallies[key]["empty"],
                "incomplete": total - tallies[key]["complete"],
                "complete_percent": _percent(tallies[key]["complete"], total),
                "top_warnings": dict(warning_kinds[key].most_common(5)),
            }
            for key in SECTION_PARSERS
        },
        "overall": {
            "complete": overall_complete,
            "complete_percent": _percent(overall_complete, total),
        },
    }


def _section_outcome(parsed: Parsed[Any]) -> list[str]:
    if not parsed.complete:
        return []
    return ["complete", "empty"] if not parsed.value else ["complete"]


def _warning_kind(warning: str) -> str:
    """The warning without the quoted text it cites, so that warnings can be counted by kind."""
    return re.split(r"[('\"]", warning, maxsplit=1)[0].strip()


def _percent(part: int, total: int) -> float:
    return round(100 * part / total, 2) if total else 0.0


# --------------------------------------------------------------------------------------------
# Reading the file


def _checked_dump_path(path: Path) -> Path:
    if not path.name.endswith(_SUFFIXES):
        raise ConfigurationError(
            f"procedure dump {str(path)!r} must be a {' or '.join(_SUFFIXES)} file"
        )
    if not path.is_file():
        problem = "is a directory" if path.is_dir() else "does not exist"
        raise ConfigurationError(f"procedure dump {str(path)!r} {problem}")
    if path.name.endswith(".gz"):
        try:
            with path.open("rb") as handle:
                magic = handle.read(2)
        except OSError as exc:
            raise ConfigurationError(f"procedure dump {str(path)!r} cannot be read: {exc}") from exc
        if magic != _GZIP_MAGIC:
            raise ConfigurationError(f"procedure dump {str(path)!r} is named .gz but is not gzip")
    return path


def _read_dump(path: Path) -> list[_DumpLine]:
    """Every non-blank line of the dump, bad lines kept as stand-ins."""
    try:
        if path.name.endswith(".gz"):
            with gzip.open(path, "rt", encoding="utf-8") as handle:
                texts = handle.read().splitlines()
        else:
            texts = path.read_text(encoding="utf-8").splitlines()
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise ConnectorError(f"cannot read procedure dump {str(path)!r}: {exc}") from exc

    lines: list[_DumpLine] = []
    first_seen: dict[str, int] = {}
    for line_number, text in enumerate(texts, start=1):
        if not text.strip():
            continue
        line = _dump_line(line_number, text, first_seen)
        first_seen.setdefault(line.source_id, line_number)
        lines.append(line)

    bad = sum(_BAD_REASON in line.raw for line in lines)
    logger.info("read %s records from %s, %s of them unusable", len(lines), path.name, bad)
    if bad:
        logger.warning("%s: %s lines are no procedure and will fail to normalize", path, bad)
    return lines


def _dump_line(line_number: int, text: str, first_seen: dict[str, int]) -> _DumpLine:
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        return _bad_line(line_number, text, f"not valid JSON ({exc.msg} at column {exc.colno})")
    if not isinstance(raw, dict):
        return _bad_line(line_number, text, f"a JSON {type(raw).__name__}, not an object")
    code = _text(raw, "ma_thu_tuc")
    if not code:
        return _bad_line(line_number, text, "no procedure code (ma_thu_tuc)")
    if code in first_seen:
        return _bad_line(
            line_number, text, f"procedure {code} again (first on line {first_seen[code]})"
        )
    return _DumpLine(line_number=line_number, source_id=code, version=stable_hash(raw), raw=raw)


def _bad_line(line_number: int, text: str, reason: str) -> _DumpLine:
    raw = {_BAD_LINE: line_number, _BAD_REASON: reason, _BAD_TEXT: text[:_KEPT_LINE_CHARS]}
    return _DumpLine(
        line_number=line_number,
        source_id=f"line-{line_number}",
        version=stable_hash({"line": text}),
        raw=raw,
    )


# --------------------------------------------------------------------------------------------
# Field cleaning


def _text(raw: dict[str, Any], key: str) -> str:
    """A one-line field, whitespace collapsed; "" for a missing value or a placeholder."""
    value = _as_text(raw.get(key))
    cleaned = clean_inline(value)
    return "" if is_placeholder(cleaned) else cleaned


def _block(raw: dict[str, Any], key: str) -> str:
    """A multi-line field, lines kept; "" for a missing value or a placeholder."""
    cleaned = clean_block(_as_text(raw.get(key)))
    return "" if is_placeholder(cleaned) else cleaned


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    return unicodedata.normalize("NFC", value if isinstance(value, str) else str(value))


def _split_list(text: str) -> list[str]:
    """Split on commas outside parentheses.

    "Tổ chức (không bao gồm doanh nghiệp, HTX), Doanh nghiệp" gives two items.
    """
    items: list[str] = []
    depth = 0
    current: list[str] = []
    for char in text:
        depth += (char == "(") - (char == ")")
        if char == "," and depth <= 0:
            items.append("".join(current))
            current = []
        else:
            current.append(char)
    items.append("".join(current))
    cleaned = (clean_inline(item) for item in items)
    return [item for item in cleaned if item and not is_placeholder(item)]


def _agency_codes(code: str) -> list[str]:
    """The province a local procedure code is scoped to: "1.000948.H38" gives ["H38"].

    Only a provincial suffix scopes a procedure; a ministry's ("2.000815.G01") is national, as in
    the portal connector.
    """
    province = province_code_from_procedure_code(code)
    return [province] if province else []
