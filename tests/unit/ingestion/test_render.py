"""How facts read in answers: durations with and without a unit."""

from __future__ import annotations

import pytest

from ingestion.models import ProcessingTime, TimeUnit
from ingestion.render import render_time


@pytest.mark.parametrize(
    ("time", "expected"),
    [
        (ProcessingTime(value=7, unit=TimeUnit.WORKING_DAY), "7 ngày làm việc"),
        (ProcessingTime(value=0.5, unit=TimeUnit.DAY), "0.5 ngày"),
        # A bare number from the portal must not read as a complete answer.
        (ProcessingTime(value=1, unit=TimeUnit.UNKNOWN, text="1"), "1 (nguồn không ghi đơn vị)"),
        (ProcessingTime(value=None, text="Theo quy định"), "Theo quy định"),
        (None, ""),
    ],
)
def test_render_time(time: ProcessingTime | None, expected: str) -> None:
    assert render_time(time) == expected
