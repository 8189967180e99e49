"""Restore diacritics to Vietnamese typed without them, from the corpus's own vocabulary.

The embedding model does not understand "thu tuc cap ho chieu"; it does understand
"thủ tục cấp hộ chiếu". The restorer learns, from the indexed texts, which accented syllable each
folded syllable usually is and which accented syllables follow each other, then picks the most
likely accented sentence with the Viterbi algorithm over a bigram model.
"""

from __future__ import annotations

import gzip
import json
import math
from collections import Counter, defaultdict
from collections.abc import Iterable
from pathlib import Path

from search.text.lexical import _PHRASE_BREAK, _TOKEN
from search.text.vietnamese import clean_text, fold_accents

_MAX_CANDIDATES = 8
EVERYDAY_TEXT_PATH = Path(__file__).parent / "data" / "everyday_vi.txt"
# Everyday phrases count as this many corpus occurrences: the corpus is formal and large, and
# without the boost "thế nào" would come back as "thể nạo".
EVERYDAY_WEIGHT = 25
_BIGRAM_WEIGHT = 0.75
_FORMAT_VERSION = 1


class DiacriticRestorer:
    """A bigram model of accented syllables, keyed by their folded form.

    Usage example:

        restorer = DiacriticRestorer.build(["Thủ tục cấp hộ chiếu phổ thông"])
        restorer.restore("thu tuc cap ho chieu")  # "thủ tục cấp hộ chiếu"
    """

    def __init__(self, unigrams: dict[str, int], bigrams: dict[str, int]) -> None:
        self.unigrams = unigrams
        self.bigrams = bigrams
        self._candidates: dict[str, list[tuple[str, float]]] = {}
        grouped: dict[str, list[tuple[str, int]]] = defaultdict(list)
        for syllable, count in unigrams.items():
            grouped[fold_accents(syllable)].append((syllable, count))
        for folded, forms in grouped.items():
            total = sum(count for _, count in forms)
            best = sorted(forms, key=lambda item: -item[1])[:_MAX_CANDIDATES]
            self._candidates[folded] = [(form, count / total) for form, count in best]

    @classmethod
    def build(
        cls,
        texts: Iterable[str],
        *,
        min_bigram_count: int = 2,
        everyday_path: Path | None = EVERYDAY_TEXT_PATH,
    ) -> DiacriticRestorer:
        """Learn from ``texts`` plus, unless ``everyday_path`` is None, the everyday phrases."""
        unigrams: Counter[str] = Counter()
        bigrams: Counter[str] = Counter()

        def learn(text: str, weight: int) -> None:
            for phrase in _PHRASE_BREAK.split(clean_text(text).lower()):
                sylls = _TOKEN.findall(phrase)
                for syllable in sylls:
                    unigrams[syllable] += weight
                for a, b in zip(sylls, sylls[1:], strict=False):
                    bigrams[f"{a} {b}"] += weight

        for text in texts:
            learn(text, 1)
        if everyday_path is not None:
            for line in everyday_path.read_text(encoding="utf-8").splitlines():
                if line.strip() and not line.startswith("#"):
                    learn(line, EVERYDAY_WEIGHT)
        kept = {pair: n for pair, n in bigrams.items() if n >= min_bigram_count}
        return cls(dict(unigrams), kept)

    def save(self, path: Path) -> None:
        payload = {"version": _FORMAT_VERSION, "unigrams": self.unigrams, "bigrams": self.bigrams}
        tmp = path.with_suffix(path.suffix + ".tmp")
        with gzip.open(tmp, "wt", encoding="utf-8") as fh:
            json.dump(payload, fh, ensure_ascii=False)
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> DiacriticRestorer:
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            payload = json.load(fh)
        if payload.get("version") != _FORMAT_VERSION:
            raise ValueError(f"{path} has format {payload.get('version')}, not {_FORMAT_VERSION}")
        return cls(payload["unigrams"], payload["bigrams"])

    def restore(self, text: str) -> str:
        """The text with diacritics restored phrase by phrase; unknown words stay as typed."""
        pieces: list[str] = []
        for phrase in _PHRASE_BREAK.split(text.lower()):
            words = _TOKEN.findall(phrase)
            if words:
                pieces.append(" ".join(self._restore_words(words)))
        return ", ".join(pieces)

    def _restore_words(self, words: list[str]) -> list[str]:
        lattice = [self._candidates.get(fold_accents(w), [(w, 1.0)]) for w in words]
        # best[i][form] = (log score, previous form)
        best: list[dict[str, tuple[float, str | None]]] = [
            {form: (math.log(p), None) for form, p in lattice[0]}
        ]
        for position in range(1, len(words)):
            column: dict[str, tuple[float, str | None]] = {}
            for form, emission in lattice[position]:
                column[form] = max(
                    (score + self._transition(prev, form, emission), prev)
                    for prev, (score, _) in best[-1].items()
                )
            best.append(column)
        form = max(best[-1], key=lambda f: best[-1][f][0])
        restored = [form]
        for position in range(len(words) - 1, 0, -1):
            previous = best[position][form][1]
            assert previous is not None  # every column after the first has a predecessor
            form = previous
            restored.append(form)
        return restored[::-1]

    def _transition(self, previous: str, form: str, emission: float) -> float:
        pair = self.bigrams.get(f"{previous} {form}", 0)
        follow = pair / self.unigrams[previous] if previous in self.unigrams else 0.0
        return math.log(_BIGRAM_WEIGHT * follow + (1 - _BIGRAM_WEIGHT) * emission * 0.01 + 1e-9)
