"""Connector for policy and legal documents (văn bản) kept in a folder or published at URLs.

Files are read from a folder and its subfolders (hidden files and folders, whose names start with
a dot, are not documents and are left out); URLs are fetched with an ``httpx.Client``. PDF, DOCX,
HTML, Markdown and plain text are turned into text by Haystack's converters. Every other file is
still listed, and raises ``RecordError`` when fetched, as does a file that cannot be read or
holds no text: an editor sees it in the run report instead of missing it silently.

From the text the connector takes, where the document states them: the title, the issuer
(cơ quan ban hành), the number ("Số: 123/2015/NĐ-CP"), and the issue, effective and expiry dates
written either as "ngày 15 tháng 11 năm 2015" or as "15/11/2015". A Markdown file's YAML front
matter may give the same fields (``title``, ``issuer``, ``number``, ``issue_date``,
``effective_date``, ``expiry_date``) and then wins over the text.
"""

from __future__ import annotations

import hashlib
import logging
import re
import unicodedata
from collections.abc import Sequence
from datetime import date
from html.parser import HTMLParser
from pathlib import Path, PurePosixPath
from types import TracebackType
from typing import Any, NamedTuple, Protocol
from urllib.parse import unquote, urlsplit

import httpx
from haystack import Document
from haystack.components.converters import (
    DOCXToDocument,
    HTMLToDocument,
    MarkdownToDocument,
    PyPDFToDocument,
    TextFileToDocument,
)
from haystack.dataclasses import ByteStream

from ingestion.connectors.base import ItemRef, version_changed
from ingestion.errors import ConnectorError, RecordError
from ingestion.models import PolicyDocument, RecordKind, SourceRecord
from search.errors import ConfigurationError

logger = logging.getLogger(__name__)

SUFFIX_FORMATS = {
    ".pdf": "pdf",
    ".docx": "docx",
    ".html": "html",
    ".htm": "html",
    ".md": "markdown",
    ".markdown": "markdown",
    ".txt": "text",
}
"""File name suffixes the connector converts, and the format each stands for."""

_MEDIA_TYPE_FORMATS = {
    "application/pdf": "pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "text/html": "html",
    "application/xhtml+xml": "html",
    "text/markdown": "markdown",
    "text/x-markdown": "markdown",
}
_BODY_EXCERPT_CHARS = 200
_TITLE_MAX_CHARS = 300
_HEADER_MAX_CHARS = 2000
_FRONT_MATTER_FIELDS = ("title", "issuer", "number", "issue_date", "effective_date", "expiry_date")

# Document types that open a legal document on a line of their own ("NGHỊ ĐỊNH", "THÔNG TƯ" …).
_DOCUMENT_TYPES = (
    "BỘ LUẬT|LUẬT|PHÁP LỆNH|NGHỊ QUYẾT LIÊN TỊCH|NGHỊ QUYẾT|NGHỊ ĐỊNH|THÔNG TƯ LIÊN TỊCH|THÔNG TƯ|"
    "QUYẾT ĐỊNH|CHỈ THỊ|CÔNG VĂN|HƯỚNG DẪN|KẾ HOẠCH|THÔNG BÁO|LỆNH"
)
_DOCUMENT_TYPE_LINE = re.compile(rf"^(?:{_DOCUMENT_TYPES})$")
_NATIONAL_MOTTO = re.compile(
    r"CỘNG\s+H(?:ÒA|OÀ)\s+XÃ\s+HỘI\s+CHỦ\s+NGHĨA\s+VIỆT\s+NAM|"
    r"Độc\s+lập\s*[-–—]\s*Tự\s+do\s*[-–—]\s*Hạnh\s+phúc",
    re.IGNORECASE,
)
_RULE_LINE = re.compile(r"^[\s\-–—_=.*]*$")
# "Số: 123/2015/NĐ-CP", "Số 5548/QĐ-BCA-C06"; a capital "Số" opens the header's number, while a
# reference to another document in a sentence reads "Nghị định số …".
_NUMBER = re.compile(r"(?<!\w)(?:Số|SỐ)\s*(?:hiệu)?\s*[:.]?\s*(\d[\w.]*/[\w./-]*\w)")
_TITLE_NUMBER = re.compile(rf"(?:{_DOCUMENT_TYPES})\s+(?:số\s+)?(\d[\w.]*/\d{{4}}/[\w-]*\w)", re.I)
_DATE = (
    r"(?:ngày\s+(?P<d1>\d{1,2})\s+tháng\s+(?P<m1>\d{1,2})\s+năm\s+(?P<y1>\d{4})"
    r"|(?<!\d)(?P<d2>\d{1,2})\s*[/.-]\s*(?P<m2>\d{1,2})\s*[/.-]\s*(?P<y2>\d{4})(?!\d))"
)
_ANY_DATE = re.compile(_DATE, re.IGNORECASE)
# "Hà Nội, ngày 15 tháng 11 năm 2015": the place and date of signing under the header.
_PLACE_AND_DATE = re.compile(rf"[^\W\d][^\n,;:]{{0,40}},\s*{_DATE}", re.IGNORECASE)
# The gap after "có hiệu lực" may hold "thi hành kể" and a line break, not a sentence end.
_EFFECTIVE = re.compile(rf"có\s+hiệu\s+lực[^.;]{{0,60}}?(?:ngày\s+)?{_DATE}", re.IGNORECASE)
_EFFECTIVE_ON_SIGNING = re.compile(r"có\s+hiệu\s+lực[^.;]{0,60}?từ\s+ngày\s+ký", re.IGNORECASE)
_EXPIRY = re.compile(rf"hết\s+hiệu\s+lực[^.;]{{0,60}}?(?:ngày\s+)?{_DATE}", re.IGNORECASE)
_PREAMBLE = re.compile(r"^\s*(?:Căn\s+cứ|Điều\s+1\b)", re.MULTILINE)
_MARKDOWN_HEADING = re.compile(r"^ {0,3}#{1,6}[ \t]+(.+?)[ \t#]*$", re.MULTILINE)
_MARKDOWN_FRONT_MATTER = re.compile(r"\A---[ \t]*\n.*?\n---[ \t]*\n", re.DOTALL)


class _Converter(Protocol):
    def run(self, sources: list[str | Path | ByteStream]) -> dict[str, list[Document]]: ...


class _Download(NamedTuple):
    data: bytes
    doc_format: str
    media_type: str
    encoding: str | None
    url: str


def _excerpt(text: str) -> str:
    text = text.strip()
    if len(text) <= _BODY_EXCERPT_CHARS:
        return text
    return f"{text[:_BODY_EXCERPT_CHARS]}… ({len(text)} characters)"


class PolicyDocumentConnector:
    """Reads policy documents from a folder, from URLs, or both.

    A document's ``doc_key`` is its path relative to the folder ("nghi-dinh/123-2015.pdf") or
    its URL. Files are versioned by the SHA-256 of their content; URLs carry no version and are
    fetched at every run (the runner then compares content hashes).

    Args:
        folder: A folder to read recursively; it must exist.
        urls: http or https URLs of documents.
        client: The HTTP client for URLs; its own timeout applies. When omitted and ``urls`` is
            not empty, the connector creates one with ``timeout`` and closes it in ``close()``.
        timeout: Seconds per request for the client the connector creates.

    Raises:
        ConfigurationError: neither folder nor URLs, a missing folder, or a URL that is not
            http or https.

    Usage example:
        ```python
        documents = PolicyDocumentConnector(folder="/srv/van-ban")
        for ref in documents.list_items():
            policy = documents.normalize(documents.fetch(ref))
        ```
    """

    def __init__(
        self,
        *,
        folder: str | Path | None = None,
        urls: Sequence[str] = (),
        client: httpx.Client | None = None,
        timeout: float = 30.0,
    ) -> None:
        if folder is None and not urls:
            raise ConfigurationError("give a folder, URLs, or both; got neither")
        self._folder = Path(folder).resolve() if folder is not None else None
        if self._folder is not None:
            self._check_folder(self._folder)
        for url in urls:
            parts = urlsplit(url)
            if parts.scheme not in {"http", "https"} or not parts.netloc:
                raise ConfigurationError(f"document URLs must be http or https, got {url!r}")
        if timeout <= 0:
            raise ConfigurationError(f"timeout must be positive, got {timeout!r}")
        self._urls = list(dict.fromkeys(urls))
        self._owns_client = client is None and bool(self._urls)
        self._client = client or (httpx.Client(timeout=timeout) if self._urls else None)
        self._converters: dict[str, _Converter] = {
            "pdf": PyPDFToDocument(),
            "docx": DOCXToDocument(),
            "html": HTMLToDocument(),
            "markdown": MarkdownToDocument(progress_bar=False, extract_frontmatter=True),
            "text": TextFileToDocument(),
        }

    @property
    def name(self) -> str:
        """Stable name of the source."""
        return "policy-documents"

    def close(self) -> None:
        """Close the HTTP client if the connector created it."""
        if self._owns_client and self._client is not None:
            self._client.close()

    def __enter__(self) -> PolicyDocumentConnector:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def list_items(self) -> Sequence[ItemRef]:
        """Every file of the folder (supported or not) and every configured URL.

        Raises:
            ConfigurationError: the folder no longer exists.
            ConnectorError: a file of the folder could not be read to compute its version.
        """
        refs = []
        if self._folder is not None:
            self._check_folder(self._folder)
            for path in self._folder_files(self._folder):
                try:
                    version = _sha256(path.read_bytes())
                except OSError as exc:
                    raise ConnectorError(f"cannot read {path} to list it: {exc}") from exc
                refs.append(
                    ItemRef(source_id=path.relative_to(self._folder).as_posix(), version=version)
                )
        refs.extend(ItemRef(source_id=url) for url in self._urls)
        logger.info("Listed %s policy documents", len(refs))
        return refs

    def has_changed(self, ref: ItemRef, known_version: str | None) -> bool:
        """Files change with their content hash; URLs are always fetched."""
        return version_changed(ref, known_version)

    def fetch(self, ref: ItemRef) -> SourceRecord:
        """The document's text and what the converter found beside it.

        Raises:
            ConnectorError: a URL could not be fetched (network, HTTP status).
            RecordError: the document is of an unsupported type, cannot be read or converted,
                or holds no text.
        """
        if ref.source_id in self._urls:
            data, doc_format, media_type, encoding, url = self._download(ref.source_id)
            location, file_name = ref.source_id, _url_file_name(url)
        else:
            path = self._local_path(ref.source_id)
            data, url = self._read_file(path, ref.source_id), path.as_uri()
            doc_format = SUFFIX_FORMATS.get(path.suffix.lower())
            location, file_name, media_type, encoding = ref.source_id, path.name, "", None
            if doc_format is None:
                allowed = ", ".join(sorted(SUFFIX_FORMATS))
                raise RecordError(
                    f"{ref.source_id}: unsupported file type {path.suffix or '(none)'!r}; "
                    f"supported: {allowed}",
                    source_id=ref.source_id,
                )
        text, meta = self._convert(data, doc_format, file_name, encoding, ref.source_id)
        raw = {
            "location": location,
            "file_name": file_name,
            "format": doc_format,
            "media_type": media_type,
            "sha256": _sha256(data),
            "title_hint": _title_hint(data, doc_format, meta, encoding),
            "metadata": {k: str(meta[k]) for k in _FRONT_MATTER_FIELDS if meta.get(k)},
            "text": text,
        }
        return SourceRecord(
            source=self.name,
            source_id=ref.source_id,
            kind=RecordKind.POLICY_DOCUMENT,
            raw=raw,
            url=url,
        )

    def normalize(self, record: SourceRecord) -> PolicyDocument:
        """The converted document as a ``PolicyDocument``.

        Raises:
            RecordError: the record holds no text.
        """
        return policy_document_from_raw(record)

    @staticmethod
    def _check_folder(folder: Path) -> None:
        if not folder.is_dir():
            raise ConfigurationError(f"policy document folder {str(folder)!r} does not exist")

    @staticmethod
    def _folder_files(folder: Path) -> list[Path]:
        return sorted(
            path
            for path in folder.rglob("*")
            if path.is_file()
            and not any(part.startswith(".") for part in path.relative_to(folder).parts)
        )

    def _local_path(self, source_id: str) -> Path:
        if self._folder is None:
            raise RecordError(
                f"{source_id}: not a configured URL and no folder is configured",
                source_id=source_id,
            )
        path = (self._folder / source_id).resolve()
        if not path.is_relative_to(self._folder):
            raise RecordError(f"{source_id}: outside the document folder", source_id=source_id)
        return path

    @staticmethod
    def _read_file(path: Path, source_id: str) -> bytes:
        try:
            return path.read_bytes()
        except OSError as exc:
            raise RecordError(f"{source_id}: cannot be read: {exc}", source_id=source_id) from exc

    def _download(self, url: str) -> _Download:
        """Bytes, format, media type, declared charset and final URL of a document URL."""
        if self._client is None:  # __init__ creates one whenever there are URLs
            raise ConfigurationError("no HTTP client to fetch document URLs with")
        try:
            response = self._client.get(url, follow_redirects=True)
        except httpx.HTTPError as exc:
            raise ConnectorError(f"GET {url} failed: {type(exc).__name__}: {exc}") from exc
        if not response.is_success:
            raise ConnectorError(
                f"GET {url} answered HTTP {response.status_code}: {_excerpt(response.text)}"
            )
        media_type, _, params = response.headers.get("content-type", "").partition(";")
        media_type = media_type.strip().lower()
        charset = re.search(r"charset=\"?([\w.-]+)", params, re.IGNORECASE)
        doc_format = _MEDIA_TYPE_FORMATS.get(media_type) or SUFFIX_FORMATS.get(
            PurePosixPath(urlsplit(str(response.url)).path).suffix.lower()
        )
        if doc_format is None and media_type == "text/plain":
            doc_format = "text"
        if doc_format is None:
            raise RecordError(
                f"{url}: unsupported document type {media_type or '(no content type)'!r}",
                source_id=url,
            )
        return _Download(
            data=response.content,
            doc_format=doc_format,
            media_type=media_type,
            encoding=charset.group(1) if charset else None,
            url=str(response.url),
        )

    def _convert(
        self, data: bytes, doc_format: str, file_name: str, encoding: str | None, source_id: str
    ) -> tuple[str, dict[str, Any]]:
        """Text and converter metadata of one document; ``RecordError`` when there is no text."""
        if not data.strip():
            raise RecordError(f"{source_id}: the document is empty", source_id=source_id)
        meta: dict[str, Any] = {"file_path": file_name}
        if encoding:
            meta["encoding"] = encoding
        # The converters log and skip what they cannot read instead of raising, so an empty
        # result is how a failure shows.
        documents = self._converters[doc_format].run(sources=[ByteStream(data=data, meta=meta)])
        converted = documents["documents"]
        if not converted:
            raise RecordError(
                f"{source_id}: the {doc_format} converter could not read the document",
                source_id=source_id,
            )
        text = _clean_text(converted[0].content or "")
        if not text:
            raise RecordError(f"{source_id}: no text found in the document", source_id=source_id)
        return text, converted[0].meta


def policy_document_from_raw(record: SourceRecord) -> PolicyDocument:
    """Build a ``PolicyDocument`` from a record made by ``PolicyDocumentConnector.fetch``.

    Raises:
        RecordError: the record holds no text.
    """
    raw = record.raw
    text = _clean_text(str(raw.get("text") or ""))
    if not text:
        raise RecordError(f"{record.source_id}: no text in the record", source_id=record.source_id)
    given = raw.get("metadata") if isinstance(raw.get("metadata"), dict) else {}
    header = _header(text)
    number = str(given.get("number") or "") or _document_number(header)
    title = (
        str(given.get("title") or "")
        or _legal_title(header, number)
        or str(raw.get("title_hint") or "")
        or _first_line(text)
        or _title_from_file_name(str(raw.get("file_name") or record.source_id))
    )
    issue_date = _iso_date(given.get("issue_date")) or _issue_date(header, number)
    return PolicyDocument(
        doc_key=str(raw.get("location") or record.source_id),
        title=_shorten(title),
        issuer=str(given.get("issuer") or "") or _issuer(header),
        number=number or _title_number(title),
        issue_date=issue_date,
        effective_date=_iso_date(given.get("effective_date")) or _effective_date(text, issue_date),
        expiry_date=_iso_date(given.get("expiry_date")) or _match_date(_EXPIRY, text),
        body=text,
        source_url=record.url,
        content_hash=record.content_hash,
    )


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _url_file_name(url: str) -> str:
    return unquote(PurePosixPath(urlsplit(url).path).name) or urlsplit(url).netloc


def _clean_text(text: str) -> str:
    """NFC text with page breaks as newlines, no trailing spaces and at most one blank line."""
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\f", "\n")
    lines = [line.rstrip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _shorten(text: str) -> str:
    text = " ".join(text.split())
    if len(text) <= _TITLE_MAX_CHARS:
        return text
    return text[:_TITLE_MAX_CHARS].rsplit(" ", 1)[0] + "…"


class _HeadingParser(HTMLParser):
    """Collects the text of the first ``<h1>`` and of ``<title>``."""

    def __init__(self) -> None:
        super().__init__()
        self.texts: dict[str, str] = {}
        self._open: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:  # noqa: ARG002 (HTMLParser's signature)
        if tag in {"h1", "title"} and tag not in self.texts:
            self._open = tag
            self.texts[tag] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == self._open:
            self._open = None

    def handle_data(self, data: str) -> None:
        if self._open:
            self.texts[self._open] += data


def _decode(data: bytes, encoding: str | None) -> str:
    try:
        return data.decode(encoding or "utf-8-sig", errors="replace")
    except LookupError:  # a charset Python does not know
        return data.decode("utf-8-sig", errors="replace")


def _title_hint(data: bytes, doc_format: str, meta: dict[str, Any], encoding: str | None) -> str:
    """The heading the format itself marks: HTML h1 or title, Markdown heading, DOCX title."""
    if doc_format == "html":
        parser = _HeadingParser()
        parser.feed(_decode(data, encoding))
        texts = parser.texts
        return " ".join((texts.get("h1", "").strip() or texts.get("title", "")).split())
    if doc_format == "markdown":
        source = _MARKDOWN_FRONT_MATTER.sub("", _decode(data, encoding))
        heading = _MARKDOWN_HEADING.search(source)
        return heading.group(1).strip() if heading else ""
    if doc_format == "docx":  # the title set in the file's properties
        properties = meta.get("docx")
        return str(properties.get("title") or "").strip() if isinstance(properties, dict) else ""
    return ""


def _header(text: str) -> str:
    """The part of a legal document before its preamble ("Căn cứ …") or first article."""
    preamble = _PREAMBLE.search(text)
    end = preamble.start() if preamble else len(text)
    return text[: min(end, _HEADER_MAX_CHARS)]


def _header_lines(header: str) -> list[str]:
    lines = [" ".join(_NATIONAL_MOTTO.sub(" ", line).split()) for line in header.splitlines()]
    return [line for line in lines if not _RULE_LINE.match(line)]


def _is_upper(line: str) -> bool:
    return line == line.upper() and any(char.isalpha() for char in line)


def _issuer(header: str) -> str:
    """The upper-case lines that open a legal document, once the national motto is removed."""
    issuer_lines: list[str] = []
    for line in _header_lines(header)[:6]:
        if not _is_upper(line) or _DOCUMENT_TYPE_LINE.match(line) or line.startswith("SỐ"):
            break
        issuer_lines.append(line)
    return " ".join(issuer_lines[:3])


def _legal_title(header: str, number: str) -> str:
    """A legal document's title from its type line and subject line.

    For example "Nghị định 123/2015/NĐ-CP: Quy định chi tiết …"; empty without a type line.
    """
    lines = _header_lines(header)
    for position, line in enumerate(lines):
        if not _DOCUMENT_TYPE_LINE.match(line):
            continue
        subject = lines[position + 1] if position + 1 < len(lines) else ""
        if _ANY_DATE.search(subject) or subject.startswith(("Số", "SỐ")):
            subject = ""
        kind = line.capitalize()
        heading = f"{kind} {number}" if number else kind
        return f"{heading}: {subject}" if subject else heading
    return ""


def _document_number(header: str) -> str:
    match = _NUMBER.search(header)
    return match.group(1) if match else ""


def _title_number(title: str) -> str:
    match = _TITLE_NUMBER.search(title)
    return match.group(1) if match else ""


def _first_line(text: str) -> str:
    """The first line with a few letters; page numbers and rules are no title."""
    lines = (line.strip() for line in text.splitlines())
    return next((line for line in lines if sum(char.isalpha() for char in line) >= 3), "")


def _title_from_file_name(file_name: str) -> str:
    stem = PurePosixPath(file_name).stem
    return " ".join(re.split(r"[-_\s]+", stem)).strip() or file_name


def _date_from_match(match: re.Match[str]) -> date | None:
    day = match.group("d1") or match.group("d2")
    month = match.group("m1") or match.group("m2")
    year = match.group("y1") or match.group("y2")
    try:
        return date(int(year), int(month), int(day))
    except ValueError:  # 31/02/2015 and the like
        return None


def _first_date(text: str) -> date | None:
    for match in _ANY_DATE.finditer(text):
        if (found := _date_from_match(match)) is not None:
            return found
    return None


def _issue_date(header: str, number: str) -> date | None:
    """The date of signing: after a place name, or the header's first date if it has a number.

    A date elsewhere in an ordinary text (a notice's meeting date) is not an issue date.
    """
    found = _match_date(_PLACE_AND_DATE, header)
    if found is None and number:
        found = _first_date(header)
    return found


def _match_date(pattern: re.Pattern[str], text: str) -> date | None:
    for match in pattern.finditer(text):
        if (found := _date_from_match(match)) is not None:
            return found
    return None


def _effective_date(text: str, issue_date: date | None) -> date | None:
    found = _match_date(_EFFECTIVE, text)
    if found is None and issue_date is not None and _EFFECTIVE_ON_SIGNING.search(text):
        return issue_date  # "có hiệu lực kể từ ngày ký": effective when signed
    return found


def _iso_date(value: Any) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None
