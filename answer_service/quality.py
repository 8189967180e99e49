"""What the service answered, and what people thought of it: the record behind quality review.

Every suggestion and answer is kept as an *interaction*: the question (with phone numbers, e-mail
addresses and identity-card numbers masked), the route, the confidence, whether it was answered
or handed over, the procedures offered and the reply. Operators mark a suggestion useful, wrong or
missing; supervisors rate a sample of answers and look at the knowledge gaps: the questions the
service could not answer with confidence, grouped so that the same question typed ten ways (with
or without diacritics) counts as one.

Recording sits on the request path, so it only queues: a writer thread stores the queue in
batches. ``flush()`` waits for the queue to be written; it runs before every read, so that a
feedback on an interaction answered a moment ago finds it.
"""

from __future__ import annotations

import logging
import queue
import random
import re
import threading
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import Enum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    create_engine,
    event,
    func,
    select,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker
from sqlalchemy.pool import StaticPool

from search.errors import ErrorCode, PlatformError
from search.text.vietnamese import clean_text, fold_accents

logger = logging.getLogger(__name__)

MAX_QUESTION_CHARS = 2_000
MAX_REPLY_CHARS = 2_000

# Personal data that citizens type into questions. Procedure codes ("1.001193") have dots and
# are left alone; the patterns need digits not glued to letters or dots.
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# A full stop may end the sentence after a number ("CCCD 001234567890."), but not start a
# decimal part.
_PHONE = re.compile(r"(?<![\w.])(?:\+?84|0)(?:[\s.-]?\d){8,10}(?!\w|\.\d)")
_ID_NUMBER = re.compile(r"(?<![\w.])\d{9}(?:\d{3})?(?!\w|\.\d)")


def redact(text: str) -> str:
    """Mask e-mail addresses, phone numbers and identity-card numbers in ``text``."""
    text = _EMAIL.sub("[email]", text)
    text = _PHONE.sub("[số điện thoại]", text)
    return _ID_NUMBER.sub("[số giấy tờ]", text)


class Verdict(str, Enum):
    """An operator's judgement of one suggestion."""

    USEFUL = "useful"
    WRONG = "wrong"
    MISSING = "missing"  # the right procedure or answer was not offered at all


class QualityError(PlatformError):
    default_code = ErrorCode.INVALID_INPUT


class _Base(DeclarativeBase):
    pass


class InteractionRow(_Base):
    __tablename__ = "interactions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # suggest, answer
    channel: Mapped[str] = mapped_column(String(16))
    question: Mapped[str] = mapped_column(Text)
    route: Mapped[str] = mapped_column(String(32))
    confidence: Mapped[float] = mapped_column(Float, index=True)
    answered: Mapped[bool] = mapped_column(Boolean)
    handover_reason: Mapped[str] = mapped_column(Text, default="")
    procedure_codes: Mapped[list[str]] = mapped_column(JSON, default=list)
    reply: Mapped[str] = mapped_column(Text, default="")
    took_ms: Mapped[float] = mapped_column(Float, default=0.0)


class FeedbackRow(_Base):
    __tablename__ = "feedback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    interaction_id: Mapped[str] = mapped_column(ForeignKey("interactions.id"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    verdict: Mapped[str] = mapped_column(String(16))
    procedure_code: Mapped[str] = mapped_column(String(64), default="")
    comment: Mapped[str] = mapped_column(Text, default="")
    by: Mapped[str] = mapped_column(String(128), default="")


class RatingRow(_Base):
    __tablename__ = "ratings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    interaction_id: Mapped[str] = mapped_column(ForeignKey("interactions.id"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    score: Mapped[int] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(Text, default="")
    by: Mapped[str] = mapped_column(String(128), default="")


@dataclass(frozen=True)
class Interaction:
    """One suggestion or answer as it was given."""

    kind: str
    channel: str
    question: str
    route: str
    confidence: float
    answered: bool
    handover_reason: str = ""
    procedure_codes: tuple[str, ...] = ()
    reply: str = ""
    took_ms: float = 0.0
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    at: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass(frozen=True)
class Gap:
    """A question the service could not answer with confidence, with how often it came."""

    question: str
    count: int
    last_seen: datetime
    best_confidence: float
    routes: dict[str, int]


class QualityStore:
    """Interactions, operator feedback and supervisor ratings in one SQL database.

    Args:
        url: A SQLAlchemy URL; SQLite files are created with their tables.
        batch_size: Most interactions written in one transaction.
    """

    def __init__(self, url: str, *, batch_size: int = 200) -> None:
        if url in ("sqlite://", "sqlite:///:memory:"):
            # One shared connection, or each thread would see its own empty database.
            self._engine = create_engine(
                url, poolclass=StaticPool, connect_args={"check_same_thread": False}
            )
        else:
            self._engine = create_engine(url, pool_pre_ping=True)
        if self._engine.dialect.name == "sqlite":
            event.listen(self._engine, "connect", _sqlite_pragmas)
        _Base.metadata.create_all(self._engine)
        self._sessions = sessionmaker(self._engine, expire_on_commit=False)
        self._queue: queue.Queue[Interaction | None] = queue.Queue()
        self._batch_size = batch_size
        self._writer = threading.Thread(target=self._write_loop, name="quality-writer", daemon=True)
        self._writer.start()

    # Writing

    def record(self, interaction: Interaction) -> str:
        """Queue an interaction for storage; returns its id at once."""
        self._queue.put(interaction)
        return interaction.id

    def flush(self) -> None:
        """Wait until every queued interaction is stored."""
        self._queue.join()

    def close(self) -> None:
        self._queue.put(None)
        self._writer.join(timeout=10)
        self._engine.dispose()

    def _write_loop(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                self._queue.task_done()
                return
            batch = [first]
            while len(batch) < self._batch_size:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    self._queue.put(None)  # stop after this batch
                    self._queue.task_done()
                    break
                batch.append(item)
            try:
                self._store(batch)
            except Exception:
                # Losing the quality record must never fail an answer; the error is visible.
                logger.exception("could not store %d interactions", len(batch))
            finally:
                for _ in batch:
                    self._queue.task_done()

    def _store(self, batch: list[Interaction]) -> None:
        with self._sessions.begin() as session:
            session.add_all(
                InteractionRow(
                    id=i.id,
                    at=i.at,
                    kind=i.kind,
                    channel=i.channel,
                    question=redact(i.question)[:MAX_QUESTION_CHARS],
                    route=i.route,
                    confidence=i.confidence,
                    answered=i.answered,
                    handover_reason=i.handover_reason,
                    procedure_codes=list(i.procedure_codes),
                    reply=redact(i.reply)[:MAX_REPLY_CHARS],
                    took_ms=i.took_ms,
                )
                for i in batch
            )

    def add_feedback(
        self,
        interaction_id: str,
        verdict: Verdict,
        *,
        procedure_code: str = "",
        comment: str = "",
        by: str = "",
    ) -> dict[str, Any]:
        """Store an operator's verdict on an interaction; unknown interactions answer 404."""
        self.flush()
        with self._sessions.begin() as session:
            self._require(session, interaction_id)
            row = FeedbackRow(
                interaction_id=interaction_id,
                at=datetime.now(UTC),
                verdict=verdict.value,
                procedure_code=procedure_code,
                comment=redact(comment),
                by=by,
            )
            session.add(row)
            session.flush()
            return _feedback_dict(row)

    def rate(self, interaction_id: str, score: int, *, note: str = "", by: str = "") -> None:
        """Store a supervisor's rating (1 to 5) of an answer."""
        if not 1 <= score <= 5:
            raise QualityError(f"a rating is 1 to 5, got {score}")
        self.flush()
        with self._sessions.begin() as session:
            self._require(session, interaction_id)
            session.add(
                RatingRow(
                    interaction_id=interaction_id,
                    at=datetime.now(UTC),
                    score=score,
                    note=redact(note),
                    by=by,
                )
            )

    @staticmethod
    def _require(session: Session, interaction_id: str) -> InteractionRow:
        row = session.get(InteractionRow, interaction_id)
        if row is None:
            raise QualityError(
                f"no interaction {interaction_id!r}: feedback refers to the interaction_id "
                "returned by /v1/suggest or /v1/answer",
                error_code=ErrorCode.NOT_FOUND,
            )
        return row

    # Reading

    def interaction(self, interaction_id: str) -> dict[str, Any]:
        self.flush()
        with self._sessions() as session:
            return _interaction_dict(self._require(session, interaction_id))

    def summary(self, *, since: datetime, until: datetime) -> dict[str, Any]:
        """Counts of interactions and feedback in ``[since, until)``, overall and per day."""
        self.flush()
        with self._sessions() as session:
            rows = session.execute(
                select(
                    InteractionRow.at,
                    InteractionRow.kind,
                    InteractionRow.answered,
                    InteractionRow.route,
                    InteractionRow.confidence,
                ).where(InteractionRow.at >= since, InteractionRow.at < until)
            ).all()
            verdicts = session.execute(
                select(FeedbackRow.at, FeedbackRow.verdict).where(
                    FeedbackRow.at >= since, FeedbackRow.at < until
                )
            ).all()
            ratings = session.execute(
                select(func.count(RatingRow.id), func.avg(RatingRow.score)).where(
                    RatingRow.at >= since, RatingRow.at < until
                )
            ).one()
        per_day: dict[date, Counter[str]] = defaultdict(Counter)
        for at, kind, answered, _route, _confidence in rows:
            day = _vietnam_day(at)
            per_day[day][f"{kind}s"] += 1
            per_day[day]["answered" if answered else "not_answered"] += 1
        for at, verdict in verdicts:
            per_day[_vietnam_day(at)][verdict] += 1
        verdict_counts = Counter(v for _, v in verdicts)
        total_feedback = sum(verdict_counts.values())
        return {
            "since": since,
            "until": until,
            "interactions": len(rows),
            "answered": sum(1 for r in rows if r.answered),
            "by_route": dict(Counter(r.route for r in rows)),
            "by_kind": dict(Counter(r.kind for r in rows)),
            "mean_confidence": round(sum(r.confidence for r in rows) / len(rows), 4)
            if rows
            else None,
            "feedback": {v.value: verdict_counts.get(v.value, 0) for v in Verdict},
            "feedback_rates": {
                v.value: round(verdict_counts.get(v.value, 0) / total_feedback, 4) for v in Verdict
            }
            if total_feedback
            else {},
            "ratings": int(ratings[0] or 0),
            "mean_rating": round(float(ratings[1]), 3) if ratings[1] is not None else None,
            "per_day": [
                {"day": day.isoformat(), **{k: v for k, v in counts.items() if v}}
                for day, counts in sorted(per_day.items())
            ],
        }

    def gaps(self, *, since: datetime, below: float, limit: int) -> list[Gap]:
        """Questions answered below ``below`` or handed over, grouped by their folded text."""
        self.flush()
        with self._sessions() as session:
            rows = session.execute(
                select(
                    InteractionRow.question,
                    InteractionRow.at,
                    InteractionRow.confidence,
                    InteractionRow.route,
                ).where(
                    InteractionRow.at >= since,
                    InteractionRow.route == "procedure",
                    (InteractionRow.confidence < below) | (InteractionRow.answered.is_(False)),
                )
            ).all()
            missing = session.execute(
                select(InteractionRow.question, InteractionRow.at, InteractionRow.confidence)
                .join(FeedbackRow, FeedbackRow.interaction_id == InteractionRow.id)
                .where(FeedbackRow.verdict.in_([Verdict.MISSING.value, Verdict.WRONG.value]))
                .where(FeedbackRow.at >= since)
            ).all()
        groups: dict[str, list[tuple[str, datetime, float, str]]] = defaultdict(list)
        for question, at, confidence, route in rows:
            groups[_gap_key(question)].append((question, at, confidence, route))
        for question, at, confidence in missing:
            groups[_gap_key(question)].append((question, at, confidence, "feedback"))
        found = []
        for members in groups.values():
            latest = max(members, key=lambda m: _aware(m[1]))
            found.append(
                Gap(
                    question=latest[0],
                    count=len(members),
                    last_seen=_aware(latest[1]),
                    best_confidence=round(max(m[2] for m in members), 4),
                    routes=dict(Counter(m[3] for m in members)),
                )
            )
        found.sort(key=lambda g: (-g.count, -g.last_seen.timestamp()))
        return found[:limit]

    def sample(self, *, n: int, since: datetime, seed: int | None = None) -> list[dict[str, Any]]:
        """Up to ``n`` answered interactions not rated yet, drawn at random, for rating."""
        self.flush()
        with self._sessions() as session:
            rated = select(RatingRow.interaction_id)
            rows = (
                session.execute(
                    select(InteractionRow).where(
                        InteractionRow.at >= since,
                        InteractionRow.answered.is_(True),
                        InteractionRow.id.not_in(rated),
                    )
                )
                .scalars()
                .all()
            )
        picked = random.Random(seed).sample(list(rows), k=min(n, len(rows)))
        return [_interaction_dict(r) for r in picked]


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


_VIETNAM = timedelta(hours=7)


def _aware(at: datetime) -> datetime:
    # SQLite hands back naive datetimes for what was stored in UTC.
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _vietnam_day(at: datetime) -> date:
    return (_aware(at) + _VIETNAM).date()


def _gap_key(question: str) -> str:
    words = re.findall(r"\w+", fold_accents(clean_text(question)).lower())
    return " ".join(words)


def _interaction_dict(row: InteractionRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "at": _aware(row.at),
        "kind": row.kind,
        "channel": row.channel,
        "question": row.question,
        "route": row.route,
        "confidence": row.confidence,
        "answered": row.answered,
        "handover_reason": row.handover_reason,
        "procedure_codes": list(row.procedure_codes or []),
        "reply": row.reply,
        "took_ms": row.took_ms,
    }


def _feedback_dict(row: FeedbackRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "interaction_id": row.interaction_id,
        "at": _aware(row.at),
        "verdict": row.verdict,
        "procedure_code": row.procedure_code,
        "comment": row.comment,
        "by": row.by,
    }
