"""The Celery application of the ingestion worker.

Embedded default: kombu's SQLAlchemy transport over SQLite in the data folder, so no broker
server is needed. Production sets ``HOTLINE_BROKER_URL`` to Redis (``redis://…``) or RabbitMQ
(``amqp://…``).
"""

from __future__ import annotations

from celery import Celery
from celery.schedules import crontab

from ingestion.settings import get_settings
from ingestion.task_names import SYNC_EXPIRES_S, Queue, TaskName


def create_celery_app() -> Celery:
    settings = get_settings()
    settings.ensure_data_dir()
    celery = Celery(
        "hotline-ingestion",
        broker=settings.celery_broker_url,
        backend=settings.celery_result_backend,
        include=["ingestion.tasks"],
    )
    celery.conf.update(
        task_default_queue=Queue.INGESTION.value,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        broker_connection_retry_on_startup=True,
        beat_schedule={
            "nightly-sync": {
                "task": TaskName.SYNC_ALL.value,
                "schedule": crontab(hour=settings.sync_hour, minute=0),
                "options": {"expires": SYNC_EXPIRES_S},
            }
        },
        timezone="Asia/Ho_Chi_Minh",
    )
    return celery


app = create_celery_app()
