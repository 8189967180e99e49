"""An optional reranking stage: a sentence-transformers cross-encoder, when one is configured.

The cross-encoder reads the query beside each candidate document's best-matching text and
scores the pair; the fused retrieval order is replaced by that score for the first
``top_n`` documents. No cross-encoder for Vietnamese ships offline, so the stage is off by
default and turned on with ``HOTLINE_RERANKER_MODEL`` (a model name or a local folder).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from haystack import component

from search.errors import ConfigurationError

if TYPE_CHECKING:
    from search.retrieval import DocumentHit

logger = logging.getLogger(__name__)


@component
class CrossEncoderReranker:
    """Rerank document hits with a cross-encoder.

    Usage example:

        reranker = CrossEncoderReranker(model="/models/my-cross-encoder", top_n=20)
        reranker.warm_up()
        hits = reranker.run(query="cấp lại hộ chiếu", hits=hits)["hits"]

    Args:
        model: A sentence-transformers cross-encoder name or local folder.
        top_n: How many of the first hits are rescored; the rest keep their order after them.
        device: Torch device name.
    """

    def __init__(self, *, model: str, top_n: int = 20, device: str = "cpu") -> None:
        if not model:
            raise ValueError("model must name a cross-encoder or a local folder")
        if top_n < 1:
            raise ValueError(f"top_n must be at least 1, got {top_n}")
        self.model = model
        self.top_n = top_n
        self.device = device
        self._model: Any = None

    def warm_up(self) -> None:
        if self._model is None:
            from sentence_transformers import CrossEncoder

            try:
                self._model = CrossEncoder(self.model, device=self.device)
            # OSError: missing path or unreachable hub; ValueError: a folder that holds no model
            # (no or unknown ``model_type``) or an invalid hub name (HFValidationError).
            except (OSError, ValueError) as exc:
                raise ConfigurationError(
                    f"cannot load cross-encoder {self.model!r}: {exc}"
                ) from exc

    @staticmethod
    def passage(hit: DocumentHit) -> str:
        best = hit.matched[0].chunk.text if hit.matched else ""
        return f"{hit.title}\n{best}"[:1500]

    def rerank(self, query: str, hits: list[DocumentHit]) -> list[DocumentHit]:
        if not hits:
            return hits
        self.warm_up()
        head, tail = hits[: self.top_n], hits[self.top_n :]
        scores = self._model.predict([(query, self.passage(h)) for h in head])
        rescored = [
            h.model_copy(update={"score": float(s)}) for h, s in zip(head, scores, strict=True)
        ]
        # Exact code matches were asked for by name; they stay first whatever the model says.
        rescored.sort(key=lambda h: (not h.exact_code_match, -h.score))
        return rescored + tail

    @component.output_types(hits=list[Any])
    def run(self, query: str, hits: list[DocumentHit]) -> dict[str, list[DocumentHit]]:
        return {"hits": self.rerank(query, hits)}
