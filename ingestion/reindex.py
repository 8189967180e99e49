"""Rebuild the index from the catalog, without asking any source again."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from ingestion.chunking import chunk_item
from ingestion.models import CuratedAnswer, KnowledgeItem, PolicyDocument, Procedure, RecordKind

if TYPE_CHECKING:
    from ingestion.knowledge_base import KnowledgeBase

logger = logging.getLogger(__name__)

_MODELS: dict[RecordKind, type[Procedure] | type[PolicyDocument] | type[CuratedAnswer]] = {
    RecordKind.PROCEDURE: Procedure,
    RecordKind.POLICY_DOCUMENT: PolicyDocument,
    RecordKind.CURATED_ANSWER: CuratedAnswer,
}


def reindex_from_catalog(kb: KnowledgeBase, *, batch_size: int = 128) -> int:
    """Re-chunk and re-embed every stored record, then drop points no record owns."""
    count = 0
    batch: list[KnowledgeItem] = []
    for kind, model in _MODELS.items():
        for normalized in kb.catalog.iter_normalized(kind):
            batch.append(model.model_validate(normalized))
            if len(batch) >= batch_size:
                count += _write(kb, batch)
                batch = []
    count += _write(kb, batch)
    kb.runner.remove_orphans()
    kb.index.optimize()
    kb.index.flush()
    kb.mark_recipe()
    kb.publish()
    return count


def _write(kb: KnowledgeBase, items: list[KnowledgeItem]) -> int:
    if not items:
        return 0
    chunks = [chunk for item in items for chunk in chunk_item(item)]
    points = kb.runner.point_builder.build(chunks)
    kb.index.upsert(points)
    keep: dict[str, list[str]] = {}
    for point in points:
        keep.setdefault(point.chunk.doc_id, []).append(point.point_id)
    for item in items:
        kb.index.delete_document(item.doc_id, keep_point_ids=keep.get(item.doc_id, []))
    return len(items)
