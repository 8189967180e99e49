"""Pieces several pages show the same way: key facts, local notes, labels of codes."""

from __future__ import annotations

from typing import Any

import streamlit as st

ROUTE_LABELS = {
    "procedure": "Thủ tục hành chính",
    "emergency_113": "Khẩn cấp — gọi 113",
    "emergency_114": "Khẩn cấp — gọi 114",
    "emergency_115": "Cấp cứu — gọi 115",
    "complaint": "Khiếu nại, tố cáo",
    "incident_report": "Phản ánh, kiến nghị",
    "out_of_domain": "Ngoài phạm vi hỗ trợ",
}

SECTION_LABELS = {
    "overview": "Tổng quan",
    "steps": "Trình tự thực hiện",
    "methods": "Cách thức thực hiện",
    "dossier": "Thành phần hồ sơ",
    "conditions": "Yêu cầu, điều kiện",
    "result": "Kết quả",
    "legal_basis": "Căn cứ pháp lý",
    "agencies": "Cơ quan thực hiện",
    "body": "Nội dung văn bản",
    "answer": "Câu trả lời",
}

DOC_KIND_LABELS = {
    "procedure": "Thủ tục",
    "policy_document": "Văn bản chính sách",
    "curated_answer": "Câu trả lời mẫu",
}

LEVELS = ["Cấp bộ", "Cấp tỉnh", "Cấp xã", "Cơ quan khác"]

CHANNEL_LABELS = {
    "phone": "Điện thoại",
    "zalo": "Zalo",
    "facebook": "Facebook",
    "email": "Thư điện tử",
    "web": "Trang web",
    "sms": "Tin nhắn SMS",
    "app": "Ứng dụng",
}


def confidence_label(value: float) -> str:
    if value >= 0.75:
        return f"Cao ({value:.0%})"
    if value >= 0.5:
        return f"Trung bình ({value:.0%})"
    return f"Thấp ({value:.0%}) — cần kiểm tra kỹ"


def render_local_notes(local: dict[str, Any] | None) -> None:
    if not local:
        return
    with st.container(border=True):
        st.markdown("**Thông tin địa phương** (do biên tập viên tỉnh cập nhật)")
        if local.get("counter_address"):
            st.markdown(f"- Nơi tiếp nhận tại địa phương: {local['counter_address']}")
        if local.get("phones"):
            st.markdown(f"- Số điện thoại: {', '.join(local['phones'])}")
        if local.get("note"):
            st.markdown(f"- Ghi chú: {local['note']}")


def render_facts(facts: dict[str, Any], local: dict[str, Any] | None = None) -> None:
    """A procedure's key facts at a glance, with the local notes beside them."""
    st.subheader(f"{facts['name']}")
    online = "Có" if facts.get("can_submit_online") else "Không"
    st.caption(
        f"Mã thủ tục: {facts['code']} · Lĩnh vực: {facts.get('field') or '—'} · "
        f"Cấp: {', '.join(facts.get('levels') or []) or '—'} · Nộp trực tuyến: {online} · "
        f"Đối tượng: {', '.join(facts.get('subjects') or []) or '—'}"
    )
    left, right = st.columns([3, 2])
    with left:
        st.markdown("**Hồ sơ cần chuẩn bị**")
        documents = facts.get("documents") or []
        if documents:
            st.markdown("\n".join(f"- {d}" for d in documents))
        else:
            st.markdown("_Nguồn không ghi thành phần hồ sơ._")
        if facts.get("conditions"):
            st.markdown(f"**Điều kiện:** {facts['conditions']}")
        if facts.get("results"):
            st.markdown(f"**Kết quả:** {'; '.join(facts['results'])}")
    with right:
        st.markdown("**Thời hạn và phí, lệ phí**")
        for method in facts.get("methods") or []:
            st.markdown(
                f"- {method['label']}: {method['processing_time'] or 'không ghi thời hạn'}; "
                f"{method['fees'] or 'không ghi phí'}"
            )
        st.markdown(f"**Nơi nộp:** {facts.get('where') or 'Nguồn không ghi.'}")
        if facts.get("source_url"):
            st.markdown(f"[Xem trên Cổng Dịch vụ công]({facts['source_url']})")
        render_local_notes(local)
    if facts.get("incomplete"):
        st.warning("Nguồn chưa đầy đủ: " + "; ".join(facts["incomplete"]))
