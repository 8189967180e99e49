"""Plain functions for Vietnamese text: Unicode and tone-mark normalization, clean-up, folding.

The Haystack components in ``search.text.components`` wrap these; the query side calls them
directly so that the same rules apply at ingestion and at query time.
"""

from __future__ import annotations

import html
import re
import unicodedata

# Combining marks of the five tones (huyền, sắc, ngã, hỏi, nặng) after NFD.
_TONE_MARKS = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}
_VOWELS = set("aăâeêioôơuưy")
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
_TAG = re.compile(r"<[^>]+>")
# Spaces, and the control characters other than tab and line breaks (NUL, escape, C1): none of
# those is in the shared corpus; typed or pasted into a question, each stands between two words.
_SPACE = re.compile(r"[ \t\u00a0\u200b\ufeff\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]+")
_BLANK_LINES = re.compile(r"\n\s*\n+")
# Vietnamese letters that carry a diacritic: if none appears, the text was typed without them.
_DIACRITIC_LETTERS = set("àáảãạăằắẳẵặâầấẩẫậèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵđ")


def fold_accents(text: str) -> str:
    """Remove every diacritic: "Thủ tục cấp hộ chiếu" → "Thu tuc cap ho chieu"."""
    decomposed = unicodedata.normalize("NFD", text)
    stripped = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    return stripped.replace("đ", "d").replace("Đ", "D")


def has_diacritics(text: str) -> bool:
    """Whether the text contains at least one Vietnamese letter with a diacritic."""
    return any(ch in _DIACRITIC_LETTERS for ch in text.lower())


def _place_tone_old_style(syllable: str) -> str:
    """Put the tone of an open "oa", "oe", "uy" syllable on its first vowel (hoà → hòa).

    The corpus writes "hóa", "thủy", "khỏe" about ten times as often as "hoá", "thuỷ", "khoẻ", so
    that is the one convention the index uses. Syllables with a final consonant ("hoàng") and
    those after "q" ("quý") have a single correct placement and are left alone.
    """
    decomposed = unicodedata.normalize("NFD", syllable)
    tones = [ch for ch in decomposed if ch in _TONE_MARKS]
    if len(tones) != 1:
        return syllable
    bare = "".join(ch for ch in decomposed if ch not in _TONE_MARKS)
    lower = bare.lower()
    if not lower.endswith(("oa", "oe", "uy")) or lower.endswith(("qua", "que", "quy")):
        return syllable
    if len(lower) >= 3 and lower[-3] in "aeiouy":
        return syllable  # "ngoai"-like clusters are not these pairs
    target = len(bare) - 2
    rebuilt = bare[: target + 1] + tones[0] + bare[target + 1 :]
    return unicodedata.normalize("NFC", rebuilt)


def _toned(vowels: str) -> str:
    return "".join(unicodedata.normalize("NFC", v + t) for v in vowels for t in sorted(_TONE_MARKS))


# The only composed (NFC) words the convention can change: those that end in "o" before a toned
# "a" or "e", or in "u" before a toned "y" ("hoà", "khoẻ", "thuỷ"). Looking for them alone
# spares a call per word of every text cleaned, which costs a query milliseconds. A match
# starts only at the start of a word: a long run of letters is not tried from each of them.
_NEW_STYLE = re.compile(
    rf"(?<![^\W\d_])[^\W\d_]*(?:[oO][{_toned('aAeE')}]|[uU][{_toned('yY')}])(?![^\W\d_])"
)


def normalize_tone_marks(text: str) -> str:
    """Apply one tone-mark convention to every syllable (see ``_place_tone_old_style``)."""
    words = _NEW_STYLE if unicodedata.is_normalized("NFC", text) else _WORD
    return words.sub(lambda m: _place_tone_old_style(m.group(0)), text)


def clean_text(text: str) -> str:
    """NFC, control characters and HTML tags and entities removed, one tone convention, tidy
    white space."""
    text = unicodedata.normalize("NFC", text)
    if "<" in text or "&" in text:
        text = html.unescape(_TAG.sub(" ", text))
        text = unicodedata.normalize("NFC", text)
    text = normalize_tone_marks(text)
    text = _SPACE.sub(" ", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = _BLANK_LINES.sub("\n\n", text)
    return "\n".join(line.strip() for line in text.split("\n")).strip()


def syllables(text: str) -> list[str]:
    """Lower-cased words of letters only, in order (Vietnamese words are syllables)."""
    return [m.group(0).lower() for m in _WORD.finditer(text)]


def is_vowel_syllable(syllable: str) -> bool:
    return any(ch in _VOWELS for ch in fold_accents(syllable).lower())
