"""The editor's sync panel says when no background worker takes the sync."""

from __future__ import annotations

import pytest

from agent_assist_ui.views.editor import WORKER_HINT_AFTER_S, waiting_hint


@pytest.mark.parametrize(
    ("state", "waited_s"),
    [("PENDING", 0.0), ("PENDING", WORKER_HINT_AFTER_S - 1), ("STARTED", 600.0)],
)
def test_no_hint_while_waiting_is_normal(state: str, waited_s: float) -> None:
    assert waiting_hint(state, waited_s) is None


def test_a_long_wait_in_the_queue_points_at_the_worker() -> None:
    hint = waiting_hint("PENDING", WORKER_HINT_AFTER_S + 15)
    assert hint is not None
    assert "hotline worker" in hint and "45 giây" in hint
