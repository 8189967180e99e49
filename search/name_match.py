"""A fused list of its own: the head of the fusion ranked by how much of each name the query says.

Sibling procedures share most of their name ("Cấp giấy phép lái xe", "Cấp lại giấy phép lái
xe", "Đổi giấy phép lái xe hoặc bằng lái xe của người nước ngoài"), so the retrieval lists
rank them close together and often in the wrong order. What sets one sibling apart is the words
its name adds: a citizen who says none of them means the plain procedure, one who says them
means that sibling. The measure is the share of the name's word pairs that the query (or one of
its dictionary expansions) also contains:

- pairs of adjacent syllables, accent-folded, so that text typed without diacritics scores the
  same as text with them, whatever the diacritic restorer guessed;
- pairs, not syllables: most Vietnamese words have two syllables, so a pair stands for a word,
  and the catalogue's generic syllables ("cấp", "giấy") only count inside their words;
- pairs never cross punctuation, so the one-syllable alternatives of an enumeration
  ("nhận cha, mẹ, con") cost nothing.

Coverage cannot tell "Cấp lại X" from "Cấp mới X" when the question says "cấp X": each adds
one word the question lacks. The words that mark a variant (``search.text.variants``) settle it:
each marker of a name that the question does not say, even implied, costs ``unsaid`` of its
share, and each marker the question surely says that a sibling in the head has and this name
lacks costs ``missing``. A procedure for organisations only costs ``organisation_only`` when
the question speaks for no organisation, and one for foreigners only ``foreigners_only`` when
it speaks of no foreigner or life abroad (``search.text.subjects``). A name for a range of
ages costs ``age_outside`` when every age the question states falls outside it
(``search.text.ages``). What a name excepts ("(trừ xe mô tô, xe gắn máy)") is no part of its
coverage, and costs ``excepted`` when the question says it.

The first ``depth`` fused hits are ranked by that score (ties keep the fused order) and the rank
is added to each hit's score as reciprocal rank fusion adds any list: ``weight / (rrf_k + rank +
1)``, with ``fit_weight`` for each point of its fit. A query that covers no name and marks
nothing gives every hit the bonus of its own fused position, so the order is unchanged; a hit
moves up only past hits that score less.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING

from search.text.ages import age_range
from search.text.ages import outside as outside_ages
from search.text.lexical import PHRASE_BREAK, SYLLABLE
from search.text.subjects import for_foreigners_only, for_organisations_only
from search.text.vietnamese import clean_text, fold_accents

if TYPE_CHECKING:
    from search.retrieval import DocumentHit
    from search.text.variants import VariantMarkers

NAME_MATCH_LIST = "name_match"
VARIANT_PENALTY = "variant_penalty"  # what the variant markers took off the name's coverage
SUBJECT_PENALTY = "subject_penalty"  # what being for organisations or foreigners only took off
SITUATION_FIT = 1.0  # what a sibling gains in its family for stating the question's case
_ABROAD_MARKERS = frozenset({"yếu tố nước ngoài", "ở nước ngoài"})
# What a name excepts, "(trừ …)" or ", trừ …": never the "trừ" of "khấu trừ" or "miễn trừ".
_EXCLUSION = re.compile(
    r"\(\s*(?:trừ|không bao gồm)\s[^)]*\)|(?<=,)\s*(?:trừ|không bao gồm)\s[^,;()]*"
)
_EXCLUDING = re.compile(r"^\W*(?:trừ|không bao gồm)\s|\)")
_EXCLUSION_SAID = 2  # pairs of an exclusion a question must say to be about what it excepts
# Names come from a catalogue of a few thousand procedures; their pairs cost about 80 µs each.
_NAME_CACHE_SIZE = 16_384


def word_pairs(text: str) -> set[str]:
    """Accent-folded pairs of adjacent syllables, never across punctuation.

    ``word_pairs("Cấp lại hộ chiếu, thị thực")`` is ``{"cap lai", "lai ho", "ho chieu",
    "thi thuc"}``.
    """
    pairs: set[str] = set()
    for phrase in PHRASE_BREAK.split(clean_text(text)):
        sylls = [fold_accents(t).lower() for t in SYLLABLE.findall(phrase)]
        pairs.update(f"{a} {b}" for a, b in zip(sylls, sylls[1:], strict=False))
    return pairs


@lru_cache(maxsize=_NAME_CACHE_SIZE)
def _name_pairs(name: str) -> frozenset[str]:
    return frozenset(word_pairs(_EXCLUSION.sub(" ", name)))


@lru_cache(maxsize=_NAME_CACHE_SIZE)
def excluded_pairs(name: str) -> frozenset[str]:
    """The word pairs of what a name excludes: "xe mô tô, xe gắn máy" of "Cấp Giấy chứng nhận
    kiểm định … cho xe cơ giới (trừ xe mô tô, xe gắn máy)", without the word that excludes.

    They are no part of the name's coverage: a question about a motorbike does not say the
    name of the procedure that excepts motorbikes.
    """
    pairs: set[str] = set()
    for clause in _EXCLUSION.findall(name):
        words = _EXCLUDING.sub(" ", clause)
        pairs |= word_pairs(words)
    return frozenset(pairs)


def read_name(title: str, name: str, variants: VariantMarkers | None) -> None:
    """Work out once what the name match reads of a name (its word pairs, exclusions, ages,
    markers, base and stated cases), which its caches then hold: a query meets some thirty
    names, and reading one the first time costs about 0.2 ms. ``name`` is the title as
    ``rerank_by_name`` compares it (``name_of``); siblings are put back in order by the title."""
    _name_pairs(name)
    excluded_pairs(name)
    age_range(name)
    if variants is not None:
        for text in {title, name}:
            variants.of_name(text)
            variants.situations_of(text)


def name_coverage(name: str, query_pairs: set[str]) -> float:
    """The share of the name's word pairs found in the query's; 0.0 for a one-word name."""
    name_pairs = _name_pairs(name)
    if not name_pairs:
        return 0.0
    return len(name_pairs & query_pairs) / len(name_pairs)


def rerank_by_name(
    hits: list[DocumentHit],
    query_texts: Sequence[str],
    *,
    weight: float,
    depth: int,
    rrf_k: int,
    name_of: Callable[[str], str] | None = None,
    variants: VariantMarkers | None = None,
    unsaid: float = 1.0,
    missing: float = 0.5,
    siblings_by_variant: bool = False,
    organisation_only: float = 0.0,
    for_organisation: bool = False,
    foreigners_only: float = 0.0,
    of_abroad: bool = False,
    age_outside: float = 0.0,
    ages: Sequence[int] = (),
    excepted: float = 0.0,
    fit_weight: float = 0.0,
) -> list[DocumentHit]:
    """Fuse the name-coverage ranking of the first ``depth`` hits into their scores.

    Args:
        hits: Fused hits, best first. They are not changed; rescored copies are returned.
        query_texts: The query as typed and its dictionary expansions.
        weight: The list's fusion weight; 0 returns ``hits`` as they are.
        depth: How many of the first hits are ranked by their name.
        rrf_k: The fusion constant of the other lists.
        name_of: The name to compare, from a hit's title; the title itself by default. The
            retriever spells out the title's abbreviations ("chế độ TNLĐ" is compared as
            "chế độ tai nạn lao động"), as the index does.
        variants: The variant markers; None ranks by coverage alone.
        unsaid: What each marker of a name that the query does not say takes off its share.
        missing: What each marker the query says, and a sibling has, takes off a name without it.
        siblings_by_variant: After the fusion, siblings in the head (names with the same base,
            ``VariantMarkers.of_name(...).base``) whose markers the query weighs differently,
            or of which some state the case the query states ("trong trường hợp … bị mất",
            ``VariantMarkers.situations_of``), trade places so that the one that fits best
            takes the best place any of them has; other procedures keep theirs.
        organisation_only: What a procedure whose subjects are all organisations, or officials
            acting for one, takes off its share when the query does not speak for a body.
        for_organisation: Whether it does (``search.text.subjects.speaks_for_organisation``).
        foreigners_only: What a procedure whose subjects are all foreigners, or people and
            bodies abroad, takes off its share when the query does not speak of them.
        of_abroad: Whether it does (``search.text.subjects.speaks_of_abroad``); a question
            that says a foreign-element marker (``variants``, "Hàn Quốc", "Việt kiều") does.
        age_outside: What a procedure whose name is for a range of ages ("dưới 14 tuổi")
            takes off its share when every age the query states falls outside it.
        ages: The ages the query states (``search.text.ages.ages_in``).
        excepted: What a name takes off its share when the query says what the name excepts
            ("(trừ xe mô tô, xe gắn máy)", ``excluded_pairs``), at least two of its word pairs.
        fit_weight: What each point of fit (coverage less penalties, at least -1) adds to a
            hit's score besides its rank: a rank tells a name said whole ("Đăng ký thành lập
            công ty TNHH hai thành viên trở lên", fit 1.0) from one barely said (fit -0.4) no
            more than from the next best, and the lists' lead of the wrong one often outweighs
            a rank.

    Returns:
        The hits, best first: the first ``depth`` rescored and reordered, the rest after them.
    """
    weights = (weight, unsaid, missing, organisation_only, foreigners_only, age_outside, excepted)
    if min(*weights, fit_weight) < 0:
        raise ValueError(
            f"weights must not be negative, got weight={weight}, unsaid={unsaid}, "
            f"missing={missing}, organisation_only={organisation_only}, "
            f"foreigners_only={foreigners_only}, age_outside={age_outside}, excepted={excepted}, "
            f"fit_weight={fit_weight}"
        )
    if depth < 1:
        raise ValueError(f"depth must be at least 1, got {depth}")
    if weight == 0 or len(hits) < 2:
        return hits
    query_pairs: set[str] = set()
    for text in query_texts:
        query_pairs |= word_pairs(text)
    head, tail = hits[:depth], hits[depth:]
    names = [name_of(hit.title) if name_of else hit.title for hit in head]
    coverage = [name_coverage(name, query_pairs) for name in names]
    penalty = [0.0] * len(head)
    if variants is not None:
        said = variants.in_query(list(query_texts))
        among = frozenset().union(*(variants.of_name(name).markers for name in names))
        for i, name in enumerate(names):
            not_said, lacking = variants.penalty(name, said, among)
            penalty[i] = unsaid * not_said + missing * lacking
    if variants is not None and said.maybe & _ABROAD_MARKERS:
        of_abroad = True
    subject = [0.0] * len(head)
    for i, hit in enumerate(head):
        if hit.doc_kind != "procedure":
            continue
        if not for_organisation and for_organisations_only(hit.subjects):
            subject[i] += organisation_only
        if not of_abroad and for_foreigners_only(hit.subjects):
            subject[i] += foreigners_only
        if ages and outside_ages(names[i], ages):
            subject[i] += age_outside
    if excepted:
        for i, name in enumerate(names):
            excluded = excluded_pairs(name)
            if len(excluded & query_pairs) >= min(_EXCLUSION_SAID, len(excluded)) > 0:
                penalty[i] += excepted
    fit = [c - p - o for c, p, o in zip(coverage, penalty, subject, strict=True)]
    by_name = sorted(range(len(head)), key=lambda i: (-fit[i], i))
    name_rank = {i: rank for rank, i in enumerate(by_name)}
    rescored = [
        hit.model_copy(
            update={
                "score": hit.score
                + weight / (rrf_k + name_rank[i] + 1)
                + fit_weight * max(fit[i], -1.0),
                "list_scores": {
                    **hit.list_scores,
                    NAME_MATCH_LIST: fit[i],
                    VARIANT_PENALTY: penalty[i],
                    SUBJECT_PENALTY: subject[i],
                },
            }
        )
        for i, hit in enumerate(head)
    ]
    rescored.sort(key=lambda h: -h.score)  # stable: equal scores keep the fused order
    if siblings_by_variant and variants is not None:
        rescored = _siblings_by_fit(rescored, variants, said.situations)
    return rescored + tail


def order_siblings(
    hits: list[DocumentHit], query_texts: Sequence[str], variants: VariantMarkers
) -> list[DocumentHit]:
    """Put back in order the siblings a later stage moved past what the question says of them.

    The learnt ranker orders the head by one weighted sum, in which the variant penalty is a
    feature among 25: over the dev and tuning questions it put "Thủ tục đăng ký khai sinh"
    back ahead of "… có yếu tố nước ngoài" for a mother whose husband is Korean, after the
    name match had put the variant first. The ranker decides between procedures, and between
    siblings the question weighs alike; a sibling takes the place of another of its family
    only for a smaller penalty (variant markers, subjects) or for stating the question's case
    (``SITUATION_FIT``). Ordering the family by the whole name fit, as the name match does,
    gave the same MRR@10 on the tuning sets (0.822 against 0.822 with this rule, none 0.820)
    but lost more questions from the first five (hit@5 0.962 against 0.964, none 0.964):
    it let names that merely cover more words overrule the ranker. Only hits the name match
    scored take part.

    Args:
        hits: Hits after the later stage, best first; not changed.
        query_texts: The texts the name match read.
        variants: The variant markers the name match used.
    """
    situations = variants.in_query(list(query_texts)).situations

    def cost(hit: DocumentHit) -> float:
        penalty = hit.list_scores[VARIANT_PENALTY] + hit.list_scores[SUBJECT_PENALTY]
        return penalty - SITUATION_FIT * _states_case(hit, variants, situations)

    return _reorder_families(hits, variants, cost)


def _siblings_by_fit(
    hits: list[DocumentHit], variants: VariantMarkers, situations: frozenset[str]
) -> list[DocumentHit]:
    """Within each family of siblings whose penalties differ, or of which some state a case
    the question states (``situations``) and others do not, order by name fit, a stated case
    counting ``SITUATION_FIT``."""

    def decides(family: list[DocumentHit]) -> bool:
        penalties = {
            h.list_scores[VARIANT_PENALTY] + h.list_scores[SUBJECT_PENALTY] for h in family
        }
        cases = {_states_case(h, variants, situations) for h in family}
        return len(penalties) > 1 or len(cases) > 1

    def cost(hit: DocumentHit) -> float:
        fit = hit.list_scores[NAME_MATCH_LIST]
        return -fit - SITUATION_FIT * _states_case(hit, variants, situations)

    return _reorder_families(hits, variants, cost, decides)


def _states_case(hit: DocumentHit, variants: VariantMarkers, situations: frozenset[str]) -> bool:
    """Whether the name states a case the question states ("trong trường hợp … bị mất")."""
    return bool(variants.situations_of(hit.title) & situations)


def _reorder_families(
    hits: list[DocumentHit],
    variants: VariantMarkers,
    cost: Callable[[DocumentHit], float],
    decides: Callable[[list[DocumentHit]], bool] | None = None,
) -> list[DocumentHit]:
    """Each family of siblings (one base name) ordered by ``cost``, lowest first, ties in the
    order they came; a family ``decides`` turns down keeps its order. Hits without a name fit
    (beyond the name match's depth) are in no family.

    The family's members keep the set of places they hold, with the scores of those places;
    who holds which changes, so that the scores still fall from the first hit to the last.
    """
    families: dict[tuple[str, ...], list[int]] = {}
    for place, hit in enumerate(hits):
        if NAME_MATCH_LIST not in hit.list_scores:
            continue
        base = variants.of_name(hit.title).base
        if base:
            families.setdefault(base, []).append(place)
    ordered = list(hits)
    for places in families.values():
        if len(places) < 2:
            continue
        if decides is not None and not decides([hits[p] for p in places]):
            continue
        costs = {p: cost(hits[p]) for p in places}
        best_first = sorted(places, key=lambda p: (costs[p], p))
        for place, member in zip(places, best_first, strict=True):
            ordered[place] = hits[member].model_copy(update={"score": hits[place].score})
    return ordered
