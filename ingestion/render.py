"""Vietnamese renderings of structured procedure facts, shared by chunks and composed answers."""

from __future__ import annotations

from ingestion.models import (
    DossierComponent,
    Fee,
    ProcessingTime,
    SubmissionChannel,
    SubmissionMethod,
    TimeUnit,
)

CHANNEL_LABELS = {
    SubmissionChannel.DIRECT: "Nộp trực tiếp",
    SubmissionChannel.ONLINE: "Nộp trực tuyến",
    SubmissionChannel.POSTAL: "Nộp qua dịch vụ bưu chính",
    SubmissionChannel.OTHER: "Hình thức khác",
}
UNIT_LABELS = {
    TimeUnit.WORKING_DAY: "ngày làm việc",
    TimeUnit.DAY: "ngày",
    TimeUnit.HOUR: "giờ",
    TimeUnit.WEEK: "tuần",
    TimeUnit.MONTH: "tháng",
    TimeUnit.YEAR: "năm",
    TimeUnit.UNKNOWN: "",
}


def format_amount(amount: int, unit: str = "đồng") -> str:
    """10000 → "10.000 đồng" (Vietnamese thousands separator)."""
    return f"{amount:,}".replace(",", ".") + f" {unit}"


def render_time(time: ProcessingTime | None) -> str:
    if time is None or time.value is None:
        return time.text if time else ""
    value = int(time.value) if float(time.value).is_integer() else time.value
    if time.unit is TimeUnit.UNKNOWN:
        # Some portal records give a bare number; "1" alone would read as an answer.
        return f"{value} (nguồn không ghi đơn vị)"
    return f"{value} {UNIT_LABELS[time.unit]}"


SMALLEST_PLAUSIBLE_FEE = 1_000
"""No fee is below the smallest note in circulation; the portal's "45 VNĐ" lost its thousands."""


def is_doubtful_fee(fee: Fee) -> bool:
    """A fee in đồng below any real fee: told with a caution, never answered as a fact."""
    return (
        fee.currency == "VND" and fee.amount is not None and 0 < fee.amount < SMALLEST_PLAUSIBLE_FEE
    )


def render_fee(fee: Fee) -> str:
    if fee.amount is None:
        base = fee.text or "chưa có thông tin"
    elif fee.amount == 0:
        base = "miễn phí"
    elif fee.currency != "VND":
        base = format_amount(fee.amount, fee.currency)  # visa fees in USD
    elif is_doubtful_fee(fee):
        # Said as the source says it, never as a fact: the citizen would pay a different sum.
        base = (
            f"nguồn ghi {format_amount(fee.amount)}, có thể bị nhập thiếu chữ số; "
            "cần đối chiếu văn bản quy định mức phí"
        )
    else:
        base = format_amount(fee.amount)
    return f"{base} ({fee.description})" if fee.description else base


def render_fees(fees: list[Fee]) -> str:
    if not fees:
        return "chưa có thông tin về phí, lệ phí"
    return "; ".join(render_fee(fee) for fee in fees)


def render_method(method: SubmissionMethod) -> str:
    parts = [CHANNEL_LABELS[method.channel]]
    time = render_time(method.processing_time)
    if time:
        parts.append(f"thời hạn giải quyết {time}")
    parts.append(f"phí, lệ phí: {render_fees(method.fees)}")
    text = ", ".join(parts)
    return f"{text}. {method.description}" if method.description else text


def render_component(component: DossierComponent) -> str:
    counts = []
    if component.original_count:
        counts.append(f"{component.original_count} bản chính")
    if component.copy_count:
        counts.append(f"{component.copy_count} bản sao")
    suffix = f" ({', '.join(counts)})" if counts else ""
    form = f" [mẫu: {component.form}]" if component.form else ""
    return f"{component.name}{form}{suffix}"
