"""Learn the weights of the head's ranker (``search.learned_rank``) from the labelled questions.

    python -m answer_service.train_ranker [--cross-validate] [--output PATH]

Every dev and tuning question about a procedure is searched as written and without diacritics,
with the learnt ranker off and the name match as deep as the ranker reads; the features of the
head and which hits are right are the training data. The eleventh, twelfth and thirteenth
tuning sets and the held-out questions are never read here: they measure the weights on questions
they were not learnt from.

``--cross-validate`` first learns once per set without it and prints that set's MRR@10 before
and after the ranker, as written and without diacritics: how the weights do on a set they have
not seen.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from answer_service.evaluation import (
    ELEVENTH_TUNING_QUESTIONS,
    THIRTEENTH_TUNING_QUESTIONS,
    TUNING_SETS,
    TWELFTH_TUNING_QUESTIONS,
    Question,
    load_dev_questions,
)
from search.engine import SearchEngine
from search.learned_rank import DEFAULT_MODEL_PATH, LearnedRanker, features, fit_pairwise
from search.text.vietnamese import fold_accents

# The eleventh, twelfth and thirteenth sets were written blind after the ranker was first
# learnt: they measure it.
BLIND_SETS = (ELEVENTH_TUNING_QUESTIONS, TWELFTH_TUNING_QUESTIONS, THIRTEENTH_TUNING_QUESTIONS)
TRAINING_SETS = tuple(path for path in TUNING_SETS if path not in BLIND_SETS)

Example = tuple[list[list[float]], list[bool]]  # the head's feature rows, which hits are right


def examples(engine: SearchEngine, questions: list[Question], depth: int) -> list[Example]:
    """The head of each question, as written and without diacritics, as the ranker sees it."""
    retriever = engine.retriever
    learned = retriever.weights
    retriever.weights = dataclasses.replace(learned, learned_depth=0, name_match_depth=depth)
    try:
        found = []
        for q in questions:
            if q.expected_route != "procedure" or not q.expected_codes:
                continue
            for text in (q.text, fold_accents(q.text)):
                result = retriever.retrieve(text, top_k=depth)
                hits = result.hits[:depth]
                right = [h.doc_kind == "procedure" and h.code in q.expected_codes for h in hits]
                found.append((features(hits, result.query.text), right))
        return found
    finally:
        retriever.weights = learned


def reciprocal_rank(scores: list[float], right: list[bool]) -> float:
    order = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
    rank = next((r for r, i in enumerate(order) if right[i]), None)
    return 0.0 if rank is None or rank >= 10 else 1.0 / (rank + 1)


def main(argv: list[str] | None = None) -> int:
    from ingestion.settings import default_shared_data, get_settings

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--eval-dir", type=Path, default=default_shared_data() / "eval")
    parser.add_argument("--output", type=Path, default=DEFAULT_MODEL_PATH)
    parser.add_argument("--cross-validate", action="store_true")
    args = parser.parse_args(argv)
    dev_path = args.eval_dir / "dev-questions.jsonl"
    if not dev_path.exists():
        print(f"no labelled questions at {dev_path}: pass --eval-dir", file=sys.stderr)
        return 2
    settings = get_settings()
    engine = SearchEngine.open(settings)
    depth = engine.retriever.weights.learned_depth or 30
    named = [("dev", dev_path), *((path.stem, path) for path in TRAINING_SETS)]
    by_set = {name: examples(engine, load_dev_questions(path), depth) for name, path in named}
    engine.close()

    def learn(names: list[str]) -> LearnedRanker:
        chosen = [(rows, right) for n in names for rows, right in by_set[n] if rows]
        return fit_pairwise(chosen, trained_on=", ".join(names))

    try:
        ranker = learn(list(by_set))
    except ValueError as exc:  # an empty index finds no right hit for any question
        print(f"nothing to learn from ({exc}): run `hotline sync` first", file=sys.stderr)
        return 2
    if args.cross_validate:
        print("set | MRR@10 before | after (each as written, then without diacritics)")
        for name, found in by_set.items():
            without = learn([n for n in by_set if n != name])
            written, folded = found[0::2], found[1::2]
            cells = []
            for half in (written, folded):
                # Before the ranker the head is in its given order: equal scores keep it.
                before = sum(reciprocal_rank([0.0] * len(r), r) for _, r in half)
                after = sum(reciprocal_rank(without.scores(rows), r) for rows, r in half if rows)
                cells.append(f"{before / len(half):.3f} → {after / len(half):.3f}")
            print(f"{name} | {' | '.join(cells)}")
    total = sum(len(found) // 2 for found in by_set.values())
    ranker = dataclasses.replace(
        ranker,
        trained_on=f"{total} questions ({ranker.trained_on}), each as written and without "
        f"diacritics, heads of {depth}",
    )
    ranker.save(args.output)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
