"""Celery tasks of ingestion. Each parses its arguments, calls a service function, logs."""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task

from ingestion.knowledge_base import KnowledgeBase, build_connectors, default_sources
from ingestion.reindex import reindex_from_catalog
from ingestion.settings import get_settings
from ingestion.task_names import SYNC_SOFT_TIME_LIMIT_S, TaskName

logger = logging.getLogger(__name__)


class _KnowledgeBaseLock:
    """Only one writer may touch the knowledge base at a time.

    Syncs are idempotent, so a second sync arriving while one runs is simply answered as
    skipped. The lock is a file lock next to the embedded index (one machine), which is what the
    embedded default needs; a cluster would use Redis instead.
    """

    def __init__(self) -> None:
        import fcntl

        self._fcntl = fcntl
        settings = get_settings()
        settings.ensure_data_dir()
        self._path = settings.data_dir / "writer.lock"
        self._handle: Any = None

    def acquire(self) -> bool:
        self._handle = self._path.open("w")
        try:
            self._fcntl.flock(self._handle, self._fcntl.LOCK_EX | self._fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            self._handle.close()
            self._handle = None
            return False

    def release(self) -> None:
        if self._handle is not None:
            self._fcntl.flock(self._handle, self._fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None


def run_sync(sources: list[str] | None) -> dict[str, Any]:
    """Sync the named sources (default: the main job's) and return the reports."""
    settings = get_settings()
    lock = _KnowledgeBaseLock()
    if not lock.acquire():
        logger.info("sync skipped: another writer holds the knowledge base")
        return {"status": "skipped", "reason": "another sync is running", "reports": []}
    try:
        kb = KnowledgeBase(settings)
        try:
            connectors = build_connectors(settings, sources or default_sources(settings))
            reports = kb.sync(connectors)
        finally:
            kb.close()
    finally:
        lock.release()
    return {
        "status": "completed" if all(r.status == "completed" for r in reports) else "failed",
        "reports": [r.model_dump(mode="json") for r in reports],
    }


@shared_task(name=TaskName.SYNC_SOURCE.value, bind=True, soft_time_limit=SYNC_SOFT_TIME_LIMIT_S)
def sync_source(self: Any, *, source: str) -> dict[str, Any]:  # noqa: ARG001  # bound task
    result = run_sync([source])
    logger.info("task sync_source %s: %s", source, result["status"])
    return result


@shared_task(name=TaskName.SYNC_ALL.value, bind=True, soft_time_limit=SYNC_SOFT_TIME_LIMIT_S)
def sync_all(self: Any, *, sources: list[str] | None = None) -> dict[str, Any]:  # noqa: ARG001
    result = run_sync(sources)
    logger.info("task sync_all: %s", result["status"])
    return result


@shared_task(name=TaskName.REINDEX.value, bind=True, soft_time_limit=SYNC_SOFT_TIME_LIMIT_S)
def reindex(self: Any) -> dict[str, Any]:  # noqa: ARG001
    lock = _KnowledgeBaseLock()
    if not lock.acquire():
        return {"status": "skipped", "reason": "another sync is running"}
    try:
        kb = KnowledgeBase(get_settings())
        try:
            count = reindex_from_catalog(kb)
        finally:
            kb.close()
    finally:
        lock.release()
    logger.info("task reindex: %s documents", count)
    return {"status": "completed", "documents": count}


__all__ = ["reindex", "sync_all", "sync_source"]
