"""Procedure stubs from the portal's Excel list exports ("DANH SÁCH THỦ TỤC HÀNH CHÍNH").

dichvucong.gov.vn exports a ministry's procedure list as ``.xlsx``: a merged title row, then a
header row ``Mã số | Tên | Cơ quan ban hành | Cơ quan thực hiện | Lĩnh vực``, then one row per
procedure. Several agencies in one cell are separated by line breaks. The export knows no steps,
fees or dossier, so each row becomes a ``Procedure`` stub whose ``parse_warnings`` say so; a
richer source (the dump, the portal API) replaces it.

The connector finds the header row by its labels, so extra title rows or reordered columns do no
harm. A row without a code, or with a code already seen, is still listed (``<file>:row-<n>``) and
fails with ``RecordError`` when normalized; fully empty rows are not records and are skipped.
"""

from __future__ import annotations

import logging
import unicodedata
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from ingestion.connectors.base import ItemRef, version_changed
from ingestion.errors import ConnectorError, RecordError
from ingestion.models import Procedure, RecordKind, SourceRecord, stable_hash
from ingestion.parsers.flattened import clean_inline, is_placeholder
from search.errors import ConfigurationError

logger = logging.getLogger(__name__)

CODE_COLUMN = "Mã số"
NAME_COLUMN = "Tên"
ISSUER_COLUMN = "Cơ quan ban hành"
AGENCY_COLUMN = "Cơ quan thực hiện"
FIELD_COLUMN = "Lĩnh vực"
COLUMNS = (CODE_COLUMN, NAME_COLUMN, ISSUER_COLUMN, AGENCY_COLUMN, FIELD_COLUMN)
REQUIRED_COLUMNS = (CODE_COLUMN, NAME_COLUMN)

STUB_WARNING = (
    "stub from the portal's Excel list export: only code, name, field and implementing agency "
    "are known"
)
_HEADER_SEARCH_ROWS = 20
_FILE_KEY = "_file"
_ROW_KEY = "_row"
_ERROR_KEY = "_error"


@dataclass(frozen=True)
class _ExportRow:
    source_id: str
    version: str
    raw: dict[str, Any]


class PortalExcelConnector:
    """Reads the portal's ``.xlsx`` procedure list exports as ``Procedure`` stubs.

    Usage example:

    ```python
    exports = sorted(Path("../shared/data/procedures/portal_exports").glob("*.xlsx"))
    connector = PortalExcelConnector(exports)
    stubs = [connector.normalize(connector.fetch(ref)) for ref in connector.list_items()]
    ```

    The files are read once, when the connector is made, so a bad file stops the run before any
    work starts.

    Args:
        paths: The export files; a folder stands for the ``.xlsx`` files in it.

    Raises:
        ConfigurationError: no file given, a path is missing or not ``.xlsx``, a file is not a
            readable workbook, or a sheet has no "Mã số" and "Tên" header.
    """

    def __init__(self, paths: str | Path | Sequence[str | Path]) -> None:
        self._paths = _export_files(paths)
        self._rows = _read_exports(self._paths)

    @property
    def name(self) -> str:
        """Stable name of the source."""
        return "portal-excel"

    @property
    def paths(self) -> list[Path]:
        """The export files read."""
        return list(self._paths)

    def list_items(self) -> list[ItemRef]:
        """One ref per non-empty row of every export; ``version`` is a hash of the row."""
        return [
            ItemRef(source_id=row.source_id, version=row.version) for row in self._rows.values()
        ]

    def has_changed(self, ref: ItemRef, known_version: str | None) -> bool:
        """Whether the row differs from the one stored under ``known_version``."""
        return version_changed(ref, known_version)

    def fetch(self, ref: ItemRef) -> SourceRecord:
        """The row of ``ref``: its cells under their header labels, plus the file name.

        Raises:
            ConnectorError: no export has the item ``ref.source_id``.
        """
        row = self._rows.get(ref.source_id)
        if row is None:
            raise ConnectorError(f"no portal export row {ref.source_id!r}")
        return SourceRecord(
            source=self.name, source_id=row.source_id, kind=RecordKind.PROCEDURE, raw=row.raw
        )

    def normalize(self, record: SourceRecord) -> Procedure:
        """The row as a ``Procedure`` stub (code, name, field, implementing agency).

        Raises:
            RecordError: the row has no code, repeats a code, has no name, or comes from another
                source.
        """
        raw = record.raw
        if record.source != self.name:
            raise RecordError(
                f"record from {record.source!r} given to {self.name!r}", source_id=record.source_id
            )
        if _ERROR_KEY in raw:
            raise RecordError(
                f"{raw.get(_FILE_KEY)} row {raw.get(_ROW_KEY)}: {raw[_ERROR_KEY]}",
                source_id=record.source_id,
            )
        code = _cell_text(raw.get(CODE_COLUMN))
        name = _cell_text(raw.get(NAME_COLUMN))
        if not name:
            raise RecordError(
                f"procedure {code} has no name in {raw.get(_FILE_KEY)}", source_id=code
            )
        return Procedure(
            code=code,
            name=name,
            field=_cell_text(raw.get(FIELD_COLUMN)),
            implementing_agency="; ".join(_cell_lines(raw.get(AGENCY_COLUMN))),
            content_hash=record.content_hash,
            last_seen=record.fetched_at,
            parse_warnings=[STUB_WARNING],
        )


def _export_files(paths: str | Path | Sequence[str | Path]) -> list[Path]:
    given = [paths] if isinstance(paths, str | Path) else list(paths)
    if not given:
        raise ConfigurationError("no portal Excel export given; expected .xlsx files")
    files: list[Path] = []
    for item in map(Path, given):
        if item.is_dir():
            found = sorted(item.glob("*.xlsx"))
            if not found:
                raise ConfigurationError(f"folder {str(item)!r} has no .xlsx portal export")
            files.extend(found)
        elif not item.is_file():
            raise ConfigurationError(f"portal Excel export {str(item)!r} does not exist")
        elif item.suffix.lower() != ".xlsx":
            raise ConfigurationError(f"portal Excel export {str(item)!r} is not an .xlsx file")
        else:
            files.append(item)
    return files


def _read_exports(files: Iterable[Path]) -> dict[str, _ExportRow]:
    rows: dict[str, _ExportRow] = {}
    first_seen: dict[str, str] = {}
    for path in files:
        count = 0
        for row_number, cells in _sheet_rows(path):
            row = _export_row(path.name, row_number, cells, first_seen)
            rows[row.source_id] = row
            count += 1
        logger.info("read %s rows from %s", count, path.name)
    return rows


def _sheet_rows(path: Path) -> Iterable[tuple[int, dict[str, Any]]]:
    """``(row number, {header label: value})`` for each non-empty row under the header."""
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError) as exc:
        raise ConfigurationError(
            f"portal Excel export {str(path)!r} is not a readable workbook: {exc}"
        ) from exc
    try:
        sheet = workbook.worksheets[0]
        all_rows = list(sheet.iter_rows(values_only=True))
    finally:
        workbook.close()

    header_index, columns = _find_header(path, all_rows)
    for index in range(header_index + 1, len(all_rows)):
        values = all_rows[index]
        cells = {
            label: values[col] if col < len(values) else None for label, col in columns.items()
        }
        if all(_cell_text(value) == "" for value in cells.values()):
            continue
        yield index + 1, cells


def _value_at(values: Sequence[Any], column: int) -> Any:
    return values[column] if column < len(values) else None


def _find_header(path: Path, rows: Sequence[Sequence[Any]]) -> tuple[int, dict[str, int]]:
    """Index of the header row and the column of each known label in it."""
    for index, values in enumerate(rows[:_HEADER_SEARCH_ROWS]):
        labels = [_label(value) for value in values]
        columns = {
            column: labels.index(_label(column)) for column in COLUMNS if _label(column) in labels
        }
        if all(column in columns for column in REQUIRED_COLUMNS):
            return index, columns
    raise ConfigurationError(
        f"portal Excel export {str(path)!r} has no header row with "
        f"{' and '.join(map(repr, REQUIRED_COLUMNS))} in its first {_HEADER_SEARCH_ROWS} rows"
    )


def _export_row(
    file_name: str, row_number: int, cells: dict[str, Any], first_seen: dict[str, str]
) -> _ExportRow:
    raw: dict[str, Any] = {_FILE_KEY: file_name}
    raw.update({label: _json_value(value) for label, value in cells.items()})
    code = _cell_text(cells.get(CODE_COLUMN))
    error = ""
    if not code:
        error = "no procedure code (Mã số)"
    elif code in first_seen:
        error = f"procedure {code} again (first in {first_seen[code]})"
    if error:
        raw.update({_ROW_KEY: row_number, _ERROR_KEY: error})
        return _ExportRow(
            source_id=f"{file_name}:row-{row_number}", version=stable_hash(raw), raw=raw
        )
    first_seen[code] = f"{file_name} row {row_number}"
    return _ExportRow(source_id=code, version=stable_hash(raw), raw=raw)


def _json_value(value: Any) -> Any:
    """A cell value as JSON can store it (dates and times become ISO text)."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _label(value: Any) -> str:
    return clean_inline(unicodedata.normalize("NFC", str(value or ""))).casefold()


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    text = clean_inline(unicodedata.normalize("NFC", str(value)))
    return "" if is_placeholder(text) else text


def _cell_lines(value: Any) -> list[str]:
    """The non-empty lines of a cell: one agency per line."""
    if value is None:
        return []
    lines = unicodedata.normalize("NFC", str(value)).splitlines()
    return [line for line in map(clean_inline, lines) if line and not is_placeholder(line)]
