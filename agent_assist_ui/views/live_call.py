"""What the operator reads about a call in progress, kept apart from Streamlit so tests can read it.

Two calls can come from the same number at once (a shared line, a caller who dials again while
the first call still hangs in the queue); the list must still tell them apart, or the operator
works on the wrong call. Asterisk's channel states are English words; operators read Vietnamese.
A suggestion answers one transcript revision: when the citizen has said more since, the screen
says that the suggestion is being brought up to date instead of passing the old one off as
current.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

# Vietnam has one time zone and no daylight saving time.
VIETNAM_TIME = timezone(timedelta(hours=7), "ICT")
CALL_STATES = {
    "Down": "Đã ngắt",
    "Rsrvd": "Đang chuẩn bị",
    "OffHook": "Nhấc máy",
    "Dialing": "Đang quay số",
    "Ring": "Đang đổ chuông",
    "Ringing": "Đang đổ chuông",
    "Up": "Đang đàm thoại",
    "Busy": "Máy bận",
    "Dialing Offhook": "Đang quay số",
    "Pre-ring": "Đang đổ chuông",
}
SPEAKERS = {"citizen": "Người gọi", "operator": "Điện thoại viên"}
HIDDEN_NUMBER = "Số ẩn"
# What trunks put in the caller-id field when the number is withheld.
WITHHELD = frozenset({"", "anonymous", "unknown", "restricted", "private", "unavailable"})


def state_label(state: str | None) -> str:
    """Asterisk's channel state in Vietnamese."""
    return CALL_STATES.get(state or "", "Không rõ trạng thái")


def caller_number(call: dict[str, Any]) -> str:
    """The caller's number, or "Số ẩn" when it is withheld (never the trunk's English word)."""
    number = str((call.get("caller") or {}).get("number") or "").strip()
    return HIDDEN_NUMBER if number.lower() in WITHHELD else number


def _start_time(call: dict[str, Any]) -> str:
    try:
        started = datetime.fromisoformat(str(call.get("started_at") or ""))
    except ValueError:
        return ""
    if started.tzinfo is None:
        started = started.replace(tzinfo=UTC)
    return started.astimezone(VIETNAM_TIME).strftime("%H:%M:%S")


def call_labels(calls: list[dict[str, Any]]) -> dict[str, str]:
    """One distinct Vietnamese label per call id: number, start time, state and ticket."""
    labels: dict[str, str] = {}
    for call in calls:
        ticket = (call.get("ticket") or {}).get("number")
        parts = [caller_number(call)]
        started = _start_time(call)
        if started:
            parts.append(f"gọi lúc {started}")
        parts.append(state_label(call.get("state")))
        if call.get("transferred_to"):
            parts.append(f"đã chuyển tới {call['transferred_to']}")
        if ticket:
            parts.append(f"phiếu {ticket}")
        labels[str(call["call_id"])] = " · ".join(parts)
    seen: dict[str, int] = {}
    for label in labels.values():
        seen[label] = seen.get(label, 0) + 1
    return {
        call_id: f"{label} · kênh {call_id}" if seen[label] > 1 else label
        for call_id, label in labels.items()
    }


def suggestion_notice(call: dict[str, Any]) -> str | None:
    """Why the suggestion on screen is not the answer to the newest words, or None when it is.

    ``revision`` counts the call's transcript segments, ``answered_revision`` is the newest one
    live assist has worked on (with or without a suggestion as the result), and the suggestion
    carries the revision it answers.
    """
    revision = int(call.get("revision") or 0)
    last = call.get("last_suggestion") or {}
    shown = int(last.get("revision") or 0)
    answered = int(call.get("answered_revision", shown) or 0)
    if revision == 0 or shown >= revision:
        return None
    if answered < revision:
        if not last:
            return "Đang tìm gợi ý cho lời công dân vừa nói…"
        return (
            "Công dân đã nói thêm; gợi ý dưới đây ứng với lời trước đó và đang được cập nhật "
            "theo lời mới nhất."
        )
    if not last:
        return None
    return "Gợi ý dưới đây ứng với lời trước đó; lời mới nhất không cho gợi ý nào khác."


def transcript_lines(call: dict[str, Any], limit: int = 10) -> list[str]:
    """The newest transcript segments as "Người gọi: …" lines, an interim guess marked so."""
    lines = []
    for segment in (call.get("transcript") or [])[-limit:]:
        speaker = SPEAKERS.get(str(segment.get("speaker")), str(segment.get("speaker")))
        suffix = "" if segment.get("final", True) else " (đang nghe…)"
        lines.append(f"{speaker}: {segment.get('text', '')}{suffix}")
    return lines
