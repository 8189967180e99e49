"""A served process sets its start-up objects aside from the collector; tests and tools do not."""

from __future__ import annotations

import subprocess
import sys

import pytest
from fastapi.testclient import TestClient

import answer_service.main as main
from answer_service.main import create_app


@pytest.fixture
def gc_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    monkeypatch.setattr(main.gc, "collect", lambda: calls.append("collect") or 0)
    monkeypatch.setattr(main.gc, "freeze", lambda: calls.append("freeze"))
    return calls


@pytest.mark.parametrize(("freeze_heap", "expected"), [(True, ["collect", "freeze"]), (False, [])])
def test_the_heap_is_settled_at_start_up_only_when_asked(
    gc_calls: list[str], freeze_heap: bool, expected: list[str]
) -> None:
    app = create_app(service=object(), freeze_heap=freeze_heap)  # type: ignore[arg-type]
    assert gc_calls == []  # nothing happens until the app starts
    with TestClient(app) as client:
        assert gc_calls == expected
        assert client.get("/health").status_code == 200


def test_settle_heap_moves_the_living_objects_out_of_the_collectors_reach() -> None:
    # In a process of its own: frozen objects would stay frozen for the rest of the test run.
    script = (
        "import gc\n"
        "from answer_service.main import settle_heap\n"
        "assert gc.get_freeze_count() == 0\n"
        "settle_heap()\n"
        "print(gc.get_freeze_count())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    assert int(done.stdout.strip()) > 10_000
