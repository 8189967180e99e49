"""Operator console: suggestions while the citizen talks, search, key facts, tickets.

The operator types what the citizen says (or the call's transcript arrives) and gets, within a
second, the likely procedure, its key facts and a reply to read out, with a copy button; each
suggestion can be marked useful, wrong or missing so that supervisors see where the knowledge
base falls short. Tickets are created, classified and transferred from the same screen.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from agent_assist_ui.client import AnswerServiceClient, EndpointMissing
from agent_assist_ui.session import call, flash, remember, show_flash
from agent_assist_ui.views.live_call import (
    call_labels,
    caller_number,
    suggestion_notice,
    transcript_lines,
)
from agent_assist_ui.views.widgets import (
    DOC_KIND_LABELS,
    LEVELS,
    ROUTE_LABELS,
    SECTION_LABELS,
    confidence_label,
    render_facts,
)

TICKET_CHANNELS = {
    "phone": "Điện thoại",
    "zalo": "Zalo",
    "facebook": "Facebook",
    "email": "Thư điện tử",
    "web_chat": "Trò chuyện trên web",
    "sms": "Tin nhắn SMS",
    "app": "Ứng dụng",
    "walk_in": "Trực tiếp",
}
TICKET_KINDS = {
    "question": "Hỏi đáp thủ tục",
    "procedure_feedback": "Phản ánh, kiến nghị về thủ tục",
    "complaint": "Khiếu nại, tố cáo",
    "incident": "Phản ánh sự cố hạ tầng, vệ sinh",
    "emergency_forwarded": "Chuyển khẩn cấp (113, 114, 115)",
}
TICKET_STATUSES = {
    "new": "Mới",
    "classified": "Đã phân loại",
    "transferred": "Đã chuyển cơ quan",
    "agency_processing": "Cơ quan đang xử lý",
    "answered": "Đã trả lời",
    "closed": "Đã đóng",
    "reopened": "Mở lại",
}
URGENCIES = {"low": "Thấp", "normal": "Bình thường", "high": "Cao", "urgent": "Khẩn"}
VERDICTS = {"useful": "Hữu ích", "wrong": "Sai", "missing": "Thiếu thủ tục đúng"}
VERDICT_ICONS = {
    "useful": ":material/thumb_up:",
    "wrong": ":material/thumb_down:",
    "missing": ":material/help:",
}


def _facts_for(http: AnswerServiceClient, code: str) -> dict[str, Any]:
    """Key facts with local notes; only the national facts if the editor routes are absent."""
    try:
        return http.facts_with_local(code)
    except EndpointMissing:
        return {"facts": http.procedure_facts(code), "local": None}


def _feedback_buttons(suggestion: dict[str, Any], prefix: str) -> None:
    interaction = suggestion.get("interaction_id", "")
    if not interaction:
        return
    st.markdown("**Gợi ý này có đúng không?**")
    columns = st.columns(len(VERDICTS))
    best = suggestion["procedures"][0]["facts"]["code"] if suggestion.get("procedures") else ""
    for column, (verdict, label) in zip(columns, VERDICTS.items(), strict=True):
        if column.button(label, key=f"{prefix}feedback-{verdict}", icon=VERDICT_ICONS[verdict]):
            saved = call(
                lambda http, v=verdict: http.send_feedback(
                    {
                        "interaction_id": interaction,
                        "verdict": v,
                        "procedure_code": best if v == "useful" else "",
                    }
                ),
                missing="Dịch vụ chưa nhận phản hồi về gợi ý.",
            )
            if saved is not None:
                st.success("Đã ghi nhận phản hồi. Cảm ơn bạn!")


def _render_suggestion(suggestion: dict[str, Any], prefix: str = "") -> None:
    route = suggestion.get("route", "procedure")
    st.markdown(
        f"**Loại yêu cầu:** {ROUTE_LABELS.get(route, route)} · "
        f"**Độ tin cậy:** {confidence_label(float(suggestion.get('confidence', 0)))}"
    )
    if route.startswith("emergency"):
        st.error(suggestion.get("route_guidance", ""))
    unknown = suggestion.get("unknown_codes") or []
    if unknown:
        st.warning(
            f"Không có thủ tục mang mã {', '.join(unknown)} trong cơ sở dữ liệu: "
            "các thủ tục dưới đây chỉ là kết quả tìm theo lời công dân."
        )
    reply = suggestion.get("suggested_reply", "")
    if reply:
        st.markdown("**Câu trả lời gợi ý** (bấm biểu tượng sao chép ở góc phải để sao chép)")
        st.code(reply, language=None, wrap_lines=True)
    else:
        st.info("Chưa có câu trả lời gợi ý. Hãy hỏi thêm công dân hoặc tra cứu bên cạnh.")
    for curated in suggestion.get("curated_answers", []):
        with st.expander(f"Câu trả lời mẫu: {curated['question']}"):
            st.code(curated["text"], language=None, wrap_lines=True)
    for index, item in enumerate(suggestion.get("procedures", [])):
        facts = item["facts"]
        chance = float(item.get("chance", 0))
        label = f"{facts['code']} — {facts['name']} · khả năng {chance:.0%}"
        with st.expander(label, expanded=index == 0):
            render_facts(facts)
    _feedback_buttons(suggestion, prefix)


def _assist_tab() -> None:
    st.markdown("Ghi lại lời công dân; gợi ý được cập nhật mỗi khi bấm **Gợi ý**.")
    notes = st.text_area(
        "Lời công dân / ghi chú cuộc gọi",
        key="operator_notes",
        height=140,
        max_chars=20_000,
        placeholder="Ví dụ: tôi muốn làm lại CCCD bị mất thì cần giấy tờ gì",
    )
    if st.button("Gợi ý", type="primary", key="suggest_button"):
        if not notes.strip():
            st.warning("Vui lòng nhập lời công dân trước khi xin gợi ý.")
        else:
            found = call(lambda http: http.suggest(transcript=notes.strip(), top_k=3))
            if found is not None:
                remember("operator_suggestion", found)
    suggestion = st.session_state.get("operator_suggestion")
    if suggestion:
        _render_suggestion(suggestion)


def _facet_values() -> dict[str, list[str]]:
    """The values the search filters take, read once a session; empty when unavailable."""
    known = st.session_state.get("search_facets")
    if known is None:
        found = call(lambda http: http.facets())
        if found is None:
            return {}
        known = remember(
            "search_facets",
            {name: [item["value"] for item in items] for name, items in found.items()},
        )
    return known


def _search_tab() -> None:
    facets = _facet_values()
    with st.form("search_form"):
        query = st.text_input("Câu hỏi hoặc mã thủ tục", max_chars=4_000)
        left, right = st.columns(2)
        levels = left.multiselect("Cấp thực hiện", facets.get("levels") or LEVELS)
        kinds = right.multiselect(
            "Loại tài liệu", list(DOC_KIND_LABELS), format_func=DOC_KIND_LABELS.get
        )
        if facets.get("field"):
            fields = left.multiselect("Lĩnh vực", facets["field"], placeholder="Ví dụ: Hộ tịch")
            agencies = right.multiselect(
                "Cơ quan thực hiện", facets.get("agency", []), placeholder="Ví dụ: Sở Tư pháp"
            )
        else:
            # Without the list the service still resolves values as typed ("ho tich").
            typed = left.text_input("Lĩnh vực", placeholder="Ví dụ: Hộ tịch").strip()
            fields, agencies = [typed] if typed else [], []
        top_k = st.slider("Số kết quả", min_value=1, max_value=20, value=5)
        submitted = st.form_submit_button("Tìm kiếm", type="primary")
    if submitted:
        if not query.strip():
            st.warning("Vui lòng nhập nội dung cần tìm.")
        else:
            filters = {"levels": levels, "field": fields, "agency": agencies, "doc_kind": kinds}
            found = call(lambda http: http.search(query.strip(), top_k=top_k, filters=filters))
            if found is not None:
                remember("operator_search", found)
    result = st.session_state.get("operator_search")
    if not result:
        return
    hits = result.get("hits", [])
    info = result.get("query", {})
    if info.get("unaccented") and info.get("restored"):
        st.caption(f"Đã hiểu câu hỏi là: “{info['restored']}”")
    if not hits:
        st.info("Không tìm thấy kết quả phù hợp. Hãy thử từ khóa khác hoặc bỏ bớt bộ lọc.")
        return
    st.caption(f"{len(hits)} kết quả trong {result.get('took_ms', 0):.0f} ms")
    for hit in hits:
        kind = DOC_KIND_LABELS.get(hit["doc_kind"], hit["doc_kind"])
        title = f"{hit['code']} — {hit['title']}" if hit.get("code") else hit["title"]
        with st.expander(f"[{kind}] {title}"):
            st.caption(f"Lĩnh vực: {hit.get('field') or '—'} · Cơ quan: {hit.get('agency') or '—'}")
            for chunk in hit.get("matched", [])[:2]:
                st.markdown(f"**{SECTION_LABELS.get(chunk['section'], chunk['section'])}:**")
                st.text(chunk["text"])
            is_procedure = hit["doc_kind"] == "procedure" and bool(hit.get("code"))
            if is_procedure and st.button("Xem thông tin chính", key=f"facts-{hit['doc_id']}"):
                remember("operator_code", hit["code"])
                st.info("Đã mở ở thẻ “Thông tin thủ tục”.")


def _procedure_tab() -> None:
    code = st.text_input(
        "Mã thủ tục", key="operator_code", placeholder="Ví dụ: 1.001234", max_chars=20
    ).strip()
    if not code:
        st.caption("Nhập mã thủ tục hoặc chọn “Xem thông tin chính” ở kết quả tìm kiếm.")
        return
    found = call(lambda http: _facts_for(http, code))
    if found is not None:
        render_facts(found["facts"], found.get("local"))


def _ticket_form() -> None:
    suggestion = st.session_state.get("operator_suggestion") or {}
    codes = [p["facts"]["code"] for p in suggestion.get("procedures", [])[:1]]
    with st.form("ticket_form"):
        content = st.text_area(
            "Nội dung yêu cầu", value=st.session_state.get("operator_notes", ""), max_chars=20_000
        )
        left, middle, right = st.columns(3)
        channel = left.selectbox("Kênh", list(TICKET_CHANNELS), format_func=TICKET_CHANNELS.get)
        kind = middle.selectbox("Loại phiếu", list(TICKET_KINDS), format_func=TICKET_KINDS.get)
        urgency = right.selectbox("Mức độ", list(URGENCIES), index=1, format_func=URGENCIES.get)
        name_col, phone_col = st.columns(2)
        contact_name = name_col.text_input("Họ tên người liên hệ", max_chars=200)
        contact_phone = phone_col.text_input("Số điện thoại", max_chars=20)
        field = st.text_input("Lĩnh vực", max_chars=200)
        procedure_codes = st.text_input("Mã thủ tục liên quan", value=", ".join(codes))
        submitted = st.form_submit_button("Tạo phiếu", type="primary")
    if not submitted:
        return
    if not content.strip():
        st.warning("Nội dung yêu cầu không được để trống.")
        return
    ticket = {
        "channel": channel,
        "kind": kind,
        "urgency": urgency,
        "content": content.strip(),
        "field": field.strip() or None,
        "contact": {"name": contact_name.strip() or None, "phone": contact_phone.strip() or None},
        "procedure_codes": [c.strip() for c in procedure_codes.split(",") if c.strip()],
    }
    created = call(lambda http: http.create_ticket(ticket))
    if created is not None:
        st.success(f"Đã tạo phiếu {created['number']}.")
        remember("operator_ticket", created)


def _classify_form(ticket: dict[str, Any]) -> None:
    with st.form("classify_form"):
        left, middle, right = st.columns(3)
        kinds = list(TICKET_KINDS)
        kind = left.selectbox(
            "Loại phiếu",
            kinds,
            index=kinds.index(ticket["kind"]) if ticket["kind"] in kinds else 0,
            format_func=TICKET_KINDS.get,
            key="classify_kind",
        )
        field = middle.text_input("Lĩnh vực", value=ticket.get("field") or "", key="classify_field")
        levels = list(URGENCIES)
        urgency = right.selectbox(
            "Mức độ",
            levels,
            index=levels.index(ticket["urgency"]) if ticket["urgency"] in levels else 1,
            format_func=URGENCIES.get,
            key="classify_urgency",
        )
        submitted = st.form_submit_button("Phân loại")
    if submitted:
        change = {"to": "classified", "version": ticket["version"], "kind": kind}
        change |= {"urgency": urgency, "field": field.strip() or None}
        moved = call(lambda http: http.ticket_transition(int(ticket["id"]), change))
        if moved is not None:
            remember("operator_ticket", moved)
            flash("Đã phân loại phiếu.")
            st.rerun()


def _transfer_form(ticket: dict[str, Any]) -> None:
    agencies = call(lambda http: http.agencies()) or []
    names = {a["code"]: f"{a['name']} ({a['code']})" for a in agencies if a.get("active", True)}
    if not names:
        st.caption("Chưa có cơ quan nào trong danh mục để chuyển phiếu.")
        return
    with st.form("transfer_form"):
        agency = st.selectbox("Cơ quan tiếp nhận", list(names), format_func=names.get)
        reason = st.text_input("Lý do chuyển", max_chars=2_000)
        submitted = st.form_submit_button("Chuyển cơ quan xử lý")
    if submitted:
        if not reason.strip():
            st.warning("Vui lòng ghi lý do chuyển.")
            return
        change = {"to": "transferred", "version": ticket["version"], "agency_code": agency}
        change["reason"] = reason.strip()
        moved = call(lambda http: http.ticket_transition(int(ticket["id"]), change))
        if moved is not None:
            remember("operator_ticket", moved)
            flash(f"Đã chuyển phiếu cho {names[agency]}.")
            st.rerun()


def _similar_tickets(ticket: dict[str, Any]) -> None:
    found = call(lambda http: http.ticket_suggestions(ticket["content"][:4_000]))
    if not found:
        return
    similar = [t for t in found.get("similar_open", []) if t["id"] != ticket["id"]]
    answered = found.get("past_answered", [])
    st.markdown("**Phiếu tương tự đang mở**")
    if not similar:
        st.caption("Không có phiếu tương tự đang mở.")
    for item in similar[:5]:
        st.markdown(f"- {item['number']}: {item['summary']}")
    st.markdown("**Phiếu đã trả lời có nội dung giống**")
    if not answered:
        st.caption("Chưa có phiếu đã trả lời nào giống.")
    for item in answered[:5]:
        with st.expander(f"{item['number']}: {item['summary'][:100]}"):
            st.code(item.get("answer") or "", language=None, wrap_lines=True)


def _ticket_actions() -> None:
    ticket = st.session_state.get("operator_ticket")
    if not ticket:
        return
    st.divider()
    show_flash()
    st.markdown(
        f"**Phiếu {ticket['number']}** · trạng thái: "
        f"{TICKET_STATUSES.get(ticket['status'], ticket['status'])} · "
        f"cơ quan: {ticket.get('agency_code') or '—'}"
    )
    if ticket["status"] in ("new", "reopened"):
        _classify_form(ticket)
    if ticket["status"] == "classified":
        _transfer_form(ticket)
    _similar_tickets(ticket)


@st.fragment(run_every=3)
def _live_call_panel() -> None:
    calls = call(lambda http: http.live_calls(), missing="Chưa kết nối tổng đài điện thoại.")
    if calls is None:
        return
    if not calls:
        # The call that was selected has ended: no transcript or transfer form for it any more.
        st.session_state.pop("live_call_id", None)
        st.caption("Không có cuộc gọi nào đang diễn ra.")
        return
    labels = call_labels(calls)
    call_id = st.radio("Cuộc gọi", list(labels), format_func=labels.get, key="live_call_id")
    current = next(c for c in calls if c["call_id"] == call_id)
    caller = current.get("caller") or {}
    st.markdown(
        f"**Người gọi:** {caller.get('name') or 'Chưa rõ tên'} · {caller_number(current)}"
        f" · **Phiếu:** {(current.get('ticket') or {}).get('number') or '—'}"
    )
    for past in current.get("screen_pop", [])[:3]:
        st.caption(f"Phiếu trước: {past.get('number', '')} — {past.get('summary', '')}")
    lines = transcript_lines(current)
    if lines:
        st.markdown("**Lời thoại gần nhất**")
        st.text("\n".join(lines))
    notice = suggestion_notice(current)
    if notice:
        st.info(notice, icon=":material/hourglass_top:")
    latest = (current.get("last_suggestion") or {}).get("suggestion")
    if latest:
        _render_suggestion(latest, prefix=f"call-{call_id}-")


def _call_transfer_form(call_id: str) -> None:
    agencies = call(lambda http: http.agencies()) or []
    names = {a["code"]: f"{a['name']} ({a['code']})" for a in agencies if a.get("active", True)}
    if not names:
        return
    with st.form("call_transfer_form"):
        agency = st.selectbox("Chuyển cuộc gọi khẩn tới", list(names), format_func=names.get)
        reason = st.text_input("Lý do chuyển cuộc gọi", max_chars=1_000)
        submitted = st.form_submit_button("Chuyển cuộc gọi", type="primary")
    if submitted:
        if not reason.strip():
            st.warning("Vui lòng ghi lý do chuyển cuộc gọi.")
            return
        sent = call(
            lambda http: http.transfer_call(call_id, agency_code=agency, reason=reason.strip())
        )
        if sent is not None:
            st.success(
                f"Đã gửi yêu cầu chuyển cuộc gọi tới {names[agency]}; kết quả hiện ở danh sách "
                "cuộc gọi."
            )


def _live_tab() -> None:
    _live_call_panel()
    call_id = st.session_state.get("live_call_id")
    if not call_id:
        return
    with st.form("transcript_form", clear_on_submit=True):
        text = st.text_input("Ghi thêm lời công dân vào cuộc gọi", max_chars=4_000)
        if st.form_submit_button("Gửi") and text.strip():
            call(lambda http: http.add_transcript(call_id, text.strip()))
    _call_transfer_form(call_id)


def render() -> None:
    st.title("Bảng điều khiển tổng đài viên")
    live, assist, search, procedure, tickets = st.tabs(
        ["Cuộc gọi", "Hỗ trợ trả lời", "Tra cứu", "Thông tin thủ tục", "Phiếu yêu cầu"]
    )
    with live:
        _live_tab()
    with assist:
        _assist_tab()
    with search:
        _search_tab()
    with procedure:
        _procedure_tab()
    with tickets:
        _ticket_form()
        _ticket_actions()
