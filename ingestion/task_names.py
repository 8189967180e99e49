"""Celery task names, queues and schedule constants, in one place."""

from __future__ import annotations

from enum import Enum


class TaskName(str, Enum):
    SYNC_SOURCE = "ingestion.sync_source"
    SYNC_ALL = "ingestion.sync_all"
    REINDEX = "ingestion.reindex"


class Queue(str, Enum):
    INGESTION = "ingestion"


# A sync that has waited this long in the queue is stale: the next one will come.
SYNC_EXPIRES_S = 6 * 3600
SYNC_SOFT_TIME_LIMIT_S = 3 * 3600
