"""What the knowledge editors' console needs: browse, inspect, annotate, tune and resync.

- Browse and search the catalog; see one record as indexed, section by section, beside the raw
  record its source gave (the catalog keeps both).
- Local notes per procedure: the province's counter address, local phone numbers, a free note.
  They live in a table of their own (``procedure_local_notes``) in the catalog database, so no
  sync ever overwrites them, and are shown beside the national key facts rather than merged
  into ``/v1/procedures/{code}/facts``: an operator sees both and which one is local.
- The abbreviation and synonym dictionary: read and replace as a whole, guarded by a version
  (a hash of the file), written atomically; the query analyzer reloads it on its next query.
- Sync: the catalog's run reports, what a run changed, a manual sync through Celery and its
  progress.

Edits need an editor's (or admin's) bearer token from ``/v1/auth/token`` (the ticket routes'
users and roles) and carry the version last read; a stale one answers 409, so two editors never
overwrite each other silently. Reads are open like the rest of the knowledge routes.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Protocol

from fastapi import APIRouter, Depends, Query, Request
from fastapi import Path as PathParam
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy import JSON, DateTime, Integer, String, Text, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from answer_service.api.deps import ServiceDep
from answer_service.api.routes.procedures import CODE_PATTERN
from answer_service.facts import KeyFacts
from ingestion.catalog import KnowledgeRecordRow, SyncReport, SyncRunRow
from search.errors import ErrorCode, PlatformError
from search.models import Section
from search.text.synonyms import DEFAULT_SYNONYMS_PATH, SynonymDictionary, has_words
from search.text.vietnamese import fold_accents
from tickets.api.deps import EditorUser

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/v1/knowledge", tags=["knowledge"])

CodePath = Annotated[str, PathParam(pattern=CODE_PATTERN, max_length=20)]
Phone = Annotated[str, StringConstraints(pattern=r"^[0-9+()\-. ]{3,20}$", strip_whitespace=True)]
SourceName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9-]{1,40}$")]
MAX_SYNONYM_ENTRIES = 5_000
SYNONYMS_MAX_BODY_BYTES = 4 * 1024 * 1024
"""A dictionary of ``MAX_SYNONYM_ENTRIES`` entries, as clients that escape every letter send it."""
# The version check and the write of the dictionary file must not interleave between requests.
_SYNONYMS_LOCK = threading.Lock()


class KnowledgeError(PlatformError):
    """An editor's request that cannot be carried out as asked."""

    default_code = ErrorCode.INVALID_INPUT


# ---- local notes table ---------------------------------------------------------------------


class _NotesBase(DeclarativeBase):
    pass


class LocalNotesRow(_NotesBase):
    __tablename__ = "procedure_local_notes"

    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    counter_address: Mapped[str] = mapped_column(Text, default="")
    phones: Mapped[list[str]] = mapped_column(JSON, default=list)
    note: Mapped[str] = mapped_column(Text, default="")
    updated_by: Mapped[str] = mapped_column(String(100), default="")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer, default=1)


class LocalNotesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    counter_address: str = Field("", max_length=500)
    phones: list[Phone] = Field(default_factory=list, max_length=10)
    note: str = Field("", max_length=4_000)
    version: int = Field(0, ge=0, description="The version last read; 0 to create.")


class LocalNotesOut(BaseModel):
    code: str
    counter_address: str
    phones: list[str]
    note: str
    updated_by: str
    updated_at: datetime
    version: int


class LocalNotesList(BaseModel):
    items: list[LocalNotesOut]


class FactsWithLocal(BaseModel):
    facts: KeyFacts
    local: LocalNotesOut | None = None


# ---- records ---------------------------------------------------------------------------------


class RecordSummary(BaseModel):
    doc_id: str
    kind: str
    source: str
    code: str
    title: str
    indexed_at: datetime
    last_seen: datetime


class RecordPage(BaseModel):
    total: int
    items: list[RecordSummary]


class IndexedSection(BaseModel):
    chunk_id: str
    section: str
    text: str
    embedded: bool = False


class RecordDetail(BaseModel):
    summary: RecordSummary
    source_id: str
    version: str
    content_hash: str
    raw: dict[str, Any]
    normalized: dict[str, Any]
    sections: list[IndexedSection]
    point_count: int


# ---- synonyms ------------------------------------------------------------------------------


def _has_a_word(text: str) -> str:
    if not has_words(text):
        raise ValueError(f"{text!r} has no letter or digit: a query could never contain it")
    return text


WordText = Annotated[str, AfterValidator(_has_a_word)]


class SynonymEntryModel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    term: Annotated[
        WordText, StringConstraints(min_length=1, max_length=100, strip_whitespace=True)
    ]
    means: list[
        Annotated[WordText, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]
    ] = Field(min_length=1, max_length=20)


class SynonymsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    entries: list[SynonymEntryModel] = Field(max_length=MAX_SYNONYM_ENTRIES)
    version: str = Field(max_length=64, description="The version last read.")


class SynonymsOut(BaseModel):
    path: str
    editable: bool
    version: str
    description: str
    entries: list[SynonymEntryModel]
    load_error: str | None = Field(
        None,
        description="The file was changed and does not load; searches use the entries shown, "
        "the last good dictionary. Saving replaces the file.",
    )
    reindex_needed: bool = Field(
        False,
        description="The save changed a capital-letter abbreviation. The index spells those out "
        "in the documents that use them, so documents follow the change after `hotline "
        "reindex`; queries follow it at once.",
    )


# ---- sync ----------------------------------------------------------------------------------


class SyncIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sources: list[SourceName] | None = Field(None, max_length=10)


class RunProgress(BaseModel):
    run_id: int
    source: str
    started_at: datetime
    elapsed_s: float
    records_written: int


class SyncStatus(BaseModel):
    records: dict[str, int]
    running: list[RunProgress]
    last_runs: list[SyncReport]


class RunChanges(BaseModel):
    run: SyncReport
    changed: list[RecordSummary]


class SyncTaskOut(BaseModel):
    task_id: str
    state: str
    done: bool
    result: dict[str, Any] | None = None
    error: str = ""
    running: list[RunProgress] = Field(default_factory=list)


class SyncQueue(Protocol):
    """Where manual syncs are sent: the ingestion Celery app in production."""

    def submit(self, sources: list[str] | None) -> str: ...

    def state(self, task_id: str) -> tuple[str, dict[str, Any] | None, str]: ...


class CelerySyncQueue:
    """Sends ``ingestion.sync_all`` to the ingestion worker and reads its state back.

    Args:
        celery_app: The ingestion Celery app (``ingestion.celery_app.app``).
    """

    def __init__(self, celery_app: Any) -> None:
        self.celery_app = celery_app

    def submit(self, sources: list[str] | None) -> str:
        from ingestion.task_names import SYNC_EXPIRES_S, Queue, TaskName

        try:
            result = self.celery_app.send_task(
                TaskName.SYNC_ALL.value,
                kwargs={"sources": sources},
                queue=Queue.INGESTION.value,
                expires=SYNC_EXPIRES_S,
            )
        except Exception as exc:  # kombu raises many types; all mean the broker is unusable
            raise KnowledgeError(
                f"the sync could not be queued: {exc}", error_code=ErrorCode.SOURCE_UNAVAILABLE
            ) from exc
        return str(result.id)

    def state(self, task_id: str) -> tuple[str, dict[str, Any] | None, str]:
        result = self.celery_app.AsyncResult(task_id)
        try:
            state = str(result.state)
            if state == "SUCCESS":
                value = result.result
                return state, value if isinstance(value, dict) else {"value": value}, ""
            if state in ("FAILURE", "REVOKED"):
                return state, None, str(result.result)[:500]
            return state, None, ""
        except Exception as exc:  # a result backend that cannot be read
            raise KnowledgeError(
                f"the sync state could not be read: {exc}",
                error_code=ErrorCode.SOURCE_UNAVAILABLE,
            ) from exc


# ---- the store -------------------------------------------------------------------------------


def _utc(value: datetime) -> datetime:
    # SQLite keeps no offset: UTC times come back naive.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def _summary(row: Any) -> RecordSummary:
    return RecordSummary(
        doc_id=row.doc_id,
        kind=row.kind,
        source=row.source,
        code=row.code or "",
        title=row.title or "",
        indexed_at=_utc(row.indexed_at),
        last_seen=_utc(row.last_seen),
    )


def _notes_out(row: LocalNotesRow) -> LocalNotesOut:
    return LocalNotesOut(
        code=row.code,
        counter_address=row.counter_address,
        phones=list(row.phones or []),
        note=row.note,
        updated_by=row.updated_by,
        updated_at=_utc(row.updated_at),
        version=row.version,
    )


class KnowledgeEditorStore:
    """The editor's reads of the catalog and its own table of local notes.

    Args:
        engine: The catalog's engine (``Catalog.engine``); the notes table is created there.
            The store shares the catalog's connections and leaves closing them to it.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        _NotesBase.metadata.create_all(self._engine)
        self._sessions = sessionmaker(self._engine, expire_on_commit=False)

    @contextmanager
    def _session(self) -> Iterator[Session]:
        with self._sessions() as session, session.begin():
            yield session

    def records(self, *, query: str, kind: str, limit: int, offset: int) -> RecordPage:
        """Records whose title or code contains the query; without diacritics, folded."""
        columns = (
            KnowledgeRecordRow.doc_id,
            KnowledgeRecordRow.kind,
            KnowledgeRecordRow.source,
            KnowledgeRecordRow.code,
            KnowledgeRecordRow.title,
            KnowledgeRecordRow.indexed_at,
            KnowledgeRecordRow.last_seen,
        )
        statement = select(*columns).order_by(KnowledgeRecordRow.code, KnowledgeRecordRow.doc_id)
        if kind:
            statement = statement.where(KnowledgeRecordRow.kind == kind)
        with self._session() as session:
            rows = session.execute(statement).all()
        needle = query.strip().lower()
        if needle:
            # A few thousand titles: filtering here lets "giay phep" find "giấy phép", which
            # SQL LIKE cannot do portably.
            accented = fold_accents(needle) != needle

            def matches(row: Any) -> bool:
                title = (row.title or "").lower()
                if needle in (row.code or "").lower():
                    return True
                return needle in title if accented else needle in fold_accents(title)

            rows = [r for r in rows if matches(r)]
        return RecordPage(
            total=len(rows), items=[_summary(r) for r in rows[offset : offset + limit]]
        )

    def record_row(self, doc_id: str) -> KnowledgeRecordRow:
        with self._session() as session:
            row = session.get(KnowledgeRecordRow, doc_id)
        if row is None:
            raise KnowledgeError(f"no record {doc_id!r}", error_code=ErrorCode.NOT_FOUND)
        return row

    def notes(self, code: str) -> LocalNotesOut | None:
        with self._session() as session:
            row = session.get(LocalNotesRow, code)
            return _notes_out(row) if row else None

    def notes_list(self, *, limit: int) -> list[LocalNotesOut]:
        with self._session() as session:
            rows = session.scalars(
                select(LocalNotesRow).order_by(LocalNotesRow.updated_at.desc()).limit(limit)
            ).all()
            return [_notes_out(r) for r in rows]

    def save_notes(self, code: str, notes: LocalNotesIn, *, by: str) -> LocalNotesOut:
        try:
            return self._save_notes(code, notes, by=by)
        except IntegrityError as exc:
            # Two editors created the first notes of a procedure at the same moment.
            raise KnowledgeError(
                f"local notes of {code} were created in between; reload and apply your change",
                error_code=ErrorCode.CONFLICT,
            ) from exc

    def _save_notes(self, code: str, notes: LocalNotesIn, *, by: str) -> LocalNotesOut:
        now = datetime.now(UTC)
        with self._session() as session:
            row = session.get(LocalNotesRow, code, with_for_update=True)
            current = row.version if row else 0
            if notes.version != current:
                raise KnowledgeError(
                    f"local notes of {code} are at version {current}, not {notes.version}: "
                    "someone saved them in between; reload and apply your change again",
                    error_code=ErrorCode.CONFLICT,
                )
            if row is None:
                row = LocalNotesRow(code=code, version=0)
                session.add(row)
            row.counter_address = notes.counter_address.strip()
            row.phones = list(notes.phones)
            row.note = notes.note.strip()
            row.updated_by = by
            row.updated_at = now
            row.version = current + 1
            session.flush()
            return _notes_out(row)

    def delete_notes(self, code: str, *, version: int) -> None:
        with self._session() as session:
            row = session.get(LocalNotesRow, code, with_for_update=True)
            if row is None:
                raise KnowledgeError(f"{code} has no local notes", error_code=ErrorCode.NOT_FOUND)
            if row.version != version:
                raise KnowledgeError(
                    f"local notes of {code} are at version {row.version}, not {version}",
                    error_code=ErrorCode.CONFLICT,
                )
            session.delete(row)

    def run(self, run_id: int) -> SyncRunRow:
        with self._session() as session:
            row = session.get(SyncRunRow, run_id)
        if row is None:
            raise KnowledgeError(f"no sync run {run_id}", error_code=ErrorCode.NOT_FOUND)
        return row

    def written_since(self, source: str, since: datetime, until: datetime | None) -> list[Any]:
        """Records of a source (re)indexed in a time window: what a run added or changed."""
        statement = select(
            KnowledgeRecordRow.doc_id,
            KnowledgeRecordRow.kind,
            KnowledgeRecordRow.source,
            KnowledgeRecordRow.code,
            KnowledgeRecordRow.title,
            KnowledgeRecordRow.indexed_at,
            KnowledgeRecordRow.last_seen,
        ).where(KnowledgeRecordRow.source == source, KnowledgeRecordRow.indexed_at >= since)
        if until is not None:
            statement = statement.where(KnowledgeRecordRow.indexed_at <= until)
        with self._session() as session:
            return list(session.execute(statement.order_by(KnowledgeRecordRow.code)).all())

    def running(self) -> list[RunProgress]:
        now = datetime.now(UTC)
        with self._session() as session:
            runs = session.scalars(select(SyncRunRow).where(SyncRunRow.status == "running")).all()
            progress = []
            for run in runs:
                started = _utc(run.started_at)
                written = session.scalar(
                    select(func.count())
                    .select_from(KnowledgeRecordRow)
                    .where(
                        KnowledgeRecordRow.source == run.source,
                        KnowledgeRecordRow.indexed_at >= run.started_at,
                    )
                )
                progress.append(
                    RunProgress(
                        run_id=run.run_id,
                        source=run.source,
                        started_at=started,
                        elapsed_s=round((now - started).total_seconds(), 1),
                        records_written=int(written or 0),
                    )
                )
            return progress


def get_store(request: Request, service: ServiceDep) -> KnowledgeEditorStore:
    """One store per app, on the catalog the service reads."""
    store: KnowledgeEditorStore | None = getattr(request.app.state, "knowledge_store", None)
    if store is None:
        store = KnowledgeEditorStore(service.catalog.engine)
        request.app.state.knowledge_store = store
    return store


def get_sync_queue(request: Request) -> SyncQueue:
    """The app's sync queue; the ingestion Celery app unless one was set on ``app.state``."""
    queue: SyncQueue | None = getattr(request.app.state, "sync_queue", None)
    if queue is None:
        from ingestion.celery_app import app as celery_app

        queue = CelerySyncQueue(celery_app)
        request.app.state.sync_queue = queue
    return queue


StoreDep = Annotated[KnowledgeEditorStore, Depends(get_store)]
QueueDep = Annotated[SyncQueue, Depends(get_sync_queue)]


# ---- synonyms file -----------------------------------------------------------------------


def _file_version(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    except FileNotFoundError:
        return "missing"


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    with open(path.with_name(path.name + ".lock"), "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _description(path: Path) -> str:
    """The file's description; the packaged one when the file is missing or does not parse."""
    for source in (path, DEFAULT_SYNONYMS_PATH):
        try:
            data = json.loads(source.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and isinstance(data.get("description"), str):
            return data["description"]
    return ""


def _synonyms_out(dictionary: SynonymDictionary) -> SynonymsOut:
    path = dictionary.path or DEFAULT_SYNONYMS_PATH
    dictionary.reload_if_changed()
    load_error = dictionary.load_error
    if load_error is None and not path.exists():
        load_error = f"{path} does not exist; saving creates it"
    return SynonymsOut(
        path=str(path),
        editable=_editable(path),
        version=_file_version(path),
        description=_description(path),
        # What searches use, as it is: validating it again could only fail the editor's read.
        entries=[
            SynonymEntryModel.model_construct(term=e.term, means=list(e.means))
            for e in dictionary.entries
        ],
        load_error=load_error,
    )


def _editable(path: Path) -> bool:
    # The packaged file is part of the installed code, not data: editing it in place would be
    # lost on upgrade (or dirty a working tree). Editors get an editable copy by setting
    # HOTLINE_SYNONYMS_PATH.
    return path.resolve() != DEFAULT_SYNONYMS_PATH.resolve()


def _write_synonyms(path: Path, entries: list[SynonymEntryModel], description: str) -> None:
    terms: dict[str, str] = {}
    for entry in entries:
        key = entry.term.lower()
        if key in terms:
            raise KnowledgeError(
                f"the term {entry.term!r} appears twice (also as {terms[key]!r}); merge them"
            )
        terms[key] = entry.term
    document = {
        "description": description,
        "entries": [{"term": e.term, "means": list(dict.fromkeys(e.means))} for e in entries],
    }
    handle, tmp_name = tempfile.mkstemp(prefix=".synonyms-", suffix=".json", dir=path.parent)
    tmp = Path(tmp_name)
    try:
        # mkstemp makes the file private; the dictionary keeps the mode it had.
        os.chmod(tmp, path.stat().st_mode & 0o777 if path.exists() else 0o644)
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(document, out, ensure_ascii=False, indent=1)
            out.write("\n")
        SynonymDictionary.load(tmp)  # the file the analyzer will read must load
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


# ---- routes --------------------------------------------------------------------------------


@router.get("/records")
def list_records(
    store: StoreDep,
    q: Annotated[str, Query(max_length=200)] = "",
    kind: Annotated[str, Query(pattern=r"^(|procedure|policy_document|curated_answer)$")] = "",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> RecordPage:
    """Catalog records whose code or title contains ``q``, by code."""
    return store.records(query=q, kind=kind, limit=limit, offset=offset)


@router.get("/records/detail")
def record_detail(
    store: StoreDep,
    service: ServiceDep,
    doc_id: Annotated[str, Query(min_length=1, max_length=200)],
) -> RecordDetail:
    """One record as its source gave it, normalized, and as indexed section by section."""
    row = store.record_row(doc_id)
    order = {s.value: i for i, s in enumerate(Section)}
    chunks = sorted(
        service.engine.index.document_chunks(doc_id),
        key=lambda c: (order.get(c.section.value, 99), c.chunk_id),
    )
    return RecordDetail(
        summary=_summary(row),
        source_id=row.source_id,
        version=row.version,
        content_hash=row.content_hash,
        raw=row.raw,
        normalized=row.normalized,
        sections=[
            IndexedSection(
                chunk_id=c.chunk_id, section=c.section.value, text=c.text, embedded=c.embed
            )
            for c in chunks
        ],
        point_count=len(row.point_ids or []),
    )


@router.get("/procedures/{code}/facts")
def facts_with_local(code: CodePath, service: ServiceDep, store: StoreDep) -> FactsWithLocal:
    """The national key facts with the province's local notes beside them."""
    return FactsWithLocal(facts=service.facts(code), local=store.notes(code))


@router.get("/procedures/{code}/local")
def get_local_notes(code: CodePath, store: StoreDep) -> LocalNotesOut:
    notes = store.notes(code)
    if notes is None:
        raise KnowledgeError(f"{code} has no local notes", error_code=ErrorCode.NOT_FOUND)
    return notes


@router.put("/procedures/{code}/local")
def put_local_notes(
    code: CodePath, body: LocalNotesIn, editor: EditorUser, service: ServiceDep, store: StoreDep
) -> LocalNotesOut:
    """Create (version 0) or replace (the version last read) a procedure's local notes."""
    service.procedure(code)  # notes for a code the catalog does not hold would never show
    saved = store.save_notes(code, body, by=editor.username)
    logger.info("local notes of %s saved at version %s", code, saved.version)
    return saved


@router.delete("/procedures/{code}/local", status_code=204)
def delete_local_notes(
    code: CodePath, _editor: EditorUser, store: StoreDep, version: Annotated[int, Query(ge=1)]
) -> None:
    store.delete_notes(code, version=version)


@router.get("/local")
def list_local_notes(
    store: StoreDep, limit: Annotated[int, Query(ge=1, le=500)] = 100
) -> LocalNotesList:
    """The procedures that have local notes, last edited first."""
    return LocalNotesList(items=store.notes_list(limit=limit))


@router.get("/synonyms")
def get_synonyms(service: ServiceDep) -> SynonymsOut:
    """The dictionary the query analyzer uses, with the version to send back when editing."""
    return _synonyms_out(service.engine.analyzer.synonyms)


@router.put("/synonyms")
def put_synonyms(body: SynonymsIn, editor: EditorUser, service: ServiceDep) -> SynonymsOut:
    """Replace the dictionary; the next query already uses it."""
    dictionary = service.engine.analyzer.synonyms
    path = dictionary.path or DEFAULT_SYNONYMS_PATH
    if not _editable(path):
        raise KnowledgeError(
            "the packaged synonym dictionary is read-only: copy it to the data folder and set "
            "HOTLINE_SYNONYMS_PATH to the copy",
            error_code=ErrorCode.CONFLICT,
        )
    # Threads of this process, then processes (``serve --workers N``): one save at a time.
    with _SYNONYMS_LOCK, _file_lock(path):
        current = _file_version(path)
        if body.version != current:
            raise KnowledgeError(
                f"the dictionary is at version {current}, not {body.version}: someone saved it "
                "in between; reload and apply your change again",
                error_code=ErrorCode.CONFLICT,
            )
        description = _description(path)
        spelled_before = dictionary.document_terms()
        _write_synonyms(path, body.entries, description)
        dictionary.reload_if_changed()
        reindex_needed = dictionary.document_terms() != spelled_before
    logger.info("synonym dictionary saved by %s: %s entries", editor.username, len(body.entries))
    return _synonyms_out(dictionary).model_copy(update={"reindex_needed": reindex_needed})


@router.get("/sync")
def sync_status(service: ServiceDep, store: StoreDep) -> SyncStatus:
    """Records by source and kind, the syncs running now and the last runs' reports."""
    return SyncStatus(
        records=service.catalog.count_records(),
        running=store.running(),
        last_runs=service.catalog.recent_runs(limit=5),
    )


@router.get("/sync/runs")
def sync_runs(
    service: ServiceDep, limit: Annotated[int, Query(ge=1, le=100)] = 10
) -> list[SyncReport]:
    return service.catalog.recent_runs(limit=limit)


@router.get("/sync/runs/{run_id}/changes")
def sync_run_changes(
    run_id: Annotated[int, PathParam(ge=1)],
    store: StoreDep,
    limit: Annotated[int, Query(ge=1, le=1_000)] = 100,
) -> RunChanges:
    """A run's report and the records it added or changed (removed ones are in the counts)."""
    row = store.run(run_id)
    report = SyncReport.model_validate(
        {
            **(row.report or {}),
            "run_id": row.run_id,
            "source": row.source,
            "status": row.status,
            "started_at": _utc(row.started_at),
            "finished_at": _utc(row.finished_at) if row.finished_at else None,
            "duration_s": row.duration_s,
            "error": row.error,
        }
    )
    changed = store.written_since(row.source, row.started_at, row.finished_at)
    return RunChanges(run=report, changed=[_summary(r) for r in changed[:limit]])


@router.post("/sync", status_code=202)
def start_sync(body: SyncIn, editor: EditorUser, queue: QueueDep) -> SyncTaskOut:
    """Queue a sync of the named sources (default: the nightly job's) on the ingestion worker."""
    from ingestion.knowledge_base import SOURCE_NAMES

    unknown = [s for s in body.sources or [] if s not in SOURCE_NAMES]
    if unknown:
        raise KnowledgeError(
            f"unknown source {', '.join(unknown)}; allowed: {', '.join(SOURCE_NAMES)}"
        )
    task_id = queue.submit(body.sources)
    logger.info("manual sync queued by %s as %s", editor.username, task_id)
    return SyncTaskOut(task_id=task_id, state="PENDING", done=False)


@router.get("/sync/tasks/{task_id}")
def sync_task(
    task_id: Annotated[str, PathParam(pattern=r"^[0-9a-fA-F-]{8,64}$")],
    queue: QueueDep,
    store: StoreDep,
) -> SyncTaskOut:
    """A manual sync's state, with the progress of the runs in course."""
    state, result, error = queue.state(task_id)
    return SyncTaskOut(
        task_id=task_id,
        state=state,
        done=state in ("SUCCESS", "FAILURE", "REVOKED"),
        result=result,
        error=error,
        running=store.running(),
    )
