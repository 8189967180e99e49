"""The quality record: masking, feedback, summaries, knowledge gaps and rating samples."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from answer_service.quality import Interaction, QualityError, QualityStore, Verdict, redact
from search.errors import ErrorCode


@pytest.fixture
def store() -> Iterator[QualityStore]:
    quality = QualityStore("sqlite://")
    yield quality
    quality.close()


def _asked(question: str, *, confidence: float, answered: bool, **kwargs: object) -> Interaction:
    return Interaction(
        kind="answer",
        channel="zalo",
        question=question,
        route=str(kwargs.pop("route", "procedure")),
        confidence=confidence,
        answered=answered,
        **kwargs,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("số em là 0912345678 ạ", "số em là [số điện thoại] ạ"),
        ("gọi +84 912 345 678 nhé", "gọi [số điện thoại] nhé"),
        ("mail a.b@example.vn giúp", "mail [email] giúp"),
        ("CCCD 001099012345 bị mất", "CCCD [số giấy tờ] bị mất"),
        ("CMND 123456789 cũ", "CMND [số giấy tờ] cũ"),
        ("CCCD 001234567890.", "CCCD [số giấy tờ]."),
        ("gọi 0912345678.", "gọi [số điện thoại]."),
        ("số 123456789.5 không phải", "số 123456789.5 không phải"),
        ("thủ tục 1.001193 và 2.000986", "thủ tục 1.001193 và 2.000986"),
        ("phí 135000 đồng", "phí 135000 đồng"),
    ],
)
def test_redact(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_recorded_question_is_masked(store: QualityStore) -> None:
    interaction_id = store.record(
        _asked("con tôi 0987654321 làm khai sinh", confidence=0.9, answered=True)
    )
    stored = store.interaction(interaction_id)
    assert stored["question"] == "con tôi [số điện thoại] làm khai sinh"
    assert stored["channel"] == "zalo"


def test_feedback_on_an_unknown_interaction_is_not_found(store: QualityStore) -> None:
    with pytest.raises(QualityError) as raised:
        store.add_feedback("0" * 32, Verdict.USEFUL)
    assert raised.value.error_code is ErrorCode.NOT_FOUND


def test_rating_out_of_range_is_refused(store: QualityStore) -> None:
    interaction_id = store.record(_asked("khai sinh", confidence=0.9, answered=True))
    with pytest.raises(QualityError):
        store.rate(interaction_id, 6)


def test_summary_counts_interactions_and_feedback(store: QualityStore) -> None:
    ids = [
        store.record(_asked(f"câu hỏi {i}", confidence=0.5 + i / 10, answered=i % 2 == 0))
        for i in range(4)
    ]
    store.record(_asked("cháy nhà", confidence=1.0, answered=False, route="emergency_114"))
    store.add_feedback(ids[0], Verdict.USEFUL, by="op1")
    store.add_feedback(ids[1], Verdict.WRONG, by="op1")
    store.add_feedback(ids[2], Verdict.USEFUL, by="op2")
    store.rate(ids[0], 4)
    store.rate(ids[2], 2)

    now = datetime.now(UTC)
    summary = store.summary(since=now - timedelta(days=1), until=now + timedelta(minutes=1))

    assert summary["interactions"] == 5
    assert summary["answered"] == 2
    assert summary["by_route"] == {"procedure": 4, "emergency_114": 1}
    assert summary["feedback"] == {"useful": 2, "wrong": 1, "missing": 0}
    assert summary["feedback_rates"]["useful"] == pytest.approx(2 / 3, abs=1e-4)
    assert summary["ratings"] == 2
    assert summary["mean_rating"] == 3.0
    assert sum(day.get("answers", 0) for day in summary["per_day"]) == 5


def test_summary_excludes_what_is_outside_the_period(store: QualityStore) -> None:
    old = datetime.now(UTC) - timedelta(days=40)
    store.record(_asked("cũ", confidence=0.9, answered=True, at=old))
    store.record(_asked("mới", confidence=0.9, answered=True))
    now = datetime.now(UTC)
    summary = store.summary(since=now - timedelta(days=30), until=now + timedelta(minutes=1))
    assert summary["interactions"] == 1


def test_gaps_group_the_same_question_with_and_without_diacritics(store: QualityStore) -> None:
    store.record(_asked("Cấp lại sổ hộ nghèo?", confidence=0.3, answered=False))
    store.record(_asked("cap lai so ho ngheo", confidence=0.4, answered=False))
    store.record(_asked("cấp lại sổ hộ nghèo", confidence=0.6, answered=True))
    store.record(_asked("đăng ký khai sinh", confidence=0.95, answered=True))
    wrong = store.record(_asked("đổi bằng lái", confidence=0.9, answered=True))
    store.add_feedback(wrong, Verdict.MISSING)

    gaps = store.gaps(since=datetime.now(UTC) - timedelta(days=1), below=0.75, limit=10)

    assert [(g.count, g.best_confidence) for g in gaps] == [(3, 0.6), (1, 0.9)]
    assert gaps[0].routes == {"procedure": 3}
    assert gaps[1].routes == {"feedback": 1}
    assert all("khai sinh" not in g.question for g in gaps)


def test_sample_draws_answered_unrated_interactions(store: QualityStore) -> None:
    answered = [store.record(_asked(f"hỏi {i}", confidence=0.9, answered=True)) for i in range(6)]
    store.record(_asked("không trả lời", confidence=0.2, answered=False))
    store.rate(answered[0], 5)

    since = datetime.now(UTC) - timedelta(days=1)
    drawn = store.sample(n=10, since=since, seed=7)

    assert {d["id"] for d in drawn} == set(answered[1:])
    assert [d["id"] for d in store.sample(n=3, since=since, seed=7)] == [
        d["id"] for d in store.sample(n=3, since=since, seed=7)
    ]
