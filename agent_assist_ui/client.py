"""The consoles' only way to the platform: an HTTP client of the answer service.

One method per endpoint, so that a page never builds a URL. Every failure becomes a
``ConsoleError`` whose ``message`` is a Vietnamese sentence an operator can act on (the service
is down, the session expired, someone else changed the record, the input was refused and why);
the English ``detail`` from the service is kept beside it for the logs.

    ConsoleError
    ├── ServiceUnavailable   no answer: refused connection, timeout, DNS
    ├── EndpointMissing      the service does not offer this endpoint (yet)
    ├── RequestRejected      a 4xx answer: bad input, not allowed, not found, conflict
    └── ServiceFailed        a 5xx answer
"""

from __future__ import annotations

import logging
from typing import Any

import httpx

logger = logging.getLogger(__name__)

JsonDict = dict[str, Any]


class ConsoleError(Exception):
    """A call to the answer service did not give what the page needs.

    Args:
        message: What the user reads, in Vietnamese.
        status: The HTTP status, 0 when there was no answer.
        error_code: The service's stable error code, "" when there was none.
        detail: The service's own detail (English), for logs and support.
    """

    def __init__(
        self, message: str, *, status: int = 0, error_code: str = "", detail: object = ""
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.error_code = error_code
        self.detail = detail


class ServiceUnavailable(ConsoleError):
    """The service did not answer at all."""


class EndpointMissing(ConsoleError):
    """The service answers but has no such endpoint: another part is not deployed yet."""


class RequestRejected(ConsoleError):
    """The service refused the request (4xx)."""


class ServiceFailed(ConsoleError):
    """The service failed (5xx)."""


def _detail_text(detail: object) -> str:
    """The service's detail as one readable line; validation errors list field and message."""
    if isinstance(detail, list):
        parts = []
        for item in detail[:5]:
            if isinstance(item, dict):
                loc = ".".join(str(p) for p in item.get("loc", []) if p != "body")
                parts.append(f"{loc}: {item.get('msg', '')}" if loc else str(item.get("msg", "")))
            else:
                parts.append(str(item))
        return "; ".join(parts)
    return str(detail)[:300]


_REJECTION_MESSAGES = {
    400: "Yêu cầu không hợp lệ: {detail}",
    401: "Phiên đăng nhập đã hết hạn hoặc thông tin đăng nhập không đúng. Vui lòng đăng nhập lại.",
    403: "Tài khoản của bạn không có quyền thực hiện thao tác này.",
    404: "Không tìm thấy dữ liệu yêu cầu ({detail}).",
    409: "Dữ liệu vừa được người khác thay đổi hoặc không ở trạng thái phù hợp: {detail}. "
    "Vui lòng tải lại rồi thử lại.",
    413: "Nội dung gửi đi quá lớn. Vui lòng rút gọn rồi gửi lại.",
    422: "Dữ liệu nhập chưa hợp lệ: {detail}",
    429: "Có quá nhiều yêu cầu trong thời gian ngắn. Vui lòng chờ ít phút rồi thử lại.",
}


def error_from_response(response: httpx.Response) -> ConsoleError:
    """The ConsoleError for a non-2xx answer of the service."""
    try:
        body = response.json()
    except ValueError:
        body = {"detail": response.text[:300]}
    if not isinstance(body, dict):
        body = {"detail": body}
    error_code = str(body.get("error_code", ""))
    detail = body.get("detail", "")
    text = _detail_text(detail)
    status = response.status_code
    path = response.request.url.path if response.request else ""
    if status in (404, 405) and text in ("Not Found", "Method Not Allowed"):
        return EndpointMissing(
            f"Dịch vụ chưa cung cấp chức năng này ({path}). Vui lòng báo quản trị viên.",
            status=status,
            error_code=error_code,
            detail=detail,
        )
    if status >= 500:
        return ServiceFailed(
            f"Dịch vụ trả lời gặp lỗi nội bộ (mã {status}). Vui lòng thử lại sau hoặc báo quản "
            "trị viên.",
            status=status,
            error_code=error_code,
            detail=detail,
        )
    template = _REJECTION_MESSAGES.get(status, "Yêu cầu bị từ chối (mã {status}): {detail}")
    return RequestRejected(
        template.format(detail=text, status=status),
        status=status,
        error_code=error_code,
        detail=detail,
    )


class AnswerServiceClient:
    """Synchronous client of the answer service (and the ticket routes it mounts).

    Usage example:

        with AnswerServiceClient("http://127.0.0.1:8022") as client:
            facts = client.procedure_facts("1.000001")

    Args:
        base_url: The service's base URL, e.g. ``http://127.0.0.1:8022``.
        token: A bearer token from ``login``; sent on every request when given.
        timeout_s: Seconds to wait for each answer.
        transport: An httpx transport, for tests (``httpx.MockTransport``).
    """

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        timeout_s: float = 15.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        headers = {"Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._http = httpx.Client(
            base_url=self.base_url, timeout=timeout_s, headers=headers, transport=transport
        )

    def __enter__(self) -> AnswerServiceClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TimeoutException as exc:
            raise ServiceUnavailable(
                f"Dịch vụ trả lời tại {self.base_url} không phản hồi kịp. Vui lòng thử lại.",
                detail=str(exc),
            ) from exc
        except httpx.TransportError as exc:
            raise ServiceUnavailable(
                f"Không kết nối được dịch vụ trả lời tại {self.base_url}. Kiểm tra dịch vụ đã "
                "chạy và địa chỉ HOTLINE_UI_API_URL đúng, rồi thử lại.",
                detail=str(exc),
            ) from exc
        if response.is_success:
            if response.status_code == 204 or not response.content:
                return None
            return response.json()
        error = error_from_response(response)
        logger.warning(
            "%s %s answered %s: %s", method, path, response.status_code, error.error_code
        )
        raise error

    # ---- health and identity ------------------------------------------------------------

    def health(self) -> JsonDict:
        return self._request("GET", "/health")

    def ready(self) -> JsonDict:
        """Readiness; a 503 is returned as its body rather than raised."""
        try:
            response = self._http.get("/ready")
        except httpx.TransportError as exc:
            raise ServiceUnavailable(
                f"Không kết nối được dịch vụ trả lời tại {self.base_url}.", detail=str(exc)
            ) from exc
        return response.json()

    def login(self, username: str, password: str, *, name: str = "bảng điều khiển") -> JsonDict:
        """Exchange a password for a token: ``{access_token, expires_at, user}``."""
        return self._request(
            "POST",
            "/v1/auth/token",
            json={"username": username, "password": password, "name": name},
        )

    def logout(self) -> None:
        """Revoke the token this client carries."""
        self._request("DELETE", "/v1/auth/token")

    def me(self) -> JsonDict:
        return self._request("GET", "/v1/me")

    # ---- search, procedures, suggestions ------------------------------------------------

    def search(
        self, query: str, *, top_k: int = 5, filters: dict[str, list[str]] | None = None
    ) -> JsonDict:
        body: JsonDict = {"query": query, "top_k": top_k}
        if filters:
            body["filters"] = {k: v for k, v in filters.items() if v}
        return self._request("POST", "/v1/search", json=body)

    def facets(self) -> JsonDict:
        """The fields, levels and agencies the search filters take, with document counts."""
        return self._request("GET", "/v1/facets")

    def procedure(self, code: str) -> JsonDict:
        return self._request("GET", f"/v1/procedures/{code}")

    def procedure_facts(self, code: str) -> JsonDict:
        return self._request("GET", f"/v1/procedures/{code}/facts")

    def suggest(
        self, *, transcript: str = "", conversation: list[JsonDict] | None = None, top_k: int = 3
    ) -> JsonDict:
        body = {"transcript": transcript, "conversation": conversation or [], "top_k": top_k}
        return self._request("POST", "/v1/suggest", json=body)

    def answer(self, question: str, *, channel: str = "web") -> JsonDict:
        return self._request("POST", "/v1/answer", json={"question": question, "channel": channel})

    # ---- knowledge editor ---------------------------------------------------------------

    def knowledge_records(
        self, *, query: str = "", kind: str = "", limit: int = 50, offset: int = 0
    ) -> JsonDict:
        params: JsonDict = {"limit": limit, "offset": offset}
        if query:
            params["q"] = query
        if kind:
            params["kind"] = kind
        return self._request("GET", "/v1/knowledge/records", params=params)

    def knowledge_record(self, doc_id: str) -> JsonDict:
        return self._request("GET", "/v1/knowledge/records/detail", params={"doc_id": doc_id})

    def facts_with_local(self, code: str) -> JsonDict:
        """Key facts with the province's local notes beside them."""
        return self._request("GET", f"/v1/knowledge/procedures/{code}/facts")

    def local_notes(self, code: str) -> JsonDict:
        return self._request("GET", f"/v1/knowledge/procedures/{code}/local")

    def save_local_notes(self, code: str, notes: JsonDict) -> JsonDict:
        """Create or replace the notes; ``notes["version"]`` is the version last read (0: new)."""
        return self._request("PUT", f"/v1/knowledge/procedures/{code}/local", json=notes)

    def delete_local_notes(self, code: str, *, version: int) -> None:
        self._request(
            "DELETE", f"/v1/knowledge/procedures/{code}/local", params={"version": version}
        )

    def list_local_notes(self, *, limit: int = 100) -> JsonDict:
        return self._request("GET", "/v1/knowledge/local", params={"limit": limit})

    def synonyms(self) -> JsonDict:
        return self._request("GET", "/v1/knowledge/synonyms")

    def save_synonyms(self, entries: list[JsonDict], *, version: str) -> JsonDict:
        return self._request(
            "PUT", "/v1/knowledge/synonyms", json={"entries": entries, "version": version}
        )

    def sync_status(self) -> JsonDict:
        return self._request("GET", "/v1/knowledge/sync")

    def sync_runs(self, *, limit: int = 10) -> list[JsonDict]:
        return self._request("GET", "/v1/knowledge/sync/runs", params={"limit": limit})

    def sync_run_changes(self, run_id: int, *, limit: int = 100) -> JsonDict:
        return self._request(
            "GET", f"/v1/knowledge/sync/runs/{run_id}/changes", params={"limit": limit}
        )

    def start_sync(self, sources: list[str] | None = None) -> JsonDict:
        return self._request("POST", "/v1/knowledge/sync", json={"sources": sources})

    def sync_task(self, task_id: str) -> JsonDict:
        return self._request("GET", f"/v1/knowledge/sync/tasks/{task_id}")

    # ---- answer proposals from tickets (tickets/api) ------------------------------------

    def proposals(self, *, status: str = "proposed", limit: int = 50) -> list[JsonDict]:
        return self._request(
            "GET", "/v1/knowledge/proposals", params={"status": status, "limit": limit}
        )

    def review_proposal(self, proposal_id: int, review: JsonDict) -> JsonDict:
        """``review``: ``{"decision": "approve"|"edit"|"reject", "answer", "note", "version"}``."""
        return self._request("POST", f"/v1/knowledge/proposals/{proposal_id}/review", json=review)

    # ---- tickets (tickets/api) ----------------------------------------------------------

    def agencies(self) -> list[JsonDict]:
        return self._request("GET", "/v1/agencies")

    def create_ticket(self, ticket: JsonDict) -> JsonDict:
        return self._request("POST", "/v1/tickets", json=ticket)

    def tickets(self, **filters: Any) -> JsonDict:
        params = {k: v for k, v in filters.items() if v not in (None, "", [])}
        return self._request("GET", "/v1/tickets", params=params)

    def ticket(self, ticket_id: int) -> JsonDict:
        return self._request("GET", f"/v1/tickets/{ticket_id}")

    def ticket_transition(self, ticket_id: int, transition: JsonDict) -> JsonDict:
        """``transition``: ``{"to": "classified"|"transferred"|..., "version", ...}``."""
        return self._request("POST", f"/v1/tickets/{ticket_id}/transitions", json=transition)

    def ticket_suggestions(self, content: str, *, limit: int = 5) -> JsonDict:
        """Field, procedures, similar open tickets and past answered ones for a text."""
        return self._request(
            "POST", "/v1/tickets/suggestions", json={"content": content, "limit": limit}
        )

    def export_tickets(self, *, fmt: str = "csv", **filters: Any) -> bytes:
        """The tickets matching the filters, with their logs, as a file's bytes."""
        params = {k: v for k, v in filters.items() if v not in (None, "", [])}
        params["format"] = fmt
        try:
            response = self._http.get("/v1/tickets/export", params=params)
        except httpx.TransportError as exc:
            raise ServiceUnavailable(
                f"Không kết nối được dịch vụ trả lời tại {self.base_url}.", detail=str(exc)
            ) from exc
        if not response.is_success:
            raise error_from_response(response)
        return response.content

    # ---- statistics (tickets/api) -------------------------------------------------------

    def ticket_stats(self, *, period: str = "day", created_from: str | None = None) -> JsonDict:
        """Counts and SLA compliance by field, channel, agency, status and period; workload."""
        params = {"period": period}
        if created_from:
            params["created_from"] = created_from
        return self._request("GET", "/v1/stats/tickets", params=params)

    def overdue_tickets(self, *, limit: int = 100) -> list[JsonDict]:
        return self._request("GET", "/v1/stats/overdue", params={"limit": limit})

    # ---- live calls (answer_service/api/routes/calls.py) --------------------------------

    def live_calls(self) -> list[JsonDict]:
        return self._request("GET", "/v1/calls")

    def live_call(self, call_id: str) -> JsonDict:
        return self._request("GET", f"/v1/calls/{call_id}")

    def add_transcript(self, call_id: str, text: str, *, speaker: str = "citizen") -> JsonDict:
        segment = {"text": text, "speaker": speaker, "final": True}
        return self._request(
            "POST", f"/v1/calls/{call_id}/transcript", json={"segments": [segment]}
        )

    def transfer_call(self, call_id: str, *, agency_code: str, reason: str) -> JsonDict:
        """Ask for a live call's transfer; the service takes the operator from the token."""
        body = {"agency_code": agency_code, "reason": reason}
        return self._request("POST", f"/v1/calls/{call_id}/transfer", json=body)

    # ---- feedback and answer quality ----------------------------------------------------

    def send_feedback(self, feedback: JsonDict) -> JsonDict:
        """``{"interaction_id", "verdict": "useful"|"wrong"|"missing", "procedure_code"}``."""
        return self._request("POST", "/v1/feedback", json=feedback)

    def quality(self, name: str, **params: Any) -> Any:
        """One answer-quality report: ``summary``, ``gaps`` or ``sample``."""
        clean = {k: v for k, v in params.items() if v not in (None, "")}
        return self._request("GET", f"/v1/quality/{name}", params=clean)

    def rate_answer(self, rating: JsonDict) -> None:
        """``{"interaction_id", "score": 1..5, "note"}``; the rater comes from the token."""
        self._request("POST", "/v1/quality/ratings", json=rating)
