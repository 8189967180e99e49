"""The conversation model every channel shares, and its store.

Glossary: a *conversation* is one citizen on one channel (``(channel, thread_key)`` is unique:
the Zalo user id, the Messenger PSID, the e-mail thread's first Message-ID, the web-chat session,
the SMS number). A *message* is one text in or out of a conversation. The *dedupe key* of an
incoming message is the provider's own message id, so a redelivered event finds its row and is
not processed again; the unique index makes that hold across processes.

Webhooks write the incoming message here and queue its id; the Celery task reads it back, so a
task payload is an id, never a document, and a lost task can be re-queued from the table.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    create_engine,
    event,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

logger = logging.getLogger(__name__)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class ConversationRow(Base):
    __tablename__ = "channel_conversations"
    __table_args__ = (UniqueConstraint("channel", "thread_key", name="uq_conversation_thread"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    thread_key: Mapped[str] = mapped_column(String(300))
    mode: Mapped[str] = mapped_column(String(20), default="bot")  # bot | operator
    contact_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    contact_address: Mapped[str | None] = mapped_column(String(320), nullable=True)
    subject: Mapped[str | None] = mapped_column(String(500), nullable=True)
    ticket_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    ticket_number: Mapped[str | None] = mapped_column(String(40), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class MessageRow(Base):
    __tablename__ = "channel_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("channel_conversations.id"), index=True)
    direction: Mapped[str] = mapped_column(String(3))  # in | out
    kind: Mapped[str] = mapped_column(String(20))  # text, ack, answer, handover, keyword …
    text: Mapped[str] = mapped_column(Text)
    dedupe_key: Mapped[str | None] = mapped_column(String(300), unique=True, nullable=True)
    meta: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    ack_sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    processed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # Set by the task working on the message; another copy of the task leaves it alone until
    # the lease runs out (a worker killed mid-task).
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    outcome: Mapped[str | None] = mapped_column(String(40), nullable=True)


class SubscriberRow(Base):
    __tablename__ = "sms_subscribers"

    phone: Mapped[str] = mapped_column(String(20), primary_key=True)
    opted_in: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class CampaignRow(Base):
    __tablename__ = "sms_campaigns"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="scheduled")
    scheduled_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class DeliveryRow(Base):
    __tablename__ = "sms_campaign_deliveries"

    campaign_id: Mapped[int] = mapped_column(ForeignKey("sms_campaigns.id"), primary_key=True)
    phone: Mapped[str] = mapped_column(String(20), primary_key=True)
    status: Mapped[str] = mapped_column(String(20))  # sending | sent | failed
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    detail: Mapped[str] = mapped_column(String(300), default="")


@dataclass(frozen=True)
class Conversation:
    id: int
    channel: str
    thread_key: str
    mode: str
    contact_name: str | None
    contact_address: str | None
    subject: str | None
    ticket_id: int | None
    ticket_number: str | None


@dataclass(frozen=True)
class StoredMessage:
    id: int
    conversation: Conversation
    direction: str
    kind: str
    text: str
    meta: dict[str, Any]
    created_at: datetime
    ack_sent_at: datetime | None
    processed_at: datetime | None
    outcome: str | None


def _conversation(row: ConversationRow) -> Conversation:
    return Conversation(
        id=row.id,
        channel=row.channel,
        thread_key=row.thread_key,
        mode=row.mode,
        contact_name=row.contact_name,
        contact_address=row.contact_address,
        subject=row.subject,
        ticket_id=row.ticket_id,
        ticket_number=row.ticket_number,
    )


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL: readers (web-chat sockets, workers) no longer block the webhook's write, and a
    # commit costs no fsync of the whole journal.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _aware(value: datetime | None) -> datetime | None:
    # SQLite returns naive datetimes even for timezone=True columns; they were written in UTC.
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


class ConversationStore:
    """Conversations, messages, SMS subscribers and campaigns on one SQL database.

    Args:
        url: SQLAlchemy URL (SQLite file or ``postgresql+psycopg://…``).
    """

    def __init__(self, url: str) -> None:
        self.is_sqlite = url.startswith("sqlite")
        connect_args = {"timeout": 30} if self.is_sqlite else {}
        # No pre-ping: it costs a round trip per transaction; recycled connections stay fresh.
        self.engine = create_engine(url, connect_args=connect_args, pool_recycle=1800)
        if self.is_sqlite:
            event.listen(self.engine, "connect", _sqlite_pragmas)
        # SQLite takes one writer at a time. Threads of one process that race for its file lock
        # fall into SQLite's busy handler, which sleeps in steps of up to 100 ms: a burst of
        # webhooks then waits far longer than the writes take. Queueing them on a lock here
        # instead hands the file over at once; other processes still wait on the busy timeout.
        self._write_lock: threading.Lock | contextlib.nullcontext[None] = (
            threading.Lock() if self.is_sqlite else contextlib.nullcontext()
        )
        Base.metadata.create_all(self.engine)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def _session(self) -> Iterator[Session]:
        with self._sessions() as session, session.begin():
            yield session

    def record_inbound(
        self,
        *,
        channel: str,
        thread_key: str,
        text: str,
        dedupe_key: str | None,
        contact_name: str | None = None,
        contact_address: str | None = None,
        subject: str | None = None,
        kind: str = "text",
        meta: dict[str, Any] | None = None,
    ) -> int | None:
        """Store an incoming message; its id, or None when the dedupe key was seen before.

        Two statements in one transaction, both "insert or keep" on a unique index, so that
        concurrent deliveries of one event or one citizen's first messages never race; webhooks
        call this, and it must stay cheap.
        """
        key = f"{channel}:{dedupe_key}" if dedupe_key else None
        now = utcnow()
        insert = postgresql.insert if self.engine.dialect.name == "postgresql" else sqlite.insert
        conversations, messages = ConversationRow.__table__, MessageRow.__table__
        upsert = insert(conversations).values(
            channel=channel,
            thread_key=thread_key,
            mode="bot",
            contact_name=contact_name,
            contact_address=contact_address,
            subject=subject,
            created_at=now,
            updated_at=now,
        )
        upsert = upsert.on_conflict_do_update(
            index_elements=["channel", "thread_key"],
            set_={
                "updated_at": now,
                "contact_name": func.coalesce(
                    conversations.c.contact_name, upsert.excluded.contact_name
                ),
            },
        ).returning(conversations.c.id)
        add = (
            insert(messages)
            .values(
                direction="in",
                kind=kind,
                text=text,
                dedupe_key=key,
                meta=meta or {},
                created_at=now,
            )
            .on_conflict_do_nothing(index_elements=["dedupe_key"])
            .returning(messages.c.id)
        )
        with self._write_lock, self.engine.begin() as connection:
            conversation_id = connection.execute(upsert).scalar_one()
            message_id = connection.execute(
                add.values(conversation_id=conversation_id)
            ).scalar_one_or_none()
        if message_id is None:
            logger.info("redelivered %s event ignored", channel)
        return message_id

    def record_outbound(
        self,
        conversation_id: int,
        *,
        kind: str,
        text: str,
        meta: dict[str, Any] | None = None,
        lookup_key: str | None = None,
    ) -> int:
        """Store a message sent to the citizen; ``lookup_key`` finds it again (a Message-ID)."""
        with self._session() as session:
            row = MessageRow(
                conversation_id=conversation_id,
                direction="out",
                kind=kind,
                text=text,
                dedupe_key=lookup_key,
                meta=meta or {},
            )
            session.add(row)
            session.flush()
            return row.id

    def get_message(self, message_id: int) -> StoredMessage | None:
        with self._session() as session:
            row = session.get(MessageRow, message_id)
            if row is None:
                return None
            conversation = session.get(ConversationRow, row.conversation_id)
            assert conversation is not None
            return self._stored(row, conversation)

    @staticmethod
    def _stored(row: MessageRow, conversation: ConversationRow) -> StoredMessage:
        return StoredMessage(
            id=row.id,
            conversation=_conversation(conversation),
            direction=row.direction,
            kind=row.kind,
            text=row.text,
            meta=dict(row.meta or {}),
            created_at=_aware(row.created_at) or utcnow(),
            ack_sent_at=_aware(row.ack_sent_at),
            processed_at=_aware(row.processed_at),
            outcome=row.outcome,
        )

    def claim_acknowledgement(self, message_id: int) -> bool:
        """Mark the message acknowledged; False when another task already did (send nothing)."""
        with self._session() as session:
            result = session.execute(
                update(MessageRow)
                .where(MessageRow.id == message_id, MessageRow.ack_sent_at.is_(None))
                .values(ack_sent_at=utcnow())
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]

    def release_acknowledgement(self, message_id: int) -> None:
        """Undo a claim whose sending failed, so that a retry sends it."""
        with self._session() as session:
            session.execute(
                update(MessageRow).where(MessageRow.id == message_id).values(ack_sent_at=None)
            )

    def claim_processing(self, message_id: int, *, lease_s: float) -> bool:
        """Take the processing of a message; False when it is done or another task has it.

        Two copies of one task can run at once: ``requeue_stale`` queues a message again while
        its first task still waits in a long queue, and the broker redelivers a task whose
        worker died. Only the copy that sets ``claimed_at`` answers; a claim older than
        ``lease_s`` is taken over, so a crashed worker does not hold a message for ever.
        """
        now = utcnow()
        with self._write_lock, self._session() as session:
            result = session.execute(
                update(MessageRow)
                .where(
                    MessageRow.id == message_id,
                    MessageRow.processed_at.is_(None),
                    or_(
                        MessageRow.claimed_at.is_(None),
                        MessageRow.claimed_at < now - timedelta(seconds=lease_s),
                    ),
                )
                .values(claimed_at=now)
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]

    def release_processing(self, message_id: int) -> None:
        """Give a claim back after a failure, so that the task's retry can take it at once."""
        with self._write_lock, self._session() as session:
            session.execute(
                update(MessageRow).where(MessageRow.id == message_id).values(claimed_at=None)
            )

    def mark_processed(self, message_id: int, outcome: str) -> None:
        with self._session() as session:
            session.execute(
                update(MessageRow)
                .where(MessageRow.id == message_id)
                .values(processed_at=utcnow(), outcome=outcome)
            )

    def hand_to_operator(self, conversation_id: int, *, ticket_id: int, ticket_number: str) -> None:
        with self._session() as session:
            session.execute(
                update(ConversationRow)
                .where(ConversationRow.id == conversation_id)
                .values(
                    mode="operator",
                    ticket_id=ticket_id,
                    ticket_number=ticket_number,
                    updated_at=utcnow(),
                )
            )

    def back_to_bot(self, conversation_id: int) -> None:
        with self._session() as session:
            session.execute(
                update(ConversationRow)
                .where(ConversationRow.id == conversation_id)
                .values(mode="bot", updated_at=utcnow())
            )

    def find_conversation(self, channel: str, thread_key: str) -> Conversation | None:
        with self._session() as session:
            row = session.scalars(
                select(ConversationRow).where(
                    ConversationRow.channel == channel, ConversationRow.thread_key == thread_key
                )
            ).first()
            return _conversation(row) if row else None

    def find_conversation_by_key(self, key: str) -> Conversation | None:
        """The conversation of the message stored under a dedupe or lookup key."""
        with self._session() as session:
            row = session.execute(
                select(ConversationRow)
                .join(MessageRow, ConversationRow.id == MessageRow.conversation_id)
                .where(MessageRow.dedupe_key == key)
            ).scalar_one_or_none()
            return _conversation(row) if row else None

    def messages(
        self, conversation_id: int, *, after_id: int = 0, direction: str | None = None
    ) -> list[StoredMessage]:
        with self._session() as session:
            conversation = session.get(ConversationRow, conversation_id)
            if conversation is None:
                return []
            query = select(MessageRow).where(
                MessageRow.conversation_id == conversation_id, MessageRow.id > after_id
            )
            if direction:
                query = query.where(MessageRow.direction == direction)
            rows = session.scalars(query.order_by(MessageRow.id)).all()
            return [self._stored(r, conversation) for r in rows]

    def count_inbound_since(self, channel: str, thread_key: str, since: datetime) -> int:
        with self._session() as session:
            count = session.scalar(
                select(func.count(MessageRow.id))
                .join(ConversationRow, ConversationRow.id == MessageRow.conversation_id)
                .where(
                    ConversationRow.channel == channel,
                    ConversationRow.thread_key == thread_key,
                    MessageRow.direction == "in",
                    MessageRow.created_at >= since,
                )
            )
            return int(count or 0)

    def unprocessed(self, *, older_than: timedelta = timedelta(minutes=2)) -> list[int]:
        """Incoming messages never processed: to re-queue after a broker loss."""
        with self._session() as session:
            return list(
                session.scalars(
                    select(MessageRow.id).where(
                        MessageRow.direction == "in",
                        MessageRow.processed_at.is_(None),
                        MessageRow.created_at < utcnow() - older_than,
                    )
                )
            )

    # SMS subscribers and campaigns ---------------------------------------------------------

    def set_opt_in(self, phone: str, opted_in: bool) -> None:
        with self._session() as session:
            row = session.get(SubscriberRow, phone)
            if row is None:
                session.add(SubscriberRow(phone=phone, opted_in=opted_in))
            else:
                row.opted_in = opted_in
                row.updated_at = utcnow()

    def is_opted_in(self, phone: str) -> bool:
        with self._session() as session:
            row = session.get(SubscriberRow, phone)
            return bool(row and row.opted_in)

    def opted_in_numbers(self) -> list[str]:
        with self._session() as session:
            return list(
                session.scalars(
                    select(SubscriberRow.phone)
                    .where(SubscriberRow.opted_in.is_(True))
                    .order_by(SubscriberRow.phone)
                )
            )

    def create_campaign(self, text: str, scheduled_at: datetime) -> int:
        with self._session() as session:
            row = CampaignRow(text=text, scheduled_at=scheduled_at)
            session.add(row)
            session.flush()
            return row.id

    def campaign(self, campaign_id: int) -> CampaignRow | None:
        with self._session() as session:
            return session.get(CampaignRow, campaign_id)

    def set_campaign_status(self, campaign_id: int, status: str) -> None:
        with self._session() as session:
            values: dict[str, Any] = {"status": status}
            if status in ("finished", "cancelled"):
                values["finished_at"] = utcnow()
            session.execute(
                update(CampaignRow).where(CampaignRow.id == campaign_id).values(**values)
            )

    def delivered_numbers(self, campaign_id: int) -> set[str]:
        with self._session() as session:
            return set(
                session.scalars(
                    select(DeliveryRow.phone).where(
                        DeliveryRow.campaign_id == campaign_id, DeliveryRow.status == "sent"
                    )
                )
            )

    def claim_delivery(self, campaign_id: int, phone: str) -> bool:
        """Reserve one number of a campaign before texting it; False when another run has it.

        A scheduled task can run twice at once (the broker redelivers a task whose ETA is
        further away than its visibility timeout, or a worker is restarted); the primary key
        (campaign, number) lets exactly one of them send. A failed delivery may be claimed
        again; one left ``sending`` by a crash is not, so nobody is texted twice.
        """
        insert = postgresql.insert if self.engine.dialect.name == "postgresql" else sqlite.insert
        deliveries = DeliveryRow.__table__
        claim = (
            insert(deliveries)
            .values(campaign_id=campaign_id, phone=phone, status="sending", at=utcnow())
            .on_conflict_do_nothing(index_elements=["campaign_id", "phone"])
        )
        retry = (
            update(DeliveryRow)
            .where(
                DeliveryRow.campaign_id == campaign_id,
                DeliveryRow.phone == phone,
                DeliveryRow.status == "failed",
            )
            .values(status="sending", at=utcnow())
        )
        with self._write_lock, self.engine.begin() as connection:
            if connection.execute(claim).rowcount:
                return True
            return bool(connection.execute(retry).rowcount)

    def record_delivery(self, campaign_id: int, phone: str, status: str, detail: str = "") -> None:
        with self._session() as session:
            row = session.get(DeliveryRow, (campaign_id, phone))
            if row is None:
                session.add(
                    DeliveryRow(
                        campaign_id=campaign_id, phone=phone, status=status, detail=detail[:300]
                    )
                )
            else:
                row.status, row.detail, row.at = status, detail[:300], utcnow()

    def deliveries(self, campaign_id: int) -> dict[str, str]:
        with self._session() as session:
            rows = session.scalars(
                select(DeliveryRow).where(DeliveryRow.campaign_id == campaign_id)
            ).all()
            return {r.phone: r.status for r in rows}
