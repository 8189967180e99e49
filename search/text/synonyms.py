"""The abbreviation and synonym dictionary that editors maintain.

Each entry maps what citizens write ("CCCD", "sổ đỏ", "dk") to the words the procedures use.
A term written with diacritics matches only text with the same diacritics, unless the text was
typed without any, in which case the folded forms are compared; so "so do" still finds "sổ đỏ".
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from search.errors import ConfigurationError
from search.text.vietnamese import clean_text, fold_accents, has_diacritics

logger = logging.getLogger(__name__)

DEFAULT_SYNONYMS_PATH = Path(__file__).parent / "data" / "synonyms.json"


@dataclass(frozen=True)
class SynonymEntry:
    term: str
    means: tuple[str, ...]


def _pattern(term: str, *, ignore_case: bool = True) -> re.Pattern[str]:
    flags = re.IGNORECASE if ignore_case else 0
    return re.compile(rf"(?<![^\W_]){re.escape(term)}(?![^\W_])", flags)


_EXPECTED = '{"entries": [{"term": "...", "means": ["...", ...]}, ...]}'


def has_words(text: str) -> bool:
    """Whether ``text``, cleaned as queries are, keeps a letter or digit to match."""
    return any(c.isalnum() for c in clean_text(text))


def _entries(data: object, source: Path) -> list[SynonymEntry]:
    """The entries of a parsed file; the first bad one is named in the error."""
    entries = data.get("entries") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise ConfigurationError(
            f"synonym dictionary {source} is not valid: no list of entries; expected {_EXPECTED}"
        )
    found = []
    for number, entry in enumerate(entries, start=1):
        term = entry.get("term") if isinstance(entry, dict) else None
        means = entry.get("means") if isinstance(entry, dict) else None
        if not isinstance(term, str) or not has_words(term):
            problem = "has no term with a letter or digit"
        elif not isinstance(means, list) or not means:
            problem = "has no list of meanings"
        elif not all(isinstance(m, str) and has_words(m) for m in means):
            problem = "has a meaning that is not text with a letter or digit"
        else:
            found.append(SynonymEntry(term=term, means=tuple(means)))
            continue
        raise ConfigurationError(
            f"synonym dictionary {source} is not valid: entry {number} ({entry!r:.80}) "
            f"{problem}; expected {_EXPECTED}"
        )
    return found


_WORD = re.compile(r"[^\W_]+")
ReadingCheck = Callable[[Sequence[str], int, Sequence[str]], bool]
"""(the text's folded words, where a term's words start, the term's words with diacritics) →
whether the term may be read there."""
_WORDS = re.compile(r"[^\W_]+(?: [^\W_]+)*")


class _Term:
    """A term to find as a whole word or words: by one set lookup when it is words separated
    by single spaces (every entry so far), else by its regular expression."""

    def __init__(self, term: str) -> None:
        self.words = tuple(term.split(" ")) if _WORDS.fullmatch(term) else None
        self.pattern = None if self.words else _pattern(term)

    def found_in(self, text: str, runs: set[tuple[str, ...]]) -> bool:
        if self.words is not None:
            return self.words in runs
        assert self.pattern is not None
        return self.pattern.search(text) is not None


def _word_runs(text: str, longest: int) -> set[tuple[str, ...]]:
    """Every run of 1 to ``longest`` words that follow each other across single spaces, which
    is where a term's pattern (whole words, one space apart) would match."""
    runs: set[tuple[str, ...]] = set()
    phrase: list[str] = []
    end = -1
    for match in _WORD.finditer(text):
        if phrase and text[end : match.start()] != " ":
            phrase = []
        phrase.append(match.group())
        end = match.end()
        for n in range(1, min(longest, len(phrase)) + 1):
            runs.add(tuple(phrase[-n:]))
    return runs


def is_abbreviation(term: str) -> bool:
    """True for a term written in capitals only, as official names abbreviate ("TNLĐ", "BHXH")."""
    letters = [c for c in term if c.isalpha()]
    return len(letters) >= 2 and all(c.isupper() for c in letters)


class SynonymDictionary:
    """Finds dictionary terms in a text and returns what they mean.

    Usage example:

        synonyms = SynonymDictionary.load()
        synonyms.expansions("làm lại CCCD")  # ["căn cước công dân", "thẻ căn cước"]

    Args:
        entries: The dictionary's entries.
        path: The file they came from, to reload it when an editor changes it.
    """

    def __init__(self, entries: list[SynonymEntry], *, path: Path | None = None) -> None:
        self.entries = entries
        self.path = path
        self._mtime = path.stat().st_mtime if path and path.exists() else None
        self._lock = threading.Lock()
        self.load_error: str | None = None  # why the file's last change could not be used
        self._compile()

    def _compile(self) -> None:
        self._accented = [(e, _Term(clean_text(e.term).lower())) for e in self.entries]
        self._folded = [(e, _Term(fold_accents(clean_text(e.term)).lower())) for e in self.entries]
        self._longest = max((len(t.words or ()) for _, t in self._accented), default=1)
        # Abbreviations as documents write them: capitals, matched with case, so that a
        # procedure's "TNLĐ" is found and an ordinary lower-case word never is.
        self._abbreviations = [
            (e, _pattern(clean_text(e.term), ignore_case=False))
            for e in self.entries
            if is_abbreviation(e.term)
        ]
        # Queries typed without diacritics write abbreviations in any case ("gplx").
        self._abbreviations_any_case = [
            (e, _pattern(clean_text(e.term))) for e in self.entries if is_abbreviation(e.term)
        ]
        self._spelled: dict[str, str] = {}  # after the patterns: see spell_out

    @classmethod
    def load(cls, path: Path | None = None) -> SynonymDictionary:
        source = path or DEFAULT_SYNONYMS_PATH
        try:
            data = json.loads(source.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ConfigurationError(f"synonym dictionary {source} does not exist") from exc
        except (OSError, ValueError) as exc:
            raise ConfigurationError(
                f"synonym dictionary {source} is not valid JSON: {exc}; expected {_EXPECTED}"
            ) from exc
        return cls(_entries(data, source), path=source)

    @classmethod
    def load_or_packaged(cls, path: Path | None) -> SynonymDictionary:
        """``path``'s dictionary; the packaged one, with ``load_error`` set, when it does not load.

        A service that restarts after an editor broke the file by hand still starts and
        searches; the editor sees why and saving through the API writes ``path`` anew.
        """
        try:
            return cls.load(path)
        except ConfigurationError as exc:
            if path is None:
                raise  # the packaged file itself: a broken installation
            logger.error("%s; searching with the packaged dictionary until it is mended", exc)
            fallback = cls(cls.load().entries, path=path)
            fallback.load_error = str(exc)
            return fallback

    def reload_if_changed(self) -> bool:
        """Reload from the file when an editor changed it; True when reloaded.

        A changed file that does not load (half written, hand-edited wrongly) does not stop the
        searches: the last good dictionary stays in use, ``load_error`` says why, a warning is
        logged once, and the file is read again when it changes next.
        """
        if self.path is None:
            return False
        try:
            mtime = self.path.stat().st_mtime  # one system call a query: no exists() first
        except FileNotFoundError:
            return False
        if mtime == self._mtime:
            return False
        try:
            fresh = SynonymDictionary.load(self.path)
        except ConfigurationError as exc:
            with self._lock:
                self._mtime = mtime
                self.load_error = str(exc)
            logger.warning("%s; the last good dictionary stays in use", exc)
            return False
        with self._lock:
            self.entries = fresh.entries
            self._mtime = mtime
            self.load_error = None
            self._compile()
        return True

    def expansions(self, text: str, *, fits: ReadingCheck | None = None) -> list[str]:
        """What the terms found in ``text`` mean, in dictionary order, without repeats.

        Args:
            text: The query.
            fits: For a text typed without diacritics, whether a term's words with their
                diacritics may be what the text says where its folded words stand
                (``DiacriticRestorer.reading_fits``): "doi ho chieu" holds the letters of
                "đổi họ" (to change a surname), but "họ" does not go with "chiếu". None takes
                every folded match.
        """
        cleaned = clean_text(text).lower()
        accented = has_diacritics(cleaned)
        if accented:
            candidates = [(e, p, cleaned) for e, p in self._accented]
            folded = fold_accents(cleaned)
            # Terms without diacritics (abbreviations) are matched on the folded text too.
            candidates += [(e, p, folded) for e, p in self._folded if not has_diacritics(e.term)]
        else:
            candidates = [(e, p, cleaned) for e, p in self._folded]
        # A term may hold an abbreviation's words: "mua bhyt hộ gia đình" says "mua bảo hiểm
        # y tế" once "bhyt" is spelled out.
        spelled, spans = self.abbreviations_spelled(cleaned)
        if spans:
            spelled = spelled.lower() if accented else fold_accents(spelled).lower()
            pool = self._accented if accented else self._folded
            candidates += [(e, p, spelled) for e, p in pool]
        runs: dict[str, set[tuple[str, ...]]] = {}
        found: list[str] = []
        words: dict[str, list[str]] = {}
        for entry, term, haystack in candidates:
            if haystack not in runs:
                runs[haystack] = _word_runs(haystack, self._longest)
            if not term.found_in(haystack, runs[haystack]):
                continue
            if fits is not None and not accented and term.words and has_diacritics(entry.term):
                if haystack not in words:
                    words[haystack] = _WORD.findall(haystack)
                said = words[haystack]
                reading = tuple(clean_text(entry.term).lower().split(" "))
                starts = [
                    i
                    for i in range(len(said) - len(term.words) + 1)
                    if tuple(said[i : i + len(term.words)]) == term.words
                ]
                if starts and not any(fits(said, i, reading) for i in starts):
                    continue
            found.extend(m for m in entry.means if m not in found)
        return found

    def abbreviations_in(self, text: str) -> list[str]:
        """The words that the capital-letter abbreviations in a document's ``text`` stand for.

        Official names abbreviate ("Giải quyết hưởng chế độ TNLĐ, BNN ...") where citizens say
        the words ("tai nạn lao động"); the index adds them to the document's own. Only an
        entry's first meaning is taken: the others are related words for queries ("CMND" also
        brings "căn cước" to a query, not to every document that mentions the old card).
        """
        cleaned = clean_text(text)
        found: list[str] = []
        for entry, pattern in self._abbreviations:
            if entry.means[0] not in found and pattern.search(cleaned):
                found.append(entry.means[0])
        return found

    def document_terms(self) -> dict[str, str]:
        """Each capital-letter abbreviation with the words the index spells it out as."""
        return {entry.term: entry.means[0] for entry, _ in self._abbreviations}

    def spell_out(self, text: str) -> str:
        """``text`` with each capital-letter abbreviation replaced by its first meaning."""
        # A result made with old patterns must not land in a reloaded dictionary's cache. The
        # cache is read first and _compile replaces it last, so a new cache comes with new
        # patterns.
        cache, abbreviations = self._spelled, self._abbreviations
        spelled = cache.get(text)
        if spelled is not None:
            return spelled
        spelled = clean_text(text)
        for entry, pattern in abbreviations:
            spelled = pattern.sub(lambda _, words=entry.means[0]: words, spelled)
        if len(cache) < 16_384:
            cache[text] = spelled
        return spelled

    def abbreviations_spelled(self, text: str) -> tuple[str, list[tuple[int, int, str]]]:
        """``clean_text(text)`` with each abbreviation, in any case, replaced by its first
        meaning; and where each meaning stands in the result, with the abbreviation it
        replaced. A query's restorer reads the meaning as the abbreviation's context and then
        puts the abbreviation back (``QueryAnalyzer``)."""
        cleaned = clean_text(text)
        found = sorted(
            (m.start(), -m.end(), m.group(0), entry.means[0])
            for entry, pattern in self._abbreviations_any_case
            for m in pattern.finditer(cleaned)
        )
        pieces: list[str] = []
        spans: list[tuple[int, int, str]] = []
        last = length = 0
        for start, negative_end, written, meaning in found:
            if start < last:
                continue  # inside one already replaced
            pieces.append(cleaned[last:start])
            length += start - last
            spans.append((length, length + len(meaning), written))
            pieces.append(meaning)
            length += len(meaning)
            last = -negative_end
        pieces.append(cleaned[last:])
        return "".join(pieces), spans

    def to_json(self) -> dict[str, object]:
        return {"entries": [{"term": e.term, "means": list(e.means)} for e in self.entries]}
