"""Scope routing: what kind of contact a message is, before any procedure is searched.

Emergencies go to their number and are never answered with a procedure; complaints and
denunciations get the proper channel; reports of broken public infrastructure become tickets;
unrelated chat gets a polite out-of-scope reply; everything else is a procedure question.

The rules are cue phrases, weighted and summed per route, matched with diacritics when the
message has them and folded when it has none (citizens often type without). Chat spellings
("ko", "dc", "vs") are read as the words they stand for first. Emergencies need an urgency or
danger cue together with their kind, so "thủ tục hưởng chế độ tai nạn lao động" stays a
procedure question; an acute state ("đột quỵ", "co giật", "bất tỉnh", "đuối nước", "bị cướp
giật") is an emergency on its own. Someone there now ("có người bị tai nạn"), a vehicle asked
for ("gọi xe cấp cứu") and a cry ("cứu với") are urgency; so is the brevity of a message of a
few words that names a danger ("cấp cứu", "cướp!"). A cry that names no danger ("cứu tôi với")
goes to 113. Three kinds of counter-cue raise the bars differently:

- cues of a procedure raise every bar: "sổ đỏ bị cháy, làm lại thế nào" asks for a new
  certificate, and the cues of one emergency count together only up to a cap, so that a fire
  told in many words does not outweigh the question about what it destroyed;
- what happened a while ago ("năm ngoái", "hôm qua") raises the emergency bar, and the report
  and chat bars, not the complaint bar;
- question words ("làm sao", "ở đâu") raise the report and chat bars, and the emergency bar
  only in a folded message, whose cues are often everyday words ("sap" is "sập" and "sắp").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from answer_service.routing_cues import (
    ACCENTED_ONLY,
    CHAT_WORDS,
    CRIES,
    CUES,
    FILLERS,
    FOLDED_NOT_BEFORE,
    NOT_AFTER,
    NOT_BEFORE,
    PAST_CUES,
    PROCEDURE_CUES,
    QUESTION_CUES,
    URGENCY,
    Route,
)
from search.text.vietnamese import clean_text, fold_accents, has_diacritics, syllables

__all__ = ["Route", "RouteDecision", "classify_route"]


# Several cues of one emergency ("cháy", "hỏa hoạn", "bị cháy") describe one event; summed
# without a bound they would outweigh any question about the document the event destroyed.
EMERGENCY_KIND_CAP = 4.5
EMERGENCY_THRESHOLD = 3.0
COMPLAINT_THRESHOLD = 2.5
INCIDENT_THRESHOLD = 2.5
OUT_OF_DOMAIN_THRESHOLD = 2.5
# A message of a few words that names a danger ("cấp cứu", "cướp!") is the alarm itself; it
# counts as this much urgency when it asks nothing and names no procedure.
TERSE_AT_MOST = 3
TERSE_URGENCY = 1.0

# Each cue as (its words, its pattern, its weight). The pattern's lookarounds take no text, so
# a message holds a match only if it holds the words: a substring test spares the pattern.
Patterns = list[tuple[str, re.Pattern[str], float]]


def _compile(cues: dict[str, float], *, folded: bool) -> Patterns:
    def form(phrase: str) -> str:
        return fold_accents(phrase) if folded else phrase

    def guard(phrase: str) -> str:
        followers = NOT_BEFORE.get(phrase, ()) + (
            FOLDED_NOT_BEFORE.get(phrase, ()) if folded else ()
        )
        return "".join(rf"(?!\s+{re.escape(form(after))}(?!\w))" for after in followers)

    def unless_after(phrase: str) -> str:
        return "".join(rf"(?<!{re.escape(form(before))} )" for before in NOT_AFTER.get(phrase, ()))

    return [
        (
            form(p),
            re.compile(rf"{unless_after(p)}(?<!\w){re.escape(form(p))}(?!\w){guard(p)}"),
            w,
        )
        for p, w in cues.items()
        if not (folded and p in ACCENTED_ONLY)
    ]


# A message with diacritics is matched with them: folded, "chảy" (bleeding) would be "cháy"
# (fire), "nó" (he) "nổ" (explosion) and "ngày" (day) "ngay" (at once). Only a message typed
# without any is matched folded.
_COMPILED = {
    folded: (
        {route: _compile(cues, folded=folded) for route, cues in CUES.items()},
        _compile(URGENCY, folded=folded),
        _compile(CRIES, folded=folded),
        _compile(PROCEDURE_CUES, folded=folded),
        _compile(QUESTION_CUES, folded=folded),
        _compile(PAST_CUES, folded=folded),
    )
    for folded in (False, True)
}


def _score(patterns: Patterns, text: str) -> float:
    return sum(
        weight for words, pattern, weight in patterns if words in text and pattern.search(text)
    )


@dataclass(frozen=True)
class RouteDecision:
    route: Route
    scores: dict[str, float]
    reason: str


def _spell_out_chat(text: str) -> str:
    return re.sub(r"\w+", lambda m: CHAT_WORDS.get(m.group(0), m.group(0)), text)


# A message with diacritics on fewer of its syllables than this was mostly typed without them
# ("nhà tôi dang chay, cuu voi"): it is read folded, the way most of it was written.
MOSTLY_FOLDED_BELOW = 0.5


def classify_route(message: str) -> RouteDecision:
    """Decide the route of one message."""
    text = _spell_out_chat(clean_text(message).lower())
    words = syllables(text)
    marked = sum(1 for word in words if has_diacritics(word))
    if not marked:
        return _decide(fold_accents(text), folded=True)
    if marked < MOSTLY_FOLDED_BELOW * len(words):
        # Mixed: what was typed with diacritics may still say an emergency the folded reading
        # loses ("chảy" and "cháy" fold alike); an emergency in either reading is one.
        as_typed = _decide(text, folded=False)
        if as_typed.route.is_emergency:
            return as_typed
        return _decide(fold_accents(text), folded=True)
    return _decide(text, folded=False)


def _is_terse(text: str) -> bool:
    return sum(1 for word in syllables(text) if word not in FILLERS) <= TERSE_AT_MOST


def _decide(text: str, *, folded: bool) -> RouteDecision:
    routes, urgency_patterns, cry_patterns, procedure_patterns, question_patterns, past_patterns = (
        _COMPILED[folded]
    )
    scores = {route.value: _score(patterns, text) for route, patterns in routes.items()}
    cries = _score(cry_patterns, text)
    procedure = _score(procedure_patterns, text)
    question = _score(question_patterns, text)
    past = _score(past_patterns, text)
    urgency = _score(urgency_patterns, text) + cries
    if not procedure + question + past and _is_terse(text):
        urgency += TERSE_URGENCY
    scores.update(urgency=urgency, cries=cries, procedure=procedure, question=question, past=past)

    emergencies = [r for r in Route if r.is_emergency]
    best = max(emergencies, key=lambda r: scores[r.value])
    emergency = min(scores[best.value], EMERGENCY_KIND_CAP)
    # Folded, many cues are also everyday words ("sap" is "sập" and "sắp", "ngay" "ngay" and
    # "ngày"): there a question word counts against an emergency too.
    bar = EMERGENCY_THRESHOLD + procedure + past + (question if folded else 0.0)
    if emergency and emergency + urgency >= bar:
        return RouteDecision(best, scores, "emergency cues with urgency")
    # "Cứu tôi với" and nothing more: the sender may be unable to say more, and a danger to a
    # person (an attacker, a kidnapper, a violent relative) is the likeliest one left unnamed.
    # 113, the police, is the general number for such a danger; 114 and 115 need a fire or a
    # patient, which the message would most likely have named.
    if cries and not procedure + question and urgency >= bar:
        return RouteDecision(Route.EMERGENCY_113, scores, "cry for help naming no danger")
    if scores[Route.COMPLAINT.value] >= COMPLAINT_THRESHOLD + procedure * 0.5:
        return RouteDecision(Route.COMPLAINT, scores, "complaint or denunciation cues")
    everyday = procedure + question + past
    if scores[Route.INCIDENT_REPORT.value] >= INCIDENT_THRESHOLD + everyday:
        return RouteDecision(Route.INCIDENT_REPORT, scores, "infrastructure incident cues")
    if scores[Route.OUT_OF_DOMAIN.value] >= OUT_OF_DOMAIN_THRESHOLD + everyday:
        return RouteDecision(Route.OUT_OF_DOMAIN, scores, "unrelated topic")
    return RouteDecision(Route.PROCEDURE, scores, "default")
