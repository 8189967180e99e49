"""Published snapshots of the embedded index, so that one process writes while others serve.

qdrant-edge lets one process open a shard directory. The writer (a sync, a reindex) owns
``<data_dir>/index``; after each sync that changed something it copies the flushed collection to
``<data_dir>/published/<generation>/`` and then names that generation in
``published/CURRENT``, written atomically. Each serving process copies the named generation
into a private folder (``published/.readers/<pid>-…``, or a folder of the temporary directory
that the process makes for itself where that cannot be written: the engine locks its write-ahead
log, so two processes cannot open one folder either) and, at most every few seconds, looks whether
``CURRENT`` names a newer one; if so it copies and opens that and switches, so a nightly sync
reaches the operators without a restart. Two generations are kept; private copies are removed
when their reader closes them, or by the next reader when their process is gone.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Collection, Sequence
from datetime import UTC, datetime
from pathlib import Path

from search.errors import IndexBackendError
from search.index.protocol import HybridIndex, IndexFilter
from search.models import Chunk, IndexPoint, ScoredChunk, SparseVector

logger = logging.getLogger(__name__)

CURRENT_FILE = "CURRENT"
MANIFEST_FILE = "manifest.json"
READERS_DIR = ".readers"
KEEP_GENERATIONS = 2


def publish_snapshot(
    collection_dir: Path, published_root: Path, *, points: int | None = None
) -> Path:
    """Copy a flushed edge collection to a new generation and make it current.

    Args:
        collection_dir: The writer's collection directory (``index/<collection_name>``).
        published_root: Where generations live (``<data_dir>/published``).
        points: How many points the collection holds, kept in the generation's manifest so
            that ``hotline status`` can tell without opening a copy of the index.

    Returns:
        The new generation's directory.
    """
    if not collection_dir.is_dir():
        raise IndexBackendError(f"no index to publish at {collection_dir}")
    published_root.mkdir(parents=True, exist_ok=True)
    generation = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    staging = published_root / f".{generation}.tmp"
    target = published_root / generation
    shutil.copytree(collection_dir, staging / collection_dir.name)
    manifest = {"generation": generation, "points": points}
    (staging / MANIFEST_FILE).write_text(json.dumps(manifest), encoding="utf-8")
    staging.rename(target)
    pointer = published_root / f".{CURRENT_FILE}.tmp"
    pointer.write_text(generation, encoding="utf-8")
    os.replace(pointer, published_root / CURRENT_FILE)
    _prune(published_root, keep=generation)
    logger.info("published index generation %s", generation)
    return target


def current_generation(published_root: Path) -> str | None:
    try:
        name = (published_root / CURRENT_FILE).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    return name if name and (published_root / name).is_dir() else None


def current_manifest(published_root: Path) -> dict[str, object] | None:
    """What the current generation's writer recorded of it; None when no generation is
    current or it was published without a manifest. Reads files only.

    Raises:
        IndexBackendError: the manifest is there but unreadable.
    """
    generation = current_generation(published_root)
    if generation is None:
        return None
    try:
        text = (published_root / generation / MANIFEST_FILE).read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    try:
        manifest = json.loads(text)
    except ValueError:
        manifest = None
    if not isinstance(manifest, dict):
        raise IndexBackendError(f"{generation}/{MANIFEST_FILE} is not a manifest a sync wrote")
    return manifest


def _prune(published_root: Path, *, keep: str) -> None:
    generations = sorted(
        p.name for p in published_root.iterdir() if p.is_dir() and not p.name.startswith(".")
    )  # the readers' folder starts with a dot and is never pruned here
    for name in generations[:-KEEP_GENERATIONS]:
        if name != keep:
            shutil.rmtree(published_root / name, ignore_errors=True)


def _remove_dead_readers(readers: Path) -> None:
    """Remove private copies whose process is gone (killed readers cannot clean up)."""
    if not readers.is_dir():
        return
    for folder in readers.iterdir():
        pid = folder.name.split("-", 1)[0]
        if pid.isdigit() and not _process_alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class PublishedIndex:
    """A read-only ``HybridIndex`` over the current published generation, switching to newer ones.

    Usage example:

        index = PublishedIndex(root, opener=lambda path: open_index(backend="edge", path=path,
                               collection_name="knowledge"))
        index.query_sparse(vector, limit=10)

    Args:
        published_root: ``<data_dir>/published``.
        opener: Opens an index on a generation directory.
        check_every_s: How often, at most, ``CURRENT`` is looked at.
    """

    def __init__(
        self,
        published_root: Path,
        *,
        opener: Callable[[Path], HybridIndex],
        check_every_s: float = 5.0,
    ) -> None:
        self.published_root = published_root
        self.opener = opener
        self.check_every_s = check_every_s
        self._lock = threading.Lock()
        self._generation: str | None = None
        self._index: HybridIndex | None = None
        self._private: Path | None = None
        self._retired: list[tuple[HybridIndex, Path]] = []
        self._fallback: Path | None = None  # this reader's own temporary folder, if it needs one
        self._checked_at = 0.0
        _remove_dead_readers(published_root / READERS_DIR)
        self._refresh(force=True)

    @property
    def generation(self) -> str | None:
        return self._generation

    def _refresh(self, *, force: bool = False) -> HybridIndex:
        now = time.monotonic()
        if not force and self._index is not None and now - self._checked_at < self.check_every_s:
            return self._index
        with self._lock:
            self._checked_at = now
            latest = current_generation(self.published_root)
            if latest is None:
                raise IndexBackendError(
                    f"no published index under {self.published_root}: run a sync first"
                )
            if latest != self._generation or self._index is None:
                private = self._private_copy(latest)
                try:
                    fresh = self.opener(private)
                    fresh.count()  # open it now, not on an operator's first query
                except BaseException:
                    shutil.rmtree(private, ignore_errors=True)
                    raise
                if self._index is not None and self._private is not None:
                    # Queries in flight may still use the old one; close it at the next switch.
                    self._close_retired()
                    self._retired = [(self._index, self._private)]
                self._index, self._private, self._generation = fresh, private, latest
                logger.info("serving index generation %s", latest)
            return self._index

    def _private_copy(self, generation: str) -> Path:
        name = f"{os.getpid()}-{generation}-{time.monotonic_ns()}"
        source = self.published_root / generation
        readers = self.published_root / READERS_DIR
        try:
            readers.mkdir(parents=True, exist_ok=True)
            shutil.copytree(source, readers / name)
            return readers / name
        except OSError as exc:
            # A read-only mount, or a folder this process may not write: copy the generation
            # into a folder of the temporary directory that only this process made, and only
            # its user may enter, so that no one else can put or change what it reads.
            shutil.rmtree(readers / name, ignore_errors=True)
            reason = exc
        try:
            if self._fallback is None:
                self._fallback = Path(tempfile.mkdtemp(prefix="hotline-readers-"))
                logger.warning(
                    "cannot copy the index under %s (%s); using %s", readers, reason, self._fallback
                )
            shutil.copytree(source, self._fallback / name)
        except OSError as exc:
            raise IndexBackendError(
                f"cannot copy the published index for reading, under {readers} or the "
                f"temporary folder: {exc}"
            ) from exc
        return self._fallback / name

    def _close_retired(self) -> None:
        for index, private in self._retired:
            index.close()
            shutil.rmtree(private, ignore_errors=True)
        self._retired = []

    def _read_only(self, operation: str) -> IndexBackendError:
        return IndexBackendError(f"the published index is read-only; cannot {operation}")

    def ensure_collection(self, *, dense_size: int) -> None:
        self._refresh().ensure_collection(dense_size=dense_size)

    def upsert(self, points: Sequence[IndexPoint]) -> None:
        raise self._read_only("upsert")

    def delete_document(self, doc_id: str, *, keep_point_ids: Collection[str] = ()) -> int:
        raise self._read_only("delete")

    def document_point_ids(self, doc_id: str) -> set[str]:
        return self._refresh().document_point_ids(doc_id)

    def document_ids(self) -> set[str]:
        return self._refresh().document_ids()

    def document_chunks(self, doc_id: str) -> list[Chunk]:
        return self._refresh().document_chunks(doc_id)

    def count(self, query_filter: IndexFilter | None = None) -> int:
        return self._refresh().count(query_filter)

    def facet_counts(self) -> dict[str, dict[str, int]]:
        return self._refresh().facet_counts()

    def head_titles(self) -> set[str]:
        return self._refresh().head_titles()

    def query_dense(
        self, vector: Sequence[float], *, limit: int, query_filter: IndexFilter | None = None
    ) -> list[ScoredChunk]:
        return self._refresh().query_dense(vector, limit=limit, query_filter=query_filter)

    def query_sparse(
        self, vector: SparseVector, *, limit: int, query_filter: IndexFilter | None = None
    ) -> list[ScoredChunk]:
        return self._refresh().query_sparse(vector, limit=limit, query_filter=query_filter)

    def query_hybrid(
        self,
        *,
        dense: Sequence[float] | None,
        sparse: SparseVector,
        limit: int,
        prefetch_limit: int = 100,
        query_filter: IndexFilter | None = None,
    ) -> list[ScoredChunk]:
        return self._refresh().query_hybrid(
            dense=dense,
            sparse=sparse,
            limit=limit,
            prefetch_limit=prefetch_limit,
            query_filter=query_filter,
        )

    def optimize(self) -> bool:
        return False

    def flush(self) -> None:
        """Nothing to write."""

    def close(self) -> None:
        with self._lock:
            if self._index is not None and self._private is not None:
                self._retired.append((self._index, self._private))
            self._close_retired()
            self._index, self._private = None, None
            if self._fallback is not None:
                shutil.rmtree(self._fallback, ignore_errors=True)
                self._fallback = None
