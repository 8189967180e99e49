"""Lexical analysis for the sparse vector: segmented, accent-folded tokens and their weights.

Tokens of a text, all accent-folded so that "thu tuc cap ho chieu" and "thủ tục cấp hộ chiếu"
produce the same ones:

- every syllable ("ho", "chieu");
- every word of two or more syllables found by underthesea's segmenter, joined by "_"
  ("ho_chieu"), when segmentation is on;
- every pair of adjacent syllables inside a phrase ("ho chieu"), which keeps compounds matchable
  when the segmenter cannot see them, as in text typed without diacritics.

Weights follow BM25's term-frequency saturation and length normalization; Qdrant's IDF modifier
supplies the inverse document frequency at query time, so the index needs no global statistics
beyond the average chunk length.
"""

from __future__ import annotations

import re
import zlib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from search.models import SparseVector
from search.text.vietnamese import clean_text, fold_accents

# Phrases end at punctuation and line breaks; bigrams never cross them.
PHRASE_BREAK = re.compile(r"[.,;:!?()\[\]{}\"“”'\n/\\|–—•*+=<>-]+")
SYLLABLE = re.compile(r"[^\W_]+", re.UNICODE)

# Words that carry no topic in a citizen's question. Dropped as single tokens only: a pair such
# as "co phai" is still a token, and section texts keep them all.
QUERY_STOP_SYLLABLES = frozenset(
    """a ah a1 ad ak ạ à ơi oi nhe nhé nha ha hả hỏi hoi cho toi tôi em e minh mình ban bạn anh chi
    chị vay vậy thi thì la là co có khong không ko k hok ạk duoc được gi gì nao nào the thế sao ra
    mot một cac các nhung những cua của va và voi với de để o ở tai tại can cần muon muốn lam làm
    nhu như thu thủ tuc tục đi di roi rồi da đã dang đang se sẽ nay này kia do đó day đây ve về
    bi bị phai phải""".split()
)


def _fold_lower(text: str) -> str:
    return fold_accents(text).lower()


def token_index(token: str) -> int:
    """The sparse dimension of a token: a stable 31-bit hash, the same in every process."""
    return zlib.crc32(token.encode("utf-8")) & 0x7FFFFFFF


@dataclass(frozen=True)
class LexicalTokens:
    """Tokens of one text, in order of appearance, with their counts."""

    counts: Counter[str]
    length: int


class LexicalAnalyzer:
    """Turn Vietnamese text into accent-folded lexical tokens.

    Usage example:

        analyzer = LexicalAnalyzer(segment=True)
        analyzer.tokens("Thủ tục cấp hộ chiếu").counts["ho_chieu"]  # 1

    Args:
        segment: Run underthesea's word segmentation to add compound-word tokens. It costs about
            8 µs a character, so ingestion may switch it off for long, formulaic sections.
    """

    def __init__(self, *, segment: bool = True) -> None:
        self.segment = segment

    def tokens(self, text: str, *, drop_stop_syllables: bool = False) -> LexicalTokens:
        counts: Counter[str] = Counter()
        length = 0
        for phrase in PHRASE_BREAK.split(clean_text(text)):
            sylls = [_fold_lower(t) for t in SYLLABLE.findall(phrase)]
            if not sylls:
                continue
            length += len(sylls)
            for syllable in sylls:
                if not (drop_stop_syllables and syllable in _FOLDED_STOP):
                    counts[syllable] += 1
            for first, second in zip(sylls, sylls[1:], strict=False):
                if not (drop_stop_syllables and first in _FOLDED_STOP and second in _FOLDED_STOP):
                    counts[f"{first} {second}"] += 1
            if self.segment and len(sylls) > 1:
                counts.update(self._compounds(phrase))
        return LexicalTokens(counts=counts, length=length)

    def _compounds(self, phrase: str) -> list[str]:
        from underthesea import word_tokenize  # heavy import, loaded on first use

        words = word_tokenize(phrase)
        return [_fold_lower(w).replace(" ", "_") for w in words if " " in w.strip()]


QUERY_STOP_FOLDED = frozenset(_fold_lower(w) for w in QUERY_STOP_SYLLABLES)
_FOLDED_STOP = QUERY_STOP_FOLDED


class SparseEncoder:
    """BM25-style term weights for documents; plain weights for queries.

    Args:
        k1: Term-frequency saturation; higher lets repeated terms count for more.
        b: Strength of length normalization, from 0 (none) to 1 (full).
        average_length: The mean token length of indexed chunks, measured at ingestion.
    """

    def __init__(self, *, k1: float = 1.2, b: float = 0.75, average_length: float = 60.0) -> None:
        if k1 <= 0:
            raise ValueError(f"k1 must be positive, got {k1}")
        if not 0 <= b <= 1:
            raise ValueError(f"b must be between 0 and 1, got {b}")
        if average_length <= 0:
            raise ValueError(f"average_length must be positive, got {average_length}")
        self.k1 = k1
        self.b = b
        self.average_length = average_length

    def encode_document(self, tokens: LexicalTokens) -> SparseVector:
        norm = self.k1 * (1 - self.b + self.b * tokens.length / self.average_length)
        weights = {
            token: count * (self.k1 + 1) / (count + norm) for token, count in tokens.counts.items()
        }
        return _to_sparse(weights)

    @staticmethod
    def encode_query(weighted_tokens: Iterable[tuple[str, float]]) -> SparseVector:
        weights: dict[str, float] = {}
        for token, weight in weighted_tokens:
            weights[token] = max(weights.get(token, 0.0), weight)
        return _to_sparse(weights)


def _to_sparse(weights: dict[str, float]) -> SparseVector:
    by_index: dict[int, float] = {}
    for token, weight in weights.items():
        index = token_index(token)
        # Two tokens landing on one dimension (rare with 31 bits) add up rather than vanish.
        by_index[index] = by_index.get(index, 0.0) + weight
    indices = sorted(by_index)
    return SparseVector(indices=indices, values=[by_index[i] for i in indices])


def mean_length(lengths: Sequence[int]) -> float:
    return sum(lengths) / len(lengths) if lengths else 60.0
