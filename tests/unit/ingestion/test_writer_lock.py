"""WriterLock.held_by_another: a reader learns whether a writer is alive without writing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ingestion.knowledge_base import KnowledgeBaseBusy, WriterLock

HOLD_THE_LOCK = """
import fcntl, sys
handle = open(sys.argv[1], "w")
fcntl.flock(handle, fcntl.LOCK_EX)
print("held", flush=True)
sys.stdin.read()
"""


def test_no_lock_file_means_no_writer_and_none_is_created(tmp_path: Path) -> None:
    assert WriterLock(tmp_path).held_by_another() is False
    assert list(tmp_path.iterdir()) == []


def test_a_writer_in_another_process_is_seen_and_the_file_is_left_as_it_was(
    tmp_path: Path,
) -> None:
    lock_file = tmp_path / "writer.lock"
    writer = subprocess.Popen(
        [sys.executable, "-c", HOLD_THE_LOCK, str(lock_file)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert writer.stdout is not None and writer.stdout.readline() == "held\n"
        before = lock_file.stat().st_mtime_ns

        assert WriterLock(tmp_path).held_by_another() is True
        assert lock_file.stat().st_mtime_ns == before
    finally:
        writer.communicate("", timeout=10)
    assert WriterLock(tmp_path).held_by_another() is False


def test_asking_does_not_keep_a_writer_out(tmp_path: Path) -> None:
    lock = WriterLock(tmp_path)
    lock.acquire()
    try:
        assert WriterLock(tmp_path).held_by_another() is True
    finally:
        lock.release()
    assert WriterLock(tmp_path).held_by_another() is False
    lock.acquire()  # the reader's shared lock is gone
    lock.release()


def test_a_second_writer_is_still_refused(tmp_path: Path) -> None:
    first = WriterLock(tmp_path)
    first.acquire()
    try:
        with pytest.raises(KnowledgeBaseBusy, match="another sync or reindex"):
            WriterLock(tmp_path).acquire()
    finally:
        first.release()
