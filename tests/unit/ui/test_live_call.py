"""The live call panel's wording: distinct labels, Vietnamese states, stale suggestions said so."""

from __future__ import annotations

from typing import Any

from agent_assist_ui.views.live_call import (
    call_labels,
    caller_number,
    state_label,
    suggestion_notice,
    transcript_lines,
)


def live_call(call_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "call_id": call_id,
        "caller": {"name": "Nguyễn Văn Thử", "number": "0900000101"},
        "state": "Up",
        "started_at": "2026-12-04T03:15:00+00:00",
        "ticket": {"id": 1, "number": "1022-2026-000001"},
        "transferred_to": None,
        "revision": 0,
        "last_suggestion": None,
        **extra,
    }


class TestLabels:
    def test_two_calls_from_one_number_get_distinct_labels(self) -> None:
        labels = call_labels([live_call("1796413936.1"), live_call("1796413936.9")])
        assert len(set(labels.values())) == 2

    def test_label_is_vietnamese_with_local_time(self) -> None:
        label = call_labels([live_call("c1")])["c1"]
        assert "Up" not in label
        assert "Đang đàm thoại" in label
        assert "gọi lúc 10:15:00" in label  # 03:15 UTC is 10:15 in Vietnam
        assert "1022-2026-000001" in label

    def test_trunk_words_for_a_withheld_number_are_not_shown(self) -> None:
        for word in ("anonymous", "Restricted", " unknown "):
            call = live_call("c1", caller={"name": "", "number": word})
            assert caller_number(call) == "Số ẩn"
            assert call_labels([call])["c1"].startswith("Số ẩn ·")

    def test_withheld_number_and_unknown_state(self) -> None:
        label = call_labels([live_call("c1", caller={"number": ""}, state="Weird")])["c1"]
        assert label.startswith("Số ẩn")
        assert "Không rõ trạng thái" in label
        assert state_label("Ring") == "Đang đổ chuông"


class TestStaleSuggestion:
    def test_current_suggestion_has_no_notice(self) -> None:
        call = live_call("c1", revision=2, last_suggestion={"revision": 2, "suggestion": {}})
        assert suggestion_notice(call) is None

    def test_older_suggestion_is_flagged(self) -> None:
        call = live_call("c1", revision=3, last_suggestion={"revision": 2, "suggestion": {}})
        notice = suggestion_notice(call)
        assert notice is not None and "đang được cập nhật" in notice

    def test_first_words_without_suggestion_yet(self) -> None:
        assert suggestion_notice(live_call("c1", revision=1)) == (
            "Đang tìm gợi ý cho lời công dân vừa nói…"
        )

    def test_newest_words_without_a_new_suggestion_are_not_called_pending(self) -> None:
        call = live_call(
            "c1",
            revision=3,
            answered_revision=3,
            last_suggestion={"revision": 2, "suggestion": {}},
        )
        notice = suggestion_notice(call)
        assert notice is not None and "đang được cập nhật" not in notice
        assert "lời trước đó" in notice

    def test_silent_call_has_no_notice(self) -> None:
        assert suggestion_notice(live_call("c1")) is None


def test_transcript_lines_name_the_speaker_and_mark_interim() -> None:
    call = live_call(
        "c1",
        transcript=[
            {"text": "Tôi bị mất căn cước.", "speaker": "citizen", "final": True},
            {"text": "Anh cho em xin", "speaker": "operator", "final": False},
        ],
    )
    assert transcript_lines(call) == [
        "Người gọi: Tôi bị mất căn cước.",
        "Điện thoại viên: Anh cho em xin (đang nghe…)",
    ]
