"""The connector contract: list a source, fetch one item, tell whether it changed, normalize it.

A connector knows one source's shape and nothing of the index. The sync runner
(``ingestion.sync``) drives every connector the same way:

1. ``list_items()`` returns the complete listing. It raises ``ConnectorError`` rather than return
   a partial one, because whatever is missing from a listing is removed from the index.
2. For each ref, ``has_changed(ref, known_version)`` decides whether to fetch at all.
3. ``fetch(ref)`` returns the record exactly as received (``SourceRecord.raw``).
4. ``normalize(record)`` turns it into a knowledge item, raising ``RecordError`` for a bad
   record; the run reports it and goes on.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from pydantic import BaseModel

from ingestion.models import KnowledgeItem, SourceRecord


class ItemRef(BaseModel):
    """One entry of a source's listing.

    ``version`` is whatever change marker the listing carries (a timestamp, a hash of the listed
    fields, the record's own content hash when listing means reading it); empty when the listing
    carries none, in which case the item must be fetched to know whether it changed.

    ``identified`` is False for an entry the listing could not tell apart (a line of a file that
    does not parse, listed under its line number): it may be any record, so while the listing
    holds one, the sync removes nothing the listing misses.
    """

    source_id: str
    version: str = ""
    identified: bool = True


@runtime_checkable
class Connector(Protocol):
    """A source of knowledge items."""

    @property
    def name(self) -> str:
        """Stable name of the source, stored with every record ("dvcqg-dump", "dvcqg-api" …)."""

    def list_items(self) -> Sequence[ItemRef]:
        """The complete listing of the source.

        Raises:
            ConnectorError: the listing could not be read completely.
        """

    def has_changed(self, ref: ItemRef, known_version: str | None) -> bool:
        """Whether ``ref`` differs from what was stored as ``known_version`` (None: unseen)."""

    def fetch(self, ref: ItemRef) -> SourceRecord:
        """The item exactly as the source gives it.

        Raises:
            ConnectorError: the source did not answer usefully (network, status, body).
        """

    def normalize(self, record: SourceRecord) -> KnowledgeItem:
        """The record as a knowledge item.

        Raises:
            RecordError: the record lacks what a knowledge item needs or cannot be parsed.
        """


def version_changed(ref: ItemRef, known_version: str | None) -> bool:
    """The usual ``has_changed``: unknown items and items without a version are fetched."""
    if known_version is None or not ref.version:
        return True
    return ref.version != known_version
