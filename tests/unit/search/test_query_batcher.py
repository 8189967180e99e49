"""QueryBatcher: concurrent queries share one call of the model, and each gets its own vector."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor

import pytest

from search.embedders import QueryBatcher
from search.errors import EmbeddingUnavailable


class SlowCountingEmbedder:
    """Vectors that name their text; each call waits until released, so queries pile up."""

    dimension = 2

    def __init__(self) -> None:
        self.calls: list[tuple[list[str], bool]] = []
        self.release = threading.Event()

    def warm_up(self) -> None:
        pass

    def embed(self, texts: list[str], *, is_query: bool) -> list[list[float]]:
        self.calls.append((list(texts), is_query))
        self.release.wait(timeout=5)
        return [[float(len(t)), 1.0 if is_query else 0.0] for t in texts]


class FailingEmbedder(SlowCountingEmbedder):
    def embed(self, texts: list[str], *, is_query: bool) -> list[list[float]]:
        raise RuntimeError("engine failed")


def test_a_lone_query_is_embedded_at_once() -> None:
    inner = SlowCountingEmbedder()
    inner.release.set()
    batcher = QueryBatcher(inner)
    assert batcher.embed(["abc"], is_query=True) == [[3.0, 1.0]]
    assert inner.calls == [(["abc"], True)]
    batcher.close()


def test_waiting_queries_go_in_one_call_and_keep_their_own_vectors() -> None:
    inner = SlowCountingEmbedder()
    batcher = QueryBatcher(inner, max_batch=32)
    first = batcher.submit("x")  # occupies the model until released
    while not inner.calls:
        pass
    texts = ["a" * n for n in range(1, 11)]
    futures = [batcher.submit(t) for t in texts]
    inner.release.set()

    assert first.result(timeout=5) == [1.0, 1.0]
    assert [f.result(timeout=5)[0] for f in futures] == [float(len(t)) for t in texts]
    assert len(inner.calls) == 2
    assert inner.calls[1][0] == texts
    batcher.close()


def test_batches_respect_max_batch() -> None:
    inner = SlowCountingEmbedder()
    batcher = QueryBatcher(inner, max_batch=4)
    blocker = batcher.submit("x")
    while not inner.calls:
        pass
    futures = [batcher.submit(str(n)) for n in range(10)]
    inner.release.set()
    blocker.result(timeout=5)
    for future in futures:
        future.result(timeout=5)
    assert [len(texts) for texts, _ in inner.calls] == [1, 4, 4, 2]
    batcher.close()


def test_passages_bypass_the_batcher() -> None:
    inner = SlowCountingEmbedder()
    inner.release.set()
    batcher = QueryBatcher(inner)
    assert batcher.embed(["ab", "c"], is_query=False) == [[2.0, 0.0], [1.0, 0.0]]
    assert inner.calls == [(["ab", "c"], False)]


def test_a_failing_model_fails_every_waiting_query_and_the_batcher_goes_on() -> None:
    batcher = QueryBatcher(FailingEmbedder())
    with ThreadPoolExecutor(4) as pool:
        results = [pool.submit(batcher.embed, [str(n)], is_query=True) for n in range(4)]
        for result in results:
            with pytest.raises(RuntimeError, match="engine failed"):
                result.result(timeout=5)
    batcher.embedder = SlowCountingEmbedder()
    batcher.embedder.release.set()
    assert batcher.embed(["ok"], is_query=True) == [[2.0, 1.0]]
    batcher.close()


def test_max_batch_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_batch"):
        QueryBatcher(SlowCountingEmbedder(), max_batch=0)


class ThreadRecordingEmbedder(SlowCountingEmbedder):
    """Records the thread of every call into the model."""

    def __init__(self, *, fail_warm_up: bool = False) -> None:
        super().__init__()
        self.release.set()
        self.threads: list[str] = []
        self.fail_warm_up = fail_warm_up

    def warm_up(self) -> None:
        self.threads.append(threading.current_thread().name)
        if self.fail_warm_up:
            raise RuntimeError("model file missing")

    def embed(self, texts: list[str], *, is_query: bool) -> list[list[float]]:
        self.threads.append(threading.current_thread().name)
        return super().embed(texts, is_query=is_query)


def test_the_model_is_warmed_up_and_called_in_the_batcher_thread_only() -> None:
    inner = ThreadRecordingEmbedder()
    batcher = QueryBatcher(inner)
    batcher.warm_up()
    with ThreadPoolExecutor(4) as pool:
        for result in [pool.submit(batcher.embed, [str(n)], is_query=True) for n in range(8)]:
            result.result(timeout=5)
    assert inner.threads[0] == "query-batcher"
    assert set(inner.threads) == {"query-batcher"}
    assert threading.current_thread().name != "query-batcher"
    batcher.close()


def test_a_failed_warm_up_raises_in_the_caller_and_queries_still_run() -> None:
    inner = ThreadRecordingEmbedder(fail_warm_up=True)
    batcher = QueryBatcher(inner)
    with pytest.raises(RuntimeError, match="model file missing"):
        batcher.warm_up()
    inner.fail_warm_up = False
    assert batcher.embed(["ok"], is_query=True) == [[2.0, 1.0]]
    batcher.close()


@pytest.fixture
def long_switch_interval() -> Iterator[None]:
    """A thread that holds the GIL keeps it for a second unless it blocks or waits."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1.0)
    yield
    sys.setswitchinterval(before)


def hold_the_gil_for(seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


@pytest.mark.usefixtures("long_switch_interval")
def test_a_lone_query_is_with_the_model_before_submit_returns() -> None:
    inner = SlowCountingEmbedder()
    batcher = QueryBatcher(inner)
    batcher.warm_up()

    future = batcher.submit("abc")
    # The caller's own Python work would keep the batcher's thread from the model.
    hold_the_gil_for(0.05)

    assert inner.calls == [(["abc"], True)]
    inner.release.set()
    assert future.result(timeout=5) == [3.0, 1.0]
    batcher.close()


@pytest.mark.usefixtures("long_switch_interval")
def test_a_query_behind_pending_ones_does_not_wait_for_the_batcher(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Waiting for the busy batcher would last the whole (lengthened) wait.
    monkeypatch.setattr("search.embedders.HANDOVER_WAIT_S", 5.0)
    inner = SlowCountingEmbedder()
    batcher = QueryBatcher(inner)
    batcher.warm_up()
    first = batcher.submit("x")  # taken at once, and holds the model until released

    started = time.perf_counter()
    second = batcher.submit("ab")
    waited = time.perf_counter() - started

    assert waited < 1.0
    assert inner.calls == [(["x"], True)]
    inner.release.set()
    assert [first.result(timeout=5), second.result(timeout=5)] == [[1.0, 1.0], [2.0, 1.0]]
    assert inner.calls == [(["x"], True), (["ab"], True)]
    batcher.close()


class ExitingEmbedder(SlowCountingEmbedder):
    """Raises SystemExit from the model once, as a C extension's exit path might."""

    def __init__(self) -> None:
        super().__init__()
        self.release.set()
        self.exits_left = 1

    def embed(self, texts: list[str], *, is_query: bool) -> list[list[float]]:
        if self.exits_left:
            self.exits_left -= 1
            raise SystemExit(3)
        return super().embed(texts, is_query=is_query)


def test_system_exit_in_the_model_fails_its_batch_and_the_batcher_goes_on() -> None:
    batcher = QueryBatcher(ExitingEmbedder())
    with pytest.raises(EmbeddingUnavailable, match="stopped: SystemExit"):
        batcher.submit("abc").result(timeout=5)
    assert batcher.submit("ok").result(timeout=5) == [2.0, 1.0]
    batcher.close()


def test_queries_queued_before_close_are_embedded_and_later_ones_are_refused() -> None:
    inner = SlowCountingEmbedder()
    batcher = QueryBatcher(inner)
    first = batcher.submit("x")  # holds the model until released
    while not inner.calls:
        pass
    queued = batcher.submit("ab")
    closing = threading.Thread(target=batcher.close)
    closing.start()
    while not batcher._closed:
        pass
    with pytest.raises(EmbeddingUnavailable, match="closed"):
        batcher.submit("late")
    inner.release.set()
    closing.join(timeout=10)

    assert not closing.is_alive()
    assert [first.result(timeout=5), queued.result(timeout=5)] == [[1.0, 1.0], [2.0, 1.0]]
    assert inner.calls == [(["x"], True), (["ab"], True)]
    with pytest.raises(EmbeddingUnavailable, match="closed"):
        batcher.warm_up()


def test_close_fails_what_a_stuck_model_leaves_queued(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("search.embedders._CLOSE_WAIT_S", 0.1)
    inner = SlowCountingEmbedder()  # never released within the close's wait
    batcher = QueryBatcher(inner)
    first = batcher.submit("x")
    while not inner.calls:
        pass
    queued = batcher.submit("ab")

    batcher.close()

    with pytest.raises(EmbeddingUnavailable, match="was closed"):
        queued.result(timeout=1)
    inner.release.set()  # the call under way still ends with its vector
    assert first.result(timeout=5) == [1.0, 1.0]
    assert inner.calls == [(["x"], True)]


def test_concurrent_submits_during_close_each_get_a_vector_or_an_error() -> None:
    inner = SlowCountingEmbedder()
    inner.release.set()
    batcher = QueryBatcher(inner, max_batch=4)
    batcher.warm_up()
    futures: list[Future[list[float]]] = []
    refused = 0
    lock = threading.Lock()

    def client(n: int) -> None:
        nonlocal refused
        for i in range(50):
            try:
                future = batcher.submit("a" * (1 + (n + i) % 7))
            except EmbeddingUnavailable:
                with lock:
                    refused += 1
                return
            with lock:
                futures.append(future)

    with ThreadPoolExecutor(8) as pool:
        clients = [pool.submit(client, n) for n in range(8)]
        time.sleep(0.005)
        batcher.close()
        for c in clients:
            c.result(timeout=10)

    # Every query resolves: a vector if it was queued before the close, else the error.
    outcomes = {type(future.exception(timeout=5)).__name__ for future in futures}
    assert outcomes <= {"NoneType", "EmbeddingUnavailable"}
    assert len(futures) + refused >= 8
