"""E-mail: read a mailbox over IMAP (IDLE when offered), reply over SMTP in the same thread.

Threading: a conversation's thread key is the first Message-ID of its thread (the first entry
of ``References``, else ``In-Reply-To``, else the message's own Message-ID). Replies carry
``In-Reply-To`` (the citizen's Message-ID) and ``References`` (their references plus that id),
so mail clients show them in the thread. A citizen who answers one of our replies is matched
back through our own reply's Message-ID, which the store keeps as a lookup key.

Decoding: the stdlib parser with ``policy.default`` decodes RFC 2047 subjects ("=?UTF-8?B?…?=")
and every body charset Python knows (UTF-8, windows-1258, ISO-8859-1 …); an unknown charset is
read as UTF-8 with replacement characters rather than refused, so no mail is lost.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import html
import imaplib
import logging
import re
import select
import smtplib
import socket
from collections.abc import Callable, Iterator
from contextlib import suppress
from dataclasses import dataclass, field
from email.message import EmailMessage, Message
from email.utils import getaddresses, make_msgid, parseaddr
from typing import Any

from answer_service.channels.errors import MalformedWebhook, ProviderError
from answer_service.channels.store import Conversation, StoredMessage

logger = logging.getLogger(__name__)

_MSGID = re.compile(r"<[^<>\s]+>")
_TAG = re.compile(r"<[^>]+>")


@dataclass(frozen=True)
class ParsedEmail:
    message_id: str
    in_reply_to: str
    references: list[str]
    from_address: str
    from_name: str
    subject: str
    body: str
    auto_submitted: bool = False

    @property
    def thread_root(self) -> str:
        if self.references:
            return self.references[0]
        return self.in_reply_to or self.message_id


def _text_of(part: Message) -> str:
    try:
        content = part.get_content()  # type: ignore[attr-defined]
    except (LookupError, UnicodeDecodeError):
        payload = part.get_payload(decode=True) or b""
        content = payload.decode("utf-8", errors="replace") if isinstance(payload, bytes) else ""
    if isinstance(content, bytes):
        content = content.decode("utf-8", errors="replace")
    if part.get_content_type() == "text/html":
        content = re.sub(r"(?is)<(script|style).*?</\1>", " ", content)
        content = html.unescape(_TAG.sub(" ", re.sub(r"(?i)<br\s*/?>|</p>", "\n", content)))
    return str(content)


def _strip_quoted(text: str) -> str:
    """The new text of a reply: quoted lines and the quoted original dropped."""
    kept: list[str] = []
    for line in text.splitlines():
        if line.startswith(">"):
            continue
        if re.match(r"^(On .+ wrote:|Vào .+ đã viết:)\s*$", line.strip()):
            break
        kept.append(line.rstrip())
    return re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip()


def parse_email(raw: bytes) -> ParsedEmail:
    """Read a raw RFC 5322 message.

    Raises:
        MalformedWebhook: no sender address, or neither a text nor an HTML body.
    """
    message = email.message_from_bytes(raw, policy=email.policy.default)
    name, address = parseaddr(str(message.get("From", "")))
    if "@" not in address:
        raise MalformedWebhook("e-mail has no sender address")
    try:
        subject = str(message.get("Subject", "") or "")
    except (LookupError, ValueError):
        subject = ""
    body_part = message.get_body(preferencelist=("plain", "html"))  # type: ignore[attr-defined]
    if body_part is None:
        if message.get_content_maintype() != "text":
            raise MalformedWebhook("e-mail has no text body")
        body_part = message
    references = _MSGID.findall(str(message.get("References", "") or ""))
    in_reply_to = (_MSGID.findall(str(message.get("In-Reply-To", "") or "")) or [""])[0]
    message_id = (_MSGID.findall(str(message.get("Message-ID", "") or "")) or [""])[0]
    if not message_id:
        # Derived from the bytes, not random: the same mail fetched again (a crash before it
        # was marked seen) must find its dedupe key and not be answered twice.
        message_id = f"<{hashlib.sha256(raw).hexdigest()[:40]}@missing-id.invalid>"
    auto = str(message.get("Auto-Submitted", "no")).lower() not in ("", "no")
    return ParsedEmail(
        message_id=message_id,
        in_reply_to=in_reply_to,
        references=references,
        from_address=address.lower(),
        from_name=name,
        subject=" ".join(subject.split()),
        body=_strip_quoted(_text_of(body_part)),
        auto_submitted=auto or bool(message.get("List-Id")),
    )


def build_reply(
    *,
    from_address: str,
    to_address: str,
    subject: str,
    text: str,
    in_reply_to: str,
    references: list[str],
) -> EmailMessage:
    """A UTF-8 reply threaded under ``in_reply_to``; the subject is RFC 2047-encoded on send."""
    reply = EmailMessage(policy=email.policy.SMTP)
    reply["From"] = from_address
    reply["To"] = to_address
    clean = subject.strip() or "Tổng đài 1022"
    reply["Subject"] = clean if re.match(r"(?i)^(re|trả lời|tl)\s*:", clean) else f"Re: {clean}"
    domain = from_address.rsplit("@", 1)[-1]
    reply["Message-ID"] = make_msgid(domain=domain)
    if in_reply_to:
        reply["In-Reply-To"] = in_reply_to
        chain = [r for r in references if r != in_reply_to] + [in_reply_to]
        reply["References"] = " ".join(chain[-20:])
    reply["Auto-Submitted"] = "auto-replied"
    reply.set_content(text, charset="utf-8")
    return reply


@dataclass
class SmtpMailer:
    host: str
    port: int
    from_address: str
    starttls: bool = False
    user: str = ""
    password: str = ""
    timeout_s: float = 20.0

    def send(self, message: EmailMessage) -> None:
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout_s) as smtp:
                if self.starttls:
                    smtp.starttls()
                if self.user:
                    smtp.login(self.user, self.password)
                smtp.send_message(message)
        except (smtplib.SMTPException, OSError) as exc:
            raise ProviderError(f"SMTP send failed: {exc}") from exc


class EmailSender:
    """Replies into an e-mail conversation, threaded under the message it answers."""

    def __init__(self, mailer: SmtpMailer) -> None:
        self.mailer = mailer

    def send(
        self,
        conversation: Conversation,
        text: str,
        *,
        link: str = "",
        reply_to: StoredMessage | None = None,
    ) -> dict[str, Any]:
        meta = reply_to.meta if reply_to else {}
        message = build_reply(
            from_address=self.mailer.from_address,
            to_address=conversation.contact_address or "",
            subject=str(meta.get("subject") or conversation.subject or ""),
            text=f"{text}\n{link}" if link else text,
            in_reply_to=str(meta.get("message_id", "")),
            references=list(meta.get("references", [])),
        )
        self.mailer.send(message)
        message_id = str(message["Message-ID"])
        return {"message_id": message_id, "lookup_key": f"email-out:{message_id}"}


@dataclass
class ImapMailbox:
    """A mailbox read over IMAP4rev1: unseen messages, marked seen once recorded; IDLE waits.

    Args:
        host: IMAP server.
        port: 993 with SSL, 143 without.
        user: Login.
        password: Password.
        mailbox: Folder to read.
        use_ssl: IMAP over TLS.
    """

    host: str
    port: int
    user: str
    password: str
    mailbox: str = "INBOX"
    use_ssl: bool = True
    timeout_s: float = 30.0
    _imap: imaplib.IMAP4 | None = field(default=None, init=False, repr=False)

    def connect(self) -> imaplib.IMAP4:
        if self._imap is None:
            try:
                cls = imaplib.IMAP4_SSL if self.use_ssl else imaplib.IMAP4
                imap = cls(self.host, self.port, timeout=self.timeout_s)
                imap.login(self.user, self.password)
                status, _ = imap.select(self.mailbox)
            except (imaplib.IMAP4.error, OSError) as exc:
                raise ProviderError(f"IMAP connection failed: {exc}") from exc
            if status != "OK":
                raise ProviderError(f"IMAP cannot select {self.mailbox!r}")
            self._imap = imap
        return self._imap

    def close(self) -> None:
        if self._imap is not None:
            with suppress(imaplib.IMAP4.error, OSError):
                self._imap.logout()
            self._imap = None

    @property
    def supports_idle(self) -> bool:
        return "IDLE" in self.connect().capabilities

    def unseen(self) -> Iterator[tuple[bytes, bytes]]:
        """``(uid, raw message)`` of each unseen message; not yet marked seen."""
        imap = self.connect()
        status, data = imap.uid("SEARCH", "UNSEEN")
        if status != "OK":
            raise ProviderError("IMAP SEARCH failed")
        for uid in (data[0] or b"").split():
            status, parts = imap.uid("FETCH", uid.decode(), "(BODY.PEEK[])")
            raw = next((p[1] for p in parts if isinstance(p, tuple)), None)
            if status != "OK" or raw is None:
                raise ProviderError(f"IMAP FETCH of uid {uid!r} failed")
            yield uid, raw

    def mark_seen(self, uid: bytes) -> None:
        status, _ = self.connect().uid("STORE", uid.decode(), "+FLAGS", "(\\Seen)")
        if status != "OK":
            raise ProviderError(f"IMAP STORE of uid {uid!r} failed")

    def idle(self, timeout_s: float) -> bool:
        """Wait in IDLE until the server reports a change or ``timeout_s`` passes.

        Python 3.11's imaplib has no IDLE (3.14 adds it), so this speaks RFC 2177 over the
        connection's own socket. Returns True when the server reported new mail.
        """
        imap = self.connect()
        tag = imap._new_tag().decode()  # noqa: SLF001 - imaplib offers no public tag API
        imap.send(f"{tag} IDLE\r\n".encode())
        line = imap.readline()
        if not line.startswith(b"+"):
            raise ProviderError(f"IMAP server refused IDLE: {line[:100]!r}")
        changed = False
        # Wait with select, not with a socket timeout: once a read on imaplib's socket file
        # times out, that file refuses every later read ("cannot read from timed out object"),
        # which killed the watcher after its first quiet IDLE period.
        if _readable(imap.socket(), timeout_s):
            line = imap.readline()
            if not line:
                raise ProviderError("IMAP connection closed during IDLE")
            changed = b"EXISTS" in line or b"RECENT" in line
        imap.send(b"DONE\r\n")
        while True:
            line = imap.readline()
            if not line:
                raise ProviderError("IMAP connection closed during IDLE")
            if line.startswith(tag.encode()):
                break
            changed = changed or b"EXISTS" in line
        return changed


def _readable(sock: socket.socket, timeout_s: float) -> bool:
    """Whether ``sock`` has data within ``timeout_s``; TLS records already decrypted count."""
    pending = getattr(sock, "pending", None)
    if pending is not None and pending():
        return True
    readable, _, _ = select.select([sock], [], [], timeout_s)
    return bool(readable)


def fetch_new_mail(mailbox: ImapMailbox, handle: Callable[[bytes], object]) -> int:
    """Hand each unseen message to ``handle``, then mark it seen; how many were handled.

    A message is marked seen only after ``handle`` returned, so a crash between the two
    delivers it again, and the dedupe key on its Message-ID makes that harmless. A message that
    cannot be read as a citizen's mail (no sender, no text) is logged, marked seen and left in
    the mailbox for a person to look at, instead of blocking every later message.
    """
    count = 0
    for uid, raw in list(mailbox.unseen()):
        try:
            handle(raw)
        except MalformedWebhook as exc:
            logger.warning("e-mail uid %s left in the mailbox unanswered: %s", uid, exc.detail)
        else:
            count += 1
        mailbox.mark_seen(uid)
    return count


def reply_addresses(raw_to: str) -> list[str]:
    return [address for _, address in getaddresses([raw_to]) if "@" in address]


def watch_mailbox(
    mailbox: ImapMailbox,
    handle: Callable[[bytes], object],
    *,
    idle_s: float,
    poll_s: float,
    should_stop: Callable[[], bool],
    wait: Callable[[float], object],
) -> int:
    """Fetch new mail until ``should_stop()``: IDLE between fetches when offered, else poll.

    Returns how many messages were handled in all.
    """
    handled = 0
    while not should_stop():
        handled += fetch_new_mail(mailbox, handle)
        if should_stop():
            break
        if mailbox.supports_idle:
            mailbox.idle(idle_s)
        else:
            wait(poll_s)
    return handled
