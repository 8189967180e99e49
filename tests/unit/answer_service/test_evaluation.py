"""The evaluation command's scoring and tables (``answer_service.evaluation``), and the held-out
questions it ships."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from answer_service.evaluation import (
    EIGHTH_TUNING_QUESTIONS,
    ELEVENTH_TUNING_QUESTIONS,
    FIFTH_TUNING_QUESTIONS,
    FOURTH_TUNING_QUESTIONS,
    HELDOUT_QUESTIONS,
    NINTH_TUNING_QUESTIONS,
    SEVENTH_TUNING_QUESTIONS,
    SIXTH_TUNING_QUESTIONS,
    TENTH_TUNING_QUESTIONS,
    THIRD_TUNING_QUESTIONS,
    THIRTEENTH_TUNING_QUESTIONS,
    TUNING_QUESTIONS,
    TWELFTH_TUNING_QUESTIONS,
    Question,
    Scores,
    evaluate,
    load_dev_questions,
    query_path,
    render_targets,
)
from search.text.vietnamese import fold_accents


def test_scores_count_the_first_expected_code_in_the_top_ten() -> None:
    scores = Scores()
    scores.add(["a", "b", "c"], ["b"])  # rank 2
    scores.add(["x"] * 10 + ["b"], ["b"])  # past the tenth: a miss
    scores.add(["b"], ["c", "b"])  # any expected code counts
    assert scores.n == 3
    assert scores.row() == pytest.approx((1 / 3, 2 / 3, (1 / 2 + 0 + 1) / 3))


def test_each_question_is_scored_as_written_and_without_diacritics() -> None:
    questions = [
        Question("q1", "cấp lại hộ chiếu", ["1"], "procedure", "formal"),
        Question("q2", "gọi cấp cứu", [], "emergency_115", "colloquial"),  # not ranked
    ]
    seen: list[str] = []

    def ranker(text: str) -> list[str]:
        seen.append(text)
        return ["1"] if text == "cấp lại hộ chiếu" else ["2", "1"]

    results = evaluate({"r": ranker}, questions)["r"]
    assert seen == ["cấp lại hộ chiếu", "cap lai ho chieu"]
    assert results["all"].row() == (1.0, 1.0, 1.0)
    assert results["formal-unaccented"].row() == (0.0, 1.0, 0.5)


def test_the_held_out_row_is_judged_against_the_same_targets() -> None:
    good, weak = Scores(), Scores()
    good.add(["1"], ["1"])
    weak.add(["2", "3", "1"], ["1"])
    dev = {"all": good, "all-unaccented": good}
    table = render_targets(dev, dev, 1.0, {"all": weak, "all-unaccented": weak})
    row = next(line for line in table.splitlines() if "held-out" in line)
    assert "0.333" in row and row.endswith("| no |")
    assert "held-out" not in render_targets(dev, dev, 1.0)


def test_the_held_out_questions_are_well_formed() -> None:
    questions = load_dev_questions(HELDOUT_QUESTIONS)
    assert len(questions) == 120
    assert len({q.qid for q in questions}) == len(questions)
    assert all(q.expected_route == "procedure" and q.expected_codes for q in questions)
    assert {q.style for q in questions} == {"formal", "colloquial", "unaccented", "typo_chat"}


def test_each_tuning_set_gets_its_own_row_before_the_held_out_one() -> None:
    good, weak, weaker = Scores(), Scores(), Scores()
    good.add(["1"], ["1"])
    weak.add(["2", "1"], ["1"])
    weaker.add(["2", "3", "4", "1"], ["1"])
    dev = {"all": good, "all-unaccented": good}
    table = render_targets(
        dev,
        dev,
        1.0,
        {"all": good, "all-unaccented": good},
        [{"all": weak, "all-unaccented": weak}, {"all": weaker, "all-unaccented": weaker}],
    )
    lines = table.splitlines()
    second = next(i for i, line in enumerate(lines) if "second tuning set" in line)
    third = next(i for i, line in enumerate(lines) if "third tuning set" in line)
    held = next(i for i, line in enumerate(lines) if "held-out" in line)
    assert second < third < held
    assert "0.500" in lines[second] and lines[second].endswith("| no |")
    assert "0.250" in lines[third] and lines[third].endswith("| no |")
    assert lines[held].endswith("| yes |")


@pytest.mark.parametrize(
    ("path", "count", "styles"),
    [
        (TUNING_QUESTIONS, 160, {"formal", "colloquial", "no_diacritics", "chat"}),
        (THIRD_TUNING_QUESTIONS, 150, {"formal", "colloquial", "unaccented", "chat"}),
        (FOURTH_TUNING_QUESTIONS, 150, {"formal", "colloquial", "unaccented", "chat"}),
        (FIFTH_TUNING_QUESTIONS, 150, {"formal", "colloquial", "unaccented", "chat"}),
        (SIXTH_TUNING_QUESTIONS, 120, {"formal", "colloquial", "unaccented", "chat"}),
        (SEVENTH_TUNING_QUESTIONS, 100, {"formal", "colloquial", "unaccented", "chat"}),
        (EIGHTH_TUNING_QUESTIONS, 80, {"formal", "colloquial", "unaccented", "chat"}),
        (NINTH_TUNING_QUESTIONS, 120, {"formal", "colloquial", "unaccented", "chat"}),
        (TENTH_TUNING_QUESTIONS, 120, {"formal", "colloquial", "unaccented", "chat"}),
        (ELEVENTH_TUNING_QUESTIONS, 120, {"formal", "colloquial", "unaccented", "chat"}),
        (TWELFTH_TUNING_QUESTIONS, 120, {"formal", "colloquial", "unaccented", "chat"}),
        (THIRTEENTH_TUNING_QUESTIONS, 120, {"formal", "colloquial", "unaccented", "chat"}),
    ],
)
def test_the_tuning_questions_are_well_formed(path: Path, count: int, styles: set[str]) -> None:
    questions = load_dev_questions(path)
    assert len(questions) == count
    assert len({q.qid for q in questions}) == len(questions)
    routes = {q.expected_route for q in questions}
    assert routes == {
        "procedure",
        "emergency_113",
        "emergency_114",
        "emergency_115",
        "complaint",
        "incident_report",
        "out_of_domain",
    }
    assert all(bool(q.expected_codes) == (q.expected_route == "procedure") for q in questions)
    assert {q.style for q in questions} == styles
    unaccented = [q for q in questions if q.style in {"no_diacritics", "unaccented"}]
    assert unaccented and all(fold_accents(q.text) == q.text for q in unaccented)


def test_the_report_names_what_embedded_the_questions() -> None:
    class Child:
        query_path = "torch (int8, 1 thread(s)), in process 4242"

    class Batcher:
        embedder = Child()

    engine = SimpleNamespace(embedder=Batcher())
    assert query_path(engine) == "torch (int8, 1 thread(s))"  # type: ignore[arg-type]
    assert query_path(SimpleNamespace(embedder=None)) == "no embedder"  # type: ignore[arg-type]
