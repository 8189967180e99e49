"""How the edge index asks the engine: sparse queries through the posting lists, filters reused.

A filtered sparse query takes one of two paths in the engine, by how many points the filter
lets through; both must give the hits a plain scoring would. Edge filters are kept by their
conditions, so a cached filter must never stand in for different conditions.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from search.index import EdgeHybridIndex, IndexFilter
from search.index.edge import SPARSE_FULL_SCAN_THRESHOLD, _to_edge_filter
from search.models import IndexPoint, Section, SparseVector
from tests.utils.index_points import procedure_point

TERM = 11
STEPS = 40  # well under the threshold: scored one by one
OVERVIEWS = SPARSE_FULL_SCAN_THRESHOLD + 100  # over it: the posting lists


def point(n: int, section: Section) -> IndexPoint:
    # The weight of the one shared word varies without repeating, so the order is known.
    weight = float((n * 37) % 1009 + 1)
    return procedure_point(
        n, term=TERM, weight=weight, dense=[1.0, float(n % 7), 0.0, 0.0], section=section
    )


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EdgeHybridIndex]:
    opened = EdgeHybridIndex(tmp_path_factory.mktemp("plan") / "edge")
    opened.ensure_collection(dense_size=4)
    points = [point(n, Section.OVERVIEW) for n in range(OVERVIEWS)]
    points += [point(n, Section.STEPS) for n in range(OVERVIEWS, OVERVIEWS + STEPS)]
    opened.upsert(points)
    opened.optimize()
    yield opened
    opened.close()


def expected(section: Section, first: int, count: int, limit: int) -> list[str]:
    by_weight = sorted(range(first, first + count), key=lambda n: -((n * 37) % 1009 + 1))
    return [f"doc{n}#{section.value}" for n in by_weight[:limit]]


def test_a_new_shard_is_told_the_sparse_threshold(index: EdgeHybridIndex) -> None:
    # qdrant-edge keeps the configuration it was given beside the segments.
    stored = json.loads((index._shard_dir / "edge_config.json").read_text(encoding="utf-8"))
    assert stored["sparse_vectors"]["lexical"]["full_scan_threshold"] == SPARSE_FULL_SCAN_THRESHOLD


@pytest.mark.parametrize(
    ("section", "first", "count"),
    [(Section.OVERVIEW, 0, OVERVIEWS), (Section.STEPS, OVERVIEWS, STEPS)],
    ids=["posting-lists", "one-by-one"],
)
def test_a_filtered_sparse_query_finds_what_plain_scoring_does(
    index: EdgeHybridIndex, section: Section, first: int, count: int
) -> None:
    found = index.query_sparse(
        SparseVector(indices=[TERM], values=[1.0]),
        limit=25,
        query_filter=IndexFilter(section=[section.value]),
    )
    assert [item.chunk.chunk_id for item in found] == expected(section, first, count, 25)


def test_a_kept_filter_serves_only_its_own_conditions(index: EdgeHybridIndex) -> None:
    query = SparseVector(indices=[TERM], values=[1.0])
    for _ in range(2):  # the second round is answered with the kept filters
        for section in (Section.OVERVIEW, Section.STEPS):
            found = index.query_sparse(
                query, limit=5, query_filter=IndexFilter(section=[section.value])
            )
            assert {item.chunk.section for item in found} == {section}
    overview = IndexFilter(section=[Section.OVERVIEW.value])
    assert _to_edge_filter(overview) is _to_edge_filter(IndexFilter(section=["overview"]))
    assert _to_edge_filter(overview) is not _to_edge_filter(IndexFilter(section=["steps"]))
    assert _to_edge_filter(IndexFilter()) is None
