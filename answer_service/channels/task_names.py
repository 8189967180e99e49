"""Celery task names, the queue and expiry constants of the channels, in one place."""

from __future__ import annotations

from enum import Enum


class ChannelTask(str, Enum):
    ACKNOWLEDGE = "channels.acknowledge"
    PROCESS_MESSAGE = "channels.process_message"
    RUN_CAMPAIGN = "channels.run_campaign"
    POLL_MAILBOX = "channels.poll_mailbox"
    REQUEUE_STALE = "channels.requeue_stale"


class ChannelQueue(str, Enum):
    CHANNELS = "channels"
    # Acknowledgements have a queue of their own, so that a backlog of questions waiting for
    # the answer service never delays them; a small worker can serve it alone.
    ACK = "channels_ack"


# A citizen's message still waiting after this long is re-queued by REQUEUE_STALE from the store.
PROCESS_EXPIRES_S = 15 * 60
PROCESS_SOFT_TIME_LIMIT_S = 60
ACK_EXPIRES_S = 5 * 60
CAMPAIGN_EXPIRES_S = 24 * 3600
CAMPAIGN_SOFT_TIME_LIMIT_S = 6 * 3600
POLL_EXPIRES_S = 55
POLL_INTERVAL_S = 60
