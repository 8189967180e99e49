"""Connector for the JSON API of the National Public Service Portal (Cổng Dịch vụ công Quốc gia).

Two endpoints are used, both ``POST`` with a JSON body:

- listing: ``{base_url}/api/v1/submitting/formality/list-all-public-formality-by-citizen``,
  paged by a cursor;
- detail: ``{base_url}/api/v1/configuring/formality/get-formality-by-citizen`` with body
  ``{"id": "<uuid>"}``, answering ``{"data": {...}}``; the shape of ``data`` is that of the
  fixtures in ``shared/data/fixtures/dvcqg-api``.

Assumed listing envelope. The project's fixtures hold no listing response, so its shape is an
assumption, taken from the request and response fields that public crawlers of the portal use::

    request:  {"limit": 200, "lastId": "", "q": "", "categoryId": "", "departmentCode": ""}
    response: {"data": {"items": [{"id": "<uuid>", "code": "1.010038", "name": "Tách hộ",
                                   "updatedAt": 1777435498358, ...}, ...],
                        "lastId": "<cursor for the next page>"}}

Each item must carry ``id``; every other field is optional. ``updatedAt`` (epoch milliseconds,
as in the detail) is the change marker that becomes ``ItemRef.version``; without it the version
is empty and the item is always fetched. The next page is asked for with ``lastId`` from the
response, or with the ``id`` of the page's last item when the response has no ``lastId``. The
listing ends at the first page without items. ``departmentCode`` scopes the listing to one
agency, usually a province ("H21"), when the connector is given an ``agency_code``; otherwise
it is empty.

A listing is all or nothing: a malformed body, an unexpected envelope or a cursor that stops
advancing raises ``ConnectorError``. A malformed detail raises ``RecordError`` for that record.
Timeouts, transport errors, HTTP 429 and 5xx answers are retried a bounded number of times with
exponential backoff before ``ConnectorError`` is raised.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterable, Sequence
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import httpx

from ingestion.connectors.base import ItemRef, version_changed
from ingestion.errors import ConnectorError, RecordError
from ingestion.jurisdiction import (
    PROVINCIAL_AGENCY_CODE,
    normalize_agency_code,
    province_code_from_procedure_code,
)
from ingestion.models import (
    DossierComponent,
    Fee,
    LegalBasis,
    Procedure,
    ProcedureStep,
    ProcessingTime,
    RecordKind,
    SourceRecord,
    SubmissionChannel,
    SubmissionMethod,
    TimeUnit,
)
from search.errors import ConfigurationError

logger = logging.getLogger(__name__)

LIST_PATH = "/api/v1/submitting/formality/list-all-public-formality-by-citizen"
DETAIL_PATH = "/api/v1/configuring/formality/get-formality-by-citizen"
PAGE_SIZE = 200

_MAX_PAGES = 10_000  # 2 million procedures: far above the catalogue, low enough to stop a loop
_MAX_BACKOFF_SECONDS = 30.0
_BODY_EXCERPT_CHARS = 200
_RETRYABLE_STATUSES = frozenset({429})
_AGENCY_CODE = re.compile(r"[A-Z][A-Z0-9.]*\d")

_CHANNELS = {
    "DIRECT": SubmissionChannel.DIRECT,
    "ONLINE": SubmissionChannel.ONLINE,
    "POSTAL": SubmissionChannel.POSTAL,
}
_TIME_UNITS = {
    "WORKING_DAY": (TimeUnit.WORKING_DAY, "Ngày làm việc"),
    "DAY": (TimeUnit.DAY, "Ngày"),
    "CALENDAR_DAY": (TimeUnit.DAY, "Ngày"),
    "HOUR": (TimeUnit.HOUR, "Giờ"),
    "WEEK": (TimeUnit.WEEK, "Tuần"),
    "MONTH": (TimeUnit.MONTH, "Tháng"),
    "YEAR": (TimeUnit.YEAR, "Năm"),
}
# The portal's level flags, in the order its pages list them (Cấp bộ, Cấp tỉnh, Cấp xã …).
_LEVEL_FLAGS = (
    ("isMinistry", "Cấp bộ"),
    ("isProvince", "Cấp tỉnh"),
    ("isWard", "Cấp xã"),
    ("isOtherAgency", "Cơ quan khác"),
)
# Only the value seen in real data is translated; other values are kept as the portal sends them.
_PROCEDURE_TYPES = {"ASSIGNED_REGULATION": "TTHC được giao luật quy định chi tiết"}
# "Bước 1:" opening a line; "quay lại Bước 2" inside a sentence is a mention, not a marker.
_STEP_MARKER = re.compile(r"^[ \t]*Bước\s*\d+\s*[:.)-]", re.IGNORECASE | re.MULTILINE)


def _excerpt(text: str) -> str:
    """A response body cut to a length that fits in an error message."""
    text = text.strip()
    if len(text) <= _BODY_EXCERPT_CHARS:
        return text
    return f"{text[:_BODY_EXCERPT_CHARS]}… ({len(text)} characters)"


class NationalPortalConnector:
    """Lists, fetches and normalizes procedures from the national portal's JSON API.

    Args:
        base_url: Root of the portal, e.g. ``"https://dichvucong.gov.vn"``; http or https.
        agency_code: An agency code, usually a province's ("H21"), sent as ``departmentCode``
            to scope the listing; None lists the whole catalogue. Which procedures a deployment
            keeps is decided afterwards by ``ingestion.jurisdiction.in_jurisdiction``.
        client: The HTTP client to use; its own timeout applies. When omitted, the connector
            creates one from ``base_url`` and ``timeout`` and closes it in ``close()``.
        timeout: Seconds per request for the client the connector creates.
        max_attempts: Attempts per request (first try included) on timeouts, transport errors,
            HTTP 429 and 5xx; at least 1.
        backoff_seconds: Wait before the second attempt, doubled for each further attempt and
            capped at 30 seconds.
        page_size: Items asked for per listing page.

    Raises:
        ConfigurationError: an argument cannot work (URL scheme, non-positive numbers).

    Usage example:
        ```python
        with NationalPortalConnector("https://dichvucong.gov.vn", agency_code="H21") as portal:
            for ref in portal.list_items():
                if portal.has_changed(ref, known_versions.get(ref.source_id)):
                    procedure = portal.normalize(portal.fetch(ref))
        ```
    """

    def __init__(
        self,
        base_url: str,
        *,
        agency_code: str | None = None,
        client: httpx.Client | None = None,
        timeout: float = 30.0,
        max_attempts: int = 3,
        backoff_seconds: float = 1.0,
        page_size: int = PAGE_SIZE,
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            raise ConfigurationError(
                f"base_url must be an http or https URL with a host, got {base_url!r}"
            )
        for param, value in (("timeout", timeout), ("page_size", page_size)):
            if value <= 0:
                raise ConfigurationError(f"{param} must be positive, got {value!r}")
        if max_attempts < 1:
            raise ConfigurationError(f"max_attempts must be at least 1, got {max_attempts!r}")
        if backoff_seconds < 0:
            raise ConfigurationError(f"backoff_seconds must be >= 0, got {backoff_seconds!r}")
        if agency_code is not None and not _AGENCY_CODE.fullmatch(
            normalize_agency_code(agency_code)
        ):
            raise ConfigurationError(
                f"agency_code must be an agency code such as 'H21' (letters, digits, dots), "
                f"got {agency_code!r}"
            )

        self._base_url = base_url.rstrip("/")
        self._agency_code = normalize_agency_code(agency_code) if agency_code else None
        self._owns_client = client is None
        self._client = client or httpx.Client(base_url=self._base_url, timeout=timeout)
        self._max_attempts = max_attempts
        self._backoff_seconds = backoff_seconds
        self._page_size = page_size

    @property
    def name(self) -> str:
        """Stable name of the source."""
        return "dvcqg-api"

    def close(self) -> None:
        """Close the HTTP client if the connector created it."""
        if self._owns_client:
            self._client.close()

    def __enter__(self) -> NationalPortalConnector:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def list_items(self) -> Sequence[ItemRef]:
        """The complete listing, page after page.

        Raises:
            ConnectorError: a page could not be read or did not have the expected shape.
        """
        refs: dict[str, ItemRef] = {}
        cursor = ""
        for page in range(1, _MAX_PAGES + 1):
            body = {
                "limit": self._page_size,
                "lastId": cursor,
                "q": "",
                "categoryId": "",
                "departmentCode": self._agency_code or "",
            }
            items, next_cursor = self._read_list_page(self._post(LIST_PATH, body), page)
            if not items:
                logger.info("Listed %s procedures from %s in %s pages", len(refs), self.name, page)
                return list(refs.values())
            for ref in items:
                if ref.source_id in refs:
                    logger.warning(
                        "Procedure %s listed twice; keeping the later entry", ref.source_id
                    )
                refs[ref.source_id] = ref
            next_cursor = next_cursor or items[-1].source_id
            if next_cursor == cursor:
                raise ConnectorError(
                    f"listing cursor did not advance past {cursor!r} on page {page}; "
                    "refusing to return a partial listing"
                )
            cursor = next_cursor
        raise ConnectorError(f"listing did not end within {_MAX_PAGES} pages")

    def has_changed(self, ref: ItemRef, known_version: str | None) -> bool:
        """Whether the listing's update marker differs from the stored one."""
        return version_changed(ref, known_version)

    def fetch(self, ref: ItemRef) -> SourceRecord:
        """The procedure's detail, the ``data`` object exactly as the portal sent it.

        Raises:
            ConnectorError: the portal could not be reached or answered with an error status.
            RecordError: the answer is not JSON or has no ``data`` object.
        """
        response = self._post(DETAIL_PATH, {"id": ref.source_id})
        try:
            payload = response.json()
        except ValueError as exc:
            raise RecordError(
                f"detail of {ref.source_id} is not JSON: {_excerpt(response.text)}",
                source_id=ref.source_id,
            ) from exc
        data = payload.get("data") if isinstance(payload, dict) else None
        if not isinstance(data, dict) or not data:
            raise RecordError(
                f"detail of {ref.source_id} has no 'data' object: {_excerpt(response.text)}",
                source_id=ref.source_id,
            )
        return SourceRecord(
            source=self.name,
            source_id=ref.source_id,
            kind=RecordKind.PROCEDURE,
            raw=data,
            url=self._page_url(ref.source_id),
        )

    def normalize(self, record: SourceRecord) -> Procedure:
        """The portal's detail as a ``Procedure``.

        Raises:
            RecordError: the detail has no code or no name.
        """
        raw = record.raw
        code = _text(raw.get("code")) or _text(raw.get("codeNotation"))
        name = _text(raw.get("name"))
        if not code or not name:
            raise RecordError(
                f"procedure detail lacks {'a code' if not code else 'a name'}",
                source_id=record.source_id,
            )
        warnings: list[str] = []
        return Procedure(
            code=code,
            name=name,
            levels=[label for flag, label in _LEVEL_FLAGS if raw.get(flag) is True],
            field=", ".join(_names(raw.get("categoriesDetails"))),
            procedure_type=_procedure_type(raw.get("formalityType")),
            decision_number=_decision_number(raw),
            subjects=_names(raw.get("subjectTypesDetails")),
            competent_agency=_agency(raw, "departmentsAuthority", "delegatedAgencies"),
            implementing_agency=_agency(raw, "departmentsExecuting", "executingAgencies"),
            receiving_address=_text(raw.get("dossierReceivingAddresses")),
            authorized_agency=_agency(raw, "departmentsAuthorized", "authorizedAgencies"),
            coordinating_agency=_agency(raw, "departmentsCoordinating", "coordinatingAgencies"),
            agency_codes=_agency_codes(raw),
            description=_text(raw.get("description")),
            steps=_steps(raw.get("executionSteps")),
            submission_methods=_submission_methods(raw, warnings),
            dossier=_dossier(raw),
            conditions=_text(raw.get("requirementsAndConditions")),
            results=_unique(_names(raw.get("resultsDetails"))),
            legal_basis=_legal_basis(raw.get("legalBasisesDetails")),
            related_procedures="; ".join(_names(raw.get("procedureRelatedGroup"))),
            source_url=record.url or self._page_url(_text(raw.get("id")) or record.source_id),
            content_hash=record.content_hash,
            parse_warnings=warnings,
        )

    def _page_url(self, formality_id: str) -> str:
        return f"{self._base_url}/thu-tuc-hanh-chinh/{formality_id}"

    def _post(self, path: str, body: dict[str, Any]) -> httpx.Response:
        """POST ``body`` with bounded retries; a 2xx response or ``ConnectorError``."""
        url = f"{self._base_url}{path}"
        problem = ""
        cause: Exception | None = None
        for attempt in range(1, self._max_attempts + 1):
            if attempt > 1:
                delay = min(self._backoff_seconds * 2 ** (attempt - 2), _MAX_BACKOFF_SECONDS)
                logger.warning(
                    "POST %s failed (%s); attempt %s of %s in %.2fs",
                    url,
                    problem,
                    attempt,
                    self._max_attempts,
                    delay,
                )
                time.sleep(delay)
            try:
                response = self._client.post(url, json=body)
            except httpx.TransportError as exc:  # timeouts, refused or dropped connections
                problem, cause = f"{type(exc).__name__}: {exc}", exc
                continue
            except httpx.HTTPError as exc:
                raise ConnectorError(f"POST {url} failed: {type(exc).__name__}: {exc}") from exc
            logger.debug("POST %s -> HTTP %s", url, response.status_code)
            if response.is_success:
                return response
            problem = f"HTTP {response.status_code}: {_excerpt(response.text)}"
            cause = None
            if response.status_code < 500 and response.status_code not in _RETRYABLE_STATUSES:
                raise ConnectorError(f"POST {url} answered {problem}")
        raise ConnectorError(
            f"POST {url} failed after {self._max_attempts} attempts; last: {problem}"
        ) from cause

    def _read_list_page(
        self, response: httpx.Response, page: int
    ) -> tuple[list[ItemRef], str | None]:
        """The page's refs and next cursor; ``ConnectorError`` for anything unexpected."""
        try:
            payload = response.json()
        except ValueError as exc:
            raise ConnectorError(
                f"listing page {page} is not JSON: {_excerpt(response.text)}"
            ) from exc
        data = payload.get("data") if isinstance(payload, dict) else None
        items = data.get("items") if isinstance(data, dict) else None
        if not isinstance(data, dict) or not isinstance(items, list):
            raise ConnectorError(
                f"listing page {page} lacks 'data.items': {_excerpt(response.text)}"
            )
        refs = []
        for position, item in enumerate(items):
            item_id = item.get("id") if isinstance(item, dict) else None
            if not isinstance(item_id, str) or not item_id.strip():
                raise ConnectorError(
                    f"listing page {page}, item {position} has no 'id': {_excerpt(repr(item))}"
                )
            updated = item.get("updatedAt")
            refs.append(
                ItemRef(source_id=item_id.strip(), version="" if updated is None else str(updated))
            )
        next_cursor = data.get("lastId")
        return refs, str(next_cursor) if next_cursor else None


def _text(value: Any) -> str:
    """A string field, trimmed; empty for None and for values that are not text or numbers."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return ""


def _dicts(value: Any) -> list[dict[str, Any]]:
    """The objects of a list field; empty when the field is missing or not a list."""
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, dict)]


def _names(value: Any) -> list[str]:
    """The non-empty ``name`` of each object of a list field."""
    return [name for item in _dicts(value) if (name := _text(item.get("name")))]


def _unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))


def _count(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value)


def _procedure_type(value: Any) -> str:
    raw_type = _text(value)
    return _PROCEDURE_TYPES.get(raw_type, raw_type)


def _decision_number(raw: dict[str, Any]) -> str:
    proposal = raw.get("procedureProposal")
    proposal = proposal if isinstance(proposal, dict) else {}
    return (
        _text(raw.get("decisionNo"))
        or _text(proposal.get("decisionNumber"))
        or _text(proposal.get("proposalNumber"))
    )


def _agency(raw: dict[str, Any], details_key: str, text_key: str) -> str:
    """Agency names from the structured list, falling back to the portal's display text."""
    names = _unique(_names(raw.get(details_key)))
    return ", ".join(names) if names else _text(raw.get(text_key))


def _agency_codes(raw: dict[str, Any]) -> list[str]:
    """Provinces the procedure is scoped to: from its code and its promulgating agency.

    National procedures are promulgated by a ministry ("G01") and get no code; a province's own
    procedures carry its code as promulgating agency or as a suffix of the procedure code.
    """
    codes = []
    for key in ("code", "codeNotation"):
        suffix_code = province_code_from_procedure_code(_text(raw.get(key)))
        if suffix_code:
            codes.append(suffix_code)
    promulgator = normalize_agency_code(_text(raw.get("departmentPromulgateCode")))
    if PROVINCIAL_AGENCY_CODE.fullmatch(promulgator):
        codes.append(promulgator)
    return _unique(codes)


def _steps(value: Any) -> list[ProcedureStep]:
    """Steps split at their "Bước N:" markers, or one step per line when there are none."""
    parts = []
    for step in _dicts(value):
        text = "\n".join(part for key in ("name", "description") if (part := _text(step.get(key))))
        if text:
            parts.append(text)
    text = "\n".join(parts)
    markers = list(_STEP_MARKER.finditer(text))
    if markers:
        pieces = [text[: markers[0].start()]]
        pieces += [
            text[marker.end() : next_marker.start() if next_marker else len(text)]
            for marker, next_marker in zip(markers, [*markers[1:], None], strict=True)
        ]
    else:
        pieces = [line.lstrip("-–•* ") for line in text.splitlines()]
    cleaned = [piece.strip() for piece in pieces]
    return [ProcedureStep(order=i, text=t) for i, t in enumerate(filter(None, cleaned), start=1)]


def _processing_time(method: dict[str, Any], warnings: list[str]) -> ProcessingTime | None:
    value = method.get("processingTime")
    raw_unit = _text(method.get("processingTimeUnit"))
    if value is None and not raw_unit:
        return None
    number = (
        float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
    )
    unit, label = _TIME_UNITS.get(raw_unit, (TimeUnit.UNKNOWN, raw_unit))
    if raw_unit and unit is TimeUnit.UNKNOWN:
        warnings.append(f"unknown processing time unit {raw_unit!r}")
    text = " ".join(part for part in (f"{number:g}" if number is not None else "", label) if part)
    return ProcessingTime(value=number, unit=unit, text=text)


def _fee(fee: dict[str, Any], warnings: list[str]) -> Fee:
    amount = _count(fee.get("value"))
    currency_name = _text(fee.get("currencyName"))
    description = _text(fee.get("description"))
    if currency_name and "đồng" not in currency_name.lower():
        # Fee.amount is in đồng; an amount in another currency is kept as text only.
        warnings.append(f"fee in {currency_name!r} kept as text only")
        return Fee(
            amount=None,
            currency=currency_name,
            description=description,
            text=f"{_text(fee.get('value'))} {currency_name}".strip(),
        )
    text = f"{amount:,} đồng".replace(",", ".") if amount is not None else ""
    return Fee(amount=amount, description=description, text=text)


def _submission_methods(raw: dict[str, Any], warnings: list[str]) -> list[SubmissionMethod]:
    shared_fees = [_fee(fee, warnings) for fee in _dicts(raw.get("fees"))]
    methods = []
    for method in _dicts(raw.get("executionMethods")):
        raw_channel = _text(method.get("submissionMethod")).upper()
        channel = _CHANNELS.get(raw_channel, SubmissionChannel.OTHER)
        if channel is SubmissionChannel.OTHER:
            warnings.append(f"unknown submission method {raw_channel!r}")
        fees = [_fee(fee, warnings) for fee in _dicts(method.get("fees"))]
        methods.append(
            SubmissionMethod(
                channel=channel,
                processing_time=_processing_time(method, warnings),
                fees=fees or list(shared_fees),
                description=_text(method.get("description")),
            )
        )
    if shared_fees and not methods:
        warnings.append("fees given without any submission method were dropped")
    return methods


def _component(component: dict[str, Any], group: str) -> DossierComponent | None:
    name = _text(component.get("name"))
    if not name:
        return None
    forms = [_text(a.get("fileName")) for a in _dicts(component.get("attachments"))]
    return DossierComponent(
        name=name,
        form="; ".join(form for form in forms if form),
        original_count=_count(component.get("originalQty")),
        copy_count=_count(component.get("copyQty")),
        group=group,
    )


def _dossier(raw: dict[str, Any]) -> list[DossierComponent]:
    """Dossier components of every case, each labelled with the case it belongs to."""
    grouped: list[tuple[str, Any]] = [("", raw.get("profileComponents"))]
    for key in ("executionCases", "cases"):
        for case in _dicts(raw.get(key)):
            group = _text(case.get("name")).lstrip("-– ").rstrip(": ").strip()
            grouped.append((group, case.get("profileComponents")))
    return [
        component
        for group, components in grouped
        for item in _dicts(components)
        if (component := _component(item, group)) is not None
    ]


def _legal_basis(value: Any) -> list[LegalBasis]:
    documents: dict[tuple[str, str], LegalBasis] = {}
    for item in _dicts(value):
        title, number = _text(item.get("name")), _text(item.get("code"))
        if title or number:
            documents.setdefault((title, number), LegalBasis(title=title or number, number=number))
    return list(documents.values())
