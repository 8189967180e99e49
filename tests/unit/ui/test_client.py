"""The consoles' HTTP client: URLs, bearer token, and Vietnamese messages for every failure."""

from __future__ import annotations

import json

import httpx
import pytest

from agent_assist_ui.client import (
    AnswerServiceClient,
    EndpointMissing,
    RequestRejected,
    ServiceFailed,
    ServiceUnavailable,
)
from agent_assist_ui.settings import AuthMode, UiSettings


def client_answering(status: int, body: object, seen: list[httpx.Request]) -> AnswerServiceClient:
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(status, json=body)

    return AnswerServiceClient(
        "http://service.test", token="tok-123", transport=httpx.MockTransport(handle)
    )


class TestRequests:
    def test_token_is_sent_as_bearer(self) -> None:
        seen: list[httpx.Request] = []
        with client_answering(200, {"code": "1.000001"}, seen) as client:
            client.procedure_facts("1.000001")
        assert seen[0].headers["Authorization"] == "Bearer tok-123"
        assert seen[0].url.path == "/v1/procedures/1.000001/facts"

    def test_no_token_no_authorization_header(self) -> None:
        seen: list[httpx.Request] = []

        def handle(request: httpx.Request) -> httpx.Response:
            seen.append(request)
            return httpx.Response(200, json={"status": "ok"})

        with AnswerServiceClient(
            "http://service.test/", transport=httpx.MockTransport(handle)
        ) as client:
            assert client.health() == {"status": "ok"}
        assert "Authorization" not in seen[0].headers

    def test_search_drops_empty_filters(self) -> None:
        seen: list[httpx.Request] = []
        with client_answering(200, {"hits": []}, seen) as client:
            client.search("cấp lại CCCD", top_k=3, filters={"levels": ["Cấp xã"], "field": []})
        assert json.loads(seen[0].content) == {
            "query": "cấp lại CCCD",
            "top_k": 3,
            "filters": {"levels": ["Cấp xã"]},
        }

    def test_call_transfer_sends_only_what_the_service_accepts(self) -> None:
        seen: list[httpx.Request] = []
        with client_answering(202, {"call_id": "c1", "request_id": "r1"}, seen) as client:
            client.transfer_call("c1", agency_code="PCCC-HN", reason="Cháy nhà")
        assert seen[0].url.path == "/v1/calls/c1/transfer"
        # The route forbids unknown fields; the operator comes from the bearer token.
        assert json.loads(seen[0].content) == {"agency_code": "PCCC-HN", "reason": "Cháy nhà"}

    def test_login_posts_username_and_password(self) -> None:
        seen: list[httpx.Request] = []
        with client_answering(200, {"access_token": "t"}, seen) as client:
            assert client.login("tdv01", "mat-khau")["access_token"] == "t"
        assert seen[0].url.path == "/v1/auth/token"
        body = json.loads(seen[0].content)
        assert (body["username"], body["password"]) == ("tdv01", "mat-khau")

    def test_delete_with_no_content_returns_none(self) -> None:
        def handle(request: httpx.Request) -> httpx.Response:
            return httpx.Response(204)

        with AnswerServiceClient("http://s.test", transport=httpx.MockTransport(handle)) as c:
            assert c.delete_local_notes("1.000001", version=2) is None


class TestErrors:
    @pytest.mark.parametrize(
        ("status", "fragment"),
        [
            (401, "đăng nhập lại"),
            (403, "không có quyền"),
            (409, "tải lại"),
            (422, "chưa hợp lệ"),
            (429, "chờ ít phút"),
        ],
    )
    def test_rejections_speak_vietnamese(self, status: int, fragment: str) -> None:
        with (
            client_answering(status, {"error_code": "x", "detail": "why"}, []) as client,
            pytest.raises(RequestRejected) as caught,
        ):
            client.synonyms()
        assert fragment in caught.value.message
        assert caught.value.status == status
        assert caught.value.detail == "why"

    def test_validation_detail_names_the_field(self) -> None:
        body = {
            "error_code": "invalid_input",
            "detail": [{"loc": ["body", "query"], "msg": "too short", "type": "x"}],
        }
        with client_answering(422, body, []) as client, pytest.raises(RequestRejected) as caught:
            client.search("x")
        assert "query: too short" in caught.value.message

    def test_unknown_route_is_a_missing_endpoint(self) -> None:
        body = {"error_code": "not_found", "detail": "Not Found"}
        with client_answering(404, body, []) as client, pytest.raises(EndpointMissing) as caught:
            client.live_calls()
        assert "/v1/calls" in caught.value.message

    def test_missing_resource_is_a_rejection(self) -> None:
        body = {"error_code": "not_found", "detail": "no procedure with code '1.999999'"}
        with client_answering(404, body, []) as client, pytest.raises(RequestRejected) as caught:
            client.procedure_facts("1.999999")
        assert "Không tìm thấy" in caught.value.message

    def test_server_error(self) -> None:
        body = {"error_code": "internal", "detail": "internal error"}
        with client_answering(500, body, []) as client, pytest.raises(ServiceFailed) as caught:
            client.suggest(transcript="xin chào")
        assert "lỗi nội bộ" in caught.value.message

    def test_refused_connection(self) -> None:
        def refuse(request: httpx.Request) -> httpx.Response:
            raise httpx.ConnectError("connection refused", request=request)

        with (
            AnswerServiceClient("http://s.test", transport=httpx.MockTransport(refuse)) as c,
            pytest.raises(ServiceUnavailable) as caught,
        ):
            c.health()
        assert "Không kết nối được" in caught.value.message
        assert caught.value.status == 0

    def test_timeout(self) -> None:
        def slow(request: httpx.Request) -> httpx.Response:
            raise httpx.ReadTimeout("timed out", request=request)

        with (
            AnswerServiceClient("http://s.test", transport=httpx.MockTransport(slow)) as c,
            pytest.raises(ServiceUnavailable) as caught,
        ):
            c.health()
        assert "không phản hồi kịp" in caught.value.message

    def test_non_json_error_body(self) -> None:
        def handle(request: httpx.Request) -> httpx.Response:
            return httpx.Response(502, text="<html>bad gateway</html>")

        with (
            AnswerServiceClient("http://s.test", transport=httpx.MockTransport(handle)) as c,
            pytest.raises(ServiceFailed),
        ):
            c.health()


class TestUiSettings:
    def test_defaults(self, monkeypatch: pytest.MonkeyPatch) -> None:
        for name in ("HOTLINE_UI_API_URL", "HOTLINE_UI_AUTH", "HOTLINE_UI_TIMEOUT_S"):
            monkeypatch.delenv(name, raising=False)
        settings = UiSettings(_env_file=None)
        assert settings.api_url == "http://127.0.0.1:8022"
        assert settings.auth is AuthMode.TOKEN

    def test_bad_auth_mode_lists_the_allowed(self) -> None:
        with pytest.raises(ValueError, match="token, none"):
            UiSettings(_env_file=None, auth="password")

    def test_url_needs_a_scheme(self) -> None:
        with pytest.raises(ValueError, match="http://"):
            UiSettings(_env_file=None, api_url="127.0.0.1:8000")
