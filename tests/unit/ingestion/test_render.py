"""How facts read in answers: durations with and without a unit, fees plausible or not."""

from __future__ import annotations

import pytest

from ingestion.models import Fee, ProcessingTime, TimeUnit
from ingestion.render import render_fee, render_time


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


@pytest.mark.parametrize(
    ("fee", "expected"),
    [
        (Fee(amount=0), "miễn phí"),
        (Fee(amount=150_000, description="mỗi lần"), "150.000 đồng (mỗi lần)"),
        (Fee(amount=None, text="Theo quy định"), "Theo quy định"),
        # Visa fees are in dollars: neither đồng nor a lost thousand.
        (Fee(amount=25, currency="USD"), "25 USD"),
        (Fee(amount=1500, currency="USD"), "1.500 USD"),
        # The portal's "45 VNĐ" lost its thousands: said as the source says it, with a caution.
        (
            Fee(amount=45),
            "nguồn ghi 45 đồng, có thể bị nhập thiếu chữ số; "
            "cần đối chiếu văn bản quy định mức phí",
        ),
    ],
)
def test_render_fee(fee: Fee, expected: str) -> None:
    assert render_fee(fee) == expected
