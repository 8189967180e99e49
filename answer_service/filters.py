"""Filter values as people type them, resolved to the values the index holds.

The index filters on exact keyword values ("Cấp tỉnh", "Hộ tịch", "Sở Tư pháp tỉnh Gia Lai").
An operator types "cap tinh", "hộ tịch" or "sở tư pháp"; an exact match would find nothing and
say nothing about why. Each typed value is resolved in this order, and the first step that
finds something decides:

1. the value exactly;
2. the same words ignoring case and spacing;
3. the same words ignoring diacritics too;
4. every value that contains the typed words, in order, as whole words ("sở tư pháp" → each
   province's "Sở Tư pháp …"), up to ``MAX_EXPANSION`` values.

A value that resolves to nothing is a clear 422 naming the closest values the index holds;
``GET /v1/facets`` lists them all.
"""

from __future__ import annotations

import difflib
import threading
import time
import unicodedata
from collections.abc import Callable

from search.errors import ErrorCode, SearchError
from search.index.protocol import FACET_FIELDS
from search.text.vietnamese import fold_accents

# A typed value that stands for more index values than this is too vague to filter by.
MAX_EXPANSION = 100


def _loose(value: str) -> str:
    return " ".join(unicodedata.normalize("NFC", value).casefold().split())


def _folded(value: str) -> str:
    return " ".join(fold_accents(value).casefold().split())


def _contains_words(haystack: str, needle: str) -> bool:
    return f" {needle} " in f" {haystack} "


class FacetValues:
    """The values of one facet field, with the keys the resolution compares."""

    def __init__(self, name: str, counts: dict[str, int]) -> None:
        self.name = name
        self.counts = counts
        self._loose: dict[str, list[str]] = {}
        self._folded: dict[str, list[str]] = {}
        for value in counts:
            self._loose.setdefault(_loose(value), []).append(value)
            self._folded.setdefault(_folded(value), []).append(value)

    def resolve(self, typed: str) -> list[str]:
        """The index values ``typed`` stands for; empty when none.

        Raises:
            SearchError: ``typed`` is contained in more than ``MAX_EXPANSION`` values.
        """
        if typed in self.counts:
            return [typed]
        if found := self._loose.get(_loose(typed)):
            return list(found)
        folded = _folded(typed)
        if found := self._folded.get(folded):
            return list(found)
        if not folded:
            return []
        found = [
            value
            for key, values in self._folded.items()
            if _contains_words(key, folded)
            for value in values
        ]
        if len(found) > MAX_EXPANSION:
            raise SearchError(
                f"the {self.name} filter {typed!r} matches {len(found)} values; "
                f"name one more precisely (GET /v1/facets lists them)",
                error_code=ErrorCode.INVALID_INPUT,
            )
        return found

    def closest(self, typed: str, limit: int = 5) -> list[str]:
        """Values whose folded form is nearest to what was typed, for an error message."""
        keys = difflib.get_close_matches(_folded(typed), list(self._folded), n=limit, cutoff=0.5)
        return [value for key in keys for value in self._folded[key]][:limit]


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
            found = self.facets()[name].resolve(value)
            if not found:
                found = self.facets(fresher_than=self.retry_after_s)[name].resolve(value)
            if not found:
                closest = self.facets()[name].closest(value)
                hint = f"; the closest are {closest}" if closest else ""
                raise SearchError(
                    f"no {name} {value!r} in the index{hint} (GET /v1/facets lists them all)",
                    error_code=ErrorCode.INVALID_INPUT,
                )
            resolved.extend(v for v in found if v not in resolved)
        return resolved
