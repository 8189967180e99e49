"""The answer service's logic, independent of HTTP: search, suggestions, grounded answers."""

from __future__ import annotations

import logging
import math
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass

from answer_service.compose import compose_answer
from answer_service.facts import KeyFacts
from answer_service.filters import FacetResolver
from answer_service.llm import LlmRephraser
from answer_service.procedures import CachedProcedure, ProcedureCache
from answer_service.routing import Route, RouteDecision, classify_route
from answer_service.schemas import (
    AnswerOption,
    AnswerOut,
    ChunkOut,
    CuratedOut,
    FacetCount,
    FacetsOut,
    FiltersIn,
    HitOut,
    ProcedureSuggestion,
    QueryInfo,
    SearchOut,
    SuggestIn,
    SuggestOut,
)
from ingestion.catalog import Catalog
from ingestion.models import Procedure
from ingestion.render import is_doubtful_fee
from search.engine import SearchEngine
from search.errors import ErrorCode, SearchError
from search.index import IndexFilter
from search.learned_rank import LEARNED_SCORE
from search.query import national_code
from search.retrieval import DocumentHit, RetrievalResult
from search.text.lexical import QUERY_STOP_FOLDED
from search.text.vietnamese import fold_accents, syllables

logger = logging.getLogger(__name__)

ROUTE_GUIDANCE = {
    Route.EMERGENCY_113: (
        "Đây là tình huống khẩn cấp về an ninh, trật tự. Quý khách vui lòng gọi ngay 113 "
        "(Cảnh sát phản ứng nhanh)."
    ),
    Route.EMERGENCY_114: (
        "Đây là tình huống khẩn cấp về cháy, nổ, cứu nạn, cứu hộ. Quý khách vui lòng gọi ngay 114."
    ),
    Route.EMERGENCY_115: "Đây là tình huống cấp cứu y tế. Quý khách vui lòng gọi ngay 115.",
    Route.COMPLAINT: (
        "Khiếu nại, tố cáo được gửi bằng đơn đến cơ quan, người có thẩm quyền giải quyết (thủ "
        "trưởng cơ quan đã ra quyết định hoặc cấp trên trực tiếp), hoặc qua Ban Tiếp công dân. "
        "Tổng đài ghi nhận nội dung và hướng dẫn Quý khách gửi đến đúng nơi."
    ),
    Route.INCIDENT_REPORT: (
        "Tổng đài 1022 đã ghi nhận phản ánh và chuyển đến cơ quan phụ trách để xử lý. "
        "Quý khách sẽ được thông báo kết quả."
    ),
    Route.OUT_OF_DOMAIN: (
        "Tổng đài 1022 hỗ trợ thông tin về thủ tục hành chính và dịch vụ công. Câu hỏi này nằm "
        "ngoài phạm vi hỗ trợ, mong Quý khách thông cảm."
    ),
}


# Cosine similarities of multilingual-e5-small are compressed: unrelated text still scores about
# 0.82, a matching procedure name about 0.90. Only the span between means anything.
_DENSE_FLOOR, _DENSE_SPAN = 0.84, 0.06


def support_of(result: RetrievalResult) -> float:
    """How well the first hit stands on its own, 0 to 1, whatever the others score.

    The chances of ``choice_probabilities`` say how far the first hit is ahead of the others,
    not whether any of them is what the citizen asks about: a question the catalogue does not
    hold ("thủ tục nuôi rồng lửa") can still single one out, most of all in a small catalogue.
    This combines what independent signals agree on: whether every fused list ranks the
    document first (or in its first three), how many of the query's content words the
    document's matched text contains, and the dense similarity above the level that unrelated
    text reaches. A query of one content word or fewer is halved: it says too little to answer
    without an operator.
    """
    if not result.hits:
        return 0.0
    top = result.hits[0]
    if top.exact_code_match:
        return 1.0
    lists = max(1, len(result.lists))
    first = sum(1 for rank in top.ranks.values() if rank == 0) / lists
    top3 = sum(1 for rank in top.ranks.values() if rank < 3) / lists
    folded = (fold_accents(word) for word in syllables(result.query.restored))
    content = [token for token in folded if token not in QUERY_STOP_FOLDED]
    matched = fold_accents(" ".join([top.title, *(m.chunk.text for m in top.matched)])).lower()
    present = set(syllables(matched))
    coverage = sum(1 for t in content if t in present) / max(1, len(content))
    parts = [(0.35, first), (0.25, top3), (0.2, coverage)]
    if "dense_overview" in top.list_scores:
        dense = (top.list_scores["dense_overview"] - _DENSE_FLOOR) / _DENSE_SPAN
        parts.append((0.2, min(1.0, max(0.0, dense))))
    score = sum(w * v for w, v in parts) / sum(w for w, _ in parts)
    if len(content) <= 1:
        score *= 0.5
    return round(score, 3)


def choice_probabilities(procedure_hits: Sequence[DocumentHit]) -> list[float]:
    """How likely each hit is the procedure the question is about, if one of them is.

    The learnt ranker (``search.learned_rank``) was fitted so that the difference of two hits'
    scores is the log-odds that the first is right rather than the second; a softmax of its
    scores is then each hit's chance among those shown. Measured on the dev and tuning
    questions with weights learnt without each set, the first hit was right 93 % of the times
    its chance came out 0.9 or more, 85 % between 0.8 and 0.9, 50 % between 0.4 and 0.5.
    Hits the ranker did not score (it is off) are equally likely: nothing stands out.
    """
    scores = [hit.list_scores.get(LEARNED_SCORE) for hit in procedure_hits]
    if not scores:
        return []
    if any(score is None for score in scores):
        return [1.0 / len(scores)] * len(scores)
    known = [float(score) for score in scores if score is not None]
    top = max(known)
    weights = [math.exp(score - top) for score in known]
    total = sum(weights)
    return [weight / total for weight in weights]


def confidence_of(result: RetrievalResult) -> float:
    """The chance that the first procedure of ``result`` is the one the citizen means; 1 for a
    procedure named by its code."""
    procedure_hits = [hit for hit in result.hits if hit.doc_kind == "procedure"]
    if not procedure_hits:
        return 0.0
    if procedure_hits[0].exact_code_match:
        return 1.0
    return round(choice_probabilities(procedure_hits)[0], 3)


def _hit_out(hit: DocumentHit) -> HitOut:
    return HitOut(
        doc_id=hit.doc_id,
        doc_kind=hit.doc_kind,
        code=hit.code,
        title=hit.title,
        field=hit.field,
        levels=hit.levels,
        agency=hit.agency,
        subjects=hit.subjects,
        source_url=hit.source_url,
        score=round(hit.score, 5),
        exact_code_match=hit.exact_code_match,
        matched=[
            ChunkOut(section=m.chunk.section.value, text=m.chunk.text[:500], score=m.score)
            for m in hit.matched
        ],
    )


def _handover_reason(
    result: RetrievalResult,
    procedure_hits: list[DocumentHit],
) -> str:
    """Why a question goes to an operator instead of being answered; "" to answer it."""
    if not procedure_hits:
        return "no matching procedure"
    codes = result.query.codes
    if codes and not any(h.exact_code_match for h in procedure_hits):
        # The citizen named a code the catalogue does not hold: the best other match would
        # describe a procedure they did not ask about.
        return f"no procedure with code {', '.join(codes)}"
    best = procedure_hits[0]
    if not best.exact_code_match and best.doc_id not in _lexical_doc_ids(result):
        # Dense search ranks every procedure for any text, "bla bla" included, so a best hit
        # that shares no word with the question has nothing behind it; how high its fused
        # score comes out depends only on the fusion weights.
        return "no word of the question matches the best procedure"
    return ""


def doubtful_fees(procedure: Procedure) -> bool:
    """Whether a fee in đồng is below any real fee: the portal's "45 VNĐ" lost its thousands,
    and a citizen must not be told it as the answer."""
    return any(
        is_doubtful_fee(fee) for method in procedure.submission_methods for fee in method.fees
    )


def _lexical_doc_ids(result: RetrievalResult) -> set[str]:
    """Documents that a lexical list found ("lexical_all", "lexical_overview")."""
    return {
        doc_id
        for name, ranked in result.lists.items()
        if name.startswith("lexical")
        for doc_id in ranked
    }


# Asking the citizen to choose: at most this many procedures, from this many of the best.
MAX_OPTIONS = 3
# A direct answer also needs this much ``support_of`` the first hit; without it the question is
# asked which. Of the dev and tuning questions whose first hit had a chance of 0.95 or more, 87
# of the 358 that would be answered right had less support, and 8 of the 16 that would be
# answered wrong; of 12 questions about procedures no catalogue holds ("giấy phép nuôi rồng",
# "biển số cho chổi bay"), all 12.
MIN_SUPPORT = 0.75
HANDOVER_TEXT = "Câu hỏi của Quý khách đã được chuyển đến tổng đài viên để trả lời."
CLARIFY_TEXT = (
    "Câu hỏi của Quý khách có thể thuộc một trong các thủ tục sau:\n{options}\n"
    "Quý khách vui lòng nhắn lại mã của thủ tục đúng với trường hợp của mình (ví dụ: {example}) "
    "để nhận hướng dẫn chi tiết."
)
# "(thực hiện tại cấp tỉnh)", "(Cấp Bộ)": the same procedure at another level of government.
_LEVEL_SUFFIX = re.compile(
    r"\(\s*(?:thực hiện (?:tại|ở)\s+)?cấp\s+[^()]{1,20}\)\s*[.:]?\s*$", re.IGNORECASE
)


def _without_level(name: str) -> str:
    return fold_accents(_LEVEL_SUFFIX.sub("", name)).lower().strip(" .:")


@dataclass(frozen=True)
class Choice:
    """What to do with a question about procedures: answer with the one procedure in
    ``procedures``, ask the citizen which of several it is, or hand over when it is empty."""

    procedures: list[DocumentHit]
    chance: float  # of the one to answer with, or that one of those offered is right

    @property
    def answers(self) -> bool:
        return len(self.procedures) == 1


def choose(procedure_hits: Sequence[DocumentHit], *, answer_at: float, offer_at: float) -> Choice:
    """Answer with the first procedure when its chance (``choice_probabilities``) is at least
    ``answer_at``; else offer the fewest first ones, two at least and ``MAX_OPTIONS`` at most,
    whose chances add up to ``offer_at``; else nothing.

    The same procedure at another level ("… (thực hiện tại cấp tỉnh)") counts with the first
    of its name and is not offered beside other procedures. When that name alone reaches
    ``answer_at``, the question is about it but not about the level: its levels are offered.
    How the defaults were chosen, and what they do to the labelled questions: docs/ingestion.md,
    "When `/v1/answer` answers, asks which, or hands over".
    """
    chances = choice_probabilities(procedure_hits)
    if not chances:
        return Choice([], 0.0)
    if chances[0] >= answer_at:
        return Choice([procedure_hits[0]], chances[0])
    levels: dict[str, list[DocumentHit]] = {}
    mass: dict[str, float] = {}
    for hit, chance in zip(procedure_hits, chances, strict=True):
        name = _without_level(hit.title)
        levels.setdefault(name, []).append(hit)
        mass[name] = mass.get(name, 0.0) + chance
    names = list(levels)
    if mass[names[0]] >= answer_at:
        return Choice(levels[names[0]][:MAX_OPTIONS], mass[names[0]])
    offered, total = [], 0.0
    for name in names[:MAX_OPTIONS]:
        offered.append(levels[name][0])
        total += mass[name]
        if total >= offer_at and len(offered) > 1:
            return Choice(offered, total)
    return Choice([], total)


@dataclass
class AnswerService:
    engine: SearchEngine
    catalog: Catalog
    answer_at: float = 0.95
    offer_at: float = 0.9
    rephraser: LlmRephraser | None = None

    def __post_init__(self) -> None:
        self.procedures = ProcedureCache(self.catalog)
        self.facet_resolver = FacetResolver(lambda: self.engine.index.facet_counts())

    def facets(self) -> FacetsOut:
        """The values each facet field has in the index, with how many documents hold each."""
        values = self.facet_resolver.facets()
        return FacetsOut(
            **{
                name: [FacetCount(value=v, documents=n) for v, n in facet.counts.items()]
                for name, facet in values.items()
            }
        )

    def index_filter(self, filters: FiltersIn | None) -> IndexFilter | None:
        """The index filter for filters as typed (see ``answer_service.filters``).

        Raises:
            SearchError: a value stands for nothing the index holds, or for too many values.
        """
        if filters is None:
            return None
        resolve = self.facet_resolver.resolve
        return IndexFilter(
            field=resolve("field", filters.field),
            levels=resolve("levels", filters.levels),
            agency=resolve("agency", filters.agency),
            doc_kind=[kind.value for kind in filters.doc_kind],
        )

    def procedure(self, code: str) -> Procedure:
        return self._by_code(code).procedure

    def facts(self, code: str) -> KeyFacts:
        """The key facts of the procedure with this code."""
        return self._by_code(code).facts

    def _by_code(self, code: str) -> CachedProcedure:
        found = self.procedures.by_code(code.strip())
        if found is None:
            raise SearchError(f"no procedure with code {code!r}", error_code=ErrorCode.NOT_FOUND)
        return found

    def search(self, query: str, *, top_k: int, filters: FiltersIn | None) -> SearchOut:
        started = time.perf_counter()
        query_filter = self.index_filter(filters)
        result = self.engine.search(query, top_k=top_k, query_filter=query_filter)
        q = result.query
        return SearchOut(
            query=QueryInfo(
                text=q.text,
                restored=q.restored,
                unaccented=q.unaccented,
                expansions=q.expansions,
                codes=q.codes,
                unknown_codes=result.unknown_codes,
            ),
            hits=[_hit_out(h) for h in result.hits],
            filters=query_filter.conditions() if query_filter else {},
            took_ms=round((time.perf_counter() - started) * 1000, 2),
        )

    def suggest(self, request: SuggestIn) -> SuggestOut:
        started = time.perf_counter()
        citizen = [t.text for t in request.conversation if t.speaker == "citizen"]
        text = " ".join(citizen + [request.transcript]).strip()
        if not text:
            raise SearchError("conversation has no citizen words yet: send turns or a transcript")
        decision = classify_route(text[-1500:])
        latest = request.transcript.strip() or (citizen[-1] if citizen else "")
        if decision.route is Route.PROCEDURE and latest:
            # Earlier talk of a procedure must not hide an emergency the citizen reports now.
            now = classify_route(latest[-1500:])
            if now.route.is_emergency:
                decision = now
        if decision.route is not Route.PROCEDURE:
            return self._routed_suggestion(decision, started)
        result = self.engine.search(text, top_k=request.top_k + 3)
        procedures: list[ProcedureSuggestion] = []
        best: Procedure | None = None
        curated: list[CuratedOut] = []
        procedure_hits = [hit for hit in result.hits if hit.doc_kind == "procedure"]
        chances = dict(
            zip(
                (hit.doc_id for hit in procedure_hits),
                choice_probabilities(procedure_hits),
                strict=True,
            )
        )
        stored = self.procedures.by_doc_ids([hit.doc_id for hit in procedure_hits])
        for hit in result.hits:
            if hit.doc_kind == "procedure" and len(procedures) < request.top_k:
                found = stored.get(hit.doc_id)
                if found is not None:
                    best = best or found.procedure
                    procedures.append(
                        ProcedureSuggestion(
                            facts=found.facts,
                            score=round(hit.score, 5),
                            chance=round(chances[hit.doc_id], 3),
                        )
                    )
            elif hit.doc_kind == "curated_answer" and hit.matched:
                curated.append(
                    CuratedOut(
                        doc_id=hit.doc_id,
                        question=hit.title,
                        text=hit.matched[0].chunk.text[:800],
                        score=round(hit.score, 5),
                    )
                )
        # A code the catalogue lacks: what else was found is not the procedure named, unless
        # it is the national procedure of a provincial code ("1.000948" of "1.000948.H38").
        found = {hit.code for hit in procedure_hits}
        named_missing = any(
            not national_code(code) or national_code(code) not in found
            for code in result.unknown_codes
        )
        reply = "" if best is None or named_missing else compose_answer(best, text).short_text
        return SuggestOut(
            route=decision.route.value,
            route_reason=decision.reason,
            procedures=procedures,
            curated_answers=curated,
            suggested_reply=reply,
            unknown_codes=result.unknown_codes,
            confidence=confidence_of(result),
            took_ms=round((time.perf_counter() - started) * 1000, 2),
        )

    def _routed_suggestion(self, decision: RouteDecision, started: float) -> SuggestOut:
        guidance = ROUTE_GUIDANCE[decision.route]
        return SuggestOut(
            route=decision.route.value,
            route_reason=decision.reason,
            route_guidance=guidance,
            procedures=[],
            curated_answers=[],
            suggested_reply=guidance,
            confidence=1.0,
            took_ms=round((time.perf_counter() - started) * 1000, 2),
        )

    def answer(self, question: str) -> AnswerOut:
        started = time.perf_counter()
        decision = classify_route(question)

        def took() -> float:
            return round((time.perf_counter() - started) * 1000, 2)

        if decision.route is not Route.PROCEDURE:
            return AnswerOut(
                route=decision.route.value,
                answered=False,
                handover=decision.route in (Route.COMPLAINT, Route.INCIDENT_REPORT),
                handover_reason=decision.reason,
                text=ROUTE_GUIDANCE[decision.route],
                citations=[],
                confidence=1.0,
                generated_by="routing",
                took_ms=took(),
            )
        result = self.engine.search(question, top_k=5)
        confidence = confidence_of(result)
        procedure_hits = [h for h in result.hits if h.doc_kind == "procedure"]
        reason = _handover_reason(result, procedure_hits)
        named = [hit for hit in procedure_hits if hit.exact_code_match]
        if reason:
            choice = Choice([], 0.0)
        elif result.query.codes:
            # Codes name their procedures; several named at once are a choice to make.
            choice = Choice(named[:MAX_OPTIONS], 1.0)
        else:
            choice = choose(procedure_hits, answer_at=self.answer_at, offer_at=self.offer_at)
            if choice.answers and support_of(result) < MIN_SUPPORT:
                # Far ahead of the others, but not much like the question: ask, do not answer.
                choice = choose(procedure_hits, answer_at=math.inf, offer_at=self.offer_at)
            if not choice.procedures:
                reason = (
                    f"the likeliest procedures hold the one asked about with a chance of "
                    f"{choice.chance:.2f}, below {self.offer_at:.2f}"
                )
        procedure = self.procedure(choice.procedures[0].code) if choice.answers else None
        if procedure is not None and doubtful_fees(procedure):
            reason = "a fee in the source is under 1.000 đồng, likely mistyped: an operator checks"
        if reason:
            return AnswerOut(
                route=Route.PROCEDURE.value,
                answered=False,
                handover=True,
                handover_reason=reason,
                text=HANDOVER_TEXT,
                citations=[],
                confidence=confidence,
                generated_by="composer",
                took_ms=took(),
            )
        options = choice.procedures
        if len(options) > 1:
            # Not numbered: a reply is read without the question it answers, and "1" means
            # nothing there; a code means one procedure.
            listed = "\n".join(f"- {hit.title} (mã {hit.code})" for hit in options)
            return AnswerOut(
                route=Route.PROCEDURE.value,
                answered=False,
                handover=False,
                handover_reason="",
                text=CLARIFY_TEXT.format(options=listed, example=options[0].code),
                options=[
                    AnswerOption(code=hit.code, name=hit.title, source_url=hit.source_url)
                    for hit in options
                ],
                citations=[],
                confidence=confidence,
                generated_by="composer",
                took_ms=took(),
            )
        assert procedure is not None
        composed = compose_answer(procedure, question)
        if not composed.has_facts:
            asked = ", ".join(aspect.value for aspect in composed.aspects)
            return AnswerOut(
                route=Route.PROCEDURE.value,
                answered=False,
                handover=True,
                handover_reason=f"the procedure {procedure.code} has no data on what is asked "
                f"({asked})",
                text=HANDOVER_TEXT,
                citations=[],
                confidence=confidence,
                generated_by="composer",
                took_ms=took(),
            )
        text, generated_by = composed.text, "composer"
        if self.rephraser is not None:
            rephrased, _problems = self.rephraser.rephrase(
                question, composed.text, composed.cited_text
            )
            if rephrased:
                text, generated_by = rephrased, "llm"
        return AnswerOut(
            route=Route.PROCEDURE.value,
            answered=True,
            handover=False,
            text=text,
            citations=composed.citations,
            confidence=confidence,
            generated_by=generated_by,
            took_ms=took(),
        )
