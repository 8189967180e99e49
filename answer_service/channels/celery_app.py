"""The Celery application of the channel worker (queue ``channels``).

Run it with ``celery -A answer_service.channels.celery_app worker -Q channels``. Embedded
default: the SQLite broker in the channels' data folder; production sets
``HOTLINE_CHANNELS_BROKER_URL`` to Redis.
"""

from __future__ import annotations

from celery import Celery

from answer_service.channels.settings import ChannelSettings, get_channel_settings
from answer_service.channels.task_names import (
    POLL_EXPIRES_S,
    POLL_INTERVAL_S,
    ChannelQueue,
    ChannelTask,
)


def create_channel_celery_app(settings: ChannelSettings | None = None) -> Celery:
    settings = settings or get_channel_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    celery = Celery(
        "hotline-channels",
        broker=settings.celery_broker_url,
        backend=settings.celery_result_backend,
        include=["answer_service.channels.tasks"],
        set_as_current=False,
    )
    schedule = {
        "requeue-stale-messages": {
            "task": ChannelTask.REQUEUE_STALE.value,
            "schedule": 300.0,
            "options": {"expires": 280, "queue": ChannelQueue.CHANNELS.value},
        }
    }
    if settings.imap_host:
        schedule["poll-mailbox"] = {
            "task": ChannelTask.POLL_MAILBOX.value,
            "schedule": float(POLL_INTERVAL_S),
            "options": {"expires": POLL_EXPIRES_S, "queue": ChannelQueue.CHANNELS.value},
        }
    celery.conf.update(
        task_default_queue=ChannelQueue.CHANNELS.value,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        broker_connection_retry_on_startup=True,
        task_always_eager=settings.task_always_eager,
        task_eager_propagates=True,
        beat_schedule=schedule,
        timezone="Asia/Ho_Chi_Minh",
    )
    return celery


app = create_channel_celery_app()
