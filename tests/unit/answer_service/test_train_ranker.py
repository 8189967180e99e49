"""The command that learns the search's last ranker (``answer_service.train_ranker``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from answer_service.evaluation import (
    ELEVENTH_TUNING_QUESTIONS,
    HELDOUT_QUESTIONS,
    THIRTEENTH_TUNING_QUESTIONS,
    TWELFTH_TUNING_QUESTIONS,
)
from answer_service.train_ranker import TRAINING_SETS, main, reciprocal_rank


def test_the_reciprocal_rank_reads_the_order_of_the_scores() -> None:
    assert reciprocal_rank([0.1, 0.9, 0.5], [True, False, False]) == pytest.approx(1 / 3)
    assert reciprocal_rank([0.1, 0.9, 0.5], [False, True, False]) == 1.0
    # Ties keep the order given; nothing right, or right past the tenth, is a miss.
    assert reciprocal_rank([0.0, 0.0], [False, True]) == 0.5
    assert reciprocal_rank([0.0, 0.0], [False, False]) == 0.0
    assert reciprocal_rank([-float(i) for i in range(12)], [i == 11 for i in range(12)]) == 0.0


def test_the_sets_that_measure_it_are_never_learnt_from() -> None:
    assert ELEVENTH_TUNING_QUESTIONS not in TRAINING_SETS
    assert TWELFTH_TUNING_QUESTIONS not in TRAINING_SETS
    assert THIRTEENTH_TUNING_QUESTIONS not in TRAINING_SETS
    assert HELDOUT_QUESTIONS not in TRAINING_SETS
    assert all(path.exists() for path in TRAINING_SETS)


def test_without_labelled_questions_it_says_where_it_looked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--eval-dir", str(tmp_path), "--output", str(tmp_path / "r.json")]) == 2
    assert str(tmp_path) in capsys.readouterr().err
    assert not (tmp_path / "r.json").exists()
