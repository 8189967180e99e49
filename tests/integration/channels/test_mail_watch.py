"""The mailbox watcher against the loopback IMAP server: quiet IDLE periods must not kill it.

Found by running ``python -m answer_service.channels.watch_mail`` as documented: after the
first IDLE period with no new mail, the next read on the connection failed with "cannot read
from timed out object" and the watcher exited.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from answer_service.channels.mail import ImapMailbox, watch_mailbox
from tests.utils.channel_servers import ImapServer

pytestmark = pytest.mark.integration

USER, PASSWORD = "1022@hotline.example", "imap-password-test"
MAIL = (
    b"From: citizen@example.invalid\r\nTo: 1022@hotline.example\r\n"
    b"Message-ID: <watch-1@example.invalid>\r\nSubject: ho chieu\r\n\r\ncap ho chieu\r\n"
)


@pytest.fixture
def imap() -> Iterator[ImapServer]:
    server = ImapServer(user=USER, password=PASSWORD, idle=True).start()
    yield server
    server.stop()


@pytest.fixture
def mailbox(imap: ImapServer) -> Iterator[ImapMailbox]:
    box = ImapMailbox(host="127.0.0.1", port=imap.port, user=USER, password=PASSWORD, use_ssl=False)
    yield box
    box.close()


def test_quiet_idle_period_leaves_the_connection_usable(
    imap: ImapServer, mailbox: ImapMailbox
) -> None:
    assert mailbox.idle(0.3) is False
    assert mailbox.idle(0.3) is False

    uid = imap.deliver(MAIL)

    assert [u for u, _ in mailbox.unseen()] == [str(uid).encode()]


def test_watcher_survives_quiet_periods_and_takes_the_next_mail(
    imap: ImapServer, mailbox: ImapMailbox
) -> None:
    received: list[bytes] = []
    stop = threading.Event()
    errors: list[BaseException] = []

    def run() -> None:
        try:
            watch_mailbox(
                mailbox,
                received.append,
                idle_s=0.2,
                poll_s=0.2,
                should_stop=stop.is_set,
                wait=stop.wait,
            )
        except BaseException as exc:  # noqa: BLE001 - the test reports what ended the watcher
            errors.append(exc)

    watcher = threading.Thread(target=run, daemon=True)
    watcher.start()
    stop.wait(1.0)  # several IDLE periods without mail
    imap.deliver(MAIL)
    for _ in range(50):
        if received or errors:
            break
        stop.wait(0.1)
    stop.set()
    watcher.join(timeout=10)

    assert errors == []
    assert len(received) == 1 and b"watch-1@example.invalid" in received[0]
