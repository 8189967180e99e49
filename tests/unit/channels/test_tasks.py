"""The channels' Celery wiring, eagerly in process (the real worker is an integration test)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from answer_service.channels import tasks
from answer_service.channels.celery_app import create_channel_celery_app
from answer_service.channels.processor import Acknowledger
from answer_service.channels.runtime import ChannelRuntime
from answer_service.channels.settings import ChannelSettings
from answer_service.channels.store import MessageRow, utcnow
from answer_service.channels.task_names import ChannelQueue, ChannelTask
from tests.unit.channels.conftest import ACK, Harness


@pytest.fixture
def eager_settings(tmp_path: Path) -> ChannelSettings:
    return ChannelSettings(data_dir=tmp_path, task_always_eager=True)


class TestChannelCeleryApp:
    def test_init_app_registers_tasks_with_queues_and_limits(
        self, eager_settings: ChannelSettings
    ) -> None:
        app = create_channel_celery_app(eager_settings)
        app.loader.import_default_modules()

        names = {task.value for task in ChannelTask}
        assert names <= set(app.tasks)
        assert app.conf.task_default_queue == ChannelQueue.CHANNELS.value
        assert app.conf.task_acks_late is True
        assert app.tasks[ChannelTask.PROCESS_MESSAGE.value].soft_time_limit == 60
        schedule = app.conf.beat_schedule
        assert all(entry["options"]["expires"] > 0 for entry in schedule.values())
        assert "poll-mailbox" not in schedule  # no IMAP host configured

    def test_run_eager_dispatch_acknowledges_then_answers(
        self, eager_settings: ChannelSettings, harness: Harness, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        runtime = ChannelRuntime(settings=eager_settings, store=harness.store, http=None)  # type: ignore[arg-type]
        monkeypatch.setattr(
            tasks, "worker_parts", lambda: tasks.WorkerParts(runtime, harness.processor)
        )
        monkeypatch.setattr(
            tasks, "ack_parts", lambda: Acknowledger(harness.store, harness.processor.senders, ACK)
        )
        dispatcher = tasks.CeleryDispatcher(create_channel_celery_app(eager_settings))
        message_id = harness.store.record_inbound(
            channel="zalo", thread_key="77", text="Lệ phí khai sinh?", dedupe_key="e1"
        )
        assert message_id is not None

        dispatcher.submit(message_id)

        assert [text for _, text, _ in harness.sender.sent][0] == ACK
        assert "miễn phí" in harness.sender.sent[1][1]
        stored = harness.store.get_message(message_id)
        assert stored is not None and stored.outcome == "answered"

    def test_run_requeue_stale_submits_only_old_unprocessed_messages(
        self, eager_settings: ChannelSettings, harness: Harness, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        runtime = ChannelRuntime(settings=eager_settings, store=harness.store, http=None)  # type: ignore[arg-type]
        monkeypatch.setattr(
            tasks, "worker_parts", lambda: tasks.WorkerParts(runtime, harness.processor)
        )
        monkeypatch.setattr(
            tasks, "ack_parts", lambda: Acknowledger(harness.store, harness.processor.senders, ACK)
        )
        lost = harness.store.record_inbound(
            channel="zalo", thread_key="78", text="khai sinh", dedupe_key="lost"
        )
        fresh = harness.store.record_inbound(
            channel="zalo", thread_key="79", text="khai sinh", dedupe_key="fresh"
        )
        # Ten minutes old: its task may still wait in the queue (tasks expire after 15).
        queued = harness.store.record_inbound(
            channel="zalo", thread_key="80", text="khai sinh", dedupe_key="queued"
        )
        with harness.store.engine.begin() as connection:
            for message_id, age in ((lost, 20), (queued, 10)):
                connection.execute(
                    update(MessageRow)
                    .where(MessageRow.id == message_id)
                    .values(created_at=utcnow() - timedelta(minutes=age))
                )
        app = create_channel_celery_app(eager_settings)
        app.loader.import_default_modules()

        count = app.tasks[ChannelTask.REQUEUE_STALE.value].apply().get()

        assert count == 1
        assert harness.store.get_message(lost).outcome == "answered"  # type: ignore[arg-type, union-attr]
        assert harness.store.get_message(fresh).processed_at is None  # type: ignore[arg-type, union-attr]
        assert harness.store.get_message(queued).processed_at is None  # type: ignore[arg-type, union-attr]
