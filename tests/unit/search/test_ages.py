"""Ages in questions and in procedure names (``search.text.ages``), and what they do to the
name-coverage ranking of siblings that differ only in the applicant's age."""

from __future__ import annotations

import math

import pytest

from search.models import Chunk, Section
from search.name_match import SUBJECT_PENALTY, rerank_by_name
from search.retrieval import DocumentHit
from search.text.ages import AgeRange, age_range, ages_in, outside

UNDER = "Cấp thẻ căn cước cho người dưới 14 tuổi"
FROM = "Cấp thẻ căn cước cho người từ đủ 14 tuổi trở lên"


@pytest.mark.parametrize(
    ("question", "ages"),
    [
        ("Con tôi năm nay 6 tuổi, gia đình muốn làm thẻ căn cước cho cháu", [6]),
        ("con toi vua tron 14 tuoi, lam can cuoc o dau", [14]),
        ("cháu bé được 8 tháng tuổi, làm căn cước được không", [0]),
        ("bé 20 ngày tuổi", [0]),
        ("làm căn cước cho trẻ dưới 14 tuổi cần gì", [13]),
        ("cho người từ đủ 14 tuổi trở lên", [14]),
        ("trẻ trên 6 tuổi", [7]),
        ("bố tôi 70 tuổi, con tôi 3 tuổi", [70, 3]),
        ("tuổi thọ của thẻ căn cước", []),
        ("hạn 15 năm", []),
        ("phí 1.500 tuổi", []),  # a number inside another is not an age
    ],
)
def test_ages_in_a_question(question: str, ages: list[int]) -> None:
    assert ages_in(question) == ages


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (UNDER, AgeRange(0, 14)),
        (FROM + " (thực hiện tại cấp tỉnh)", AgeRange(14, math.inf)),
        ("Đăng ký khai sinh, cấp thẻ bảo hiểm y tế cho trẻ em dưới 6 tuổi", AgeRange(0, 6)),
        ("Trợ cấp cho người trên 80 tuổi", AgeRange(81, math.inf)),
        ("Hỗ trợ trẻ em 16 tuổi trở xuống", AgeRange(0, 17)),
        ("Cấp thẻ căn cước", None),
    ],
)
def test_the_range_a_name_is_for(name: str, expected: AgeRange | None) -> None:
    assert age_range(name) == expected


def test_outside_needs_both_an_age_and_a_range() -> None:
    assert outside(UNDER, [14]) and not outside(UNDER, [13])
    assert outside(FROM, [6]) and not outside(FROM, [14])
    assert not outside(UNDER, [])
    assert not outside("Cấp thẻ căn cước", [6])
    assert not outside(UNDER, [40, 6])  # one age that fits is enough


def hit(title: str, n: int) -> DocumentHit:
    chunk = Chunk(
        chunk_id=f"procedure:1.01406{n}#overview#0",
        doc_id=f"procedure:1.01406{n}",
        doc_kind="procedure",
        section=Section.OVERVIEW,
        title=title,
        text=title,
        code=f"1.01406{n}",
    )
    return DocumentHit.from_chunk(chunk, 1 / (10 + n + 1))


@pytest.mark.parametrize(
    ("question", "first"),
    [
        ("con tôi 6 tuổi làm thẻ căn cước", UNDER),
        ("con tôi vừa tròn 14 tuổi làm thẻ căn cước", FROM),
    ],
)
def test_the_sibling_for_the_age_said_comes_first(question: str, first: str) -> None:
    for order in ([FROM, UNDER], [UNDER, FROM]):
        hits = [hit(title, n) for n, title in enumerate(order)]
        ranked = rerank_by_name(
            hits,
            [question],
            weight=2.0,
            depth=10,
            rrf_k=10,
            age_outside=1.0,
            ages=ages_in(question),
        )
        assert ranked[0].title == first
        assert ranked[0].list_scores[SUBJECT_PENALTY] == 0.0
        assert ranked[1].list_scores[SUBJECT_PENALTY] == 1.0


def test_without_an_age_nothing_is_taken_off() -> None:
    hits = [hit(FROM, 0), hit(UNDER, 1)]
    question = "làm thẻ căn cước cho con"
    plain = rerank_by_name(hits, [question], weight=2.0, depth=10, rrf_k=10)
    ranked = rerank_by_name(
        hits, [question], weight=2.0, depth=10, rrf_k=10, age_outside=1.0, ages=ages_in(question)
    )
    assert [h.title for h in ranked] == [h.title for h in plain]
    assert all(h.list_scores[SUBJECT_PENALTY] == 0.0 for h in ranked)


def test_a_negative_age_weight_is_refused() -> None:
    with pytest.raises(ValueError, match="age_outside=-1"):
        rerank_by_name(
            [hit(FROM, 0), hit(UNDER, 1)], ["x"], weight=2, depth=10, rrf_k=10, age_outside=-1
        )
