"""The catalog: every knowledge record, raw and normalized, and every sync run's report.

The index holds what is searched; the catalog holds what is known: the record exactly as its
source gave it, its normalized form, the hash and version used to detect change, the chunk ids
it was indexed under, and when it was last seen. A record's catalog row is written only after
its points are in the index, so a crash between the two leaves a row that is older than the
index, and the next run simply redoes the record.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import (
    JSON,
    DateTime,
    Float,
    Integer,
    String,
    Text,
    create_engine,
    delete,
    inspect,
    select,
    update,
)
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from ingestion.models import Procedure, RecordKind, utc_now
from search.errors import ConfigurationError


class _Base(DeclarativeBase):
    pass


class KnowledgeRecordRow(_Base):
    __tablename__ = "knowledge_records"

    doc_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    source: Mapped[str] = mapped_column(String(64), index=True)
    source_id: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32), index=True)
    version: Mapped[str] = mapped_column(String(200), default="")
    content_hash: Mapped[str] = mapped_column(String(64))
    raw: Mapped[dict[str, Any]] = mapped_column(JSON)
    normalized: Mapped[dict[str, Any]] = mapped_column(JSON)
    point_ids: Mapped[list[str]] = mapped_column(JSON)
    code: Mapped[str] = mapped_column(String(64), index=True, default="")
    title: Mapped[str] = mapped_column(Text, default="")
    indexed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SyncRunRow(_Base):
    __tablename__ = "sync_runs"

    run_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    duration_s: Mapped[float] = mapped_column(Float, default=0.0)
    report: Mapped[dict[str, Any]] = mapped_column(JSON)
    error: Mapped[str] = mapped_column(Text, default="")


class KnownRecord(BaseModel):
    """What a sync needs to know about a stored record to decide whether it changed."""

    doc_id: str
    source: str
    source_id: str
    version: str
    content_hash: str


class RecordFailure(BaseModel):
    source_id: str
    detail: str


class SyncReport(BaseModel):
    """The outcome of one sync run of one source."""

    run_id: int | None = None
    source: str
    status: str = "running"
    listed: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    failed: int = 0
    out_of_scope: int = 0
    shadowed: int = 0
    orphans_removed: int = 0
    # Records the source no longer listed, kept because the listing held entries it could not
    # tell apart (``ItemRef.identified``): any of those may be one of them.
    kept_unlisted: int = 0
    chunks_written: int = 0
    embedded: int = 0
    failures: list[RecordFailure] = Field(default_factory=list)
    started_at: datetime = Field(default_factory=utc_now)
    finished_at: datetime | None = None
    duration_s: float = 0.0
    error: str = ""


class StoredRecord(BaseModel):
    doc_id: str
    source: str
    source_id: str
    kind: RecordKind
    version: str
    content_hash: str
    raw: dict[str, Any]
    normalized: dict[str, Any]
    point_ids: list[str]
    indexed_at: datetime
    last_seen: datetime


class Catalog:
    """SQLAlchemy-backed catalog; SQLite by default, PostgreSQL in production.

    Args:
        database_url: A SQLAlchemy URL, e.g. ``sqlite:///var/catalog.sqlite``.
        read_only: Open a catalog that a sync wrote, for reading: a SQLite file is opened
            read-only and no table is created, so that asking what a catalog holds changes
            nothing, on a read-only mount too.

    Raises:
        ConfigurationError: the database cannot be reached or opened, the file is not a
            SQLite database, or (``read_only``) it holds no catalog.
    """

    def __init__(self, database_url: str, *, read_only: bool = False) -> None:
        self.database_url = database_url
        try:
            url = make_url(database_url)
        except ArgumentError as exc:
            raise ConfigurationError(
                f"the catalog URL is not a database URL ({exc}); e.g. "
                "postgresql+psycopg://user@host/db or sqlite:///path/catalog.sqlite"
            ) from None
        shown = url.render_as_string(hide_password=True)
        sqlite = url.get_backend_name() == "sqlite"
        connect_args: dict[str, object] = {"timeout": 30} if sqlite else {}
        if read_only and sqlite and url.database:
            url = url.set(database=f"file:{url.database}", query={"mode": "ro", "uri": "true"})
        try:
            self._engine: Engine = create_engine(url, connect_args=connect_args)
        except (ArgumentError, ImportError) as exc:  # an unknown dialect, a missing driver
            raise ConfigurationError(f"cannot use the catalog {shown}: {exc}") from None
        try:
            if read_only:
                missing = {KnowledgeRecordRow.__tablename__, SyncRunRow.__tablename__} - set(
                    inspect(self._engine).get_table_names()
                )
                if missing:
                    raise ConfigurationError(
                        f"{shown} holds no catalog (no table {', '.join(sorted(missing))}): "
                        "run `hotline sync` first"
                    )
            else:
                _Base.metadata.create_all(self._engine)
        except SQLAlchemyError as exc:
            self._engine.dispose()
            reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
            raise ConfigurationError(f"cannot open the catalog {shown}: {reason}") from exc
        except ConfigurationError:
            self._engine.dispose()
            raise
        self._sessions = sessionmaker(self._engine, expire_on_commit=False)

    @property
    def engine(self) -> Engine:
        """The catalog's engine, for readers that keep a table of their own beside it."""
        return self._engine

    @contextmanager
    def _session(self) -> Iterator[Session]:
        with self._sessions() as session, session.begin():
            yield session

    def known_records(self, source: str) -> dict[str, KnownRecord]:
        """The source's stored records, by source id."""
        with self._session() as session:
            rows = session.execute(
                select(
                    KnowledgeRecordRow.doc_id,
                    KnowledgeRecordRow.source_id,
                    KnowledgeRecordRow.version,
                    KnowledgeRecordRow.content_hash,
                ).where(KnowledgeRecordRow.source == source)
            ).all()
        return {
            r.source_id: KnownRecord(
                doc_id=r.doc_id,
                source=source,
                source_id=r.source_id,
                version=r.version,
                content_hash=r.content_hash,
            )
            for r in rows
        }

    def owners(self, doc_ids: Iterable[str]) -> dict[str, str]:
        """Which source holds each of these documents, for those that are stored."""
        ids = list(doc_ids)
        owners: dict[str, str] = {}
        with self._session() as session:
            for start in range(0, len(ids), 500):
                batch = ids[start : start + 500]
                rows = session.execute(
                    select(KnowledgeRecordRow.doc_id, KnowledgeRecordRow.source).where(
                        KnowledgeRecordRow.doc_id.in_(batch)
                    )
                ).all()
                owners.update({r.doc_id: r.source for r in rows})
        return owners

    def save_records(self, records: list[StoredRecord]) -> None:
        """Insert or replace records in one transaction."""
        with self._session() as session:
            for record in records:
                session.merge(
                    KnowledgeRecordRow(
                        doc_id=record.doc_id,
                        source=record.source,
                        source_id=record.source_id,
                        kind=record.kind.value,
                        version=record.version,
                        content_hash=record.content_hash,
                        raw=record.raw,
                        normalized=record.normalized,
                        point_ids=record.point_ids,
                        code=str(record.normalized.get("code", "")),
                        title=str(
                            record.normalized.get("name")
                            or record.normalized.get("title")
                            or record.normalized.get("question")
                            or ""
                        ),
                        indexed_at=record.indexed_at,
                        last_seen=record.last_seen,
                    )
                )

    def touch(self, source: str, source_versions: dict[str, str], seen_at: datetime) -> None:
        """Mark unchanged records as seen now, storing the listing's current version."""
        with self._session() as session:
            rows = session.scalars(
                select(KnowledgeRecordRow).where(KnowledgeRecordRow.source == source)
            ).all()
            for row in rows:
                if row.source_id in source_versions:
                    row.last_seen = seen_at
                    row.version = source_versions[row.source_id] or row.version

    def mark_unsettled(self, doc_ids: Iterable[str]) -> None:
        """Clear the version and hash of these records, before their points are rewritten or
        removed: a run that dies before it saves them again leaves them looking changed, and
        the next run writes them anew. Records not stored are left alone."""
        ids = list(doc_ids)
        with self._session() as session:
            for start in range(0, len(ids), 500):
                session.execute(
                    update(KnowledgeRecordRow)
                    .where(KnowledgeRecordRow.doc_id.in_(ids[start : start + 500]))
                    .values(version="", content_hash="")
                )

    def delete_records(self, doc_ids: Iterable[str]) -> None:
        ids = list(doc_ids)
        with self._session() as session:
            for start in range(0, len(ids), 500):
                session.execute(
                    delete(KnowledgeRecordRow).where(
                        KnowledgeRecordRow.doc_id.in_(ids[start : start + 500])
                    )
                )

    def all_doc_ids(self) -> set[str]:
        with self._session() as session:
            return set(session.scalars(select(KnowledgeRecordRow.doc_id)).all())

    def get_record(self, doc_id: str) -> StoredRecord | None:
        with self._session() as session:
            row = session.get(KnowledgeRecordRow, doc_id)
            return _to_stored(row) if row else None

    def content_hashes(self, doc_ids: Sequence[str]) -> dict[str, str]:
        """The content hashes of those of ``doc_ids`` that are stored, without reading the
        records: a cheap freshness check, one query for them all."""
        if not doc_ids:
            return {}
        with self._session() as session:
            rows = session.execute(
                select(KnowledgeRecordRow.doc_id, KnowledgeRecordRow.content_hash).where(
                    KnowledgeRecordRow.doc_id.in_(set(doc_ids))
                )
            ).all()
        return {row.doc_id: row.content_hash for row in rows}

    def procedure_ref(self, code: str) -> tuple[str, str] | None:
        """The doc id and content hash of the procedure with this code, if one is stored."""
        with self._session() as session:
            rows = session.execute(
                select(
                    KnowledgeRecordRow.doc_id,
                    KnowledgeRecordRow.content_hash,
                    KnowledgeRecordRow.kind,
                ).where(KnowledgeRecordRow.code == code)
            ).all()
        return next(((d, h) for d, h, kind in rows if kind == "procedure"), None)

    def normalized(self, doc_id: str) -> tuple[str, dict[str, Any]] | None:
        """The content hash and normalized form of one record (not its raw form)."""
        with self._session() as session:
            row = session.execute(
                select(KnowledgeRecordRow.content_hash, KnowledgeRecordRow.normalized).where(
                    KnowledgeRecordRow.doc_id == doc_id
                )
            ).first()
        return (row[0], row[1]) if row else None

    def find_by_code(self, code: str) -> StoredRecord | None:
        with self._session() as session:
            # Select on the code alone: with the kind in the same WHERE, SQLite walks the kind
            # index over every procedure (13 ms instead of 0.1 ms on the national catalog).
            rows = session.scalars(
                select(KnowledgeRecordRow).where(KnowledgeRecordRow.code == code)
            ).all()
            row = next((r for r in rows if r.kind == "procedure"), None)
            return _to_stored(row) if row else None

    def iter_normalized(self, kind: RecordKind | None = None) -> Iterator[dict[str, Any]]:
        """Every stored record's normalized form, optionally of one kind."""
        with self._session() as session:
            query = select(KnowledgeRecordRow.normalized)
            if kind is not None:
                query = query.where(KnowledgeRecordRow.kind == kind.value)
            yield from session.scalars(query.execution_options(yield_per=500))

    def procedures_of(self, source: str) -> Iterator[Procedure]:
        """The normalized procedures one source has stored."""
        with self._session() as session:
            query = select(KnowledgeRecordRow.normalized).where(
                KnowledgeRecordRow.source == source,
                KnowledgeRecordRow.kind == RecordKind.PROCEDURE.value,
            )
            for normalized in session.scalars(query.execution_options(yield_per=500)):
                yield Procedure.model_validate(normalized)

    def count_records(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        with self._session() as session:
            for source, kind in session.execute(
                select(KnowledgeRecordRow.source, KnowledgeRecordRow.kind)
            ).all():
                key = f"{source}/{kind}"
                counts[key] = counts.get(key, 0) + 1
        return counts

    def start_run(self, source: str, started_at: datetime) -> int:
        """Record a new run. Runs still marked running were killed: one writer runs at a time."""
        with self._session() as session:
            for stale in session.scalars(
                select(SyncRunRow).where(SyncRunRow.status == "running")
            ).all():
                stale.status = "interrupted"
                stale.error = stale.error or "the process ended before the run finished"
            row = SyncRunRow(source=source, status="running", started_at=started_at, report={})
            session.add(row)
            session.flush()
            return row.run_id

    def finish_run(self, report: SyncReport) -> None:
        with self._session() as session:
            row = session.get(SyncRunRow, report.run_id)
            if row is None:
                raise ValueError(f"no sync run {report.run_id}")
            row.status = report.status
            row.finished_at = report.finished_at
            row.duration_s = report.duration_s
            row.error = report.error
            row.report = json.loads(report.model_dump_json())

    def recent_runs(self, limit: int = 20) -> list[SyncReport]:
        with self._session() as session:
            rows = session.scalars(
                select(SyncRunRow).order_by(SyncRunRow.run_id.desc()).limit(limit)
            ).all()
        reports = []
        for row in rows:
            data = dict(row.report or {})
            data.update(
                run_id=row.run_id,
                source=row.source,
                status=row.status,
                started_at=_utc(row.started_at),
                finished_at=_utc(row.finished_at) if row.finished_at else None,
                duration_s=row.duration_s,
                error=row.error,
            )
            reports.append(SyncReport.model_validate(data))
        return reports

    def close(self) -> None:
        self._engine.dispose()


def _to_stored(row: KnowledgeRecordRow) -> StoredRecord:
    return StoredRecord(
        doc_id=row.doc_id,
        source=row.source,
        source_id=row.source_id,
        kind=RecordKind(row.kind),
        version=row.version,
        content_hash=row.content_hash,
        raw=row.raw,
        normalized=row.normalized,
        point_ids=row.point_ids,
        indexed_at=_utc(row.indexed_at),
        last_seen=_utc(row.last_seen),
    )


def _utc(value: datetime) -> datetime:
    # SQLite keeps no offset: the UTC times written come back naive; PostgreSQL keeps it.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value
