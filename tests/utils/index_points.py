"""Index points of small made-up procedures, for tests of the index backends."""

from __future__ import annotations

import uuid

from search.models import Chunk, IndexPoint, Section, SparseVector


def procedure_point(
    n: int, *, term: int, weight: float, dense: list[float], section: Section = Section.OVERVIEW
) -> IndexPoint:
    """Procedure ``n``'s chunk of ``section``, holding the one word ``term`` at ``weight``."""
    chunk_id = f"doc{n}#{section.value}"
    return IndexPoint(
        point_id=str(uuid.uuid5(uuid.NAMESPACE_URL, chunk_id)),
        chunk=Chunk(
            chunk_id=chunk_id,
            doc_id=f"procedure:{n}",
            doc_kind="procedure",
            section=section,
            title=f"Thủ tục {n}",
            text=f"Nội dung {n}",
        ),
        dense=dense,
        sparse=SparseVector(indices=[term], values=[weight]),
    )
