"""Weighted reciprocal rank fusion of the retrieval lists, at the level of documents."""

from __future__ import annotations

import pytest

from search.models import Chunk, ScoredChunk, Section
from search.retrieval import HybridRetriever

RRF_K = 10


def scored(doc: str, part: int = 0, score: float = 1.0) -> ScoredChunk:
    chunk = Chunk(
        chunk_id=f"{doc}#{part}",
        doc_id=doc,
        doc_kind="procedure",
        section=Section.OVERVIEW if part == 0 else Section.STEPS,
        title=f"Thủ tục {doc}",
        text=f"đoạn {part} của {doc}",
        code=doc,
    )
    return ScoredChunk(chunk=chunk, score=score)


LISTS = {
    # doc "a" twice in the first list: its best rank counts, both chunks are kept.
    "lexical": (1.0, [scored("a", 0, 9.0), scored("b"), scored("a", 1, 7.0), scored("c")]),
    "dense": (2.0, [scored("c", 0, 0.9), scored("d"), scored("a", 2, 0.8), scored("e")]),
}


def test_each_document_scores_the_weighted_reciprocal_of_its_best_rank_in_each_list() -> None:
    hits = HybridRetriever._fuse(LISTS, RRF_K)

    expected = {
        "a": 1 / (RRF_K + 1) + 2 / (RRF_K + 3),
        "b": 1 / (RRF_K + 2),
        "c": 1 / (RRF_K + 3) + 2 / (RRF_K + 1),
        "d": 2 / (RRF_K + 2),
        "e": 2 / (RRF_K + 4),
    }
    assert [h.doc_id for h in hits] == sorted(expected, key=lambda d: -expected[d])
    assert {h.doc_id: h.score for h in hits} == pytest.approx(expected)
    a = next(h for h in hits if h.doc_id == "a")
    assert a.ranks == {"lexical": 0, "dense": 2}
    assert a.list_scores == {"lexical": 9.0, "dense": 0.8}
    assert [m.chunk.chunk_id for m in a.matched] == ["a#0", "a#1", "a#2"]


def test_keep_makes_only_the_head_and_the_head_is_the_same() -> None:
    everything = HybridRetriever._fuse(LISTS, RRF_K)

    head = HybridRetriever._fuse(LISTS, RRF_K, keep=2)

    assert [h.model_dump() for h in head] == [h.model_dump() for h in everything[:2]]


def test_equal_scores_keep_the_order_documents_first_appeared_in() -> None:
    tied = {"one": (1.0, [scored("x")]), "two": (1.0, [scored("y")])}

    assert [h.doc_id for h in HybridRetriever._fuse(tied, RRF_K)] == ["x", "y"]


def test_a_chunk_found_by_two_lists_is_matched_once() -> None:
    twice = {"one": (1.0, [scored("x", 0)]), "two": (1.0, [scored("x", 0), scored("x", 1)])}

    (hit,) = HybridRetriever._fuse(twice, RRF_K)

    assert [m.chunk.chunk_id for m in hit.matched] == ["x#0", "x#1"]
