"""GSM-7 and UCS-2 replies that fit a configured number of SMS segments.

A single GSM-7 SMS holds 160 septets; a concatenated one holds 153 per part (the user data
header takes the rest). Characters of the GSM extension table (``{ } [ ] ~ \\ | ^ €`` and form
feed) take two septets, and a gateway never splits such a pair across parts. UCS-2 holds 70
UTF-16 code units, 67 per part, and a surrogate pair is never split either. Vietnamese has
diacritics outside GSM-7, so the default is to strip them (``đ`` → ``d``) and send GSM-7, which
costs a third of UCS-2 per character.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

GSM7_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENDED = "^{}\\[~]|€\f"
_BASIC = frozenset(GSM7_BASIC) - {"\x1b"}
_EXTENDED = frozenset(GSM7_EXTENDED)

GSM7_SINGLE, GSM7_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67

_REPLACEMENTS = {"đ": "d", "Đ": "D", "“": '"', "”": '"', "‘": "'", "’": "'", "–": "-", "—": "-"}


def strip_diacritics(text: str) -> str:
    """Vietnamese text without tone and vowel marks: "Đăng ký khai sinh" → "Dang ky khai sinh"."""
    text = "".join(_REPLACEMENTS.get(ch, ch) for ch in text)
    decomposed = unicodedata.normalize("NFD", text)
    return unicodedata.normalize(
        "NFC", "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    )


def to_gsm7(text: str) -> str:
    """Text made of GSM-7 characters only: diacritics stripped, other characters as "?"."""
    plain = strip_diacritics(text).replace("…", "...")
    return "".join(ch if ch in _BASIC or ch in _EXTENDED else "?" for ch in plain)


def is_gsm7(text: str) -> bool:
    return all(ch in _BASIC or ch in _EXTENDED for ch in text)


def _units(ch: str, unicode: bool) -> int:
    if unicode:
        return 2 if ord(ch) > 0xFFFF else 1
    return 2 if ch in _EXTENDED else 1


def split_segments(text: str, *, unicode: bool) -> list[str]:
    """The parts a gateway sends ``text`` as; one part when it fits a single SMS."""
    single, part = (UCS2_SINGLE, UCS2_PART) if unicode else (GSM7_SINGLE, GSM7_PART)
    if sum(_units(ch, unicode) for ch in text) <= single:
        return [text] if text else []
    parts: list[str] = []
    current: list[str] = []
    used = 0
    for ch in text:
        size = _units(ch, unicode)
        if used + size > part:
            parts.append("".join(current))
            current, used = [], 0
        current.append(ch)
        used += size
    if current:
        parts.append("".join(current))
    return parts


@dataclass(frozen=True)
class SmsText:
    text: str
    unicode: bool
    segments: int


def fit_sms(body: str, *, link: str = "", max_segments: int, unicode: bool = False) -> SmsText:
    """``body`` (then ``link``) as an SMS of at most ``max_segments`` parts.

    The body is shortened at a word boundary, ending in "...", so that the link always fits
    whole; without ``unicode`` the text is GSM-7 without diacritics.
    """
    convert = (lambda s: unicodedata.normalize("NFC", s)) if unicode else to_gsm7
    body, link = convert(body).strip(), convert(link).strip()
    tail = f" {link}" if link else ""

    def fits(candidate: str) -> bool:
        return len(split_segments(candidate, unicode=unicode)) <= max_segments

    whole = body + tail
    if fits(whole):
        return SmsText(whole, unicode, len(split_segments(whole, unicode=unicode)))
    if not fits("..." + tail):
        tail = ""
    low, high = 0, len(body)
    while low < high:  # the longest prefix that fits, by bisection
        middle = (low + high + 1) // 2
        if fits(body[:middle].rstrip() + "..." + tail):
            low = middle
        else:
            high = middle - 1
    cut = body[:low]
    space = cut.rfind(" ")
    if space > len(cut) * 0.7:
        cut = cut[:space]
    while cut and (unicodedata.combining(cut[-1]) or "\ud800" <= cut[-1] <= "\udbff"):
        cut = cut[:-1]
    text = cut.rstrip() + "..." + tail
    return SmsText(text, unicode, len(split_segments(text, unicode=unicode)))
