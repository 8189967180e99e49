"""The bridge's own small record of calls in progress, kept on disk.

The ticket holds what the hotline must keep (who called, the recording, duration and outcome).
This store holds what the bridge needs to carry on after a restart in the middle of calls: which
channel belongs to which ticket, when it was answered, its recording and whether it was
transferred. On start the bridge reads the active calls back and reconciles them with
``GET /ari/channels`` (``TelephonyBridge.reconcile``).

SQLite in WAL mode: one small write per call event, durable across a crash of the process.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS calls (
    channel_id TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    data TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS calls_status ON calls (status);
"""


@dataclass
class CallRecord:
    """One call as the bridge tracks it, keyed by the caller's channel id."""

    channel_id: str
    caller_number: str
    caller_name: str
    started_at: datetime
    channel_name: str = ""
    state: str = "Ring"
    ticket_id: int | None = None
    ticket_number: str | None = None
    answered_at: datetime | None = None
    bridge_id: str | None = None
    recording_name: str | None = None
    recording_attached: bool = False
    media_uuid: str | None = None
    transferred_to: str | None = None
    hangup_cause: int | None = None
    ended_at: datetime | None = None
    outcome: str | None = None
    dtmf: list[str] = field(default_factory=list)

    @property
    def active(self) -> bool:
        """Whether the call is still going."""
        return self.ended_at is None

    def to_json(self) -> str:
        """The record as JSON (times in ISO 8601)."""
        return json.dumps(asdict(self), default=lambda v: v.isoformat())

    @classmethod
    def from_json(cls, text: str) -> CallRecord:
        """Read a record written by ``to_json``."""
        data = json.loads(text)
        for key in ("started_at", "answered_at", "ended_at"):
            if data.get(key):
                data[key] = datetime.fromisoformat(data[key])
        return cls(**data)


class CallStateStore:
    """Call records on a SQLite file (``:memory:`` for a throwaway store)."""

    def __init__(self, path: Path | str) -> None:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    def save(self, record: CallRecord) -> None:
        """Insert or update a record."""
        status = "active" if record.active else "ended"
        with self._lock:
            self._db.execute(
                "INSERT INTO calls (channel_id, status, data, updated_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(channel_id) DO UPDATE SET status = excluded.status, "
                "data = excluded.data, updated_at = excluded.updated_at",
                (record.channel_id, status, record.to_json(), datetime.now().isoformat()),
            )

    def get(self, channel_id: str) -> CallRecord | None:
        """The record of a channel, if any."""
        with self._lock:
            row = self._db.execute(
                "SELECT data FROM calls WHERE channel_id = ?", (channel_id,)
            ).fetchone()
        return CallRecord.from_json(row[0]) if row else None

    def active(self) -> list[CallRecord]:
        """Records of calls still going."""
        with self._lock:
            rows = self._db.execute("SELECT data FROM calls WHERE status = 'active'").fetchall()
        return [CallRecord.from_json(row[0]) for row in rows]

    def prune_ended(self, before: datetime) -> int:
        """Forget ended calls last touched before ``before``; their tickets keep everything."""
        with self._lock:
            cursor = self._db.execute(
                "DELETE FROM calls WHERE status = 'ended' AND updated_at < ?",
                (before.isoformat(),),
            )
        return cursor.rowcount

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()
