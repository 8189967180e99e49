"""Watch the hotline's mailbox with IMAP IDLE and queue each new e-mail at once.

Run ``python -m answer_service.channels.watch_mail`` beside the channel worker. It fetches the
unseen mail, then waits in IDLE (renewed every ``imap_idle_s``) until the server reports new
mail; a server without IDLE is polled every minute instead. The beat task
``channels.poll_mailbox`` is the fallback when this process is not run.
"""

from __future__ import annotations

import imaplib
import logging
import signal
import threading

from answer_service.channels.celery_app import create_channel_celery_app
from answer_service.channels.errors import ProviderError
from answer_service.channels.mail import watch_mailbox
from answer_service.channels.runtime import ChannelRuntime
from answer_service.channels.settings import get_channel_settings
from answer_service.channels.task_names import POLL_INTERVAL_S
from answer_service.channels.tasks import CeleryDispatcher

logger = logging.getLogger(__name__)


def main() -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    settings = get_channel_settings()
    runtime = ChannelRuntime.open(settings)
    mailbox = runtime.mailbox()
    if mailbox is None:
        logger.error("HOTLINE_CHANNELS_IMAP_HOST is not set; nothing to watch")
        return 2
    inbox = runtime.inbox(CeleryDispatcher(create_channel_celery_app(settings)))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.is_set():
            try:
                watch_mailbox(
                    mailbox,
                    inbox.receive_email,
                    idle_s=settings.imap_idle_s,
                    poll_s=POLL_INTERVAL_S,
                    should_stop=stop.is_set,
                    wait=stop.wait,
                )
            except (ProviderError, OSError, imaplib.IMAP4.error) as exc:
                # A dropped connection or a server that hung up must not end the watcher.
                detail = exc.detail if isinstance(exc, ProviderError) else repr(exc)
                logger.warning("mailbox watch interrupted (%s); reconnecting in 30 s", detail)
                mailbox.close()
                stop.wait(30)
    except KeyboardInterrupt:
        pass
    finally:
        mailbox.close()
        runtime.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
