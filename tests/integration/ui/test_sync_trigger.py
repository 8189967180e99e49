"""A manual sync from the editor's route, run by a real ingestion worker on the local Redis.

The answer service gets a Celery producer on a Redis database of its own; a worker process
(``celery -A ingestion.celery_app worker``) on the same database syncs the service's own data
folder from the invented dump. The route queues the task, the task route reports its state and
the runs in course, and the catalog's run list shows the new run when it is done. Redis must run
on 127.0.0.1:6379 (``make services``); the test fails, not skips, when it does not.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from celery import Celery

from agent_assist_ui.client import AnswerServiceClient
from answer_service.api.routes.knowledge import CelerySyncQueue
from ingestion.task_names import Queue
from tests.integration.answer_service.invented_kb import INVENTED_PROCEDURES
from tests.integration.ui.live_service import LiveService, build_settings, start_service

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[3]
REDIS_DB = 12  # the ingestion worker tests use 13
REDIS_URL = f"redis://127.0.0.1:6379/{REDIS_DB}"
WORKER_START_TIMEOUT_S = 60
TASK_TIMEOUT_S = 120


@pytest.fixture(scope="module")
def producer() -> Iterator[Celery]:
    connection = redis.Redis(host="127.0.0.1", port=6379, db=REDIS_DB, socket_connect_timeout=2)
    try:
        connection.ping()
        problem = ""
    except redis.exceptions.RedisError as exc:
        problem = str(exc)
    if problem:
        pytest.fail(
            f"Redis is not reachable at 127.0.0.1:6379 ({problem}); start it with "
            "`make services` before the integration tests",
            pytrace=False,
        )
    connection.flushdb()
    app = Celery("ui-test-producer", broker=REDIS_URL, backend=REDIS_URL, set_as_current=False)
    app.conf.update(task_serializer="json", result_serializer="json", accept_content=["json"])
    yield app
    app.close()
    connection.flushdb()
    connection.close()


@pytest.fixture(scope="module")
def service_with_queue(
    producer: Celery, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveService]:
    root = tmp_path_factory.mktemp("ui-sync")
    live = start_service(build_settings(root), root)
    live.app.state.sync_queue = CelerySyncQueue(producer)
    yield live
    live.stop()
    live.service.engine.close()
    live.service.catalog.close()


@pytest.fixture(scope="module")
def worker(service_with_queue: LiveService, producer: Celery) -> Iterator[Path]:
    settings = service_with_queue.settings
    log = settings.data_dir.parent / "worker.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")} | {
        "HOTLINE_BROKER_URL": REDIS_URL,
        "HOTLINE_RESULT_BACKEND": REDIS_URL,
        "HOTLINE_DATA_DIR": str(settings.data_dir),
        "HOTLINE_EMBEDDER": "none",
        "HOTLINE_PROCEDURE_DUMP": str(settings.procedure_dump),
    }
    hostname = f"ui-test-{uuid.uuid4().hex[:8]}@localhost"
    command = [
        sys.executable, "-m", "celery", "-A", "ingestion.celery_app", "worker", "--pool=solo",
        "-Q", Queue.INGESTION.value, "--loglevel=INFO", f"--hostname={hostname}",
        "--without-mingle", "--without-gossip",
    ]  # fmt: skip
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=out, stderr=out)
    try:
        deadline = time.monotonic() + WORKER_START_TIMEOUT_S
        while not producer.control.ping(destination=[hostname], timeout=1.0):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the worker did not start:\n{log.read_text()[-3000:]}", pytrace=False)
        yield log
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def test_manual_sync_runs_and_reports(service_with_queue: LiveService, worker: Path) -> None:
    token = service_with_queue.token("editor")
    with AnswerServiceClient(service_with_queue.url, token=token) as api:
        runs_before = api.sync_runs()
        started = api.start_sync(["dump"])
        assert started["state"] == "PENDING" and not started["done"]
        deadline = time.monotonic() + TASK_TIMEOUT_S
        states = []
        while True:
            task = api.sync_task(started["task_id"])
            states.append(task["state"])
            if task["done"]:
                break
            if time.monotonic() > deadline:
                pytest.fail(f"no result in time; worker log:\n{worker.read_text()[-3000:]}")
            time.sleep(0.5)
        assert task["state"] == "SUCCESS", (task, worker.read_text()[-3000:])
        assert task["result"]["status"] == "completed"
        (report,) = task["result"]["reports"]
        assert report["unchanged"] == len(INVENTED_PROCEDURES)

        runs_after = api.sync_runs()
        assert len(runs_after) == len(runs_before) + 1
        assert runs_after[0]["run_id"] == report["run_id"]
        assert api.sync_run_changes(report["run_id"])["changed"] == []
        assert api.sync_status()["running"] == []


def test_unknown_task_is_pending(service_with_queue: LiveService) -> None:
    with AnswerServiceClient(service_with_queue.url) as api:
        task = api.sync_task(str(uuid.uuid4()))
    assert task["state"] == "PENDING" and task["done"] is False
