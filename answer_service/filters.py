"""Filter values as people type them, resolved to the values the index holds.

The index filters on exact keyword values ("Cấp tỉnh", "Hộ tịch", "Sở Tư pháp tỉnh Gia Lai").
An operator types "cap tinh", "hộ tịch" or "sở tư pháp"; an exact match would find nothing and
say nothing about why. A typed value stands for every value of the index that holds all its
words, in any order, as whole words, case and punctuation aside: "sở tư pháp" is "Sở Tư pháp",
each province's "Sở Tư pháp …" and "Cục …, Sở Tư pháp"; "thi đua khen thưởng" is "Thi đua –
Khen thưởng". Words typed with diacritics are compared with them ("thuê" is not "Thuế"); a
value typed without any is compared folded ("cap tinh" is "Cấp tỉnh").

Refused with a 422 that says why: a value with no words, one of common words only ("và"), one
that stands for more than ``MAX_EXPANSION`` values, and one that stands for none, whose message
names the closest values the index holds; ``GET /v1/facets`` lists them all.
"""

from __future__ import annotations

import difflib
import threading
import time
import unicodedata
from collections.abc import Callable

from search.errors import ErrorCode, SearchError
from search.index.protocol import FACET_FIELDS
from search.text.lexical import QUERY_STOP_FOLDED
from search.text.vietnamese import fold_accents, has_diacritics, syllables

# A typed value that stands for more index values than this is too vague to filter by.
MAX_EXPANSION = 100
# How much of a typed value an error message repeats.
_SHOWN_CHARS = 80


def _words(value: str) -> list[str]:
    return [w.lower() for w in syllables(unicodedata.normalize("NFC", value))]


def _shown(value: str) -> str:
    return repr(value if len(value) <= _SHOWN_CHARS else value[:_SHOWN_CHARS] + "…")


def _refuse(detail: str) -> SearchError:
    return SearchError(detail, error_code=ErrorCode.INVALID_INPUT)


class FacetValues:
    """The values of one facet field, with the words the resolution compares."""

    def __init__(self, name: str, counts: dict[str, int]) -> None:
        self.name = name
        self.counts = counts
        self._accented = {value: frozenset(_words(value)) for value in counts}
        self._folded = {
            value: frozenset(fold_accents(w) for w in words)
            for value, words in self._accented.items()
        }

    def resolve(self, typed: str) -> list[str]:
        """The index values ``typed`` stands for, most documents first; empty when none.

        Raises:
            SearchError: ``typed`` has no words, only common ones, or stands for more than
                ``MAX_EXPANSION`` values.
        """
        exact = [typed] if typed in self.counts else []
        words = _words(typed)
        if not words:
            raise _refuse(f"the {self.name} filter {_shown(typed)} has no words")
        folded = {fold_accents(w) for w in words}
        if folded <= QUERY_STOP_FOLDED:
            raise _refuse(
                f"the {self.name} filter {_shown(typed)} has only common words; "
                "name the value (GET /v1/facets lists them)"
            )
        if has_diacritics(typed):
            wanted, held = frozenset(words), self._accented
        else:
            wanted, held = frozenset(folded), self._folded
        found = exact + [v for v, have in held.items() if wanted <= have and v not in exact]
        if len(found) > MAX_EXPANSION:
            raise _refuse(
                f"the {self.name} filter {_shown(typed)} matches {len(found)} values; "
                "name one more precisely (GET /v1/facets lists them)"
            )
        return sorted(found, key=lambda v: -self.counts[v])

    def closest(self, typed: str, limit: int = 5) -> list[str]:
        """Values whose folded words are nearest to what was typed, for an error message."""
        folded = " ".join(fold_accents(w) for w in _words(typed))
        keys = {" ".join(fold_accents(w) for w in _words(v)): v for v in self.counts}
        near = difflib.get_close_matches(folded, list(keys), n=limit, cutoff=0.5)
        return [keys[k] for k in near]


class FacetResolver:
    """Resolves filter values against the facets the index holds, read again when stale.

    Args:
        read: Reads the facets (``HybridIndex.facet_counts``).
        max_age_s: How long read facets serve before they are read again.
        retry_after_s: A value that resolves to nothing makes the facets be read again at
            once (a sync may just have added it), at most this often.
        clock: Monotonic seconds; a parameter for tests.
    """

    def __init__(
        self,
        read: Callable[[], dict[str, dict[str, int]]],
        *,
        max_age_s: float = 300.0,
        retry_after_s: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._read = read
        self.max_age_s = max_age_s
        self.retry_after_s = retry_after_s
        self._clock = clock
        self._lock = threading.Lock()
        self._facets: dict[str, FacetValues] | None = None
        self._read_at = 0.0

    def facets(self, *, fresher_than: float | None = None) -> dict[str, FacetValues]:
        """The facets, read again when older than ``fresher_than`` (default ``max_age_s``)."""
        limit = self.max_age_s if fresher_than is None else fresher_than
        with self._lock:
            now = self._clock()
            if self._facets is None or now - self._read_at > limit:
                counts = self._read()
                self._facets = {
                    name: FacetValues(name, counts.get(name, {})) for name in FACET_FIELDS
                }
                self._read_at = now
            return self._facets

    def resolve(self, name: str, typed: list[str]) -> list[str]:
        """The index values of facet ``name`` that the typed values stand for, in order.

        Raises:
            SearchError: a typed value stands for no value of the index, or for too many.
        """
        if not typed:
            return []
        resolved: list[str] = []
        for value in typed:
            values = self.facets()[name]
            found = values.resolve(value)
            if not found:
                values = self.facets(fresher_than=self.retry_after_s)[name]
                found = values.resolve(value)
            if not found:
                closest = values.closest(value)
                hint = f"; the closest are {closest}" if closest else ""
                raise _refuse(
                    f"no {name} {_shown(value)} in the index{hint} (GET /v1/facets lists them all)"
                )
            resolved.extend(v for v in found if v not in resolved)
        return resolved
