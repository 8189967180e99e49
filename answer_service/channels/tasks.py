"""Celery tasks of the channels. Each parses its arguments, calls a plain function, logs.

The worker builds its parts once per process (``worker_parts``): the channel runtime from
``ChannelSettings``, the answer service from the knowledge-base settings, and the ticket intake
from ``tickets.open_intake``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from typing import Any

from celery import Celery, shared_task

from answer_service.channels.errors import ProviderError
from answer_service.channels.mail import fetch_new_mail
from answer_service.channels.processor import Acknowledger, MessageProcessor
from answer_service.channels.runtime import ChannelRuntime
from answer_service.channels.settings import get_channel_settings
from answer_service.channels.sms.campaigns import run_campaign
from answer_service.channels.task_names import (
    ACK_EXPIRES_S,
    CAMPAIGN_SOFT_TIME_LIMIT_S,
    PROCESS_EXPIRES_S,
    PROCESS_SOFT_TIME_LIMIT_S,
    ChannelQueue,
    ChannelTask,
)

logger = logging.getLogger(__name__)


@dataclass
class WorkerParts:
    runtime: ChannelRuntime
    processor: MessageProcessor


@lru_cache(maxsize=1)
def ack_parts() -> Acknowledger:
    """What an acknowledgement needs: the store and the senders, not the answer service."""
    runtime = ChannelRuntime.open(get_channel_settings())
    return Acknowledger(runtime.store, runtime.senders(), runtime.settings.ack_text)


@lru_cache(maxsize=1)
def worker_parts() -> WorkerParts:
    """The worker's runtime and processor, built on first use in this process."""
    import tickets
    from answer_service.main import open_service

    runtime = ChannelRuntime.open(get_channel_settings())
    intake = tickets.open_intake()  # type: ignore[attr-defined]
    return WorkerParts(runtime, runtime.processor(open_service(), intake))


class CeleryDispatcher:
    """Queues ``channels.process_message`` for a stored message (runs it at once when eager)."""

    def __init__(self, app: Celery) -> None:
        self.app = app
        app.loader.import_default_modules()

    def submit(self, message_id: int) -> None:
        kwargs = {"message_id": message_id}
        if self.app.conf.task_always_eager:
            self.app.tasks[ChannelTask.ACKNOWLEDGE.value].apply(kwargs=kwargs).get()
            self.app.tasks[ChannelTask.PROCESS_MESSAGE.value].apply(kwargs=kwargs).get()
            return
        self.app.send_task(
            ChannelTask.ACKNOWLEDGE.value,
            kwargs=kwargs,
            queue=ChannelQueue.ACK.value,
            expires=ACK_EXPIRES_S,
        )
        self.app.send_task(
            ChannelTask.PROCESS_MESSAGE.value,
            kwargs=kwargs,
            queue=ChannelQueue.CHANNELS.value,
            expires=PROCESS_EXPIRES_S,
        )


@shared_task(
    name=ChannelTask.ACKNOWLEDGE.value,
    bind=True,
    soft_time_limit=30,
    acks_late=True,
    autoretry_for=(ProviderError,),
    retry_backoff=2,
    max_retries=5,
)
def acknowledge(self: Any, *, message_id: int) -> bool:  # noqa: ARG001  # bound task
    # When this task expires or fails for good, process_message still sends the acknowledgement.
    sent = ack_parts().acknowledge(message_id)
    logger.info("task acknowledge %s: %s", message_id, "sent" if sent else "not needed")
    return sent


@shared_task(
    name=ChannelTask.PROCESS_MESSAGE.value,
    bind=True,
    soft_time_limit=PROCESS_SOFT_TIME_LIMIT_S,
    acks_late=True,
    autoretry_for=(ProviderError,),
    retry_backoff=5,
    max_retries=5,
)
def process_message(self: Any, *, message_id: int) -> str:  # noqa: ARG001  # bound task
    outcome = worker_parts().processor.process(message_id)
    logger.info("task process_message %s: %s", message_id, outcome)
    return outcome


@shared_task(
    name=ChannelTask.RUN_CAMPAIGN.value, bind=True, soft_time_limit=CAMPAIGN_SOFT_TIME_LIMIT_S
)
def campaign(self: Any, *, campaign_id: int) -> dict[str, Any]:  # noqa: ARG001
    runtime = worker_parts().runtime
    s = runtime.settings
    report = run_campaign(
        runtime.store,
        runtime.sms_gateway(),
        campaign_id,
        per_second=s.sms_campaign_per_second,
        max_segments=s.sms_max_segments,
        unicode=s.sms_unicode,
    )
    logger.info("task run_campaign %s: %s", campaign_id, report.status)
    return {
        "campaign_id": campaign_id,
        "status": report.status,
        "sent": report.sent,
        "skipped": report.skipped,
        "failed": report.failed,
    }


@shared_task(name=ChannelTask.POLL_MAILBOX.value, bind=True, soft_time_limit=50)
def poll_mailbox(self: Any) -> int:
    """Fetch unseen mail once (the beat runs it every minute; ``mail_watch`` uses IDLE)."""
    runtime = worker_parts().runtime
    mailbox = runtime.mailbox()
    if mailbox is None:
        return 0
    inbox = runtime.inbox(CeleryDispatcher(self.app))
    try:
        count = fetch_new_mail(mailbox, inbox.receive_email)
    finally:
        mailbox.close()
    logger.info("task poll_mailbox: %d new message(s)", count)
    return count


@shared_task(name=ChannelTask.REQUEUE_STALE.value, bind=True, soft_time_limit=60)
def requeue_stale(self: Any) -> int:
    """Queue again the messages stored but never processed (a lost task, a broker restart).

    Only messages older than the task's expiry: a younger one may still wait in the queue,
    and queuing it again would only add a copy that finds the message claimed.
    """
    runtime = worker_parts().runtime
    dispatcher = CeleryDispatcher(self.app)
    stale = runtime.store.unprocessed(older_than=timedelta(seconds=PROCESS_EXPIRES_S))
    for message_id in stale:
        dispatcher.submit(message_id)
    if stale:
        logger.warning("re-queued %d unprocessed message(s)", len(stale))
    return len(stale)
