"""Supervisor: ticket volume, SLA and workload; answer quality and knowledge gaps; export.

Ticket statistics come from the ticket routes (``/v1/stats/...``); answer quality from the
answer service's own record of suggestions and answers (``/v1/quality/...``) and operators'
feedback on them. A section whose routes are not deployed says so instead of failing.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
import streamlit as st

from agent_assist_ui.session import call, remember
from agent_assist_ui.views.widgets import ROUTE_LABELS

STATS_MISSING = "Thống kê phiếu chưa sẵn sàng trên dịch vụ (chức năng phiếu yêu cầu chưa bật)."
QUALITY_MISSING = "Dịch vụ chưa ghi nhận chất lượng trả lời."
CHANNEL_NAMES = {
    "phone": "Điện thoại",
    "zalo": "Zalo",
    "facebook": "Facebook",
    "email": "Thư điện tử",
    "web_chat": "Trò chuyện web",
    "sms": "SMS",
    "app": "Ứng dụng",
    "walk_in": "Trực tiếp",
}


def _group_chart(title: str, groups: list[dict[str, Any]], names: dict[str, str]) -> None:
    st.markdown(f"**{title}**")
    if not groups:
        st.caption("Không có phiếu trong khoảng thời gian này.")
        return
    series = pd.Series(
        {names.get(g["key"], g["key"] or "Chưa phân loại"): g["total"] for g in groups}
    )
    st.bar_chart(series, x_label="", y_label="Số phiếu")


def _compliance_table(groups: list[dict[str, Any]], label: str) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                label: g["key"] or "Chưa phân loại",
                "Tổng": g["total"],
                "Đã trả lời": g["answered"],
                "Đang chờ": g["pending"],
                "Quá hạn": g["overdue"],
                "Đúng hạn": g["sla_met"],
                "Trễ hạn": g["sla_missed"],
                "Tỷ lệ đúng hạn": f"{g['compliance']:.0%}" if g["compliance"] is not None else "—",
            }
            for g in groups
        ]
    )


def _tickets_tab() -> None:
    days = st.slider("Khoảng thời gian (ngày)", 1, 366, 30, key="stats_days")
    since = (datetime.now(UTC) - timedelta(days=days)).isoformat(timespec="seconds")
    report = call(
        lambda http: http.ticket_stats(period="day", created_from=since), missing=STATS_MISSING
    )
    if report is None:
        return
    overall = report["overall"]
    cols = st.columns(4)
    cols[0].metric("Tổng số phiếu", overall["total"])
    cols[1].metric("Đang chờ xử lý", overall["pending"])
    cols[2].metric("Quá hạn", overall["overdue"])
    compliance = overall.get("compliance")
    cols[3].metric("Tỷ lệ đúng hạn", f"{compliance:.0%}" if compliance is not None else "—")
    left, right = st.columns(2)
    with left:
        _group_chart("Số phiếu theo kênh", report["by_channel"], CHANNEL_NAMES)
    with right:
        _group_chart("Số phiếu theo lĩnh vực", report["by_field"], {})
    _group_chart("Số phiếu theo ngày", report["by_period"], {})
    st.markdown("**Tỷ lệ đúng hạn theo lĩnh vực**")
    st.dataframe(_compliance_table(report["by_field"], "Lĩnh vực"), hide_index=True)
    st.markdown("**Khối lượng công việc theo tổng đài viên**")
    operators = report.get("operators", [])
    if operators:
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "Tổng đài viên": o["username"],
                        "Được giao": o["assigned"],
                        "Đang chờ": o["pending"],
                        "Đã trả lời": o["answered"],
                        "Thời gian xử lý trung vị (giờ)": o["median_handling_hours"],
                    }
                    for o in operators
                ]
            ),
            hide_index=True,
        )
    else:
        st.caption("Chưa có phiếu nào được giao cho tổng đài viên.")
    _overdue_list()
    _export(since)


def _overdue_list() -> None:
    overdue = call(lambda http: http.overdue_tickets(limit=100), missing=STATS_MISSING)
    if overdue is None:
        return
    st.markdown(f"**Phiếu quá hạn** ({len(overdue)})")
    if overdue:
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "Số phiếu": t["number"],
                        "Trạng thái": t["status"],
                        "Lĩnh vực": t.get("field") or "—",
                        "Cơ quan": t.get("agency_code") or "—",
                        "Hạn xử lý": str(t.get("due_at") or "")[:10],
                    }
                    for t in overdue
                ]
            ),
            hide_index=True,
        )


def _export(since: str) -> None:
    st.markdown("**Xuất dữ liệu phiếu**")
    fmt = st.radio("Định dạng", ["csv", "xlsx", "json"], horizontal=True, key="export_format")
    if st.button("Chuẩn bị tệp xuất", key="export_prepare"):
        data = call(lambda http: http.export_tickets(fmt=fmt, created_from=since))
        if data is not None:
            remember("export_file", (fmt, data))
    prepared = st.session_state.get("export_file")
    if prepared:
        fmt_ready, data = prepared
        st.download_button(
            f"Tải tệp phiếu ({fmt_ready.upper()}, {len(data):,} byte)",
            data,
            file_name=f"phieu-yeu-cau.{fmt_ready}",
            key="export_download",
        )


def _summary(days: int) -> None:
    summary = call(lambda http: http.quality("summary", days=days), missing=QUALITY_MISSING)
    if summary is None:
        return
    interactions = int(summary.get("interactions", 0))
    answered = int(summary.get("answered", 0))
    rates = summary.get("feedback_rates") or {}
    cols = st.columns(4)
    cols[0].metric("Lượt gợi ý và trả lời", interactions)
    cols[1].metric("Tỷ lệ trả lời được", f"{answered / interactions:.0%}" if interactions else "—")
    cols[2].metric("Phản hồi “hữu ích”", f"{rates['useful']:.0%}" if "useful" in rates else "—")
    cols[3].metric("Điểm chấm trung bình", summary.get("mean_rating") or "—")
    feedback = summary.get("feedback") or {}
    if any(feedback.values()):
        st.markdown("**Phản hồi của tổng đài viên về gợi ý**")
        labels = {"useful": "Hữu ích", "wrong": "Sai", "missing": "Thiếu"}
        st.bar_chart(pd.Series({labels.get(k, k): v for k, v in feedback.items()}))
    per_day = summary.get("per_day") or []
    if per_day:
        st.markdown("**Theo ngày**")
        frame = pd.DataFrame(per_day).fillna(0).set_index("day")
        st.bar_chart(frame, stack=False)
    remember("quality_summary", summary)


def _gaps(days: int) -> None:
    below = st.slider("Ngưỡng độ tin cậy thấp", 0.0, 1.0, 0.75, 0.05)
    gaps = call(lambda http: http.quality("gaps", days=days, below=below), missing=QUALITY_MISSING)
    if gaps is None:
        return
    st.markdown("**Lỗ hổng tri thức: câu hỏi có độ tin cậy thấp, chuyển tổng đài viên hoặc thiếu**")
    if not gaps:
        st.info("Chưa có câu hỏi nào dưới ngưỡng.")
        return
    frame = pd.DataFrame(
        [
            {
                "Câu hỏi": g["question"],
                "Số lần": g["count"],
                "Độ tin cậy cao nhất": g["best_confidence"],
                "Lần cuối": str(g["last_seen"])[:19].replace("T", " "),
            }
            for g in gaps
        ]
    )
    st.dataframe(frame, hide_index=True, width="stretch")
    st.download_button(
        "Tải danh sách (CSV)",
        frame.to_csv(index=False).encode("utf-8-sig"),
        file_name="lo-hong-tri-thuc.csv",
        mime="text/csv",
    )


def _sample(days: int) -> None:
    st.markdown("**Chấm điểm ngẫu nhiên các câu trả lời**")
    if st.button("Lấy mẫu mới"):
        drawn = call(lambda http: http.quality("sample", days=days, n=5), missing=QUALITY_MISSING)
        if drawn is not None:
            remember("quality_sample", drawn)
    for item in st.session_state.get("quality_sample", []):
        with st.expander(f"{item['question'][:100]}"):
            st.caption(
                f"Loại: {ROUTE_LABELS.get(item['route'], item['route'])} · "
                f"Độ tin cậy: {item['confidence']:.0%} · Thủ tục: "
                f"{', '.join(item['procedure_codes']) or '—'}"
            )
            st.text(item.get("reply", ""))
            score = st.slider("Điểm (1 sai — 5 mẫu mực)", 1, 5, 3, key=f"score-{item['id']}")
            note = st.text_input("Nhận xét", key=f"note-{item['id']}", max_chars=2_000)
            if st.button("Lưu điểm", key=f"rate-{item['id']}"):
                rating = {"interaction_id": item["id"], "score": score, "note": note}
                if call(lambda http, r=rating: http.rate_answer(r)) is None:
                    st.success("Đã lưu điểm.")


def _quality_tab() -> None:
    days = st.slider("Khoảng thời gian (ngày)", 1, 366, 30, key="quality_days")
    _summary(days)
    _gaps(days)
    _sample(days)


def render() -> None:
    st.title("Giám sát")
    tickets, quality = st.tabs(["Phiếu yêu cầu", "Chất lượng trả lời"])
    with tickets:
        _tickets_tab()
    with quality:
        _quality_tab()
