"""Optional LLM rephrasing through an OpenAI-compatible endpoint, checked against its sources.

Enabled only when ``HOTLINE_LLM_BASE_URL`` and ``HOTLINE_LLM_MODEL`` are set (vLLM, Ollama and
the like speak this API). The model sees the composed answer and the cited sections and may only
rephrase; ``verify_grounded`` then rejects any answer with a number or a quoted document name
that the cited sections do not contain, and the composed answer is used instead.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from search.text.vietnamese import clean_text, fold_accents

logger = logging.getLogger(__name__)

_NUMBER = re.compile(r"\d[\d.,]*")
_QUOTED = re.compile(r"[«\"“]([^»\"”]{4,120})[»\"”]")

SYSTEM_PROMPT = (
    "Bạn là tổng đài viên Tổng đài 1022. Chỉ dùng thông tin trong phần NGUỒN. Viết lại câu trả "
    "lời ngắn gọn, lịch sự, bằng tiếng Việt có dấu. Không thêm số liệu, phí, thời hạn hay tên "
    "giấy tờ không có trong NGUỒN."
)


def _digits(token: str) -> str:
    return re.sub(r"\D", "", token)


def verify_grounded(answer: str, sources: str) -> list[str]:
    """Facts in ``answer`` that ``sources`` does not contain; empty when the answer is grounded.

    Numbers are compared by their digits ("10.000" = "10,000" = "10000"); quoted names by their
    accent-folded text.
    """
    source_digits = {_digits(n) for n in _NUMBER.findall(sources)}
    source_folded = fold_accents(clean_text(sources)).lower()
    problems = [
        f"number {n}"
        for n in _NUMBER.findall(answer)
        if _digits(n) and _digits(n) not in source_digits
    ]
    problems += [
        f"name «{q}»"
        for q in _QUOTED.findall(answer)
        if fold_accents(clean_text(q)).lower() not in source_folded
    ]
    return problems


class LlmRephraser:
    """Rephrase a composed answer with an LLM; None when the endpoint fails or is not grounded.

    Args:
        base_url: The OpenAI-compatible endpoint, e.g. ``http://127.0.0.1:8000/v1``.
        model: The model name the endpoint serves.
        api_key: Sent as a bearer token; local servers usually accept any.
        timeout_s: The longest an operator should wait for the rephrasing.
    """

    def __init__(self, *, base_url: str, model: str, api_key: str = "none", timeout_s: float = 8.0):
        self.base_url = base_url
        self.model = model
        self.api_key = api_key
        self.timeout_s = timeout_s
        self._generator: Any = None

    def warm_up(self) -> None:
        if self._generator is None:
            from haystack.components.generators.chat import OpenAIChatGenerator
            from haystack.utils import Secret

            self._generator = OpenAIChatGenerator(
                api_key=Secret.from_token(self.api_key),
                model=self.model,
                api_base_url=self.base_url,
                timeout=self.timeout_s,
                max_retries=0,
            )

    def rephrase(self, question: str, composed: str, sources: str) -> tuple[str | None, list[str]]:
        """The rephrased answer and the ungrounded facts found (the answer is None if any)."""
        from haystack.dataclasses import ChatMessage

        self.warm_up()
        messages = [
            ChatMessage.from_system(SYSTEM_PROMPT),
            ChatMessage.from_user(
                f"CÂU HỎI: {question}\n\nNGUỒN:\n{sources}\n\nCÂU TRẢ LỜI GỐC:\n{composed}"
            ),
        ]
        try:
            reply = self._generator.run(messages=messages)["replies"][0].text or ""
        except Exception as exc:  # any transport or API failure falls back to the composed answer
            logger.warning("LLM endpoint failed, using the composed answer: %s", exc)
            return None, [f"llm error: {type(exc).__name__}"]
        problems = verify_grounded(reply, sources)
        if problems:
            logger.warning("LLM answer not grounded (%s), using the composed answer", problems)
            return None, problems
        return reply, []
