"""Broadcast SMS campaigns to the opt-in list: rate-limited, resumable, honouring opt-outs.

A campaign is a stored row; the Celery task is scheduled for its time (``eta``) and sends to
every number that is opted in at the moment of sending (an opt-out that arrives mid-campaign is
honoured for the numbers not yet reached). Each delivery is recorded, so a task that runs again
after a crash resumes where it stopped instead of texting anyone twice.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from answer_service.channels.errors import ProviderError
from answer_service.channels.sms.encoding import fit_sms
from answer_service.channels.sms.gateways import SmsGateway
from answer_service.channels.store import ConversationStore, utcnow

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CampaignReport:
    campaign_id: int
    status: str
    sent: int = 0
    skipped: int = 0
    failed: int = 0


def run_campaign(
    store: ConversationStore,
    gateway: SmsGateway,
    campaign_id: int,
    *,
    per_second: float,
    max_segments: int,
    unicode: bool = False,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> CampaignReport:
    """Send one campaign to the opted-in numbers not yet reached, at most ``per_second``."""
    campaign = store.campaign(campaign_id)
    if campaign is None:
        raise ProviderError(f"no campaign with id {campaign_id}")
    if campaign.status in ("finished", "cancelled"):
        return CampaignReport(campaign_id, campaign.status)
    scheduled = campaign.scheduled_at
    if scheduled.tzinfo is None:
        scheduled = scheduled.replace(tzinfo=utcnow().tzinfo)
    if scheduled > utcnow():
        return CampaignReport(campaign_id, "not_due")
    store.set_campaign_status(campaign_id, "running")
    sms = fit_sms(campaign.text, max_segments=max_segments, unicode=unicode)
    already = store.delivered_numbers(campaign_id)
    interval = 1.0 / per_second
    next_slot = clock()
    sent = skipped = failed = 0
    for phone in store.opted_in_numbers():
        if phone in already or not store.is_opted_in(phone):
            skipped += 1
            continue
        if not store.claim_delivery(campaign_id, phone):
            skipped += 1  # another run of this campaign has texted or is texting it
            continue
        wait = next_slot - clock()
        if wait > 0:
            sleep(wait)
        next_slot = max(next_slot, clock()) + interval
        try:
            gateway.send(phone, sms.text, unicode=sms.unicode)
        except ProviderError as exc:
            store.record_delivery(campaign_id, phone, "failed", exc.detail)
            failed += 1
            continue
        store.record_delivery(campaign_id, phone, "sent")
        sent += 1
    store.set_campaign_status(campaign_id, "finished")
    logger.info("campaign %s: %d sent, %d skipped, %d failed", campaign_id, sent, skipped, failed)
    return CampaignReport(campaign_id, "finished", sent, skipped, failed)
