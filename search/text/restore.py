"""Restore diacritics to Vietnamese typed without them, from the corpus's own vocabulary.

The embedding model does not understand "thu tuc cap ho chieu"; it does understand
"thủ tục cấp hộ chiếu". The restorer picks the most likely accented sentence with the Viterbi
algorithm over a bigram language model of accented syllables.

Two models are mixed. The corpus model is learnt from the indexed texts: it knows the words of
procedures, but its texts are formal, so everyday words lose to formal look-alikes ("toi" would
come back as "tối" of "tối đa", "co" as "cơ" of "cơ quan"). The everyday model is learnt from a
file of everyday speech written by the project (``data/everyday_vi.txt``); it knows how
citizens talk. Each model is smoothed by Witten-Bell: an unseen pair ``v w`` gets the share of
``v``'s probability that ``v``'s variety of followers earns, times ``w``'s own frequency. A word
seen mostly in one fixed phrase ("tối đa", "tối thiểu") leaves little room for anything else
after it, which is what tells "tôi muốn" from "tối muốn" when neither pair was seen.
"""

from __future__ import annotations

import gzip
import json
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

from search.text.lexical import PHRASE_BREAK, SYLLABLE
from search.text.vietnamese import clean_text, fold_accents

_MAX_CANDIDATES = 8
EVERYDAY_TEXT_PATH = Path(__file__).parent / "data" / "everyday_vi.txt"
CORPUS_SHARE = 0.7
"""The corpus model's share of the mixture; the everyday model has the rest."""
FIRM_PAIR_COUNT = 50
BOUND_SHARE = 0.3
"""A pair seen ``FIRM_PAIR_COUNT`` times, holding this share of its second (or first) word's
occurrences, is a set phrase (see ``reading_fits``)."""
_FLOOR = 1e-9  # probability of a syllable neither model has seen
_FORMAT_VERSION = 2
_READABLE_VERSIONS = (1, 2)  # version 1 merged the everyday phrases into the corpus counts


def _count(texts: Iterable[str]) -> tuple[Counter[str], Counter[str]]:
    unigrams: Counter[str] = Counter()
    bigrams: Counter[str] = Counter()
    for text in texts:
        for phrase in PHRASE_BREAK.split(clean_text(text).lower()):
            sylls = SYLLABLE.findall(phrase)
            unigrams.update(sylls)
            bigrams.update(f"{a} {b}" for a, b in zip(sylls, sylls[1:], strict=False))
    return unigrams, bigrams


def read_everyday_text(path: Path) -> list[str]:
    """The lines of an everyday-speech file, without comments and blank lines."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line.strip() and not line.startswith("#")]


def _with_case_of(typed: str, form: str) -> str:
    """``form`` written in the case of ``typed``: all capitals, a capital first, or as it is.

    A word that gets no diacritics stays exactly as typed: "VNeID", "iPhone".
    """
    if form == typed.lower():
        return typed
    if len(typed) > 1 and typed.isupper():
        return form.upper()
    if typed[:1].isupper():
        return form[:1].upper() + form[1:]
    return form


class BigramModel:
    """Syllable bigrams with Witten-Bell smoothing.

    Args:
        unigrams: Count of each accented syllable.
        bigrams: Count of each pair, keyed ``"first second"``.
    """

    def __init__(self, unigrams: dict[str, int], bigrams: dict[str, int]) -> None:
        self.unigrams = unigrams
        self.bigrams = bigrams
        self.total = max(1, sum(unigrams.values()))
        self.followers: Counter[str] = Counter(pair.split(" ", 1)[0] for pair in bigrams)

    def p(self, word: str) -> float:
        return self.unigrams.get(word, 0) / self.total

    def p_next(self, previous: str, word: str) -> float:
        count = self.unigrams.get(previous, 0)
        if count == 0:
            return self.p(word)
        kinds = max(1, self.followers.get(previous, 0))
        return (self.bigrams.get(f"{previous} {word}", 0) + kinds * self.p(word)) / (count + kinds)


class DiacriticRestorer:
    """The corpus model mixed with the everyday model, keyed by folded syllables.

    Usage example:

        restorer = DiacriticRestorer.build(["Thủ tục cấp hộ chiếu phổ thông"])
        restorer.restore("thu tuc cap ho chieu")  # "thủ tục cấp hộ chiếu"

    Args:
        unigrams: Corpus syllable counts.
        bigrams: Corpus pair counts.
        everyday_path: The everyday-speech file; None restores from the corpus alone.
        corpus_share: Weight of the corpus model in the mixture, from 0 to 1.
    """

    def __init__(
        self,
        unigrams: dict[str, int],
        bigrams: dict[str, int],
        *,
        everyday_path: Path | None = EVERYDAY_TEXT_PATH,
        corpus_share: float = CORPUS_SHARE,
    ) -> None:
        if not 0 <= corpus_share <= 1:
            raise ValueError(f"corpus_share must be between 0 and 1, got {corpus_share}")
        self.unigrams = unigrams
        self.bigrams = bigrams
        self.corpus = BigramModel(unigrams, bigrams)
        everyday = _count(read_everyday_text(everyday_path)) if everyday_path else None
        self.everyday = BigramModel(dict(everyday[0]), dict(everyday[1])) if everyday else None
        self.corpus_share = corpus_share if self.everyday else 1.0
        self._candidates: dict[str, list[str]] = {}
        # The last word list restored for ``reading_fits``: one query asks about several terms.
        self._last_restored: tuple[tuple[str, ...], list[str]] = ((), [])
        grouped: dict[str, set[str]] = {}
        for model in (self.corpus, self.everyday):
            for syllable in model.unigrams if model else ():
                grouped.setdefault(fold_accents(syllable), set()).add(syllable)
        for folded, forms in grouped.items():
            ranked = sorted(forms, key=lambda form: -self._p(form))
            self._candidates[folded] = ranked[:_MAX_CANDIDATES]

    @classmethod
    def build(
        cls,
        texts: Iterable[str],
        *,
        min_bigram_count: int = 2,
        everyday_path: Path | None = EVERYDAY_TEXT_PATH,
    ) -> DiacriticRestorer:
        """Learn the corpus model from ``texts``; pairs seen fewer times are dropped."""
        unigrams, bigrams = _count(texts)
        kept = {pair: n for pair, n in bigrams.items() if n >= min_bigram_count}
        return cls(dict(unigrams), kept, everyday_path=everyday_path)

    def save(self, path: Path) -> None:
        """Write the corpus model (the everyday file ships with the code)."""
        payload = {"version": _FORMAT_VERSION, "unigrams": self.unigrams, "bigrams": self.bigrams}
        tmp = path.with_suffix(path.suffix + ".tmp")
        with gzip.open(tmp, "wt", encoding="utf-8") as fh:
            json.dump(payload, fh, ensure_ascii=False)
        tmp.replace(path)

    @classmethod
    def load(
        cls, path: Path, *, everyday_path: Path | None = EVERYDAY_TEXT_PATH
    ) -> DiacriticRestorer:
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            payload = json.load(fh)
        if payload.get("version") not in _READABLE_VERSIONS:
            raise ValueError(
                f"{path} has format {payload.get('version')}, not one of {_READABLE_VERSIONS}"
            )
        return cls(payload["unigrams"], payload["bigrams"], everyday_path=everyday_path)

    def restore(self, text: str) -> str:
        """The text with diacritics restored; unknown words stay as typed.

        Only the letters change: each word keeps its case ("TNHH", "Ha Noi" → "Hà Nội") and the
        punctuation and spacing between words stay where they were, so the embedding model
        reads the sentence the citizen wrote, only with its accents back. Each phrase (the words
        between punctuation marks) is restored as one sequence.
        """
        words = list(SYLLABLE.finditer(text))
        if not words:
            return text
        forms: list[str] = []
        phrase: list[str] = []
        for i, match in enumerate(words):
            if i and PHRASE_BREAK.search(text, words[i - 1].end(), match.start()):
                forms += self._restore_words(phrase)
                phrase = []
            phrase.append(match.group(0).lower())
        forms += self._restore_words(phrase)
        pieces: list[str] = []
        last = 0
        for match, form in zip(words, forms, strict=True):
            pieces += [text[last : match.start()], _with_case_of(match.group(0), form)]
            last = match.end()
        pieces.append(text[last:])
        return "".join(pieces)

    def reading_fits(self, words: Sequence[str], start: int, reading: Sequence[str]) -> bool:
        """Whether ``reading`` (syllables with diacritics) may be what the folded ``words``
        from ``start`` say, given the word on each side of it as restored in context.

        A reading does not fit where the pair it would make with its neighbour is never seen,
        while another reading of the same letters makes a set phrase with that neighbour: a
        pair seen at least ``FIRM_PAIR_COUNT`` times, in which the neighbour stands at least
        ``BOUND_SHARE`` of the times it is written. In "doi ho chieu", "đổi họ" would make "họ
        chiếu", never written, where "hộ chiếu" holds most of the corpus's "chiếu". In "lam lai
        so do bi mat", "sổ đỏ" still fits: "do bị" is common, but "bị" goes with much else. A
        reading that is a set phrase itself ("ô tô") fits wherever its letters stand.
        """
        inner = zip(reading, reading[1:], strict=False)
        if len(reading) > 1 and all(
            self._pair_count(f"{a} {b}") >= FIRM_PAIR_COUNT for a, b in inner
        ):
            return True
        restored = self._restored(tuple(words))
        end = start + len(reading)
        if start > 0 and not self._edge_fits(reading[0], restored[start - 1], before=True):
            return False
        return end >= len(words) or self._edge_fits(reading[-1], restored[end], before=False)

    def _restored(self, words: tuple[str, ...]) -> list[str]:
        last_words, last_forms = self._last_restored  # one read: other threads may replace it
        if last_words == words:
            return last_forms
        forms = self._restore_words([w.lower() for w in words])
        self._last_restored = (words, forms)
        return forms

    def _edge_fits(self, syllable: str, neighbour: str, *, before: bool) -> bool:
        def count(form: str) -> int:
            return self._pair_count(f"{neighbour} {form}" if before else f"{form} {neighbour}")

        if count(syllable):
            return True
        alone = self.corpus.unigrams.get(neighbour, 0)
        if self.everyday is not None:
            alone += self.everyday.unigrams.get(neighbour, 0)
        for rival in self._candidates.get(fold_accents(syllable), []):
            if rival != syllable and count(rival) >= max(FIRM_PAIR_COUNT, BOUND_SHARE * alone):
                return False
        return True

    def _pair_count(self, pair: str) -> int:
        count = self.corpus.bigrams.get(pair, 0)
        return count + (self.everyday.bigrams.get(pair, 0) if self.everyday else 0)

    def _p(self, word: str) -> float:
        p = self.corpus_share * self.corpus.p(word)
        if self.everyday is not None:
            p += (1 - self.corpus_share) * self.everyday.p(word)
        return p + _FLOOR

    def _p_next(self, previous: str, word: str) -> float:
        p = self.corpus_share * self.corpus.p_next(previous, word)
        if self.everyday is not None:
            p += (1 - self.corpus_share) * self.everyday.p_next(previous, word)
        return p + _FLOOR

    def _restore_words(self, words: list[str]) -> list[str]:
        lattice = [self._candidates.get(fold_accents(w), [w]) for w in words]
        # best[i][form] = (log probability of the best path ending in form, previous form)
        best: list[dict[str, tuple[float, str | None]]] = [
            {form: (math.log(self._p(form)), None) for form in lattice[0]}
        ]
        for position in range(1, len(words)):
            column: dict[str, tuple[float, str | None]] = {}
            for form in lattice[position]:
                column[form] = max(
                    (score + math.log(self._p_next(prev, form)), prev)
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
