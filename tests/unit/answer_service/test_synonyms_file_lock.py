"""Saves of the synonym dictionary are serialized across processes (``serve --workers N``)."""

from __future__ import annotations

import fcntl
import subprocess
import sys
from pathlib import Path

import pytest

HOLD = """
import sys
from pathlib import Path
from answer_service.api.routes.knowledge import _file_lock
with _file_lock(Path(sys.argv[1])):
    print("held", flush=True)
    sys.stdin.readline()  # until the test has tried
"""


def test_another_process_cannot_save_while_one_saves(tmp_path: Path) -> None:
    path = tmp_path / "synonyms.json"
    lock = path.with_name(path.name + ".lock")
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdin is not None and holder.stdout is not None
    try:
        assert holder.stdout.readline().strip() == "held"
        with open(lock, "a") as handle, pytest.raises(BlockingIOError):
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    finally:
        holder.stdin.write("done\n")
        holder.stdin.flush()
        holder.wait(10)
    with open(lock, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)  # released with the save
