"""Errors of the platform, with one root.

Every error the platform raises on purpose derives from ``PlatformError`` and carries an
``ErrorCode``: a stable string that clients can match on, paired with the HTTP status the answer
service returns for it.

    PlatformError
    ├── ConfigurationError       bad settings, paths or URLs, found before any work starts
    ├── SearchError              the query side: bad query, index unreachable
    │   ├── IndexBackendError    a Qdrant backend refused or failed an operation
    │   └── EmbeddingUnavailable the query embedder cannot embed now (its process died, or it
    │                            was closed); searches go on from the lexical lists
    └── IngestionError           the ingestion side (defined in ``ingestion.errors``)
        ├── ConnectorError       a source could not be listed or fetched
        └── RecordError          one source record could not be parsed or normalized
"""

from __future__ import annotations

from enum import Enum


class ErrorCode(Enum):
    """Stable error codes, each with the HTTP status it maps to."""

    INVALID_INPUT = ("invalid_input", 422)
    BAD_REQUEST = ("bad_request", 400)
    UNAUTHORIZED = ("unauthorized", 401)
    FORBIDDEN = ("forbidden", 403)
    NOT_FOUND = ("not_found", 404)
    CONFLICT = ("conflict", 409)
    PAYLOAD_TOO_LARGE = ("payload_too_large", 413)
    RATE_LIMITED = ("rate_limited", 429)
    CONFIGURATION = ("configuration", 500)
    INDEX_UNAVAILABLE = ("index_unavailable", 503)
    EMBEDDER_UNAVAILABLE = ("embedder_unavailable", 503)
    SOURCE_UNAVAILABLE = ("source_unavailable", 502)
    BAD_RECORD = ("bad_record", 422)
    INTERNAL = ("internal", 500)

    @property
    def code(self) -> str:
        return self.value[0]

    @property
    def http_status(self) -> int:
        return self.value[1]


class PlatformError(Exception):
    """Root of the platform's own errors.

    Args:
        detail: A sentence for a human: what went wrong and, where it helps, what is allowed.
        error_code: The stable code; subclasses pick a sensible default.
    """

    default_code = ErrorCode.INTERNAL

    def __init__(self, detail: str, *, error_code: ErrorCode | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.error_code = error_code or self.default_code


class ConfigurationError(PlatformError):
    """Settings, paths or URLs that cannot work; raised before any work starts."""

    default_code = ErrorCode.CONFIGURATION


class SearchError(PlatformError):
    """A query could not be answered."""

    default_code = ErrorCode.INVALID_INPUT


class IndexBackendError(SearchError):
    """A Qdrant backend refused or failed an operation."""

    default_code = ErrorCode.INDEX_UNAVAILABLE


class EmbeddingUnavailable(SearchError):
    """The query embedder cannot embed now: its process could not start or died, or it was
    closed."""

    default_code = ErrorCode.EMBEDDER_UNAVAILABLE
