"""The national portal connector against a real HTTP server on the loopback interface.

The server plays the portal: a cursor-paged listing and detail answers in the portal's shape,
plus scripted failures (error statuses, slow answers, malformed bodies).
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from ingestion.connectors.dvcqg_api import DETAIL_PATH, LIST_PATH, NationalPortalConnector
from ingestion.errors import ConnectorError, RecordError
from ingestion.models import SubmissionChannel

pytestmark = pytest.mark.integration

# A scripted answer: ("status", code, body) | ("sleep", seconds) | ("raw", bytes) | ("json", obj)
Behaviour = tuple[Any, ...]


@dataclass
class PortalStub:
    """State of the fake portal; tests change it between calls."""

    items: list[dict[str, Any]] = field(default_factory=list)
    details: dict[str, dict[str, Any]] = field(default_factory=dict)
    scripted: dict[str, list[Behaviour]] = field(default_factory=dict)
    always: dict[str, Behaviour] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    send_last_id: bool = True
    base_url: str = ""

    def add(self, number: int, *, updated_at: int = 1_700_000_000_000) -> str:
        formality_id = f"019d0000-0000-7000-8000-{number:012d}"
        code = f"1.{number:06d}"
        name = f"Thủ tục thử số {number}"
        self.items.append({"id": formality_id, "code": code, "name": name, "updatedAt": updated_at})
        self.details[formality_id] = _detail(formality_id, code, name, updated_at)
        return formality_id

    def next_behaviour(self, path: str) -> Behaviour | None:
        with self.lock:
            queue = self.scripted.get(path)
            if queue:
                return queue.pop(0)
            return self.always.get(path)

    def bodies(self, path: str) -> list[dict[str, Any]]:
        return [body for requested, body in self.requests if requested == path]


def _detail(formality_id: str, code: str, name: str, updated_at: int) -> dict[str, Any]:
    """A detail in the shape of the portal's ``get-formality-by-citizen`` data."""
    fee = {"type": "FEE", "value": 15000, "description": "Lệ phí", "currencyName": "Việt Nam Đồng"}
    return {
        "id": formality_id,
        "code": code,
        "codeNotation": code,
        "name": name,
        "executionSteps": [
            {"name": "", "description": "Bước 1: Nộp hồ sơ.\n Bước 2: Nhận kết quả."}
        ],
        "executionMethods": [
            {
                "submissionMethod": "DIRECT",
                "processingTime": 3,
                "processingTimeUnit": "WORKING_DAY",
                "description": "Nộp tại bộ phận một cửa.",
                "fees": [fee],
            },
            {
                "submissionMethod": "ONLINE",
                "processingTime": 3,
                "processingTimeUnit": "WORKING_DAY",
                "fees": [dict(fee, value=7500)],
            },
        ],
        "executionCases": [
            {
                "name": "",
                "profileComponents": [
                    {"name": "Tờ khai", "originalQty": 1, "copyQty": 0, "attachments": []},
                    {"name": "Giấy tờ chứng minh", "originalQty": 0, "copyQty": 1},
                ],
            }
        ],
        "isWard": True,
        "categoriesDetails": [{"id": "c1", "name": "Hộ tịch", "code": "G00-TP01"}],
        "resultsDetails": [{"id": "r1", "name": "Giấy xác nhận", "code": "KQ.1"}],
        "legalBasisesDetails": [{"id": "l1", "name": "Luật Hộ tịch 2014", "code": "60/2014/QH13"}],
        "departmentsExecuting": [{"id": "d1", "name": "Ủy ban nhân dân cấp Xã", "code": "UBNDX"}],
        "departmentPromulgateCode": "G00",
        "updatedAt": updated_at,
    }


def _make_handler(stub: PortalStub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (base signature)
            """Keep the test output quiet."""

        def do_POST(self) -> None:  # noqa: N802 (http.server naming)
            length = int(self.headers.get("content-length", "0"))
            body = json.loads(self.rfile.read(length) or b"{}")
            with stub.lock:
                stub.requests.append((self.path, body))
            behaviour = stub.next_behaviour(self.path)
            # The client may have given up waiting, as the timeout tests intend.
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self._answer(body, behaviour)

        def _answer(self, body: dict[str, Any], behaviour: Behaviour | None) -> None:
            if behaviour is not None:
                kind = behaviour[0]
                if kind == "status":
                    return self._send(behaviour[1], behaviour[2].encode("utf-8"))
                if kind == "raw":
                    return self._send(200, behaviour[1])
                if kind == "json":
                    return self._send(200, json.dumps(behaviour[1]).encode("utf-8"))
                if kind == "sleep":
                    time.sleep(behaviour[1])
            if self.path == LIST_PATH:
                return self._send(200, json.dumps(self._page(body)).encode("utf-8"))
            if self.path == DETAIL_PATH:
                detail = stub.details.get(body.get("id", ""))
                if detail is None:
                    return self._send(404, b'{"code": "NOT_FOUND", "data": null}')
                return self._send(200, json.dumps({"code": "OK", "data": detail}).encode("utf-8"))
            return self._send(404, b"{}")

        @staticmethod
        def _page(body: dict[str, Any]) -> dict[str, Any]:
            with stub.lock:
                ids = [item["id"] for item in stub.items]
                # The portal's cursor is opaque; this one wraps the last id so that a client
                # which ignores it and sends the bare id (the fallback) is told apart.
                cursor = (body.get("lastId") or "").removeprefix("cursor:")
                start = ids.index(cursor) + 1 if cursor in ids else 0
                page = stub.items[start : start + int(body.get("limit", 10))]
            if not stub.send_last_id:
                return {"data": {"items": page}}
            last_id = f"cursor:{page[-1]['id']}" if page else None
            return {"data": {"items": page, "lastId": last_id}}

        def _send(self, status: int, payload: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    return Handler


@pytest.fixture(autouse=True)
def _no_proxy_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def portal() -> Iterator[PortalStub]:
    stub = PortalStub()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(stub))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    stub.base_url = f"http://{host}:{port}"
    try:
        yield stub
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5.0, trust_env=False) as http_client:
        yield http_client


def _connector(portal: PortalStub, client: httpx.Client, **kwargs: Any) -> NationalPortalConnector:
    kwargs.setdefault("backoff_seconds", 0.01)
    return NationalPortalConnector(portal.base_url, client=client, **kwargs)


class TestListing:
    def test_pages_follow_the_cursor(self, portal: PortalStub, client: httpx.Client) -> None:
        ids = [portal.add(number) for number in range(1, 451)]

        refs = _connector(portal, client).list_items()

        assert [ref.source_id for ref in refs] == ids
        assert {ref.version for ref in refs} == {"1700000000000"}
        bodies = portal.bodies(LIST_PATH)
        cursors = ["", f"cursor:{ids[199]}", f"cursor:{ids[399]}", f"cursor:{ids[449]}"]
        assert [body["lastId"] for body in bodies] == cursors
        assert {body["limit"] for body in bodies} == {200}
        assert {body["departmentCode"] for body in bodies} == {""}

    def test_last_item_id_is_the_cursor_when_the_page_has_none(
        self, portal: PortalStub, client: httpx.Client
    ) -> None:
        ids = [portal.add(number) for number in range(1, 301)]
        portal.send_last_id = False

        refs = _connector(portal, client).list_items()

        assert [ref.source_id for ref in refs] == ids
        assert [body["lastId"] for body in portal.bodies(LIST_PATH)] == ["", ids[199], ids[299]]

    def test_agency_code_scopes_the_listing(self, portal: PortalStub, client: httpx.Client) -> None:
        portal.add(1)

        _connector(portal, client, agency_code="h21").list_items()

        assert portal.bodies(LIST_PATH)[0]["departmentCode"] == "H21"

    def test_changed_item_is_detected(self, portal: PortalStub, client: httpx.Client) -> None:
        first, second = portal.add(1), portal.add(2)
        connector = _connector(portal, client)
        known = {ref.source_id: ref.version for ref in connector.list_items()}

        portal.items[1]["updatedAt"] = 1_800_000_000_000
        portal.details[second]["name"] = "Thủ tục thử số 2 (sửa đổi)"
        refs = {ref.source_id: ref for ref in connector.list_items()}

        assert not connector.has_changed(refs[first], known[first])
        assert connector.has_changed(refs[second], known[second])
        procedure = connector.normalize(connector.fetch(refs[second]))
        assert procedure.name == "Thủ tục thử số 2 (sửa đổi)"

    def test_removed_item_is_absent(self, portal: PortalStub, client: httpx.Client) -> None:
        kept, removed = portal.add(1), portal.add(2)
        connector = _connector(portal, client)
        assert {ref.source_id for ref in connector.list_items()} == {kept, removed}

        del portal.items[1]

        assert [ref.source_id for ref in connector.list_items()] == [kept]

    def test_item_without_update_marker_has_empty_version(
        self, portal: PortalStub, client: httpx.Client
    ) -> None:
        portal.add(1)
        del portal.items[0]["updatedAt"]

        (ref,) = _connector(portal, client).list_items()

        assert ref.version == ""
        assert _connector(portal, client).has_changed(ref, "1700000000000")


class TestRetries:
    def test_5xx_then_success(self, portal: PortalStub, client: httpx.Client) -> None:
        portal.add(1)
        portal.scripted[LIST_PATH] = [("status", 503, "busy"), ("status", 502, "bad gateway")]

        refs = _connector(portal, client, max_attempts=3).list_items()

        assert len(refs) == 1
        assert len(portal.bodies(LIST_PATH)) == 4  # 2 failures, the page, the empty page

    def test_5xx_forever_raises(self, portal: PortalStub, client: httpx.Client) -> None:
        portal.add(1)
        portal.always[LIST_PATH] = ("status", 500, "x" * 5000)

        with pytest.raises(ConnectorError) as caught:
            _connector(portal, client, max_attempts=3).list_items()

        assert "HTTP 500" in caught.value.detail
        assert len(caught.value.detail) < 500  # the 5000-character body is cut
        assert len(portal.bodies(LIST_PATH)) == 3

    def test_client_error_is_not_retried(self, portal: PortalStub, client: httpx.Client) -> None:
        portal.always[DETAIL_PATH] = ("status", 403, "forbidden")
        ref_id = portal.add(1)
        (ref,) = _connector(portal, client).list_items()

        with pytest.raises(ConnectorError, match="HTTP 403"):
            _connector(portal, client).fetch(ref)

        assert [body["id"] for body in portal.bodies(DETAIL_PATH)] == [ref_id]

    def test_detail_5xx_then_success(self, portal: PortalStub, client: httpx.Client) -> None:
        portal.add(1)
        portal.scripted[DETAIL_PATH] = [("status", 500, "oops")]
        connector = _connector(portal, client)
        (ref,) = connector.list_items()

        procedure = connector.normalize(connector.fetch(ref))

        assert procedure.code == "1.000001"
        assert len(portal.bodies(DETAIL_PATH)) == 2

    def test_timeout_forever_raises(self, portal: PortalStub) -> None:
        portal.add(1)
        portal.always[LIST_PATH] = ("sleep", 1.0)
        # No injected client: the connector builds its own from base_url and timeout.
        connector = NationalPortalConnector(
            portal.base_url, timeout=0.2, max_attempts=2, backoff_seconds=0.01
        )

        started = time.monotonic()
        with connector, pytest.raises(ConnectorError, match="ReadTimeout") as caught:
            connector.list_items()

        assert isinstance(caught.value.__cause__, httpx.TimeoutException)
        assert time.monotonic() - started < 1.5
        assert len(portal.bodies(LIST_PATH)) == 2

    def test_timeout_then_success(self, portal: PortalStub) -> None:
        portal.add(1)
        portal.scripted[LIST_PATH] = [("sleep", 1.0)]
        with httpx.Client(timeout=0.2, trust_env=False) as slow_client:
            refs = _connector(portal, slow_client).list_items()

        assert len(refs) == 1


class TestMalformedBodies:
    def test_malformed_second_page_fails_the_whole_listing(
        self, portal: PortalStub, client: httpx.Client
    ) -> None:
        for number in range(1, 251):
            portal.add(number)
        portal.scripted[LIST_PATH] = [
            ("json", {"data": {"items": portal.items[:200]}}),
            ("raw", b"<html>"),
        ]

        with pytest.raises(ConnectorError, match="not JSON"):
            _connector(portal, client).list_items()

    @pytest.mark.parametrize(
        "envelope",
        [
            {"data": {"rows": []}},
            {"items": []},
            [],
            {"data": {"items": [{"code": "1.000001"}]}},
        ],
        ids=["no-items", "no-data", "not-object", "item-without-id"],
    )
    def test_unexpected_envelope_raises(
        self, portal: PortalStub, client: httpx.Client, envelope: Any
    ) -> None:
        portal.always[LIST_PATH] = ("json", envelope)

        with pytest.raises(ConnectorError):
            _connector(portal, client).list_items()

    def test_cursor_that_does_not_advance_raises(
        self, portal: PortalStub, client: httpx.Client
    ) -> None:
        portal.add(1)
        portal.always[LIST_PATH] = ("json", {"data": {"items": portal.items, "lastId": "same"}})

        with pytest.raises(ConnectorError, match="did not advance"):
            _connector(portal, client).list_items()

    @pytest.mark.parametrize(
        "behaviour",
        [("raw", b"{not json"), ("json", {"code": "OK", "data": None}), ("json", ["x"])],
        ids=["not-json", "null-data", "list"],
    )
    def test_malformed_detail_raises_record_error(
        self, portal: PortalStub, client: httpx.Client, behaviour: Behaviour
    ) -> None:
        portal.add(1)
        connector = _connector(portal, client)
        (ref,) = connector.list_items()
        portal.always[DETAIL_PATH] = behaviour

        with pytest.raises(RecordError) as caught:
            connector.fetch(ref)

        assert caught.value.source_id == ref.source_id

    def test_detail_without_name_fails_normalize(
        self, portal: PortalStub, client: httpx.Client
    ) -> None:
        formality_id = portal.add(1)
        portal.details[formality_id]["name"] = ""
        connector = _connector(portal, client)
        (ref,) = connector.list_items()
        record = connector.fetch(ref)

        with pytest.raises(RecordError, match="name"):
            connector.normalize(record)


def test_fetch_and_normalize_round_trip(portal: PortalStub, client: httpx.Client) -> None:
    formality_id = portal.add(7)
    connector = _connector(portal, client)
    (ref,) = connector.list_items()

    record = connector.fetch(ref)
    procedure = connector.normalize(record)

    assert record.raw == portal.details[formality_id]
    assert record.url == f"{portal.base_url}/thu-tuc-hanh-chinh/{formality_id}"
    assert procedure.code == "1.000007"
    assert [m.channel for m in procedure.submission_methods] == [
        SubmissionChannel.DIRECT,
        SubmissionChannel.ONLINE,
    ]
    assert [m.fees[0].amount for m in procedure.submission_methods] == [15000, 7500]
    assert [(c.original_count, c.copy_count) for c in procedure.dossier] == [(1, 0), (0, 1)]
    assert [s.text for s in procedure.steps] == ["Nộp hồ sơ.", "Nhận kết quả."]
    assert procedure.levels == ["Cấp xã"]
    assert procedure.content_hash == record.content_hash
