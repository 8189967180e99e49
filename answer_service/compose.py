"""Grounded answers composed from structured procedure facts, with citations; no LLM needed.

The composer looks at what the citizen asks about (fee, time, documents, where, steps, online,
conditions) and answers that from the procedure's sections, citing each section it used. An
optional LLM may rephrase (``answer_service.llm``), but every number and document name it writes
must appear in the cited sections, or this composed answer is used instead.
"""

from __future__ import annotations

import re
from enum import Enum

from pydantic import BaseModel

from ingestion.models import Procedure, SubmissionChannel
from ingestion.render import CHANNEL_LABELS, render_component, render_fees, render_time
from search.models import Section
from search.text.vietnamese import clean_text, fold_accents


class Aspect(str, Enum):
    FEE = "fee"
    TIME = "time"
    DOCUMENTS = "documents"
    WHERE = "where"
    STEPS = "steps"
    ONLINE = "online"
    CONDITIONS = "conditions"
    RESULT = "result"


_ASPECT_CUES: dict[Aspect, tuple[str, ...]] = {
    Aspect.FEE: (
        "phi",
        "le phi",
        "bao nhieu tien",
        "mat tien",
        "ton tien",
        "chi phi",
        "het bao nhieu",
    ),
    Aspect.TIME: ("bao lau", "may ngay", "thoi han", "bao nhieu ngay", "khi nao co", "bao gio"),
    Aspect.DOCUMENTS: ("ho so", "giay to", "can nhung gi", "can gi", "mang theo", "chuan bi"),
    Aspect.WHERE: ("o dau", "noi nao", "co quan nao", "nop dau", "den dau", "cho nao", "lam o"),
    Aspect.STEPS: ("the nao", "nhu the nao", "ra sao", "cac buoc", "trinh tu", "lam sao", "cach"),
    Aspect.ONLINE: ("truc tuyen", "online", "qua mang", "tren mang", "vneid", "dich vu cong"),
    Aspect.CONDITIONS: ("dieu kien", "duoc khong", "co duoc", "ai duoc"),
    Aspect.RESULT: ("nhan duoc gi", "ket qua"),
}


# "nộp hồ sơ" is the act of submitting ("nộp hồ sơ ở đâu": where), not a question about which
# documents; it does not count as a cue for them.
_SUBMITTING = re.compile(r"(?<!\w)nop (?:ho so|giay to)(?!\w)")


# "... được không" ends many a question about something else ("làm online được không"): it
# asks about conditions only when nothing else is asked; otherwise, if the procedure says
# nothing of them, that is no news worth an answer's line.
_WEAK_CUES = {Aspect.CONDITIONS: ("duoc khong", "co duoc")}


def detect_aspects(question: str, *, weak: bool = True) -> list[Aspect]:
    """What the question asks about; all the usual facts when it names none.

    Args:
        question: As the citizen wrote it.
        weak: Also count the cues that often close a question about something else.
    """
    text = fold_accents(clean_text(question)).lower()
    without_submitting = _SUBMITTING.sub(" ", text)
    found = [
        aspect
        for aspect, cues in _ASPECT_CUES.items()
        if any(
            re.search(
                rf"(?<!\w){re.escape(c)}(?!\w)",
                without_submitting if aspect is Aspect.DOCUMENTS else text,
            )
            for c in cues
            if weak or c not in _WEAK_CUES.get(aspect, ())
        )
    ]
    return found or [Aspect.STEPS, Aspect.DOCUMENTS, Aspect.TIME, Aspect.FEE]


class Citation(BaseModel):
    code: str
    section: Section
    title: str
    source_url: str = ""


_ASPECT_LABELS: dict[Aspect, str] = {
    Aspect.FEE: "phí, lệ phí",
    Aspect.TIME: "thời hạn giải quyết",
    Aspect.DOCUMENTS: "thành phần hồ sơ",
    Aspect.WHERE: "nơi thực hiện",
    Aspect.STEPS: "trình tự thực hiện",
    Aspect.ONLINE: "hình thức nộp trực tuyến",
    Aspect.CONDITIONS: "điều kiện",
    Aspect.RESULT: "kết quả",
}


class ComposedAnswer(BaseModel):
    text: str
    short_text: str  # one or two sentences an operator can read aloud
    citations: list[Citation]
    aspects: list[Aspect]
    cited_text: str  # the text of every cited section, to verify an LLM answer against
    missing: list[Aspect] = []
    """What the question asks that the procedure's data does not hold. When it is every aspect
    asked, the answer says nothing the citizen wanted, and the service hands over instead."""

    @property
    def has_facts(self) -> bool:
        return len(self.missing) < len(self.aspects)


def _cite(procedure: Procedure, section: Section) -> Citation:
    return Citation(
        code=procedure.code, section=section, title=procedure.name, source_url=procedure.source_url
    )


def _methods_lines(procedure: Procedure, *, fees: bool, time: bool) -> list[str]:
    lines = []
    for method in procedure.submission_methods:
        parts = [CHANNEL_LABELS[method.channel]]
        if time and (t := render_time(method.processing_time)):
            parts.append(f"thời hạn giải quyết {t}")
        if fees:
            parts.append(f"phí, lệ phí: {render_fees(method.fees)}")
        lines.append("- " + ", ".join(parts))
    return lines


def compose_answer(
    procedure: Procedure, question: str, *, max_documents: int = 8
) -> ComposedAnswer:
    """Answer ``question`` from ``procedure``'s facts, citing the sections used."""
    aspects = detect_aspects(question)
    lines = [f"Thủ tục «{procedure.name}» (mã {procedure.code}):"]
    short: list[str] = []
    citations: list[Citation] = []
    cited: list[str] = [procedure.name, procedure.code]

    answered: set[Aspect] = set()

    def cite(section: Section, text: str, *covers: Aspect) -> None:
        citations.append(_cite(procedure, section))
        cited.append(text)
        answered.update(covers)

    if Aspect.FEE in aspects or Aspect.TIME in aspects:
        method_lines = _methods_lines(
            procedure, fees=Aspect.FEE in aspects, time=Aspect.TIME in aspects
        )
        if method_lines:
            lines.append("Cách thức thực hiện:")
            lines.extend(method_lines)
            methods = procedure.submission_methods
            covered = [
                aspect
                for aspect, known in (
                    (Aspect.FEE, any(m.fees for m in methods)),
                    (Aspect.TIME, any(render_time(m.processing_time) for m in methods)),
                )
                if known and aspect in aspects
            ]
            cite(Section.METHODS, "\n".join(method_lines), *covered)
            short.append(method_lines[0].lstrip("- "))
    if Aspect.ONLINE in aspects:
        online = any(m.channel is SubmissionChannel.ONLINE for m in procedure.submission_methods)
        sentence = (
            "Thủ tục này có thể nộp trực tuyến qua Cổng Dịch vụ công."
            if online
            else "Theo dữ liệu hiện có, thủ tục này chưa có hình thức nộp trực tuyến."
        )
        lines.append(sentence)
        short.append(sentence)
        cite(Section.METHODS, sentence, Aspect.ONLINE)
    if Aspect.DOCUMENTS in aspects and procedure.dossier:
        docs = [render_component(c) for c in procedure.dossier[:max_documents]]
        lines.append("Hồ sơ gồm:")
        lines.extend(f"- {d}" for d in docs)
        if len(procedure.dossier) > max_documents:
            lines.append(f"- … và {len(procedure.dossier) - max_documents} giấy tờ khác")
        cite(Section.DOSSIER, "\n".join(docs), Aspect.DOCUMENTS)
        short.append(f"Hồ sơ gồm {len(procedure.dossier)} loại giấy tờ, chính là: {docs[0]}")
    if Aspect.WHERE in aspects:
        where = procedure.receiving_address or procedure.implementing_agency
        where = where or procedure.competent_agency
        if where:
            lines.append(f"Nơi thực hiện: {where}.")
            short.append(f"Nơi thực hiện: {where}.")
            cite(Section.AGENCIES, where, Aspect.WHERE)
    if Aspect.CONDITIONS in aspects and procedure.conditions:
        text = procedure.conditions[:700]
        lines.append(f"Điều kiện: {text}")
        cite(Section.CONDITIONS, text, Aspect.CONDITIONS)
    if Aspect.STEPS in aspects and procedure.steps:
        steps = [s.text for s in procedure.steps[:6]]
        lines.append("Trình tự thực hiện:")
        lines.extend(f"- {s[:400]}" for s in steps)
        cite(Section.STEPS, "\n".join(steps), Aspect.STEPS)
    if Aspect.RESULT in aspects and procedure.results:
        lines.append(f"Kết quả: {'; '.join(procedure.results)}.")
        cite(Section.RESULT, "; ".join(procedure.results), Aspect.RESULT)
    # An aspect asked only by a weak cue is not missing when the question asks something else.
    strong = set(detect_aspects(question, weak=False)) if len(aspects) > 1 else set(aspects)
    missing = [a for a in aspects if a not in answered and a in strong]
    if missing:
        labels = ", ".join(_ASPECT_LABELS[a] for a in missing)
        lines.append(f"Dữ liệu của thủ tục chưa có thông tin về: {labels}.")
    if procedure.source_url:
        lines.append(f"Chi tiết: {procedure.source_url}")
    if not short:
        short.append(f"Đây là thủ tục «{procedure.name}».")
    return ComposedAnswer(
        text="\n".join(lines),
        short_text=" ".join(short[:2]),
        citations=citations or [_cite(procedure, Section.OVERVIEW)],
        aspects=aspects,
        cited_text="\n".join(cited),
        missing=missing,
    )
