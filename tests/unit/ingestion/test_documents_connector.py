"""Policy documents read from a folder: real PDF, DOCX, HTML, Markdown and text files."""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from pathlib import Path

import docx
import pytest

from ingestion.connectors.base import Connector, ItemRef
from ingestion.connectors.documents import PolicyDocumentConnector
from ingestion.errors import RecordError
from ingestion.models import PolicyDocument
from search.errors import ConfigurationError

DECREE_LINES = [
    "CHÍNH PHỦ CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
    "Độc lập - Tự do - Hạnh phúc",
    "Số: 123/2015/NĐ-CP Hà Nội, ngày 15 tháng 11 năm 2015",
    "NGHỊ ĐỊNH",
    "Quy định chi tiết một số điều và biện pháp thi hành Luật Hộ tịch",
    "Căn cứ Luật Tổ chức Chính phủ ngày 19 tháng 6 năm 2015;",
    "Điều 1. Phạm vi điều chỉnh",
    "Nghị định này có hiệu lực thi hành kể từ ngày 01 tháng 01 năm 2016.",
]


def pdf_bytes(lines: list[str]) -> bytes:
    """A one-page PDF whose text is ``lines``, written by hand.

    The font is not embedded; a ToUnicode map ties each two-byte code to its character, which is
    all a text extractor needs.
    """
    chars = sorted({char for line in lines for char in line})
    operations = ["BT", "/F1 12 Tf", "14 TL", "72 770 Td"]
    operations += ["<" + "".join(f"{ord(c):04X}" for c in line) + "> Tj T*" for line in lines]
    operations.append("ET")
    content = "\n".join(operations).encode("ascii")
    bfchar = "\n".join(f"<{ord(c):04X}> <{ord(c):04X}>" for c in chars)
    cmap = (
        "/CIDInit /ProcSet findresource begin 12 dict begin begincmap\n"
        "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
        "/CMapName /Adobe-Identity-UCS def /CMapType 2 def\n"
        "1 begincodespacerange <0000> <FFFF> endcodespacerange\n"
        f"{len(chars)} beginbfchar\n{bfchar}\nendbfchar\n"
        "endcmap CMapName currentdict /CMap defineresource pop end end"
    ).encode("ascii")

    def stream(data: bytes) -> bytes:
        return b"<< /Length %d >>\nstream\n" % len(data) + data + b"\nendstream"

    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
        stream(content),
        b"<< /Type /Font /Subtype /Type0 /BaseFont /Helvetica /Encoding /Identity-H "
        b"/DescendantFonts [6 0 R] /ToUnicode 7 0 R >>",
        b"<< /Type /Font /Subtype /CIDFontType2 /BaseFont /Helvetica "
        b"/CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> /DW 500 >>",
        stream(cmap),
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def write_docx(path: Path, paragraphs: list[str], *, title: str = "") -> None:
    document = docx.Document()
    document.core_properties.title = title
    for paragraph in paragraphs:
        document.add_paragraph(paragraph)
    document.save(str(path))


HTML_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Hướng dẫn | Cổng thông tin</title></head>
<body><nav>Trang chủ</nav>
<h1>Hướng dẫn đăng ký tạm trú</h1>
<p>Công dân đến Công an cấp xã nơi dự kiến tạm trú để nộp hồ sơ đăng ký tạm trú. Hồ sơ gồm tờ
khai thay đổi thông tin cư trú và giấy tờ, tài liệu chứng minh chỗ ở hợp pháp.</p>
<p>Thời hạn giải quyết là 03 ngày làm việc kể từ ngày nhận đủ hồ sơ hợp lệ; văn bản hướng dẫn
có hiệu lực từ ngày 01/7/2021.</p>
</body></html>
"""

MARKDOWN_NOTE = """---
issuer: Sở Tư pháp
issue_date: 2024-03-05
---
# Câu hỏi thường gặp về hộ tịch

Đăng ký khai sinh được thực hiện tại **Ủy ban nhân dân cấp xã** nơi cư trú của cha hoặc mẹ.
"""


def _convert(folder: Path, name: str) -> PolicyDocument:
    connector = PolicyDocumentConnector(folder=folder)
    return connector.normalize(connector.fetch(ItemRef(source_id=name)))


class TestInit:
    def test_missing_folder_raises(self, tmp_path: Path) -> None:
        with pytest.raises(ConfigurationError, match="does not exist"):
            PolicyDocumentConnector(folder=tmp_path / "absent")

    def test_neither_folder_nor_urls_raises(self) -> None:
        with pytest.raises(ConfigurationError):
            PolicyDocumentConnector()

    @pytest.mark.parametrize("url", ["ftp://example.test/a.pdf", "file:///etc/passwd", "a.pdf"])
    def test_url_must_be_http(self, url: str) -> None:
        with pytest.raises(ConfigurationError):
            PolicyDocumentConnector(urls=[url])

    def test_folder_removed_after_init_raises(self, tmp_path: Path) -> None:
        folder = tmp_path / "docs"
        folder.mkdir()
        connector = PolicyDocumentConnector(folder=folder)
        folder.rmdir()

        with pytest.raises(ConfigurationError):
            connector.list_items()

    def test_satisfies_the_connector_protocol(self, tmp_path: Path) -> None:
        assert isinstance(PolicyDocumentConnector(folder=tmp_path), Connector)


class TestListing:
    def test_lists_every_file_recursively_but_hidden_ones(self, tmp_path: Path) -> None:
        (tmp_path / "sub" / "deeper").mkdir(parents=True)
        (tmp_path / ".git").mkdir()
        (tmp_path / "a.txt").write_text("Văn bản A", encoding="utf-8")
        (tmp_path / "sub" / "deeper" / "b.md").write_text("# B", encoding="utf-8")
        (tmp_path / "sub" / "bang.xlsx").write_bytes(b"PK\x03\x04")
        (tmp_path / ".git" / "config").write_text("x", encoding="utf-8")
        (tmp_path / ".hidden.txt").write_text("x", encoding="utf-8")

        refs = PolicyDocumentConnector(folder=tmp_path).list_items()

        assert [ref.source_id for ref in refs] == ["a.txt", "sub/bang.xlsx", "sub/deeper/b.md"]

    def test_version_follows_content(self, tmp_path: Path) -> None:
        path = tmp_path / "a.txt"
        path.write_text("Phiên bản một", encoding="utf-8")
        connector = PolicyDocumentConnector(folder=tmp_path)
        (before,) = connector.list_items()

        path.write_text("Phiên bản hai", encoding="utf-8")
        (after,) = connector.list_items()

        assert before.version and after.version
        assert connector.has_changed(after, before.version)
        assert not connector.has_changed(after, after.version)


class TestFormats:
    def test_pdf_decree(self, tmp_path: Path) -> None:
        (tmp_path / "nd-123.pdf").write_bytes(pdf_bytes(DECREE_LINES))

        document = _convert(tmp_path, "nd-123.pdf")

        assert document.title == (
            "Nghị định 123/2015/NĐ-CP: "
            "Quy định chi tiết một số điều và biện pháp thi hành Luật Hộ tịch"
        )
        assert document.issuer == "CHÍNH PHỦ"
        assert document.number == "123/2015/NĐ-CP"
        assert document.issue_date == date(2015, 11, 15)
        assert document.effective_date == date(2016, 1, 1)
        assert "Phạm vi điều chỉnh" in document.body
        assert document.doc_key == "nd-123.pdf"
        assert document.source_url.startswith("file://")

    def test_docx_circular(self, tmp_path: Path) -> None:
        write_docx(
            tmp_path / "tt55.docx",
            [
                "BỘ CÔNG AN",
                "Số: 55/2021/TT-BCA",
                "Hà Nội, ngày 15 tháng 5 năm 2021",
                "THÔNG TƯ",
                "Quy định chi tiết một số điều của Luật Cư trú",
                "Căn cứ Luật Cư trú ngày 13 tháng 11 năm 2020;",
                "Thông tư này có hiệu lực thi hành kể từ ngày 01/7/2021.",
                "Thông tư số 35/2014/TT-BCA hết hiệu lực kể từ ngày 01/7/2021.",
            ],
        )

        document = _convert(tmp_path, "tt55.docx")

        assert document.title.startswith("Thông tư 55/2021/TT-BCA: Quy định chi tiết")
        assert (document.issuer, document.number) == ("BỘ CÔNG AN", "55/2021/TT-BCA")
        assert document.issue_date == date(2021, 5, 15)
        assert document.effective_date == date(2021, 7, 1)
        assert document.expiry_date == date(2021, 7, 1)

    def test_docx_title_property_is_used_for_plain_documents(self, tmp_path: Path) -> None:
        write_docx(
            tmp_path / "ghi-chu.docx",
            ["Ghi chú nội bộ về giờ tiếp công dân"],
            title="Lịch tiếp công dân",
        )

        assert _convert(tmp_path, "ghi-chu.docx").title == "Lịch tiếp công dân"

    def test_html_page(self, tmp_path: Path) -> None:
        (tmp_path / "huong-dan.html").write_text(HTML_PAGE, encoding="utf-8")

        document = _convert(tmp_path, "huong-dan.html")

        assert document.title == "Hướng dẫn đăng ký tạm trú"
        assert "03 ngày làm việc" in document.body
        assert document.effective_date == date(2021, 7, 1)
        assert document.issue_date is None  # no header, no place and date of signing

    def test_markdown_with_front_matter(self, tmp_path: Path) -> None:
        (tmp_path / "faq.md").write_text(MARKDOWN_NOTE, encoding="utf-8")

        document = _convert(tmp_path, "faq.md")

        assert document.title == "Câu hỏi thường gặp về hộ tịch"
        assert document.issuer == "Sở Tư pháp"
        assert document.issue_date == date(2024, 3, 5)
        assert "Ủy ban nhân dân cấp xã" in document.body
        assert "**" not in document.body

    def test_plain_text_decision(self, tmp_path: Path) -> None:
        text = (
            "ỦY BAN NHÂN DÂN\nTỈNH THỬ NGHIỆM\n-------\nSỐ: 12/2025/QĐ-UBND\n"
            "Thành phố Thử, ngày 31/02/2025\nQUYẾT ĐỊNH\nVề việc công bố thủ tục hành chính\n"
            "Quyết định này có hiệu lực kể từ ngày ký.\n"
        )
        (tmp_path / "qd.txt").write_text(text, encoding="utf-8")

        document = _convert(tmp_path, "qd.txt")

        assert document.issuer == "ỦY BAN NHÂN DÂN TỈNH THỬ NGHIỆM"
        assert document.number == "12/2025/QĐ-UBND"
        assert document.title == "Quyết định 12/2025/QĐ-UBND: Về việc công bố thủ tục hành chính"
        # 31/02 is no date: neither issue nor effective date is invented.
        assert document.issue_date is None and document.effective_date is None

    def test_effective_on_signing(self, tmp_path: Path) -> None:
        text = "Hà Nội, ngày 02 tháng 01 năm 2024\nThông báo có hiệu lực kể từ ngày ký.\n"
        (tmp_path / "tb.txt").write_text(text, encoding="utf-8")

        document = _convert(tmp_path, "tb.txt")

        assert document.issue_date == document.effective_date == date(2024, 1, 2)

    def test_references_in_the_body_are_not_the_number(self, tmp_path: Path) -> None:
        text = "Thông báo về lệ phí\nTheo Thông tư số 75/2022/TT-BTC, lệ phí là 10.000 đồng.\n"
        (tmp_path / "le-phi.txt").write_text(text, encoding="utf-8")

        document = _convert(tmp_path, "le-phi.txt")

        assert document.title == "Thông báo về lệ phí"
        assert document.number == ""
        assert document.issuer == ""

    def test_decomposed_text_is_composed(self, tmp_path: Path) -> None:
        # Text copied from some PDF viewers and macOS file names arrives decomposed (NFD).
        text = "Hà Nội, ngày 02 tháng 01 năm 2024\nThông báo về giờ tiếp công dân\n"
        (tmp_path / "nfd.txt").write_text(unicodedata.normalize("NFD", text), encoding="utf-8")

        document = _convert(tmp_path, "nfd.txt")

        assert document.issue_date == date(2024, 1, 2)
        assert document.body == unicodedata.normalize("NFC", text).strip()

    def test_number_after_the_preamble_belongs_to_another_document(self, tmp_path: Path) -> None:
        text = (
            "HƯỚNG DẪN\nThực hiện thủ tục đăng ký cư trú\nCăn cứ các văn bản sau:\n"
            "Số: 55/2021/TT-BCA ngày 15/5/2021 của Bộ Công an.\n"
        )
        (tmp_path / "hd.txt").write_text(text, encoding="utf-8")

        document = _convert(tmp_path, "hd.txt")

        assert document.number == ""
        assert document.title == "Hướng dẫn: Thực hiện thủ tục đăng ký cư trú"

    def test_file_name_is_the_last_resort_title(self, tmp_path: Path) -> None:
        (tmp_path / "bang-gia_2024.txt").write_text("1\n2\n3 4\n", encoding="utf-8")

        assert _convert(tmp_path, "bang-gia_2024.txt").title == "bang gia 2024"


class TestBadDocuments:
    @pytest.mark.parametrize(
        ("name", "content", "message"),
        [
            ("bang.xlsx", b"PK\x03\x04data", "unsupported file type '.xlsx'"),
            ("khong-duoi", b"text", "unsupported file type '(none)'"),
            ("trong.txt", b"", "empty"),
            ("khoang-trang.md", b"  \n\n ", "empty"),
            ("hong.pdf", b"this is not a PDF", "could not read"),
            ("hong.docx", b"PK\x03\x04 not a zip", "could not read"),
            ("trang.pdf", pdf_bytes([]), "no text"),
        ],
    )
    def test_raises_record_error(
        self, tmp_path: Path, name: str, content: bytes, message: str
    ) -> None:
        (tmp_path / name).write_bytes(content)
        connector = PolicyDocumentConnector(folder=tmp_path)
        (ref,) = connector.list_items()

        with pytest.raises(RecordError, match=re.escape(message)) as caught:
            connector.fetch(ref)

        assert caught.value.source_id == name

    def test_file_removed_after_listing(self, tmp_path: Path) -> None:
        path = tmp_path / "a.txt"
        path.write_text("Văn bản", encoding="utf-8")
        connector = PolicyDocumentConnector(folder=tmp_path)
        (ref,) = connector.list_items()
        path.unlink()

        with pytest.raises(RecordError, match="cannot be read"):
            connector.fetch(ref)

    def test_path_outside_the_folder_is_refused(self, tmp_path: Path) -> None:
        folder = tmp_path / "docs"
        folder.mkdir()
        (tmp_path / "secret.txt").write_text("bí mật", encoding="utf-8")

        with pytest.raises(RecordError, match="outside"):
            PolicyDocumentConnector(folder=folder).fetch(ItemRef(source_id="../secret.txt"))
