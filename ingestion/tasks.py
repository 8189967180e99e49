"""Celery tasks of ingestion. Each parses its arguments, calls a service function, logs."""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task

from ingestion.knowledge_base import (
    KnowledgeBase,
    KnowledgeBaseBusy,
    build_connectors,
    default_sources,
)
from ingestion.reindex import reindex_from_catalog
from ingestion.settings import get_settings
from ingestion.task_names import SYNC_SOFT_TIME_LIMIT_S, TaskName

logger = logging.getLogger(__name__)


def run_sync(sources: list[str] | None) -> dict[str, Any]:
    """Sync the named sources (default: the main job's) and return the reports."""
    settings = get_settings()
    try:
        kb = KnowledgeBase(settings)
    except KnowledgeBaseBusy as exc:
        # Syncs are idempotent: the one running covers this request.
        logger.info("sync skipped: %s", exc.detail)
        return {"status": "skipped", "reason": exc.detail, "reports": []}
    try:
        connectors = build_connectors(settings, sources or default_sources(settings))
        reports = kb.sync(connectors)
    finally:
        kb.close()
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
    try:
        kb = KnowledgeBase(get_settings())
    except KnowledgeBaseBusy as exc:
        return {"status": "skipped", "reason": exc.detail}
    try:
        count = reindex_from_catalog(kb)
    finally:
        kb.close()
    logger.info("task reindex: %s documents", count)
    return {"status": "completed", "documents": count}


__all__ = ["reindex", "sync_all", "sync_source"]
