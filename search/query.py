"""Understanding a citizen's query before it is searched: clean-up, codes, diacritics, synonyms."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

from search.errors import SearchError
from search.models import SparseVector
from search.text.lexical import LexicalAnalyzer, SparseEncoder
from search.text.restore import DiacriticRestorer
from search.text.synonyms import SynonymDictionary
from search.text.vietnamese import clean_text, fold_accents, has_diacritics, syllables

MAX_QUERY_CHARS = 2_000
# National codes are "1.001193" (the catalogue's first digit runs from 1 to 6 today);
# provincial ones add the province, as in "1.000948.H38". A comma for the first dot is a slip
# of the keyboard ("1,001193"); six digits after it are no amount of money.
PROCEDURE_CODE = re.compile(r"(?<![\d.])([1-9])[.,](\d{6})(?:\.([A-Za-z]{1,3}\d{0,3}))?(?![\d])")


def national_code(code: str) -> str:
    """The national procedure a provincial code is a province's form of ("1.000948" for
    "1.000948.H38"); "" for a national code."""
    return code.rsplit(".", 1)[0] if code.count(".") == 2 else ""


_EXPANSION_WEIGHT = 0.6
# What a citizen says they already hold is the setting of the question, not what it asks for:
# "xây nhà trên mảnh đất đã có sổ đỏ, xin giấy phép xây dựng" asks for a building permit, and
# the land certificate's official words would pull the land procedures ahead of it. The words
# after "đã có" / "đã được cấp" (or "mới", "vừa") bring no dictionary meanings (they are
# still searched).
_ALREADY_HELD = re.compile(
    r"(?<!\w)(?:đã|mới|vừa|da|moi|vua)\s+(?:có|được cấp|co|duoc cap)\s+\w+(?:\s+\w+)?",
    re.IGNORECASE,
)

# What a question asks of a procedure is no part of which procedure it means: "cần mang theo
# những giấy tờ gì" is asked of every procedure, yet its words are the distinguishing words of
# "Đăng ký khai sinh cho người đã có hồ sơ, giấy tờ cá nhân", which then came first for any
# question about a birth. Matched on the folded text, so it holds without diacritics.
_ASKED_ABOUT = re.compile(
    r"(?<!\w)(?:"
    r"(?:can|mang theo|mang|chuan bi)\s+(?:nhung\s+|cac\s+|du\s+)?(?:giay to|ho so)"
    r"(?:\s+(?:gi|nao|gom(?:\s+nhung)?(?:\s+gi)?))?"
    r"|(?:nhung|cac)\s+(?:giay to|ho so)(?:\s+(?:gi|nao|gom(?:\s+nhung)?(?:\s+gi)?|can))?"
    r"|(?:giay to|ho so)\s+"
    r"(?:gom(?:\s+co)?(?:\s+nhung)?(?:\s+gi)?|can(?:\s+nhung)?(?:\s+gi)?|gi|nao)"
    r")(?!\w)"
)
# Asking what it costs or how long it takes is asked of every procedure too, and its verbs are
# words of names: "mất bao nhiêu tiền" put "Trình báo mất hộ chiếu" ahead of the passport itself,
# read as the citizen having lost it. Folded, "mat tien" is also "mặt tiền" (a house's front),
# so a span typed with diacritics counts only when its verb is "mất", "hết" or "tốn".
_ASKED_COST = re.compile(
    r"(?<!\w)(?:mat|het|ton)\s+(?:(?:khoang|tam|chung|co)\s+)?"
    r"(?:bao\s+nhieu(?:\s+(?:tien|ngay|thang|tuan|thoi gian))?|bn|bao\s+lau"
    r"|may\s+(?:ngay|hom|tuan|thang|buoi|tieng)|(?:le\s+)?phi)(?!\w)"
    r"|(?<!\w)(?:mat|ton)\s+tien(?!\w)"
)
_COST_VERBS = frozenset({"mất", "hết", "tốn"})
_ASKED_WEIGHT = 0.15
"""The weight of the words of what a question asks ("những giấy tờ gì") in the sparse vector:
0 to 0.3 ranked alike on the dev and tuning questions, 0.6 (an expansion's) worse."""
PHRASE_CACHE_SIZE = 4096  # tokenized asked phrases and expansions kept (see QueryAnalyzer)


def asked_about(text: str) -> list[tuple[int, int]]:
    """The spans of ``text`` that ask what a procedure needs ("hồ sơ gồm những gì") rather than
    say which procedure is meant. Folding keeps every letter in its place, so spans found in
    the folded text hold in ``text``."""
    folded = fold_accents(text).lower()
    if len(folded) != len(text):
        return []
    spans = [m.span() for m in _ASKED_ABOUT.finditer(folded)]
    for match in _ASKED_COST.finditer(folded):
        verb = text[match.start() : match.start() + 3].lower()
        if not has_diacritics(verb) or verb in _COST_VERBS:
            spans.append(match.span())
    kept: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if not kept or start >= kept[-1][1]:
            kept.append((start, end))
    return kept


def split_asked(text: str) -> tuple[str, list[str]]:
    """``text`` with what it asks of a procedure cut out at a phrase break, and the pieces cut."""
    pieces, asked, last = [], [], 0
    for start, end in asked_about(text):
        pieces += [text[last:start], " , "]
        asked.append(text[start:end])
        last = end
    pieces.append(text[last:])
    return "".join(pieces), asked


def without_asked(text: str) -> str:
    """``text`` with what it asks of a procedure cut out, at a phrase break."""
    return split_asked(text)[0]


@dataclass
class AnalyzedQuery:
    """A query as the retriever uses it.

    ``text`` is the cleaned query; ``semantic_text`` is what the embedding model sees: the text
    with diacritics restored when it was typed without them, plus the official words for any
    abbreviation or everyday name found in it.
    """

    original: str
    text: str
    unaccented: bool
    restored: str
    expansions: list[str] = field(default_factory=list)
    codes: list[str] = field(default_factory=list)

    @property
    def semantic_text(self) -> str:
        if not self.expansions:
            return self.restored
        return f"{self.restored} ({'; '.join(self.expansions)})"


class QueryAnalyzer:
    """Turns raw query text into an ``AnalyzedQuery`` and its sparse vector.

    Args:
        synonyms: The editors' dictionary.
        restorer: Restores diacritics; None leaves unaccented text as typed.
    """

    def __init__(
        self, *, synonyms: SynonymDictionary, restorer: DiacriticRestorer | None = None
    ) -> None:
        self.synonyms = synonyms
        self.restorer = restorer
        self.lexical = LexicalAnalyzer(segment=True)
        # What a question asks and what its expansions mean come from short fixed lists, so
        # the same phrases come back query after query; word segmentation is the dear part of
        # their tokens. The question's own words are tokenized afresh each time.
        self._phrase_tokens = functools.lru_cache(maxsize=PHRASE_CACHE_SIZE)(self._tokens)

    def analyze(self, query: str) -> AnalyzedQuery:
        if not isinstance(query, str):
            raise SearchError(f"query must be text, got {type(query).__name__}")
        if len(query) > MAX_QUERY_CHARS:
            # The tail of a very long transcript is what the citizen is asking about now. It
            # starts at a word: a cut through one would leave a stray piece of it ("ừ" of "chiều").
            tail = query[-MAX_QUERY_CHARS:]
            parts = tail.split(maxsplit=1)
            if not query[-MAX_QUERY_CHARS - 1].isspace() and len(parts) == 2:
                tail = parts[1]
            query = tail
        text = clean_text(query)
        codes = [
            f"{m.group(1)}.{m.group(2)}" + (f".{m.group(3).upper()}" if m.group(3) else "")
            for m in PROCEDURE_CODE.finditer(text)
        ]
        if not syllables(text) and not codes:
            if any(c.isdigit() for c in text):
                raise SearchError(
                    "query has no words to search for, and no procedure code: codes are written "
                    "like 1.001193, or 1.000948.H38 for a province's own"
                )
            raise SearchError("query has no words to search for")
        unaccented = not has_diacritics(text) and len(syllables(text)) >= 2
        restored = text
        if unaccented and self.restorer is not None:
            restored = self._restore(text)
        self.synonyms.reload_if_changed()
        return AnalyzedQuery(
            original=query,
            text=text,
            unaccented=unaccented,
            restored=restored,
            expansions=self.synonyms.expansions(
                _ALREADY_HELD.sub(" ", text),
                fits=self.restorer.reading_fits if self.restorer else None,
            ),
            codes=codes,
        )

    def _restore(self, text: str) -> str:
        """``text`` with its diacritics restored, each abbreviation read in its meaning's place
        and then written back: in "doi gplx" the words of "giấy phép lái xe" make "doi" read
        "đổi" (alone beside "gplx" it read "đối"), and the result is "đổi gplx"."""
        assert self.restorer is not None
        spelled, spans = self.synonyms.abbreviations_spelled(text)
        if not spans:
            return self.restorer.restore(text)
        restored = self.restorer.restore(spelled)
        if len(restored) != len(spelled):  # the restorer changes letters, never lengths
            return self.restorer.restore(text)
        pieces, last = [], 0
        for start, end, written in spans:
            pieces += [restored[last:start], written]
            last = end
        pieces.append(restored[last:])
        return "".join(pieces)

    def sparse_tokens(self, analyzed: AnalyzedQuery) -> list[tuple[str, float]]:
        """Weighted lexical tokens: the query's own, then what it asks of a procedure and its
        expansions at lower weights."""
        named, asked = split_asked(analyzed.restored)
        weighted = [
            (token, 1.0) for token in self.lexical.tokens(named, drop_stop_syllables=True).counts
        ]
        for phrase in asked:
            weighted += [(token, _ASKED_WEIGHT) for token in self._phrase_tokens(phrase)]
        for expansion in analyzed.expansions:
            weighted += [(token, _EXPANSION_WEIGHT) for token in self._phrase_tokens(expansion)]
        return weighted

    def _tokens(self, phrase: str) -> tuple[str, ...]:
        return tuple(self.lexical.tokens(phrase, drop_stop_syllables=True).counts)

    def sparse_vector(self, analyzed: AnalyzedQuery) -> SparseVector:
        return SparseEncoder.encode_query(self.sparse_tokens(analyzed))
