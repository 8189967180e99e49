"""Parsed procedures and their key facts, kept between requests while the catalog agrees.

A suggestion shows the key facts of three to five procedures, and the same few hundred
procedures answer most questions. Reading a record's raw and normalized JSON from the catalog
and validating it as a ``Procedure`` was about an eighth of the suggest route's samples in a
profile under 100 concurrent clients. The cache keeps each parsed
procedure with the content hash it was read at; every use reads the hash alone (a primary-key
lookup of a short column), so a procedure a sync changed is read again at its next use.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

from answer_service.facts import KeyFacts, key_facts
from ingestion.catalog import Catalog
from ingestion.models import Procedure


@dataclass(frozen=True)
class CachedProcedure:
    content_hash: str
    procedure: Procedure
    facts: KeyFacts


class ProcedureCache:
    """Procedures by doc id, checked against the catalog's content hash on every use.

    Args:
        catalog: Where procedures are read from.
        max_size: Procedures kept; the least recently used go first.
    """

    def __init__(self, catalog: Catalog, *, max_size: int = 4096) -> None:
        if max_size < 1:
            raise ValueError(f"max_size must be at least 1, got {max_size}")
        self.catalog = catalog
        self.max_size = max_size
        self._entries: OrderedDict[str, CachedProcedure] = OrderedDict()
        self._lock = threading.Lock()

    def by_doc_id(self, doc_id: str) -> CachedProcedure | None:
        """The procedure stored under ``doc_id``; None when the catalog no longer has it."""
        return self.by_doc_ids([doc_id]).get(doc_id)

    def by_doc_ids(self, doc_ids: Sequence[str]) -> dict[str, CachedProcedure]:
        """The procedures stored under ``doc_ids``, by doc id; those the catalog no longer has
        are left out. One catalog query checks them all: a suggestion shows several, and one
        query each took two of its milliseconds."""
        current = self.catalog.content_hashes(doc_ids)
        found: dict[str, CachedProcedure] = {}
        for doc_id in dict.fromkeys(doc_ids):
            entry = self._fresh(doc_id, current[doc_id]) if doc_id in current else None
            if entry is None:
                self._forget(doc_id)
            else:
                found[doc_id] = entry
        return found

    def by_code(self, code: str) -> CachedProcedure | None:
        ref = self.catalog.procedure_ref(code)
        return self._fresh(*ref) if ref else None

    def _fresh(self, doc_id: str, current_hash: str) -> CachedProcedure | None:
        with self._lock:
            entry = self._entries.get(doc_id)
            if entry is not None and entry.content_hash == current_hash:
                self._entries.move_to_end(doc_id)
                return entry
        stored = self.catalog.normalized(doc_id)
        if stored is None:
            self._forget(doc_id)
            return None
        content_hash, normalized = stored
        procedure = Procedure.model_validate(normalized)
        entry = CachedProcedure(content_hash, procedure, key_facts(procedure))
        with self._lock:
            self._entries[doc_id] = entry
            self._entries.move_to_end(doc_id)
            while len(self._entries) > self.max_size:
                self._entries.popitem(last=False)
        return entry

    def _forget(self, doc_id: str) -> None:
        with self._lock:
            self._entries.pop(doc_id, None)
