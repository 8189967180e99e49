"""The edge index's chunk cache: queries read payloads once, and a write in flight drops nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from search.index import EdgeHybridIndex
from search.models import IndexPoint, SparseVector
from tests.utils.index_points import procedure_point

TERM = 7


def point(n: int) -> IndexPoint:
    return procedure_point(n, term=TERM, weight=float(n), dense=[1.0, float(n), 0.0, 0.0])


@pytest.fixture
def index(tmp_path: Path) -> Iterator[EdgeHybridIndex]:
    opened = EdgeHybridIndex(tmp_path / "edge")
    opened.ensure_collection(dense_size=4)
    opened.upsert([point(n) for n in range(1, 6)])
    yield opened
    opened.close()


class CountingShard:
    """The real shard, counting payload reads, optionally running something in the middle."""

    def __init__(self, shard: Any) -> None:
        self.shard = shard
        self.retrieved: list[Any] = []
        self.during_retrieve: Any = None

    def query(self, request: Any) -> Any:
        result = self.shard.query(request)
        if self.during_retrieve is not None:
            self.during_retrieve()
        return result

    def retrieve(self, **kwargs: Any) -> Any:
        self.retrieved.extend(kwargs["point_ids"])
        return self.shard.retrieve(**kwargs)

    def __getattr__(self, name: str) -> Any:  # close, flush and the rest: the real shard's
        return getattr(self.shard, name)


def query(index: EdgeHybridIndex) -> list[str]:
    hits = index.query_sparse(SparseVector(indices=[TERM], values=[1.0]), limit=10)
    return [h.chunk.chunk_id for h in hits]


def test_payloads_are_read_once(index: EdgeHybridIndex, monkeypatch: pytest.MonkeyPatch) -> None:
    counting = CountingShard(index._open_shard())
    monkeypatch.setattr(index, "_shard", counting)
    first = query(index)
    assert len(counting.retrieved) == 5
    assert query(index) == first
    assert len(counting.retrieved) == 5


def test_a_write_during_a_query_drops_no_cached_hit(
    index: EdgeHybridIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = query(index)  # every chunk is now cached
    counting = CountingShard(index._open_shard())
    monkeypatch.setattr(index, "_shard", counting)
    # Another thread's write empties the cache between the engine's answer and the lookup.
    counting.during_retrieve = index._forget_chunks

    assert query(index) == expected
    assert counting.retrieved == []  # nothing was missing when the query started
