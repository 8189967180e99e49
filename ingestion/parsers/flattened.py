"""Parse the crawl's flattened table text back into structure.

The dichvucong.gov.vn crawl (``dvcqg-procedures.jsonl.gz``) turned the HTML tables of a procedure
page into text by concatenating the cells with no separator. This module reads that text back:

- ``cach_thuc_thuc_hien`` -> ``parse_submission_methods`` (channel, processing time, fees, text)
- ``thanh_phan_ho_so`` -> ``parse_dossier`` (documents with their form and counts, by group)
- ``can_cu_phap_ly`` -> ``parse_legal_basis`` (title and document number)
- ``ket_qua_xu_ly`` -> ``parse_results`` (names of the results, page junk dropped)
- ``trinh_tu_thuc_hien`` -> ``parse_steps`` (split on "Bước N", numbered or bulleted lines)

Every parse function accepts any text, never raises, and returns a ``Parsed`` value: the structure
it could read plus ``warnings`` naming what did not parse completely. A section with no warnings
parsed completely; an empty or placeholder section ("Không có thông tin") gives an empty value and
no warnings.

Run ``python -m ingestion.parsers.flattened <dump.jsonl.gz>`` to print how many records of a dump
parse completely, per section.
"""

from __future__ import annotations

import functools
import json
import logging
import re
import sys
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from ingestion.models import (
    DossierComponent,
    Fee,
    LegalBasis,
    ProcedureStep,
    ProcessingTime,
    SubmissionChannel,
    SubmissionMethod,
    TimeUnit,
)

logger = logging.getLogger(__name__)

T = TypeVar("T")

NO_INFO = "Không có thông tin"
_SNIPPET_CHARS = 60


@dataclass
class Parsed(Generic[T]):
    """What a parse function read, and what it could not read completely."""

    value: T
    warnings: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """True when the whole section was understood."""
        return not self.warnings


# --------------------------------------------------------------------------------------------
# Text helpers


def clean_inline(text: str) -> str:
    """Collapse every run of whitespace (newlines included) into one space."""
    return " ".join(text.split())


def clean_block(text: str) -> str:
    """Tidy multi-line text: trim each line, collapse spaces, drop blank lines."""
    lines = (clean_inline(line) for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def is_placeholder(text: str) -> bool:
    """Whether ``text`` carries no information: empty, dashes or "Không có thông tin"."""
    stripped = text.strip().strip("-").strip()
    return not stripped or stripped.casefold() == NO_INFO.casefold()


def _snippet(text: str) -> str:
    text = clean_inline(text)
    if len(text) <= _SNIPPET_CHARS:
        return repr(text)
    return repr(text[:_SNIPPET_CHARS] + "…")


def _never_raise(
    empty: Callable[[], T],
) -> Callable[[Callable[[str], Parsed[T]]], Callable[[object], Parsed[T]]]:
    """Make a parse function total: any input, no exception.

    ``None`` gives an empty value; other non-text input and any unexpected exception give an
    empty value with a warning. Text is NFC-normalized first, since part of the crawl spells
    accents as combining marks.
    """

    def decorate(parse: Callable[[str], Parsed[T]]) -> Callable[[object], Parsed[T]]:
        @functools.wraps(parse)
        def wrapper(text: object) -> Parsed[T]:
            if text is None:
                return Parsed(empty())
            if not isinstance(text, str):
                return Parsed(empty(), [f"expected text, got {type(text).__name__}"])
            try:
                return parse(unicodedata.normalize("NFC", text))
            except Exception as exc:  # a parser must never stop an ingestion run
                logger.warning("%s failed on %s", parse.__name__, _snippet(text), exc_info=True)
                return Parsed(empty(), [f"parser error {type(exc).__name__}: {exc}"])

        return wrapper

    return decorate


def _balanced_group(text: str, start: int) -> int | None:
    """End (exclusive) of the parenthesised group opening at ``text[start]``; None if unclosed."""
    depth = 0
    for index in range(start, len(text)):
        char = text[index]
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return index + 1
    return None


# --------------------------------------------------------------------------------------------
# cach_thuc_thuc_hien: submission methods

METHODS_HEADER = "Hình thức nộpThời gianPhí, lệ phíMô tả"

_CHANNELS = {
    "Trực tiếp": SubmissionChannel.DIRECT,
    "Trực tuyến": SubmissionChannel.ONLINE,
    "Dịch vụ bưu chính": SubmissionChannel.POSTAL,
}
# Longest first, so "Ngày làm việc" wins over "Ngày".
_TIME_UNITS = {
    "Ngày làm việc": TimeUnit.WORKING_DAY,
    "Ngày": TimeUnit.DAY,
    "Giờ": TimeUnit.HOUR,
    "Tuần": TimeUnit.WEEK,
    "Tháng": TimeUnit.MONTH,
    "Năm": TimeUnit.YEAR,
}
# Time cells that are text rather than a number.
_TIME_TEXTS = (NO_INFO, "Không phải trả kết quả cho người nộp thuế", "Không quy định", "Không")
_CURRENCIES = {"Việt Nam Đồng": "VND", "VNĐ": "VND", "Đồng": "VND", "USD": "USD", "EUR": "EUR"}
_FREE = "Miễn phí"

_CHANNEL_RE = "|".join(map(re.escape, _CHANNELS))
_UNIT_RE = "|".join(map(re.escape, _TIME_UNITS))
_CURRENCY_RE = "|".join(map(re.escape, _CURRENCIES))
_TIME_RE = rf"(?:\d+(?:[.,]\d+)?(?: ?(?:{_UNIT_RE}))?|{'|'.join(map(re.escape, _TIME_TEXTS))})"
_FEE_START_RE = rf"(?:{re.escape(_FREE)}|{re.escape(NO_INFO)}|\d[\d,.]* ?(?:{_CURRENCY_RE}))"
# A row starts with a channel immediately followed by a time cell and the start of a fee cell;
# the same words inside a free-text description are not followed by that pair.
_ROW_START = re.compile(rf"({_CHANNEL_RE})(?={_TIME_RE}{_FEE_START_RE})")
_TIMED = re.compile(rf"(\d+(?:[.,]\d+)?) ?({_UNIT_RE})")
_AMOUNT = re.compile(rf"(\d[\d,.]*) ?({_CURRENCY_RE})")
_BARE_AMOUNT = re.compile(rf"(\d[\d,]*) ?({_CURRENCY_RE})")
_BARE_TIME = re.compile(r"\d+(?:[.,]\d+)?")
_GROUPED_NUMBER = re.compile(r"[1-9]\d{0,2}(?:,\d{3})+")
_PLAIN_NUMBER = re.compile(r"[1-9]\d{0,2}")


@_never_raise(list)
def parse_submission_methods(text: str) -> Parsed[list[SubmissionMethod]]:
    """Parse ``cach_thuc_thuc_hien``: one method per row of channel, time, fees and description.

    Args:
        text: The flattened table, e.g. ``"Hình thức nộpThời gianPhí, lệ phíMô tảTrực tiếp5 Ngày
            làm việc10,000 Việt Nam Đồng(...)- Nộp hồ sơ..."``.

    Returns:
        The methods in page order, and warnings for text that did not fit a row.
    """
    warnings: list[str] = []
    body = text.strip()
    if body.startswith(METHODS_HEADER):
        body = body[len(METHODS_HEADER) :]
    elif not is_placeholder(body):
        warnings.append("submission methods: table header missing")
    if is_placeholder(body):
        return Parsed([], warnings)

    starts = [match.start() for match in _ROW_START.finditer(body)]
    if not starts:
        return Parsed([], [*warnings, f"submission methods: no row found in {_snippet(body)}"])
    if body[: starts[0]].strip():
        warnings.append(f"submission methods: text before first row {_snippet(body[: starts[0]])}")

    methods = []
    for start, end in zip(starts, [*starts[1:], len(body)], strict=True):
        method, row_warnings = _parse_method_row(body[start:end])
        methods.append(method)
        warnings.extend(f"submission methods: {warning}" for warning in row_warnings)
    return Parsed(methods, warnings)


def _parse_method_row(row: str) -> tuple[SubmissionMethod, list[str]]:
    """One row: ``<channel><time><fee>[(<fee note>)]<description>``."""
    channel_text = next(name for name in _CHANNELS if row.startswith(name))
    warnings: list[str] = []

    processing_time, fee, position = _parse_time_and_first_fee(row, len(channel_text), warnings)
    if fee is None:
        warnings.append(f"no fee cell in {_snippet(row)}")
    fees = []
    while fee is not None:
        if fee.text != NO_INFO or fee.description:
            fees.append(fee)
        # A further fee only counts when an amount follows a fee note straight away; "Miễn phí"
        # or a number at that point is the start of the description.
        fee = None
        if row[position - 1 : position] == ")" and _AMOUNT.match(row, position):
            fee, position = _parse_fee(row, position, warnings)

    description = clean_block(row[position:])
    method = SubmissionMethod(
        channel=_CHANNELS[channel_text],
        processing_time=processing_time,
        fees=fees,
        description="" if is_placeholder(description) else description,
    )
    return method, warnings


def _parse_time_and_first_fee(
    row: str, position: int, warnings: list[str]
) -> tuple[ProcessingTime | None, Fee | None, int]:
    """Read the time cell and the first fee; a bare number and an amount may run together."""
    for time_text in _TIME_TEXTS:
        if row.startswith(time_text, position):
            time = None if time_text == NO_INFO else ProcessingTime(text=time_text)
            fee, position = _parse_fee(row, position + len(time_text), warnings)
            return time, fee, position

    timed = _TIMED.match(row, position)
    if timed:
        value = float(timed.group(1).replace(",", "."))
        time = ProcessingTime(value=value, unit=_TIME_UNITS[timed.group(2)], text=timed.group(0))
        fee, position = _parse_fee(row, timed.end(), warnings)
        return time, fee, position

    return _split_bare_time_and_fee(row, position, warnings)


def _split_bare_time_and_fee(
    row: str, position: int, warnings: list[str]
) -> tuple[ProcessingTime | None, Fee | None, int]:
    """A time without unit: ``"7Miễn phí"``, or glued to an amount as in ``"140,000 VNĐ"``."""
    run = _BARE_AMOUNT.match(row, position)
    if run is None:
        digits = _BARE_TIME.match(row, position)
        if digits is None:
            warnings.append(f"unreadable time in {_snippet(row)}")
            return None, None, position
        fee, end = _parse_fee(row, digits.end(), warnings)
        return _bare_time(digits.group(0)), fee, end

    # Digits run straight into "<amount> <currency>": the shortest leading part that leaves a
    # well-formed amount is the time (bare times are nearly always one digit).
    number = run.group(1)
    splits = [cut for cut in range(1, len(number)) if _is_amount(number[cut:])]
    if not splits:
        warnings.append(f"cannot split time from fee in {_snippet(run.group(0))}")
        return None, None, position
    if len(splits) > 1:
        options = ", ".join(f"{number[:cut]} + {number[cut:]}" for cut in splits)
        warnings.append(f"ambiguous time and fee {run.group(0)!r} ({options}); read the first")
    cut = splits[0]
    fee, end = _parse_fee(row, position + cut, warnings)
    return _bare_time(number[:cut]), fee, end


def _bare_time(digits: str) -> ProcessingTime:
    return ProcessingTime(value=float(digits.replace(",", ".")), text=digits)


def _is_amount(digits: str) -> bool:
    """A displayed amount: "20", "100", "10,000"; ungrouped amounts stay below 1,000."""
    return bool(_GROUPED_NUMBER.fullmatch(digits) or _PLAIN_NUMBER.fullmatch(digits))


def _parse_fee(row: str, position: int, warnings: list[str]) -> tuple[Fee | None, int]:
    """A fee cell at ``position``: "Miễn phí", "Không có thông tin" or an amount, plus its note."""
    amount_match = _AMOUNT.match(row, position)
    if row.startswith(_FREE, position):
        fee = Fee(amount=0, text=_FREE)
        position += len(_FREE)
    elif row.startswith(NO_INFO, position):
        fee = Fee(amount=None, text=NO_INFO)
        position += len(NO_INFO)
    elif amount_match:
        amount = _parse_amount(amount_match.group(1))
        if amount is None:
            warnings.append(f"unreadable amount {amount_match.group(0)!r}")
        currency = _CURRENCIES[amount_match.group(2)]
        fee = Fee(amount=amount, currency=currency, text=amount_match.group(0))
        position = amount_match.end()
    else:
        return None, position

    if position < len(row) and row[position] == "(":
        note, position = _read_fee_note(row, position, warnings)
        fee = fee.model_copy(update={"description": note})
    return fee, position


def _read_fee_note(row: str, start: int, warnings: list[str]) -> tuple[str, int]:
    """The parenthesised explanation after a fee, nested parentheses included."""
    end = _balanced_group(row, start)
    if end is not None:
        return clean_block(row[start + 1 : end - 1]), end
    if not row[start + 1 :].strip():
        return "", len(row)  # a lone "(" at the end: nothing is lost
    # The portal sometimes leaves a parenthesis open; end the note at the last ")", or take the
    # rest of the row when there is none.
    last_close = row.rfind(")")
    note_end, end = (last_close, last_close + 1) if last_close > start else (len(row), len(row))
    warnings.append(f"unclosed parenthesis in fee note {_snippet(row[start:end])}")
    return clean_block(row[start + 1 : note_end]), end


def _parse_amount(digits: str) -> int | None:
    """ "10,000" -> 10000; "1.200.000" -> 1200000; "1.5" -> None (not a whole number of đồng)."""
    if re.fullmatch(r"\d{1,3}(?:([,.])\d{3})(?:\1\d{3})*|\d+", digits):
        return int(re.sub(r"[,.]", "", digits))
    return None


# --------------------------------------------------------------------------------------------
# thanh_phan_ho_so: dossier components

DOSSIER_HEADER = "Tên giấy tờMẫu đơn, tờ khaiSố lượng"

# A count cell: "1 bản chính", "0 bản chính,1 bản sao". It ends its row, so it is followed by the
# next cell glued on (or the end), never by a space or by punctuation as in running text
# ("nộp 01 bản chính;").
# Digit runs are capped so that long numbers cannot make the search quadratic.
_COUNT = re.compile(r"(\d{1,6}) bản chính(?:,(\d{1,6}) bản sao)?(?=$|[^\s;.,)])")
_FORM_EXTENSION = re.compile(r"\.(?:docx|doc|pdf|xlsx|xls|odt|rar|zip)", re.IGNORECASE)
_BULLET = re.compile(r"^[\s\-+*•\uf0fc\uf0d8]+")
_NUMBERED_FILE = re.compile(r"\d+-\D")
_TEMPLATE_WORD = re.compile(r"m(?:au|ẫu)(?:\s*s[oố]\b|\d)", re.IGNORECASE)


@_never_raise(list)
def parse_dossier(text: str) -> Parsed[list[DossierComponent]]:
    """Parse ``thanh_phan_ho_so``: tables of documents, each optionally under a group heading.

    Args:
        text: The flattened tables, e.g. ``"* Giấy tờ phải nộp:Tên giấy tờMẫu đơn, tờ khaiSố
            lượngTờ khai (Mẫu CT01)Mẫu CT01.docx1 bản chính..."``.

    Returns:
        The components in page order, and warnings for text that did not fit a row.
    """
    if is_placeholder(text):
        return Parsed([])
    parts = text.split(DOSSIER_HEADER)
    warnings: list[str] = []
    if len(parts) == 1:
        if not _COUNT.search(text):
            return Parsed([], [f"dossier: no table found in {_snippet(text)}"])
        warnings.append("dossier: table header missing")
        parts = ["", text]

    components: list[DossierComponent] = []
    group = _clean_group(parts[0])
    for index, table in enumerate(parts[1:], start=1):
        rows, tail = _split_dossier_rows(table)
        for name_text, original, copies in rows:
            component = _dossier_component(name_text, original, copies, group)
            if component is not None:
                components.append(component)
        if index < len(parts) - 1:
            group = _clean_group(tail)
        elif not is_placeholder(tail):
            warnings.append(f"dossier: text without a count {_snippet(tail)}")
            components.append(DossierComponent(name=clean_inline(tail), group=group))
    return Parsed(components, warnings)


def _split_dossier_rows(table: str) -> tuple[list[tuple[str, int, int]], str]:
    """Rows of ``(name and form text, originals, copies)`` and the text after the last count."""
    rows: list[tuple[str, int, int]] = []
    row_starts: list[int] = []
    name_start = 0
    previous: re.Match[str] | None = None
    for match in _COUNT.finditer(table):
        digits = match.group(1)
        # Cells are glued, so "Mẫu số 18" + "1 bản chính" reads "181 bản chính": a count is one
        # digit and the digits before it belong to the name.
        name_end = match.start() + len(digits) - 1
        if previous is not None and name_end == previous.end() and _is_written_count(previous):
            # "…: 02 bản chính" + "0 bản chính": the first was the name's own text.
            rows.pop()
            name_start = row_starts.pop()
        # The page shows ",N bản sao" only when copies are asked for, so none shown means 0.
        copies = int(match.group(2)) if match.group(2) is not None else 0
        rows.append((table[name_start:name_end], int(digits[-1]), copies))
        row_starts.append(name_start)
        name_start = match.end()
        previous = match
    return rows, table[name_start:]


def _is_written_count(match: re.Match[str]) -> bool:
    """ "02 bản chính": a zero-padded count is how running text writes it, not the count cell."""
    digits = match.group(1)
    return len(digits) > 1 and digits.startswith("0") and match.group(2) is None


def _dossier_component(
    name_text: str, original: int, copies: int, group: str
) -> DossierComponent | None:
    name, form = _split_form(name_text)
    name = _BULLET.sub("", clean_inline(name))
    if not name:
        if not form:
            # An empty row of the source table ("…1 bản chính1 bản chính"): nothing to keep.
            logger.debug("dossier: count without a document name in group %r", group)
            return None
        name = form
    return DossierComponent(
        name=name, form=form, original_count=original, copy_count=copies, group=group
    )


def _split_form(text: str) -> tuple[str, str]:
    """Separate the template file names glued after a document name.

    ``"Tờ khai thay đổi thông tin cư trúMẫu CT01.docx"`` gives ``"Tờ khai thay đổi thông tin cư
    trú"`` and ``"Mẫu CT01.docx"``. The file names start at the first glued cell boundary before
    the first extension (``_GLUE_RULES``); several files are joined with "; ".
    """
    extensions = [m for m in _FORM_EXTENSION.finditer(text) if _ends_word(text, m.end())]
    if not extensions:
        return text, ""
    first, last = extensions[0], extensions[-1]
    start = _first_glued_boundary(text, first.start())
    if start is None:
        # No visible boundary: the file name is at least its last word.
        start = text.rfind(" ", 0, first.start()) + 1
    forms = _FORM_EXTENSION.sub(lambda m: m.group(0) + "\n", text[start : last.end()])
    form = "; ".join(clean_inline(part) for part in forms.splitlines() if part.strip())
    return text[:start] + text[last.end() :], form


def _ends_word(text: str, index: int) -> bool:
    """Whether an extension ending at ``index`` ends there (".doc" is no extension in ".docs")."""
    return index >= len(text) or not text[index].islower()


def _first_glued_boundary(text: str, limit: int) -> int | None:
    """First index before ``limit`` where one cell visibly ends and a glued one starts."""
    for index in range(2, limit):
        if any(rule(text, index) for rule in _GLUE_RULES):
            return index
    return None


def _after_closing(text: str, index: int) -> bool:
    """ "theo mẫu;Mẫu số 05.docx", "(Mẫu 01)Mẫu 01.docx"."""
    return text[index - 1] in ";)" and text[index].isalnum()


def _after_full_stop(text: str, index: int) -> bool:
    """ "theo mẫu.Mẫu số 01.docx", "(mẫu 9B).47-Mẫu", "ngày 01/01/2026.Mau 2a.docx".

    Not "1.1" or "2025.TT" inside a file name.
    """
    if text[index - 1] != "." or not text[index].isalnum():
        return False
    previous = text[index - 2]
    return (
        previous.isalpha()
        or previous in ")."
        or (previous.isdigit() and _opens_capitalised_word(text, index))
    )


def _lower_then_capital(text: str, index: int) -> bool:
    """ "của Chính phủMẫu số 09.docx"; not the "e" of a mixed-case acronym such as "VNeID"."""
    before = text[index - 1]
    if not (before.islower() and text[index].isupper()):
        return False
    return not (text[index - 2].isupper() and text[index + 1 : index + 2].isupper())


def _capital_word_after_code(text: str, index: int) -> bool:
    """ "…/TT-BNNMTMau so 01.docx", "…ngày 25/01/2026Mẫu số 01.docx"."""
    if not _opens_capitalised_word(text, index):
        return False
    before = text[index - 1]
    return before.isdigit() or (before.isupper() and text[index - 2].isupper())


def _numbered_file(text: str, index: int) -> bool:
    """ "đối với cá nhân7-Mẫu NA6.doc", "THƯỜNG TRÚ,33-Mẫu số 02.doc"."""
    before = text[index - 1]
    return (before.isalpha() or before == ",") and bool(_NUMBERED_FILE.match(text, index))


def _glued_template_word(text: str, index: int) -> bool:
    """ "chứng chỉ hết hạnmau so 20.doc", "NĐ-CPmau so 12.doc": "mau" glued to a word."""
    return text[index - 1].isalpha() and bool(_TEMPLATE_WORD.match(text, index))


def _opens_capitalised_word(text: str, index: int) -> bool:
    return text[index].isupper() and text[index + 1 : index + 2].islower()


_GLUE_RULES: tuple[Callable[[str, int], bool], ...] = (
    _after_closing,
    _after_full_stop,
    _lower_then_capital,
    _capital_word_after_code,
    _numbered_file,
    _glued_template_word,
)


def _clean_group(text: str) -> str:
    label = clean_inline(text).strip("-* ").rstrip(":").strip()
    return "" if is_placeholder(label) else label


# --------------------------------------------------------------------------------------------
# can_cu_phap_ly: legal basis

LEGAL_HEADER = "Tên văn bản pháp lýMã văn bản"

# Issuer and type codes that end a document number ("TT-BCA", "NĐ-CP"). They tell where the number
# stops when the next title starts in capitals ("…/NĐ-CPQUY ĐỊNH…", "…/TT-BCAThông tư").
_CODE_WORDS = frozenset(
    [
        *("CP", "TT", "NĐ", "QĐ", "NQ", "TTLT", "PL", "CT", "UBND", "HĐND", "HĐTP", "VPCP"),
        *("BTC", "BTP", "BCA", "BNNMT", "BNNPTNT", "BGTVT", "BTNMT", "NHNN", "BXD", "BKHĐT"),
        *("BLĐTBXH", "BKHCN", "BNV", "BHXH", "BYT", "BTTTT", "BQP", "BCT", "BVHTTDL", "BGDĐT"),
        *("BNG", "CSXH", "TANDTC", "VKSNDTC", "KTNN", "UBDT", "TTCP", "NHCSXH"),
    ]
)
# Consonant pairs that open a Vietnamese word ("Thông", "Nghị", "Quy"), besides capital + vowel.
_WORD_OPENINGS = frozenset(["th", "ph", "ch", "kh", "nh", "gh", "gi", "ng", "tr", "qu"])
_DOC_TYPES = (
    "Bộ luật|Luật|Nghị định|Thông tư liên tịch|Thông tư|Quyết định|Nghị quyết|Pháp lệnh|"
    "Văn bản hợp nhất|Chỉ thị|Công văn|NĐ|TT|QĐ|NQ"
)
# "68/2013/TT-BCA", "2222/QĐ-BHXH" (no year) and "46/2020" (no issuer).
_NUMBER_HEAD = re.compile(r"(\d{1,8})(?:\.\d{1,4})?/(?:\d{4}/(?=[A-ZĐ])|(?=[A-ZĐ])|\d{4}(?![\d/]))")
_CODE_GROUP = re.compile(r"[A-ZĐ]+")
_NUMBER_PREFIX = re.compile(rf"(?:(?:{_DOC_TYPES})\s*)?(?:số\s*)?$", re.IGNORECASE)
_TRIVIAL_TITLE = re.compile(rf"(?:(?:{_DOC_TYPES})\s*)?(?:số)?", re.IGNORECASE)


@_never_raise(list)
def parse_legal_basis(text: str) -> Parsed[list[LegalBasis]]:
    """Parse ``can_cu_phap_ly``: rows of ``<title><number>``.

    Titles may contain numbers themselves: in ``"Thông tư 56/2021/TT-BCA56/2021/TT-BCA"`` the
    first number belongs to the title. A row ends at a number glued to the next cell.

    Args:
        text: The flattened table, header "Tên văn bản pháp lýMã văn bản" first.

    Returns:
        The documents in page order, and warnings for text that did not fit a row.
    """
    body = text.strip()
    warnings: list[str] = []
    if body.startswith(LEGAL_HEADER):
        body = body[len(LEGAL_HEADER) :]
    elif not is_placeholder(body):
        warnings.append("legal basis: table header missing")
    if is_placeholder(body):
        return Parsed([], warnings)

    documents = []
    row_start = 0
    for number_start, number_end in _document_numbers(body):
        if not _ends_row(body, number_start, number_end):
            continue
        number = body[number_start:number_end]
        title = _legal_title(body[row_start:number_start])
        if title is None and number_end == len(body):
            title = clean_inline(body[row_start:number_start]) or number  # "Luật 18/2017/QH14"
        if title is None:
            continue  # the number belongs to the title ("Thông tư 56/2021/TT-BCA" + number)
        documents.append(LegalBasis(title=title, number=number))
        row_start = number_end
    tail = body[row_start:]
    if not is_placeholder(tail):
        warnings.append(f"legal basis: text without a document number {_snippet(tail)}")
        documents.append(LegalBasis(title=clean_inline(tail)))
    return Parsed(documents, warnings)


def _document_numbers(body: str) -> list[tuple[int, int]]:
    """Spans of document numbers such as 68/2013/TT-BCA, 66.7/2025/NQ-CP, 15/2023/QĐ-TTg."""
    spans = []
    position = 0
    while head := _NUMBER_HEAD.search(body, position):
        start = head.start()
        serial = head.group(1)
        # A year glued in front: "Luật Cư trú 2020" + "68/2020/QH14" reads "202068/2020/QH14",
        # "ngày 26/01/2026" + "08/2026/TT-BNNMT" reads "26/01/202608/2026/TT-BNNMT".
        year_glued = len(serial) > 4 and _is_year(serial[:4])
        if year_glued:
            start += 4
        elif body[start - 1 : start] == "/":
            position = head.start() + 1  # the "01/2022" of a date "18/01/2022"
            continue
        end = _number_end(body, head.end()) if head.group(0).endswith("/") else head.end()
        spans.append((start, end))
        position = end
    return spans


def _is_year(digits: str) -> bool:
    return 1945 <= int(digits) <= 2100


def _number_end(body: str, position: int) -> int:
    """End of the letter part of a number ("TT-BCA", "TTLT/BQP-BTC"), starting at ``position``."""
    end = position
    while group := _CODE_GROUP.match(body, end):
        end = _code_group_end(body, group.start(), group.end())
        if not (body.startswith(("-", "/"), end) and _CODE_GROUP.match(body, end + 1)):
            break
        end += 1
    return end


def _code_group_end(body: str, start: int, end: int) -> int:
    """End of one letter group of a number, which may be glued to the next title."""
    letters = body[start:end]
    if letters == "TT" and body.startswith("g", end):
        return end + 1  # QĐ-TTg: the Prime Minister
    if letters.startswith(("QH", "UBTVQH")):
        digits = re.match(r"\d{1,2}", body[end:])  # the legislature: QH14, UBTVQH13
        return end + (digits.end() if digits else 0)
    if letters in _CODE_WORDS:
        return end
    known = [len(word) for word in _CODE_WORDS if letters.startswith(word)]
    if known:
        return start + max(known)
    # Unknown issuer: give the last capital back when it opens the next word ("…XYZThông").
    if len(letters) > 1 and _opens_word(body[end - 1 : end + 1]):
        return end - 1
    return end


def _opens_word(pair: str) -> bool:
    """Whether a capital and the lowercase letter after it can start a Vietnamese word."""
    if len(pair) < 2 or not pair[1].islower():
        return False
    base = unicodedata.normalize("NFD", pair[1])[0]
    return base in "aeiouy" or pair.lower() in _WORD_OPENINGS


def _ends_row(body: str, start: int, end: int) -> bool:
    """Whether the number at ``body[start:end]`` is a row's number cell.

    It is when the next cell is glued on (or nothing follows). When the next cell is itself a
    number ("…TT-NHNN18/2026/TT-NHNN"), this one ends the row only if it is glued to its title
    too: in "của Thông tư số 17/2015/TT-NHNN18/2026/TT-NHNN" the first number is part of the
    title.
    """
    if end >= len(body):
        return True
    char = body[end]
    if char.isdigit():
        if body.startswith(body[start:end], end):
            return False  # "Thông tư 36/2016/TT-BTC" + "36/2016/TT-BTC": the title quotes it
        prefix = _NUMBER_PREFIX.search(body, 0, start)
        cell_start = prefix.start() if prefix else start
        return cell_start > 0 and not body[cell_start - 1].isspace()
    return char == "\t" or not (char.isspace() or char in ",;.:)(–-/")


def _legal_title(text: str) -> str | None:
    """The title cell before a number, without the number cell's own prefix ("Luật số ").

    None when the text is no title of its own but the start of one that runs on through the
    number: "Thông tư " before "56/2021/TT-BCA56/2021/TT-BCA".
    """
    cell = text
    prefix = _NUMBER_PREFIX.search(text)
    if prefix and prefix.group(0):
        glued = prefix.start() == 0 or not text[prefix.start() - 1].isspace()
        if glued:
            cell = text[: prefix.start()]
    title = clean_inline(cell)
    if title and not _TRIVIAL_TITLE.fullmatch(title):
        return title
    # A bare "Luật" glued to its number ("Luật29/2001/QH10") is a title cell of its own.
    whole = clean_inline(text)
    if whole and not text[-1].isspace() and whole.casefold() != "số":
        return whole
    return None


# --------------------------------------------------------------------------------------------
# ket_qua_xu_ly: results

# "Mã: KQ.G01.000066", "Mã: 000.00.00.G04-KQ0608", "Mã: VBTT"; the next name is glued on.
_RESULT_CODE = re.compile(r"Mã: ?(?:[A-Z0-9][A-Z0-9.\-]*\d|[A-Z][A-Z.\-]*(?=\s|$))?")
_RESULT_TRAILERS = ("Từ khóa", "Chọn cơ quan thực hiện")


@_never_raise(list)
def parse_results(text: str) -> Parsed[list[str]]:
    """Parse ``ket_qua_xu_ly``: ``<result>Mã: KQ.G01.000066`` repeated, then page junk.

    Args:
        text: The flattened result list; the keyword and description fields that follow it
            ("Từ khóa…Mô tả…") and the agency picker ("Chọn cơ quan thực hiện…Nộp hồ sơ") are
            dropped.

    Returns:
        The result names, and warnings for text without a result code.
    """
    body = text
    for trailer in _RESULT_TRAILERS:
        cut = body.find(trailer)
        if cut >= 0:
            body = body[:cut]
    if is_placeholder(body):
        return Parsed([])

    warnings: list[str] = []
    results = []
    position = 0
    for match in _RESULT_CODE.finditer(body):
        name = _BULLET.sub("", clean_inline(body[position : match.start()]))
        if name:
            results.append(name)
        else:
            warnings.append("results: result code without a name")
        position = match.end()
    tail = clean_inline(body[position:])
    if tail:
        warnings.append(f"results: text without a result code {_snippet(tail)}")
        results.append(tail)
    return Parsed(results, warnings)


# --------------------------------------------------------------------------------------------
# trinh_tu_thuc_hien: steps

_STEP_LINE = re.compile(r"^[\s\-+*•]*Bước\s*(\d+)\s*[:.\-)]?\s*", re.IGNORECASE | re.MULTILINE)
_STEP_INLINE = re.compile(r"Bước\s*(\d+)\s*[:.]\s*", re.IGNORECASE)
_NUMBERED_LINE = re.compile(r"^\s*(\d+)\s*[.)]\s+", re.MULTILINE)
_BULLET_LINE = re.compile(r"^\s*[-+•*]\s*", re.MULTILINE)


@_never_raise(list)
def parse_steps(text: str) -> Parsed[list[ProcedureStep]]:
    """Parse ``trinh_tu_thuc_hien`` into ordered steps.

    Steps are split on "Bước N" at the start of a line (or, when fewer than two lines start with
    it, on "Bước N:" inside the text), else on numbered lines ("1.", "2)") counting from 1, else on
    bulleted lines; text with none of these is one step. Sub-items stay inside their step, and
    text before the first marker is step 1 when the markers start at "Bước 2".

    Args:
        text: The steps as one text.

    Returns:
        The steps, numbered from 1 in page order; a warning when the "Bước" numbers skip or go
        back (other than restarting at 1 for another case), since a marker may then be a
        reference inside a step rather than a step of its own.
    """
    if is_placeholder(text):
        return Parsed([])
    for pattern in (_STEP_LINE, _STEP_INLINE):
        markers = list(pattern.finditer(text))
        if len(markers) > 1:
            return _steps_from_markers(text, markers)
    numbered = list(_NUMBERED_LINE.finditer(text))
    numbers = [int(marker.group(1)) for marker in numbered]
    if len(numbered) > 1 and numbers[0] == 1 and _in_order(numbers):
        return Parsed(_steps_between(text, numbered, implicit_first=False))
    bullets = list(_BULLET_LINE.finditer(text))
    if len(bullets) > 1:
        return Parsed(_steps_between(text, bullets, implicit_first=False))
    return Parsed([ProcedureStep(order=1, text=clean_block(text))])


def _steps_from_markers(text: str, markers: Sequence[re.Match[str]]) -> Parsed[list[ProcedureStep]]:
    numbers = [int(marker.group(1)) for marker in markers]
    has_preamble = bool(text[: markers[0].start()].strip())
    implicit_first = numbers[0] == 2 and has_preamble  # step 1 written without its marker
    warnings = []
    if not _in_order([1, *numbers] if implicit_first else numbers):
        listed = ", ".join(map(str, numbers))
        warnings.append(f"steps: markers out of order (Bước {listed})")
    return Parsed(_steps_between(text, markers, implicit_first=implicit_first), warnings)


def _in_order(numbers: Sequence[int]) -> bool:
    """1, 2, 3…, where a number may repeat and a new case may restart at 1."""
    if numbers[0] != 1:
        return False
    pairs = zip(numbers, numbers[1:], strict=False)
    return all(later in (earlier, earlier + 1, 1) for earlier, later in pairs)


def _steps_between(
    text: str, markers: Sequence[re.Match[str]], *, implicit_first: bool
) -> list[ProcedureStep]:
    """One step per marker, running to the next marker.

    Text before the first marker is a step of its own when ``implicit_first``, else it joins the
    first step.
    """
    bodies = []
    ends = [marker.start() for marker in markers[1:]] + [len(text)]
    for marker, end in zip(markers, ends, strict=True):
        body = clean_block(text[marker.end() : end])
        if body:
            bodies.append(body)
    preamble = clean_block(text[: markers[0].start()])
    if preamble and (implicit_first or not bodies):
        bodies.insert(0, preamble)
    elif preamble:
        bodies[0] = f"{preamble}\n{bodies[0]}"
    return [ProcedureStep(order=order, text=body) for order, body in enumerate(bodies, start=1)]


# --------------------------------------------------------------------------------------------
# Entry point


def main(argv: Sequence[str] | None = None) -> int:
    """Print the parse report of a dump: ``python -m ingestion.parsers.flattened <path>``."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        sys.stderr.write("usage: python -m ingestion.parsers.flattened <dump.jsonl[.gz]>\n")
        return 2
    # Imported here: the connector imports this module.
    from ingestion.connectors.dump import ProcedureDumpConnector, parse_report

    report = parse_report(ProcedureDumpConnector(args[0]))
    sys.stdout.write(json.dumps(report, ensure_ascii=False, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
