"""Errors of the ingestion side; the tree is drawn in ``search.errors``."""

from __future__ import annotations

from search.errors import ErrorCode, PlatformError


class IngestionError(PlatformError):
    """Root of ingestion errors."""

    default_code = ErrorCode.INTERNAL


class ConnectorError(IngestionError):
    """A source could not be listed or fetched (network, HTTP status, malformed body)."""

    default_code = ErrorCode.SOURCE_UNAVAILABLE


class RecordError(IngestionError):
    """One source record could not be parsed or normalized; the run goes on without it.

    Args:
        detail: What is wrong with the record.
        source_id: The record's id in its source, so the run report can name it.
    """

    default_code = ErrorCode.BAD_RECORD

    def __init__(self, detail: str, *, source_id: str = "") -> None:
        super().__init__(detail)
        self.source_id = source_id
