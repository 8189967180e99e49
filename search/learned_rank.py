"""The last ordering of the head: a linear ranker learnt from the labelled questions.

The fusion and the name match weigh a document by its rank in each list; they throw away how
far ahead it is (a dense cosine of 0.91 against 0.84, a sparse score twice the next) and weigh
each signal by a hand-set constant. This stage reads those measures of the first ``depth`` hits
as features (``FEATURES``), standardizes them and orders the hits by one weighted sum, with
weights learnt from the dev and tuning questions by ``answer_service.train_ranker``: for every
question, each wrong procedure in the head is a pair (right, wrong), and the weights minimize
the logistic loss of the pairs' score differences.

The weights ship with the package (``data/learned_ranker.json``) with the names of the features
they were learnt on: a model learnt on other features fails to load rather than rank by the
wrong ones.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from search.errors import ConfigurationError
from search.name_match import NAME_MATCH_LIST, SUBJECT_PENALTY, VARIANT_PENALTY
from search.text.vietnamese import fold_accents, syllables

if TYPE_CHECKING:
    from search.retrieval import DocumentHit

DEFAULT_MODEL_PATH = Path(__file__).parent / "data" / "learned_ranker.json"
LEARNED_SCORE = "learned"
LISTS = ("lexical_all", "lexical_overview", "dense_overview", "dense_sections")
_RRF_K = 10  # ranks are read as 1 / (k + rank + 1), the fusion's own shape
_LONGEST_TITLE = 40  # syllables; a title's length feature saturates there


def _list_features() -> list[str]:
    return [f"{name}:{part}" for name in LISTS for part in ("rank", "present", "score")]


FEATURES: tuple[str, ...] = (
    *_list_features(),
    "name_fit",
    "variant_penalty",
    "subject_penalty",
    "name_rank",
    "position",
    "fused_score",
    "level_commune",
    "level_province",
    "level_ministry",
    "title_length",
    "name_coverage",
    "query_words_in_title",
    "title_words_in_query",
)
"""What is read of each hit, in the order of the model's weights:

- per fused list: its reciprocal rank (0 when absent), whether it is present, and its raw score
  (dense: the cosine less the list's best in the head; sparse: the score over the head's best);
- the name match: fit, the penalties it took, and the reciprocal rank by fit within the head;
- the hit's reciprocal position and score after the fusion and the name match;
- the levels that carry the procedure out, and the length of its name;
- the share of the name's word pairs the query says (fit before penalties), the share of the
  query's words in the name and of the name's words in the query (folded syllables).
"""


def _words(text: str) -> frozenset[str]:
    return frozenset(fold_accents(s).lower() for s in syllables(text))


@lru_cache(maxsize=16_384)  # names come from a catalogue of a few thousand procedures
def _title(title: str) -> tuple[frozenset[str], float]:
    """A name's folded words and its length feature."""
    return _words(title), min(len(syllables(title)), _LONGEST_TITLE) / _LONGEST_TITLE


def read_title(title: str) -> None:
    """Work out once what ``features`` reads of a title, which its cache then holds."""
    _title(title)


def features(hits: Sequence[DocumentHit], query_text: str) -> list[list[float]]:
    """The feature rows (``FEATURES``) of ``hits``, in their order."""
    best = {
        name: max((hit.list_scores.get(name, 0.0) for hit in hits), default=0.0) for name in LISTS
    }
    fits = [hit.list_scores.get(NAME_MATCH_LIST, -2.0) for hit in hits]
    by_fit = sorted(range(len(hits)), key=lambda i: (-fits[i], i))
    name_rank = {i: rank for rank, i in enumerate(by_fit)}
    query_words = _words(query_text)
    rows = []
    for i, hit in enumerate(hits):
        row: list[float] = []
        for name in LISTS:
            rank = hit.ranks.get(name)
            score = hit.list_scores.get(name)
            row += [
                0.0 if rank is None else 1.0 / (_RRF_K + rank + 1),
                0.0 if rank is None else 1.0,
                _relative(name, score, best[name]),
            ]
        fit = hit.list_scores.get(NAME_MATCH_LIST, 0.0)
        variant = hit.list_scores.get(VARIANT_PENALTY, 0.0)
        subject = hit.list_scores.get(SUBJECT_PENALTY, 0.0)
        levels = " ".join(hit.levels).lower()
        title_words, length = _title(hit.title)
        shared = len(title_words & query_words)
        row += [
            fit,
            variant,
            subject,
            1.0 / (_RRF_K + name_rank[i] + 1),
            1.0 / (_RRF_K + i + 1),
            hit.score,
            1.0 if "xã" in levels else 0.0,
            1.0 if "tỉnh" in levels else 0.0,
            1.0 if "bộ" in levels or "trung ương" in levels else 0.0,
            length,
            fit + variant + subject,
            shared / max(1, len(query_words)),
            shared / max(1, len(title_words)),
        ]
        rows.append(row)
    return rows


def _relative(name: str, score: float | None, best: float) -> float:
    if score is None:
        return 0.0
    if name.startswith("dense"):
        return score - best
    return score / best if best > 0 else 0.0


@dataclass(frozen=True)
class LearnedRanker:
    """Orders the head of a hit list by a weighted sum of its standardized features.

    Usage example:

        ranker = LearnedRanker.load()
        hits = ranker.rerank(hits, "mất sổ đỏ làm lại ở đâu", depth=30)

    Args:
        weights: One weight per feature of ``FEATURES``.
        means: The features' means over the training rows.
        scales: Their standard deviations (a constant feature's is 1).
        trained_on: What the weights were learnt from, for the record.
    """

    weights: tuple[float, ...]
    means: tuple[float, ...]
    scales: tuple[float, ...]
    trained_on: str = ""

    def __post_init__(self) -> None:
        sizes = {len(self.weights), len(self.means), len(self.scales)}
        if sizes != {len(FEATURES)}:
            raise ConfigurationError(
                f"a learned ranker needs {len(FEATURES)} weights, means and scales, got "
                f"{len(self.weights)}, {len(self.means)} and {len(self.scales)}"
            )
        values = (*self.weights, *self.means, *self.scales)
        if not all(math.isfinite(v) for v in values) or min(self.scales) <= 0:
            raise ConfigurationError("a learned ranker's numbers must be finite, scales positive")

    @classmethod
    def load(cls, path: Path | None = None) -> LearnedRanker:
        source = path or DEFAULT_MODEL_PATH
        try:
            data = json.loads(source.read_text(encoding="utf-8"))
            if data["features"] != list(FEATURES):
                raise ConfigurationError(
                    f"learned ranker {source} was learnt on other features: retrain it "
                    "(python -m answer_service.train_ranker)"
                )
            return cls(
                weights=tuple(float(w) for w in data["weights"]),
                means=tuple(float(m) for m in data["means"]),
                scales=tuple(float(s) for s in data["scales"]),
                trained_on=str(data.get("trained_on", "")),
            )
        except FileNotFoundError as exc:
            raise ConfigurationError(f"learned ranker {source} does not exist") from exc
        except (ValueError, KeyError, TypeError) as exc:
            raise ConfigurationError(f"learned ranker {source} is not valid: {exc}") from exc

    def save(self, path: Path) -> None:
        data = {
            "description": "Weights of search.learned_rank.LearnedRanker; written by "
            "python -m answer_service.train_ranker.",
            "trained_on": self.trained_on,
            "features": list(FEATURES),
            "weights": [round(w, 6) for w in self.weights],
            "means": [round(m, 6) for m in self.means],
            "scales": [round(s, 6) for s in self.scales],
        }
        path.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")

    def scores(self, rows: Sequence[Sequence[float]]) -> list[float]:
        # w · (x - m) / s, with the constant part summed once.
        per_unit = [w / s for w, s in zip(self.weights, self.scales, strict=True)]
        offset = sum(u * m for u, m in zip(per_unit, self.means, strict=True))
        return [sum(u * x for u, x in zip(per_unit, row, strict=True)) - offset for row in rows]

    def rerank(self, hits: list[DocumentHit], query_text: str, *, depth: int) -> list[DocumentHit]:
        """The first ``depth`` hits ordered by the learnt score (ties keep their order), each
        with that score under ``list_scores[LEARNED_SCORE]``; the rest after them as they were.

        The places keep their scores and the hits move between them, so scores still fall from
        the first hit to the last, on the scale the answer service reads (how close the next
        procedures come to the first, ``answer_service.service.close_alternatives``).
        """
        if depth < 1:
            raise ValueError(f"depth must be at least 1, got {depth}")
        head, tail = hits[:depth], hits[depth:]
        if len(head) < 2:
            return hits
        scores = self.scores(features(head, query_text))
        order = sorted(range(len(head)), key=lambda i: (-scores[i], i))
        places = sorted((hit.score for hit in head), reverse=True)
        return [
            head[i].model_copy(
                update={
                    "score": place,
                    "list_scores": {**head[i].list_scores, LEARNED_SCORE: scores[i]},
                }
            )
            for i, place in zip(order, places, strict=True)
        ] + tail


def fit_pairwise(
    questions: Sequence[tuple[Sequence[Sequence[float]], Sequence[bool]]],
    *,
    l2: float = 1e-3,
    epochs: int = 300,
    learning_rate: float = 0.5,
    trained_on: str = "",
) -> LearnedRanker:
    """Learn weights from questions given as (feature rows of the head, which rows are right).

    Each question whose head holds a right and a wrong hit gives one pair per wrong hit: the
    first right row less the wrong row. Full-batch gradient descent from zero on the mean
    logistic loss of the pairs, with an L2 penalty: the same data gives the same weights.
    """
    import numpy as np

    if not questions:
        raise ValueError("no questions to learn from")
    every = np.array([row for rows, _ in questions for row in rows], dtype=float)
    if every.ndim != 2 or every.shape[1] != len(FEATURES):
        raise ValueError(f"feature rows must have {len(FEATURES)} columns")
    means = every.mean(axis=0)
    scales = every.std(axis=0)
    scales[scales < 1e-9] = 1.0
    pairs = []
    for rows, right in questions:
        z = (np.array(rows, dtype=float) - means) / scales
        marks = np.array(right, dtype=bool)
        if marks.any() and not marks.all():
            pairs.append(z[np.argmax(marks)] - z[~marks])
    if not pairs:
        raise ValueError("no question has both a right and a wrong hit in its head")
    diffs = np.vstack(pairs)
    weights = np.zeros(len(FEATURES))
    for _ in range(epochs):
        margins = diffs @ weights
        gradient = -(diffs * (1.0 / (1.0 + np.exp(margins)))[:, None]).mean(axis=0)
        weights -= learning_rate * (gradient + l2 * weights)
    return LearnedRanker(
        weights=tuple(float(w) for w in weights),
        means=tuple(float(m) for m in means),
        scales=tuple(float(s) for s in scales),
        trained_on=trained_on,
    )
