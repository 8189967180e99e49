"""Text helpers shared by the channels: safe cutting and the replies' wording.

Providers cap a message (Zalo and Messenger at 2,000 characters) and citizens paste whole letters.
Cutting by code point can still leave a base letter without its combining tone mark, or split a
surrogate pair that a UTF-16 provider counts as two; ``cut_text`` normalizes to NFC first and
never ends on a combining mark, so the cut text is always well-formed and readable.
"""

from __future__ import annotations

import unicodedata

from answer_service.schemas import AnswerOut

ELLIPSIS = "…"
HANDOVER_TEXT = (
    "Câu hỏi của Quý khách đã được chuyển đến tổng đài viên (phiếu số {number}). "
    "Tổng đài viên sẽ trả lời Quý khách sớm nhất."
)
OPERATOR_FOLLOWUP_TEXT = (
    "Tổng đài viên đang xử lý yêu cầu của Quý khách (phiếu số {number}); nội dung mới đã được "
    "bổ sung vào phiếu."
)
NO_QUESTION_TEXT = (
    "Tổng đài 1022 chưa nhận được câu hỏi. Quý khách vui lòng nhắn nội dung cần hỏi bằng chữ, "
    "hoặc mã thủ tục."
)
FOLLOW_TEXT = (
    "Cảm ơn Quý khách đã quan tâm Tổng đài 1022. Quý khách có thể hỏi về thủ tục hành chính, "
    "dịch vụ công hoặc gửi phản ánh tại đây."
)


def cut_text(text: str, limit: int, *, marker: str = ELLIPSIS) -> str:
    """``text`` in NFC, cut to at most ``limit`` characters (marker included) when longer.

    The cut prefers the last space in the final fifth of the allowed length and never leaves a
    combining mark or half of a surrogate pair at the end.
    """
    text = unicodedata.normalize("NFC", text)
    if len(text) <= limit:
        return text
    room = max(0, limit - len(marker))
    end = room
    space = text.rfind(" ", int(room * 0.8), room + 1)
    if space > 0:
        end = space
    while end > 0 and (unicodedata.combining(text[end]) or "\udc00" <= text[end] <= "\udfff"):
        end -= 1
    return text[:end].rstrip() + marker


def cut_utf8(text: str, max_bytes: int) -> str:
    """The longest prefix of ``text`` whose UTF-8 encoding fits ``max_bytes``, whole characters."""
    encoded = text.encode("utf-8")
    if len(encoded) <= max_bytes:
        return text
    return encoded[:max_bytes].decode("utf-8", errors="ignore")


def procedure_link(base_url: str, code: str) -> str:
    return f"{base_url}{code}"


def answer_with_citations(answer: AnswerOut, *, link_base: str, limit: int) -> str:
    """The answer text with its sources: each cited procedure once, with a link."""
    sources: list[str] = []
    seen: set[str] = set()
    for citation in answer.citations:
        if citation.code in seen:
            continue
        seen.add(citation.code)
        url = citation.source_url or procedure_link(link_base, citation.code)
        sources.append(f"- {citation.title} (mã {citation.code}): {url}")
    footer = ("\n\nNguồn:\n" + "\n".join(sources)) if sources else ""
    body = cut_text(answer.text, max(100, limit - len(footer)))
    return body + footer
