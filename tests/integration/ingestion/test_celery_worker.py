"""The ingestion Celery tasks: in process with the embedded settings, and in a real worker.

``TestTaskWiring`` runs the tasks with ``task.apply`` in this process, on the embedded defaults
(SQLite broker and result backend in the data folder); it opens no socket. ``TestWorker`` starts
a real worker process (``celery -A ingestion.celery_app worker --pool=solo -Q ingestion``) on the
local Redis and sends it ``ingestion.sync_source`` as a client would. Redis must be running on
127.0.0.1:6379 (``make services`` starts it); these tests fail, not skip, when it is not.

The tasks read their settings through ``get_settings()``, which is cached for the process: the
fixtures set the environment first and clear the cache before and after.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from celery import Celery, current_app
from celery.exceptions import TimeoutError as ResultTimeoutError
from celery.schedules import crontab

from ingestion.catalog import Catalog
from ingestion.settings import get_settings
from ingestion.task_names import SYNC_EXPIRES_S, SYNC_SOFT_TIME_LIMIT_S, Queue, TaskName
from tests.utils.procedure_dump import PROCEDURES, standard_records, write_dump

REPO_ROOT = Path(__file__).resolve().parents[3]
REDIS_HOST = "127.0.0.1"
REDIS_PORT = 6379
# A database of its own, emptied before and after, so that no other test's messages reach the
# worker started here.
REDIS_DB = 13
REDIS_URL = f"redis://{REDIS_HOST}:{REDIS_PORT}/{REDIS_DB}"
WORKER_START_TIMEOUT_S = 60
TASK_TIMEOUT_S = 90
EXPECTED_DOCS = {f"procedure:{code}" for code, *_ in PROCEDURES}


def hotline_free_environ() -> dict[str, str]:
    """This process's environment without any HOTLINE_* setting."""
    return {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}


def catalog_of(data_dir: Path) -> Catalog:
    return Catalog(f"sqlite:///{data_dir.resolve() / 'catalog.sqlite'}")


# --------------------------------------------------------------------------------------------
# In process, embedded settings


@pytest.fixture
def embedded_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """HOTLINE_* set for an embedded knowledge base in ``tmp_path``; yields its data folder."""
    for name in list(os.environ):
        if name.startswith("HOTLINE_"):
            monkeypatch.delenv(name)
    data_dir = tmp_path / "data"
    dump = write_dump(tmp_path / "procedures.jsonl", standard_records())
    monkeypatch.setenv("HOTLINE_DATA_DIR", str(data_dir))
    monkeypatch.setenv("HOTLINE_EMBEDDER", "none")
    monkeypatch.setenv("HOTLINE_PROCEDURE_DUMP", str(dump))
    get_settings.cache_clear()
    previous_app = current_app._get_current_object()
    yield data_dir
    previous_app.set_current()
    get_settings.cache_clear()


def embedded_app() -> Celery:
    """A fresh ingestion app built from the current settings, its tasks registered."""
    from ingestion.celery_app import create_celery_app

    app = create_celery_app()
    app.loader.import_default_modules()
    return app


class TestTaskWiring:
    def test_init_app_uses_embedded_sqlite_broker(self, embedded_settings: Path) -> None:
        app = embedded_app()
        data_dir = embedded_settings.resolve()

        assert app.conf.broker_url == f"sqla+sqlite:///{data_dir / 'celery.sqlite'}"
        assert app.conf.result_backend == f"db+sqlite:///{data_dir / 'celery-results.sqlite'}"
        assert app.conf.task_default_queue == Queue.INGESTION.value
        assert app.conf.task_acks_late is True
        assert app.conf.worker_prefetch_multiplier == 1
        assert {TaskName.SYNC_SOURCE.value, TaskName.SYNC_ALL.value, TaskName.REINDEX.value} <= set(
            app.tasks
        )
        assert app.tasks[TaskName.SYNC_SOURCE.value].soft_time_limit == SYNC_SOFT_TIME_LIMIT_S

    @pytest.mark.parametrize("sync_hour", [None, 4])
    def test_init_beat_schedule_has_nightly_sync_with_expiry(
        self, embedded_settings: Path, monkeypatch: pytest.MonkeyPatch, sync_hour: int | None
    ) -> None:
        if sync_hour is not None:
            monkeypatch.setenv("HOTLINE_SYNC_HOUR", str(sync_hour))
            get_settings.cache_clear()

        entry = embedded_app().conf.beat_schedule["nightly-sync"]

        assert entry["task"] == TaskName.SYNC_ALL.value
        assert entry["options"]["expires"] == SYNC_EXPIRES_S
        assert isinstance(entry["schedule"], crontab)
        assert entry["schedule"].hour == {2 if sync_hour is None else sync_hour}
        assert entry["schedule"].minute == {0}

    def test_run_sync_source_apply_syncs_then_is_idempotent(self, embedded_settings: Path) -> None:
        task = embedded_app().tasks[TaskName.SYNC_SOURCE.value]

        first = task.apply(kwargs={"source": "dump"})
        second = task.apply(kwargs={"source": "dump"})

        assert first.successful(), first.traceback
        result = first.get()
        assert result["status"] == "completed"
        [report] = result["reports"]
        assert (report["source"], report["status"]) == ("dvcqg-dump", "completed")
        assert (report["listed"], report["added"], report["failed"]) == (5, 5, 0)
        again = second.get()["reports"][0]
        assert (again["added"], again["updated"], again["unchanged"]) == (0, 0, 5)
        catalog = catalog_of(embedded_settings)
        try:
            assert catalog.all_doc_ids() == EXPECTED_DOCS
        finally:
            catalog.close()

    def test_run_sync_source_is_skipped_while_another_writer_runs(
        self, embedded_settings: Path
    ) -> None:
        from ingestion.knowledge_base import WriterLock

        task = embedded_app().tasks[TaskName.SYNC_SOURCE.value]
        lock = WriterLock(embedded_settings)
        lock.acquire()
        try:
            result = task.apply(kwargs={"source": "dump"}).get()
        finally:
            lock.release()

        assert result["status"] == "skipped"
        assert not (embedded_settings / "catalog.sqlite").exists()

    def test_positional_arguments_raises(self, embedded_settings: Path) -> None:
        task = embedded_app().tasks[TaskName.SYNC_SOURCE.value]

        outcome = task.apply(args=("dump",))

        assert outcome.failed()
        assert isinstance(outcome.result, TypeError)

    def test_unknown_source_raises(self, embedded_settings: Path) -> None:
        task = embedded_app().tasks[TaskName.SYNC_SOURCE.value]

        outcome = task.apply(kwargs={"source": "bogus"})

        assert outcome.failed()
        assert "unknown source 'bogus'" in str(outcome.result)


# --------------------------------------------------------------------------------------------
# A real worker on Redis


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    """The test database on the local Redis, emptied; fails clearly when Redis is down."""
    client = redis.Redis(
        host=REDIS_HOST, port=REDIS_PORT, db=REDIS_DB, socket_connect_timeout=2, socket_timeout=5
    )
    try:
        client.ping()
        problem = ""
    except redis.exceptions.RedisError as exc:
        problem = str(exc)
    if problem:  # failed outside the except block, so the message is not buried in a chain
        pytest.fail(
            f"Redis is not reachable at {REDIS_HOST}:{REDIS_PORT} ({problem}); start it with "
            "`make services` (scripts/start-services.sh) before the integration tests",
            pytrace=False,
        )
    client.flushdb()
    yield REDIS_URL
    client.flushdb()
    client.close()


class RunningWorker:
    """A worker process and what the tests need to talk to it."""

    def __init__(self, process: subprocess.Popen[bytes], log: Path, data_dir: Path) -> None:
        self.process = process
        self.log = log
        self.data_dir = data_dir

    def log_tail(self, chars: int = 4000) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")[-chars:]


@pytest.fixture(scope="module")
def client(redis_url: str) -> Iterator[Celery]:
    app = Celery("hotline-test-client", broker=redis_url, backend=redis_url, set_as_current=False)
    app.conf.update(
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        broker_connection_retry_on_startup=False,
    )
    yield app
    app.close()


@pytest.fixture(scope="module")
def worker(
    redis_url: str, client: Celery, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningWorker]:
    """A real ingestion worker on Redis, with a knowledge base in a temporary folder."""
    root = tmp_path_factory.mktemp("worker")
    data_dir = root / "data"
    dump = write_dump(root / "procedures.jsonl", standard_records())
    env = hotline_free_environ() | {
        "HOTLINE_BROKER_URL": redis_url,
        "HOTLINE_RESULT_BACKEND": redis_url,
        "HOTLINE_DATA_DIR": str(data_dir),
        "HOTLINE_EMBEDDER": "none",
        "HOTLINE_PROCEDURE_DUMP": str(dump),
    }
    hostname = f"hotline-test-{uuid.uuid4().hex[:8]}@localhost"
    log = root / "worker.log"
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "ingestion.celery_app",
        "worker",
        "--pool=solo",
        "-Q",
        Queue.INGESTION.value,
        "--loglevel=INFO",
        f"--hostname={hostname}",
        "--without-mingle",
        "--without-gossip",
    ]
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            command, cwd=REPO_ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT
        )
    running = RunningWorker(process, log, data_dir)
    try:
        _wait_until_ready(client, hostname, running)
        yield running
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _wait_until_ready(client: Celery, hostname: str, worker: RunningWorker) -> None:
    deadline = time.monotonic() + WORKER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if worker.process.poll() is not None:
            pytest.fail(
                f"the worker exited with {worker.process.returncode}:\n{worker.log_tail()}",
                pytrace=False,
            )
        if client.control.ping(destination=[hostname], timeout=1.0):
            return
    pytest.fail(
        f"the worker did not answer within {WORKER_START_TIMEOUT_S} s:\n{worker.log_tail()}",
        pytrace=False,
    )


def send_sync(client: Celery, worker: RunningWorker, **kwargs: Any) -> Any:
    """Send ``ingestion.sync_source`` as a producer would and wait for its result."""
    result = client.send_task(
        TaskName.SYNC_SOURCE.value,
        kwargs=kwargs,
        queue=Queue.INGESTION.value,
        expires=SYNC_EXPIRES_S,
    )
    try:
        return result.get(timeout=TASK_TIMEOUT_S)
    except ResultTimeoutError:
        pytest.fail(
            f"no result within {TASK_TIMEOUT_S} s; worker log:\n{worker.log_tail()}",
            pytrace=False,
        )


@pytest.mark.integration
class TestWorker:
    def test_run_sync_source_in_worker_then_idempotent(
        self, client: Celery, worker: RunningWorker
    ) -> None:
        first = send_sync(client, worker, source="dump")

        assert first["status"] == "completed", first
        [report] = first["reports"]
        assert (report["source"], report["status"]) == ("dvcqg-dump", "completed")
        assert (report["listed"], report["added"], report["failed"]) == (5, 5, 0)
        assert report["chunks_written"] > 0
        catalog = catalog_of(worker.data_dir)
        try:
            assert catalog.count_records() == {"dvcqg-dump/procedure": 5}
            assert catalog.all_doc_ids() == EXPECTED_DOCS
            assert catalog.recent_runs(1)[0].run_id == report["run_id"]
        finally:
            catalog.close()

        second = send_sync(client, worker, source="dump")

        assert second["status"] == "completed", second
        [again] = second["reports"]
        assert (again["added"], again["updated"], again["removed"]) == (0, 0, 0)
        assert again["unchanged"] == 5
        assert again["chunks_written"] == 0

    def test_run_unknown_source_fails_in_worker(
        self, client: Celery, worker: RunningWorker
    ) -> None:
        result = client.send_task(
            TaskName.SYNC_SOURCE.value,
            kwargs={"source": "bogus"},
            queue=Queue.INGESTION.value,
            expires=SYNC_EXPIRES_S,
        )

        with pytest.raises(Exception, match="unknown source 'bogus'"):
            result.get(timeout=TASK_TIMEOUT_S)
        assert worker.process.poll() is None  # the worker survives a failing task
