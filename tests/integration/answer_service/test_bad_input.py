"""Bad input never gets a 500, always gets ``{"error_code", "detail"}``, and harms nothing.

Each case sends one malformed or hostile request to a POST endpoint, checks the answer, then
checks that the service still answers a good question correctly: no worker is wedged, no state
is corrupted, the catalogue still holds its procedures.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from invented_kb import SWIFTLET, InventedKnowledgeBase

from answer_service.main import create_app

pytestmark = pytest.mark.integration

ENDPOINTS = {"/v1/search": "query", "/v1/answer": "question", "/v1/suggest": "transcript"}
DEFAULT_LIMIT = 64 * 1024


def assert_error(response: httpx.Response, status: int | tuple[int, ...]) -> dict[str, Any]:
    """A 4xx answer in the error shape; never a 500."""
    statuses = (status,) if isinstance(status, int) else status
    assert response.status_code in statuses, (response.status_code, response.text[:300])
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error_code", "detail"}
    assert isinstance(body["error_code"], str) and body["error_code"]
    assert body["detail"]
    return body


def assert_still_serving(client: TestClient) -> None:
    response = client.post("/v1/search", json={"query": "giấy phép nuôi chim yến"})
    assert response.status_code == 200, response.text
    assert response.json()["hits"][0]["code"] == SWIFTLET
    assert client.get(f"/v1/procedures/{SWIFTLET}").status_code == 200


def post_raw(client: TestClient, path: str, content: bytes | Iterator[bytes]) -> httpx.Response:
    """POST bytes as they are, declared as JSON."""
    return client.post(path, content=content, headers={"content-type": "application/json"})


# --------------------------------------------------------------------------------------------
# Text that is empty, too long, or has no words


@pytest.mark.parametrize("path", list(ENDPOINTS))
@pytest.mark.parametrize(
    "text",
    ["", "   ", " \n\t\u00a0\u200b ", "😀🎉👍", "🇻🇳🇻🇳", "?!...,,;", "<p></p>", "<b> </b>"],
    ids=["empty", "spaces", "whitespace", "emoji", "flags", "punctuation", "html", "html-space"],
)
def test_text_without_words_is_422(client: TestClient, path: str, text: str) -> None:
    body = assert_error(client.post(path, json={ENDPOINTS[path]: text}), 422)

    assert body["error_code"] == "invalid_input"
    assert_still_serving(client)


@pytest.mark.parametrize("path", list(ENDPOINTS))
def test_100_kb_query_is_413_under_the_default_limit(client: TestClient, path: str) -> None:
    text = "nuôi chim yến " * 7_300  # about 100 kB of UTF-8
    body = assert_error(client.post(path, json={ENDPOINTS[path]: text}), 413)

    assert body["error_code"] == "payload_too_large"
    assert_still_serving(client)


def test_100_kb_query_under_a_larger_limit_is_422(invented_kb: InventedKnowledgeBase) -> None:
    app = create_app(service=invented_kb.service, max_body_bytes=1_000_000)
    with TestClient(app, raise_server_exceptions=False) as client:
        for path, key in ENDPOINTS.items():
            body = assert_error(client.post(path, json={key: "a" * 100_000}), 422)
            assert body["detail"][0]["type"] == "string_too_long"
            assert "input" not in body["detail"][0], "the 100 kB input is not echoed back"
        assert_still_serving(client)


def test_query_at_the_length_limit_is_answered(client: TestClient) -> None:
    query = ("nuôi chim yến " * 300)[:4_000]
    response = client.post("/v1/search", json={"query": query})

    assert response.status_code == 200
    assert response.json()["hits"][0]["code"] == SWIFTLET


# --------------------------------------------------------------------------------------------
# Bodies that are not what the schema says


@pytest.mark.parametrize(
    ("path", "payload"),
    [
        ("/v1/search", {"query": 123}),
        ("/v1/search", {"query": ["nuôi", "chim", "yến"]}),
        ("/v1/search", {"query": {"text": "chim yến"}}),
        ("/v1/search", {"query": True}),
        ("/v1/search", {"query": None}),
        ("/v1/search", {"query": "chim yến", "top_k": [5]}),
        ("/v1/search", {"query": "chim yến", "top_k": "5 kết quả"}),
        ("/v1/search", {"query": "chim yến", "top_k": None}),
        ("/v1/search", {"query": "chim yến", "top_k": 2.5}),
        ("/v1/search", {"query": "chim yến", "top_k": 0}),
        ("/v1/search", {"query": "chim yến", "top_k": -1}),
        ("/v1/search", {"query": "chim yến", "top_k": 10**9}),
        ("/v1/search", {"query": "chim yến", "top_k": 10**30}),
        ("/v1/search", {"query": "chim yến", "filters": "Cấp xã"}),
        ("/v1/search", {"query": "chim yến", "filters": {"levels": "Cấp xã"}}),
        ("/v1/search", {"query": "chim yến", "filters": {"levels": [1, 2]}}),
        ("/v1/search", {"query": "chim yến", "filters": {"levels": ["x"] * 6}}),
        ("/v1/search", {"query": "chim yến", "filters": {"province": ["H38"]}}),
        ("/v1/search", {"query": "chim yến", "filters": {"agency": ["x" * 2_001]}}),
        ("/v1/search", {}),
        ("/v1/search", {"top_k": 3}),
        ("/v1/search", {"query": "chim yến", "debug": True}),
        ("/v1/search", {"q": "chim yến"}),
        ("/v1/answer", {"question": 42}),
        ("/v1/answer", {"question": None}),
        ("/v1/answer", {}),
        ("/v1/answer", {"question": "phí nuôi chim yến", "channel": "fax"}),
        ("/v1/answer", {"question": "phí nuôi chim yến", "channel": None}),
        ("/v1/answer", {"question": "phí nuôi chim yến", "stream": True}),
        ("/v1/suggest", {}),
        ("/v1/suggest", {"conversation": "nuôi chim yến"}),
        ("/v1/suggest", {"conversation": [{"speaker": "robot", "text": "chim yến"}]}),
        ("/v1/suggest", {"conversation": [{"speaker": "citizen"}]}),
        ("/v1/suggest", {"conversation": [{"speaker": "citizen", "text": 5}]}),
        ("/v1/suggest", {"conversation": [{"speaker": "citizen", "text": "a", "x": 1}]}),
        ("/v1/suggest", {"conversation": [{"speaker": "operator", "text": "Xin chào"}]}),
        ("/v1/suggest", {"transcript": None}),
        ("/v1/suggest", {"transcript": "chim yến", "top_k": 0}),
        ("/v1/suggest", {"transcript": "chim yến", "top_k": 10**9}),
        ("/v1/suggest", {"transcript": "chim yến", "top_k": [1]}),
    ],
)
def test_wrong_shapes_and_types_are_422(
    client: TestClient, path: str, payload: dict[str, Any]
) -> None:
    body = assert_error(client.post(path, json=payload), 422)

    assert body["error_code"] == "invalid_input"
    assert_still_serving(client)


@pytest.mark.parametrize("path", list(ENDPOINTS))
@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b"query=chim+yen", "application/x-www-form-urlencoded"),
        (b"nuoi chim yen", "text/plain"),
        (b"nuoi chim yen", "application/json"),
        (b"{'query': 'chim yen'}", "application/json"),
        (b'{"query": "chim yen"', "application/json"),
        (b"", "application/json"),
        (b"null", "application/json"),
        (b'"chim yen"', "application/json"),
        (b"[]", "application/json"),
        (b'{"query": "chim yen", "top_k": NaN}', "application/json"),
        (b'{"query": "chim yen", "top_k": Infinity}', "application/json"),
        (b'{"query": "chim yen", "top_k": ' + b"9" * 5_000 + b"}", "application/json"),
        (b'{"query": "chim yen", "filters": ' + b"[" * 3_000 + b"]" * 3_000 + b"}", "x/json"),
    ],
    ids=[
        "form",
        "text-plain",
        "bare-text",
        "single-quotes",
        "truncated",
        "empty",
        "null",
        "string",
        "list",
        "nan",
        "infinity",
        "5000-digit-int",
        "deep-nesting",
    ],
)
def test_non_json_bodies_are_4xx(
    client: TestClient, path: str, content: bytes, content_type: str
) -> None:
    response = client.post(path, content=content, headers={"content-type": content_type})

    assert_error(response, (400, 415, 422))
    assert_still_serving(client)


@pytest.mark.parametrize("path", list(ENDPOINTS))
@pytest.mark.parametrize(
    "content",
    [
        b'{"query": "chim \xff\xfe y\xc3", "question": "chim \xff", "transcript": "\xc3\x28"}',
        b'{"query": "\xed\xa0\x80", "question": "\xed\xa0\x80", "transcript": "\xed\xa0\x80"}',
        b"\xff\xfe\x00\x00garbage",
    ],
    ids=["invalid-bytes", "encoded-surrogate", "garbage"],
)
def test_invalid_utf8_is_4xx(client: TestClient, path: str, content: bytes) -> None:
    response = post_raw(client, path, content)
    assert_error(response, (400, 422))
    if response.status_code == 400:
        assert response.json()["error_code"] == "bad_request"
        assert "UTF-8" in response.json()["detail"]
    assert_still_serving(client)


@pytest.mark.parametrize(
    ("path", "content"),
    [
        ("/v1/search", b'{"query": "chim y\\u1ebfn \\ud800"}'),
        ("/v1/answer", b'{"question": "\\udfff ph\\u00ed"}'),
        ("/v1/suggest", b'{"transcript": "chim \\ud83d"}'),
        ("/v1/suggest", b'{"conversation": [{"speaker": "citizen", "text": "a \\ud800"}]}'),
        # A lone surrogate in a filter value used to reach the index and answer 500.
        ("/v1/search", b'{"query": "chim", "filters": {"doc_kind": ["\\ud800"]}}'),
        ("/v1/search", b'{"query": "chim", "filters": {"field": ["\\udc00x"]}}'),
        ("/v1/search", b'{"query": "chim", "filters": {"agency": ["a", "\\ud800"]}}'),
    ],
)
def test_lone_surrogates_escaped_in_json_are_422(
    client: TestClient, path: str, content: bytes
) -> None:
    body = assert_error(post_raw(client, path, content), 422)

    assert body["error_code"] == "invalid_input"
    assert_still_serving(client)


# --------------------------------------------------------------------------------------------
# Size limit


def _chunks(total: int, size: int = 8_192) -> Iterator[bytes]:
    yield b'{"query": "'
    for _ in range(total // size):
        yield b"a" * size
    yield b'"}'


@pytest.mark.parametrize("path", list(ENDPOINTS))
def test_body_over_the_limit_is_413(client: TestClient, path: str) -> None:
    payload = json.dumps({ENDPOINTS[path]: "x" * DEFAULT_LIMIT}).encode()
    body = assert_error(post_raw(client, path, payload), 413)

    assert body["error_code"] == "payload_too_large"
    assert str(DEFAULT_LIMIT) in body["detail"]
    assert_still_serving(client)


@pytest.mark.parametrize("path", list(ENDPOINTS))
def test_chunked_body_over_the_limit_is_413(client: TestClient, path: str) -> None:
    # No Content-Length: the limit must hold on the bytes read, not on the header.
    response = post_raw(client, path, _chunks(2_000_000))

    body = assert_error(response, 413)
    assert body["error_code"] == "payload_too_large"
    assert_still_serving(client)


def test_chunked_body_under_the_limit_is_served(client: TestClient) -> None:
    def small() -> Iterator[bytes]:
        yield b'{"query": "gi\xe1\xba\xa5y ph\xc3\xa9p '
        yield b'nu\xc3\xb4i chim y\xe1\xba\xbfn"}'

    response = post_raw(client, "/v1/search", small())

    assert response.status_code == 200
    assert response.json()["hits"][0]["code"] == SWIFTLET


def test_body_at_the_limit_is_not_refused_for_size(invented_kb: InventedKnowledgeBase) -> None:
    app = create_app(service=invented_kb.service, max_body_bytes=100)
    with TestClient(app, raise_server_exceptions=False) as client:
        payload = json.dumps({"query": "nuôi chim yến"}).encode()
        padded = payload + b" " * (100 - len(payload))
        assert post_raw(client, "/v1/search", padded).status_code == 200
        assert_error(post_raw(client, "/v1/search", padded + b" "), 413)


# --------------------------------------------------------------------------------------------
# Valid but hostile or unusual text: answered normally, never 500


MIXED_SCRIPTS = [
    "护照 nuôi chim yến 申请",  # Chinese
    "مرحبا nuôi chim yến شكرا",  # Arabic, right to left
    "Здравствуйте, nuôi chim yến",  # Cyrillic
    "nuôi chim yến ১২৩ नमस्ते ありがとう",  # Bengali digits, Devanagari, Japanese
    "nuôi\u200d chim\u202e yến\u2066",  # zero-width joiner and bidi controls
    "nuo\u0302i chim ye\u0302\u0301n",  # combining diacritics (NFD)
    "NUÔI CHIM YẾN",
]


@pytest.mark.parametrize("text", MIXED_SCRIPTS)
def test_mixed_scripts_keep_the_vietnamese_words(client: TestClient, text: str) -> None:
    response = client.post("/v1/search", json={"query": text})

    assert response.status_code == 200, response.text
    assert response.json()["hits"][0]["code"] == SWIFTLET
    for path in ("/v1/answer", "/v1/suggest"):
        assert client.post(path, json={ENDPOINTS[path]: text}).status_code == 200


@pytest.mark.parametrize("text", ["护照申请", "مرحبا بكم", "Здравствуйте", "ありがとう"])
def test_foreign_text_only_is_answered_or_refused_never_500(client: TestClient, text: str) -> None:
    for path, key in ENDPOINTS.items():
        response = client.post(path, json={key: text})
        if response.status_code != 200:
            assert_error(response, 422)
    assert_still_serving(client)


@pytest.mark.parametrize("text", ["nuôi\x00chim\x1byến", "nuôi\x85chim \x7f yến\x01"])
def test_control_characters_part_words_and_are_not_echoed(client: TestClient, text: str) -> None:
    response = client.post("/v1/search", json={"query": text})

    assert response.status_code == 200, response.text
    query = response.json()["query"]
    assert query["text"] == "nuôi chim yến"
    assert not any(ch in query["restored"] for ch in "\x00\x01\x1b\x7f\x85")
    assert response.json()["hits"][0]["code"] == SWIFTLET


INJECTIONS = [
    "'; DROP TABLE knowledge_records; --",
    "nuôi chim yến' OR '1'='1",
    "1.009901' UNION SELECT normalized FROM knowledge_records --",
    '<script>alert("xss")</script> nuôi chim yến',
    "<img src=x onerror=alert(1)>",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "{{7*7}} ${7*7} %s%s%s %n",
    "../../../../etc/passwd",
    '{"$where": "sleep(1000)"}',
    "nuôi chim yến\x00\x01\x1b[31m",
    "(((((((((((((((((((((((((((((a)))))))))))))))))))))))))))))",
    "a" * 3_900 + " chim yến",
]


@pytest.mark.parametrize("text", INJECTIONS)
def test_injection_strings_are_plain_text(client: TestClient, text: str) -> None:
    for path, key in ENDPOINTS.items():
        response = client.post(path, json={key: text})
        if response.status_code != 200:
            assert_error(response, 422)
    filtered = client.post(
        "/v1/search", json={"query": "chim yến", "filters": {"field": [text[:2_000]]}}
    )
    # A value the index does not hold is refused by name, never run as anything.
    assert_error(filtered, 422)
    assert "GET /v1/facets" in filtered.json()["detail"]
    assert_still_serving(client)


@pytest.mark.parametrize(
    "code",
    [
        "1.009901' OR '1'='1",
        "1.009901;DROP TABLE x",
        "1.009901%00",
        "..%2F..%2Fetc%2Fpasswd",
        "%F0%9F%98%80",
        "%FF%FE",
        "1.009901.%3Cscript%3E",
    ],
)
def test_hostile_procedure_codes_are_4xx(client: TestClient, code: str) -> None:
    assert_error(client.get(f"/v1/procedures/{code}"), (404, 422))
    assert_error(client.get(f"/v1/procedures/{code}/facts"), (404, 422))
    assert_still_serving(client)


def test_wrong_method_and_unknown_route_are_4xx(client: TestClient) -> None:
    assert_error(client.get("/v1/search"), 405)
    assert_error(client.put("/v1/answer", json={"question": "x"}), 405)
    assert_error(client.post("/v1/nothing-here", json={}), 404)
    assert_still_serving(client)
