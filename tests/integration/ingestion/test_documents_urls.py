"""Policy documents fetched from URLs served by a real HTTP server on the loopback interface."""

from __future__ import annotations

import contextlib
import io
import threading
import time
from collections.abc import Iterator
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import docx
import httpx
import pypdf
import pytest

from ingestion.connectors.base import ItemRef
from ingestion.connectors.documents import PolicyDocumentConnector
from ingestion.errors import ConnectorError, RecordError

pytestmark = pytest.mark.integration

DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"

GUIDE_HTML = """<!doctype html><html><head><title>Cổng thông tin</title></head><body>
<h1>Hướng dẫn cấp bản sao trích lục hộ tịch</h1>
<p>Người yêu cầu nộp tờ khai theo mẫu tại Ủy ban nhân dân cấp xã hoặc qua Cổng dịch vụ công.
Kết quả được trả ngay trong ngày nếu hồ sơ nộp trước 15 giờ.</p>
<p>Lệ phí cấp bản sao trích lục là 8.000 đồng một bản theo quy định hiện hành của Bộ Tài chính.</p>
</body></html>"""


def _docx_bytes() -> bytes:
    document = docx.Document()
    for paragraph in [
        "BỘ TƯ PHÁP",
        "Số: 04/2020/TT-BTP",
        "Hà Nội, ngày 28 tháng 5 năm 2020",
        "THÔNG TƯ",
        "Quy định chi tiết thi hành một số điều của Luật Hộ tịch",
        "Căn cứ Luật Hộ tịch ngày 20 tháng 11 năm 2014;",
        "Thông tư này có hiệu lực thi hành từ ngày 16 tháng 7 năm 2020.",
    ]:
        document.add_paragraph(paragraph)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _blank_pdf_bytes() -> bytes:
    writer = pypdf.PdfWriter()
    writer.add_blank_page(width=595, height=842)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


# path -> (status, content type, body, extra headers); "sleep" paths wait before answering.
ROUTES: dict[str, tuple[int, str, bytes, dict[str, str]]] = {
    "/van-ban/huong-dan": (200, "text/html; charset=utf-8", GUIDE_HTML.encode("utf-8"), {}),
    "/tai-lieu/04-2020": (200, DOCX_TYPE, _docx_bytes(), {}),
    "/faq.md": (200, "text/plain; charset=utf-8", "# Hỏi đáp\n\n**Có** phí.\n".encode(), {}),
    "/ghi-chu": (
        200,
        "text/plain; charset=utf-16",
        "Thông báo nghỉ lễ\nBộ phận một cửa nghỉ ngày 30/4.\n".encode("utf-16"),
        {},
    ),
    "/trang.pdf": (200, "application/pdf", _blank_pdf_bytes(), {}),
    "/bang.zip": (200, "application/zip", b"PK\x03\x04", {}),
    "/rong": (200, "text/plain", b"", {}),
    "/khong-co": (404, "text/html", b"<h1>Not found</h1>", {}),
    "/loi": (500, "text/plain", b"x" * 3000, {}),
    "/chuyen": (302, "text/plain", b"", {"Location": "/van-ban/huong-dan"}),
    "/cham": (200, "text/plain", b"Cham", {}),
}
SLOW_PATHS = {"/cham": 1.0}


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (base signature)
        """Keep the test output quiet."""

    def do_GET(self) -> None:  # noqa: N802 (http.server naming)
        time.sleep(SLOW_PATHS.get(self.path, 0))
        status, content_type, body, headers = ROUTES.get(self.path, (404, "text/plain", b"", {}))
        # The client may have given up waiting, as the timeout test intends.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)


@pytest.fixture(autouse=True)
def _no_proxy_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    try:
        yield f"http://{host}:{port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5.0, trust_env=False) as http_client:
        yield http_client


def _fetch(base_url: str, client: httpx.Client, path: str) -> Any:
    url = base_url + path
    connector = PolicyDocumentConnector(urls=[url], client=client)
    return connector.fetch(ItemRef(source_id=url)), connector


def test_listing_mixes_folder_files_and_urls(
    base_url: str, client: httpx.Client, tmp_path: Path
) -> None:
    (tmp_path / "a.txt").write_text("Văn bản trong thư mục", encoding="utf-8")
    urls = [base_url + "/van-ban/huong-dan", base_url + "/faq.md"]

    refs = PolicyDocumentConnector(folder=tmp_path, urls=urls, client=client).list_items()

    assert [ref.source_id for ref in refs] == ["a.txt", *urls]
    assert [bool(ref.version) for ref in refs] == [True, False, False]


def test_html_page_without_extension(base_url: str, client: httpx.Client) -> None:
    record, connector = _fetch(base_url, client, "/van-ban/huong-dan")

    document = connector.normalize(record)

    assert record.raw["format"] == "html"
    assert document.title == "Hướng dẫn cấp bản sao trích lục hộ tịch"
    assert "8.000 đồng" in document.body
    assert document.doc_key == document.source_url == base_url + "/van-ban/huong-dan"


def test_docx_by_content_type(base_url: str, client: httpx.Client) -> None:
    record, connector = _fetch(base_url, client, "/tai-lieu/04-2020")

    document = connector.normalize(record)

    assert document.number == "04/2020/TT-BTP"
    assert document.issuer == "BỘ TƯ PHÁP"
    assert document.issue_date == date(2020, 5, 28)
    assert document.effective_date == date(2020, 7, 16)
    assert document.title.startswith("Thông tư 04/2020/TT-BTP: Quy định chi tiết")


def test_markdown_by_extension_when_served_as_plain_text(
    base_url: str, client: httpx.Client
) -> None:
    record, connector = _fetch(base_url, client, "/faq.md")

    document = connector.normalize(record)

    assert record.raw["format"] == "markdown"
    assert document.title == "Hỏi đáp"
    assert "**" not in document.body


def test_declared_charset_is_honoured(base_url: str, client: httpx.Client) -> None:
    record, connector = _fetch(base_url, client, "/ghi-chu")

    document = connector.normalize(record)

    assert document.title == "Thông báo nghỉ lễ"
    assert "Bộ phận một cửa" in document.body


def test_redirect_is_followed(base_url: str, client: httpx.Client) -> None:
    record, connector = _fetch(base_url, client, "/chuyen")

    assert record.url == base_url + "/van-ban/huong-dan"
    assert connector.normalize(record).doc_key == base_url + "/chuyen"


@pytest.mark.parametrize(
    ("path", "message"),
    [("/bang.zip", "unsupported"), ("/rong", "empty"), ("/trang.pdf", "no text")],
)
def test_bad_documents_raise_record_error(
    base_url: str, client: httpx.Client, path: str, message: str
) -> None:
    with pytest.raises(RecordError, match=message) as caught:
        _fetch(base_url, client, path)

    assert caught.value.source_id == base_url + path


@pytest.mark.parametrize(("path", "status"), [("/khong-co", "404"), ("/loi", "500")])
def test_http_errors_raise_connector_error(
    base_url: str, client: httpx.Client, path: str, status: str
) -> None:
    with pytest.raises(ConnectorError, match=f"HTTP {status}") as caught:
        _fetch(base_url, client, path)

    assert len(caught.value.detail) < 400  # a long error body is cut


def test_timeout_raises_connector_error(base_url: str) -> None:
    url = base_url + "/cham"
    # No injected client: the connector builds its own with the given timeout.
    connector = PolicyDocumentConnector(urls=[url], timeout=0.2)
    with connector, pytest.raises(ConnectorError, match="ReadTimeout") as caught:
        connector.fetch(ItemRef(source_id=url))

    assert isinstance(caught.value.__cause__, httpx.TimeoutException)
