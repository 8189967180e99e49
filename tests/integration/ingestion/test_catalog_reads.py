"""The catalog's freshness check on both of its databases: SQLite embedded, PostgreSQL served."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ingestion.catalog import Catalog, StoredRecord
from ingestion.models import RecordKind
from tests.utils.tickets import fresh_postgres_database

pytestmark = pytest.mark.integration

SEEN = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def record(code: str, content_hash: str) -> StoredRecord:
    return StoredRecord(
        doc_id=f"procedure:{code}",
        source="dvcqg-dump",
        source_id=code,
        kind=RecordKind.PROCEDURE,
        version="1",
        content_hash=content_hash,
        raw={},
        normalized={"code": code, "name": f"Thủ tục thử {code}"},
        point_ids=[],
        indexed_at=SEEN,
        last_seen=SEEN,
    )


@pytest.fixture(params=["sqlite", "postgresql"])
def catalog(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Catalog]:
    if request.param == "sqlite":
        opened = Catalog(f"sqlite:///{tmp_path / 'catalog.sqlite'}")
        yield opened
        opened.close()
        return
    with fresh_postgres_database("catalog_test") as url:
        opened = Catalog(url)
        yield opened
        opened.close()


def test_content_hashes_name_the_stored_records_and_leave_out_the_rest(catalog: Catalog) -> None:
    catalog.save_records([record("1.009901", "aaa"), record("1.009902", "bbb")])

    found = catalog.content_hashes(
        ["procedure:1.009902", "procedure:9.999999", "procedure:1.009901"]
    )

    assert found == {"procedure:1.009901": "aaa", "procedure:1.009902": "bbb"}


def test_content_hashes_follow_a_changed_and_a_deleted_record(catalog: Catalog) -> None:
    catalog.save_records([record("1.009901", "aaa"), record("1.009902", "bbb")])
    catalog.save_records([record("1.009901", "ccc")])
    catalog.delete_records(["procedure:1.009902"])

    found = catalog.content_hashes(["procedure:1.009901", "procedure:1.009902"])

    assert found == {"procedure:1.009901": "ccc"}


def test_content_hashes_of_nothing_is_empty(catalog: Catalog) -> None:
    catalog.save_records([record("1.009901", "aaa")])

    assert catalog.content_hashes([]) == {}
