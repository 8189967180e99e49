"""The learnt ranker of the head (``search.learned_rank``): what it reads of a hit, how it orders
by its weights, what it learns from pairs, and the weights it refuses to load."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from search.errors import ConfigurationError
from search.learned_rank import (
    FEATURES,
    LEARNED_SCORE,
    LearnedRanker,
    features,
    fit_pairwise,
)
from search.models import Chunk, Section
from search.name_match import NAME_MATCH_LIST, VARIANT_PENALTY
from search.retrieval import DocumentHit

COLUMN = {name: i for i, name in enumerate(FEATURES)}


def hit(title: str, n: int, **list_scores: float) -> DocumentHit:
    doc_id = f"procedure:1.00000{n}"
    made = DocumentHit.from_chunk(
        Chunk(
            chunk_id=f"{doc_id}#overview#0",
            doc_id=doc_id,
            doc_kind="procedure",
            section=Section.OVERVIEW,
            title=title,
            text=title,
            code=f"1.00000{n}",
            levels=["Cấp xã"] if n % 2 else ["Cấp tỉnh"],
        ),
        1 / (10 + n + 1),
    )
    made.list_scores = dict(list_scores)
    made.ranks = {name: n for name in ("lexical_all", "dense_overview") if name in list_scores}
    return made


def only(feature: str, weight: float = 1.0) -> LearnedRanker:
    """A ranker that reads one feature."""
    n = len(FEATURES)
    weights = [0.0] * n
    weights[COLUMN[feature]] = weight
    return LearnedRanker(weights=tuple(weights), means=(0.0,) * n, scales=(1.0,) * n)


class TestFeatures:
    def test_a_row_per_hit_with_every_feature(self) -> None:
        hits = [hit("Cấp lại giấy phép lái xe", 0, lexical_all=8.0), hit("Đăng ký khai sinh", 1)]
        rows = features(hits, "mất bằng lái xe")
        assert [len(row) for row in rows] == [len(FEATURES)] * 2

    def test_list_scores_are_read_against_the_heads_best(self) -> None:
        hits = [
            hit("A b", 0, lexical_all=8.0, dense_overview=0.90),
            hit("C d", 1, lexical_all=4.0, dense_overview=0.85),
            hit("E f", 2),
        ]
        rows = features(hits, "x y")
        assert rows[1][COLUMN["lexical_all:score"]] == pytest.approx(0.5)
        assert rows[1][COLUMN["dense_overview:score"]] == pytest.approx(-0.05)
        assert rows[0][COLUMN["dense_overview:rank"]] == pytest.approx(1 / 11)
        # A list the hit is absent from reads as nothing, not as its last place.
        absent = rows[2]
        assert absent[COLUMN["lexical_all:present"]] == 0.0
        assert absent[COLUMN["lexical_all:rank"]] == 0.0

    def test_the_name_rank_follows_the_fit_not_the_position(self) -> None:
        hits = [
            hit("A b", 0, **{NAME_MATCH_LIST: 0.2}),
            hit("C d", 1, **{NAME_MATCH_LIST: 0.9, VARIANT_PENALTY: 0.5}),
        ]
        rows = features(hits, "c d")
        assert rows[1][COLUMN["name_rank"]] > rows[0][COLUMN["name_rank"]]
        # Coverage is the fit before what the penalties took off it.
        assert rows[1][COLUMN["name_coverage"]] == pytest.approx(1.4)

    def test_words_shared_with_the_query_are_folded(self) -> None:
        rows = features(
            [hit("Cấp lại hộ chiếu", 0), hit("Đăng ký khai sinh", 1)], "cap lai ho chieu"
        )
        assert rows[0][COLUMN["query_words_in_title"]] == 1.0
        assert rows[1][COLUMN["query_words_in_title"]] == 0.0


class TestRerank:
    def test_the_weights_decide_the_order(self) -> None:
        hits = [
            hit("A b", 0, **{NAME_MATCH_LIST: 0.1}),
            hit("C d", 1, **{NAME_MATCH_LIST: 0.8}),
            hit("E f", 2, **{NAME_MATCH_LIST: 0.5}),
        ]
        ranked = only("name_fit").rerank(hits, "q", depth=3)
        assert [h.title for h in ranked] == ["C d", "E f", "A b"]
        assert ranked[0].list_scores[LEARNED_SCORE] == pytest.approx(0.8)
        # The hits move between the places; the places keep their scores.
        assert [h.score for h in ranked] == [h.score for h in hits]
        # The opposite weight gives the opposite order; the hits given are not changed.
        ranked = only("name_fit", -1.0).rerank(hits, "q", depth=3)
        assert [h.title for h in ranked] == ["A b", "E f", "C d"]
        assert LEARNED_SCORE not in hits[0].list_scores

    def test_ties_keep_the_order_and_the_tail_is_left_alone(self) -> None:
        hits = [hit(t, n) for n, t in enumerate(["A b", "C d", "E f", "G h"])]
        zero = LearnedRanker(
            weights=(0.0,) * len(FEATURES),
            means=(0.0,) * len(FEATURES),
            scales=(1.0,) * len(FEATURES),
        )
        assert [h.title for h in zero.rerank(hits, "q", depth=4)] == ["A b", "C d", "E f", "G h"]
        ranked = only("position", -1.0).rerank(hits, "q", depth=2)
        assert [h.title for h in ranked] == ["C d", "A b", "E f", "G h"]

    def test_a_depth_below_one_is_refused(self) -> None:
        with pytest.raises(ValueError, match="depth"):
            only("position").rerank([hit("A b", 0)], "q", depth=0)


class TestFit:
    def test_it_learns_the_feature_that_tells_the_right_hit(self) -> None:
        column = COLUMN["dense_overview:score"]
        questions = []
        for q in range(40):
            rows = []
            for i in range(5):
                row = [((q * 7 + i * 3) % 11) / 11 for _ in FEATURES]  # noise
                row[column] = -0.1 * i if i != (q % 5) else 0.05
                rows.append(row)
            questions.append((rows, [i == q % 5 for i in range(5)]))
        ranker = fit_pairwise(questions)
        assert max(range(len(FEATURES)), key=lambda i: ranker.weights[i]) == column
        for rows, right in questions:
            scores = ranker.scores(rows)
            assert right[max(range(len(rows)), key=scores.__getitem__)]

    def test_questions_without_a_pair_teach_nothing(self) -> None:
        row = [0.0] * len(FEATURES)
        with pytest.raises(ValueError, match="right and a wrong"):
            fit_pairwise([([row, row], [False, False]), ([row], [True])])
        with pytest.raises(ValueError, match="no questions"):
            fit_pairwise([])


class TestLoad:
    def test_saved_weights_load_back(self, tmp_path: Path) -> None:
        ranker = only("name_fit", 0.75)
        ranker.save(tmp_path / "r.json")
        assert LearnedRanker.load(tmp_path / "r.json").weights == ranker.weights

    def test_the_bundled_weights_load(self) -> None:
        ranker = LearnedRanker.load()
        assert len(ranker.weights) == len(FEATURES)
        assert any(w != 0 for w in ranker.weights), "the bundled ranker was never trained"

    def test_weights_for_other_features_are_refused(self, tmp_path: Path) -> None:
        only("name_fit").save(tmp_path / "r.json")
        data = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
        data["features"] = data["features"][:-1] + ["something else"]
        (tmp_path / "r.json").write_text(json.dumps(data), encoding="utf-8")
        with pytest.raises(ConfigurationError, match="other features"):
            LearnedRanker.load(tmp_path / "r.json")

    @pytest.mark.parametrize("text", ["{", "[]", '{"features": []}', "not json at all"])
    def test_broken_files_are_refused_clearly(self, tmp_path: Path, text: str) -> None:
        (tmp_path / "r.json").write_text(text, encoding="utf-8")
        with pytest.raises(ConfigurationError):
            LearnedRanker.load(tmp_path / "r.json")

    def test_a_missing_file_is_refused_clearly(self, tmp_path: Path) -> None:
        with pytest.raises(ConfigurationError, match="does not exist"):
            LearnedRanker.load(tmp_path / "absent.json")

    def test_numbers_that_cannot_rank_are_refused(self) -> None:
        n = len(FEATURES)
        with pytest.raises(ConfigurationError, match="finite"):
            LearnedRanker(weights=(math.nan,) * n, means=(0.0,) * n, scales=(1.0,) * n)
        with pytest.raises(ConfigurationError, match="finite"):
            LearnedRanker(weights=(0.0,) * n, means=(0.0,) * n, scales=(0.0,) * n)
        with pytest.raises(ConfigurationError, match="needs"):
            LearnedRanker(weights=(0.0,), means=(0.0,), scales=(1.0,))
