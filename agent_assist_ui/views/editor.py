"""Knowledge editor: browse the knowledge base, annotate procedures, tune synonyms, resync.

Editors check what the search really indexed (section by section, beside the raw record the
source gave), add what only the province knows (its counter address, local phone numbers),
keep the abbreviation dictionary current, review answers proposed from tickets, and start a
sync when the national portal changed.
"""

from __future__ import annotations

import time
from typing import Any

import pandas as pd
import streamlit as st

from agent_assist_ui.session import call, remember
from agent_assist_ui.views.widgets import DOC_KIND_LABELS, SECTION_LABELS, render_facts

SYNC_STATES = {
    "PENDING": "Đang chờ trong hàng đợi",
    "STARTED": "Đang chạy",
    "SUCCESS": "Hoàn thành",
    "FAILURE": "Thất bại",
    "REVOKED": "Đã hủy",
    "RETRY": "Đang thử lại",
}
PROPOSAL_STATES = {"proposed": "chờ duyệt", "approved": "đã duyệt", "rejected": "đã từ chối"}
RUN_STATUS = {
    "completed": "Hoàn thành",
    "failed": "Thất bại",
    "running": "Đang chạy",
    "interrupted": "Bị gián đoạn",
}


def _browse_tab() -> None:
    with st.form("records_form"):
        left, right = st.columns([3, 1])
        query = left.text_input("Tìm theo tên hoặc mã", max_chars=200)
        kind = right.selectbox(
            "Loại", ["", *DOC_KIND_LABELS], format_func=lambda k: DOC_KIND_LABELS.get(k, "Tất cả")
        )
        submitted = st.form_submit_button("Tìm", type="primary")
    if submitted or "editor_records" not in st.session_state:
        page = call(lambda http: http.knowledge_records(query=query, kind=kind, limit=50))
        if page is not None:
            remember("editor_records", page)
    page = st.session_state.get("editor_records")
    if not page:
        return
    st.caption(f"{page['total']} bản ghi; hiển thị {len(page['items'])} bản ghi đầu.")
    if not page["items"]:
        st.info("Không có bản ghi nào khớp.")
        return
    table = pd.DataFrame(
        [
            {
                "Mã": item["code"],
                "Tên": item["title"],
                "Loại": DOC_KIND_LABELS.get(item["kind"], item["kind"]),
                "Nguồn": item["source"],
                "Lập chỉ mục lúc": item["indexed_at"][:19].replace("T", " "),
            }
            for item in page["items"]
        ]
    )
    st.dataframe(table, hide_index=True, width="stretch")
    options = {item["doc_id"]: f"{item['code']} — {item['title']}" for item in page["items"]}
    doc_id = st.selectbox("Xem chi tiết", list(options), format_func=options.get)
    if doc_id:
        _record_detail(doc_id)


def _record_detail(doc_id: str) -> None:
    detail = call(lambda http: http.knowledge_record(doc_id))
    if detail is None:
        return
    summary = detail["summary"]
    st.caption(
        f"Nguồn: {summary['source']} · Mã nguồn: {detail['source_id']} · "
        f"Số điểm chỉ mục: {detail['point_count']} · Lần cuối thấy: {summary['last_seen'][:19]}"
    )
    indexed, raw = st.columns(2)
    with indexed:
        st.markdown("**Đã lập chỉ mục (theo từng phần)**")
        for section in detail["sections"]:
            label = SECTION_LABELS.get(section["section"], section["section"])
            with st.expander(label + (" · có vectơ ngữ nghĩa" if section["embedded"] else "")):
                st.text(section["text"])
        if not detail["sections"]:
            st.warning("Bản ghi này chưa có trong chỉ mục tìm kiếm.")
    with raw:
        st.markdown("**Bản ghi gốc từ nguồn**")
        st.json(detail["raw"], expanded=False)
        st.markdown("**Bản ghi đã chuẩn hóa**")
        st.json(detail["normalized"], expanded=False)


def _local_tab() -> None:
    code = st.text_input("Mã thủ tục", key="editor_local_code", max_chars=20).strip()
    if not code:
        listed = call(lambda http: http.list_local_notes(limit=50))
        if listed and listed["items"]:
            st.markdown("**Thủ tục đã có thông tin địa phương**")
            for item in listed["items"]:
                st.markdown(f"- {item['code']}: {item['counter_address'] or item['note'][:80]}")
        else:
            st.caption("Nhập mã thủ tục để thêm thông tin địa phương.")
        return
    found = call(lambda http: http.facts_with_local(code))
    if found is None:
        return
    local: dict[str, Any] = found.get("local") or {}
    with st.expander("Thông tin chính của thủ tục (nguồn quốc gia)"):
        render_facts(found["facts"])
    with st.form(f"local_form_{code}"):
        address = st.text_input(
            "Địa chỉ nơi tiếp nhận tại tỉnh", value=local.get("counter_address", ""), max_chars=500
        )
        phones = st.text_area(
            "Số điện thoại địa phương (mỗi dòng một số)",
            value="\n".join(local.get("phones", [])),
        )
        note = st.text_area("Ghi chú cho tổng đài viên", value=local.get("note", ""))
        if st.form_submit_button("Lưu thông tin địa phương", type="primary"):
            payload = {
                "counter_address": address,
                "phones": [p.strip() for p in phones.splitlines() if p.strip()],
                "note": note,
                "version": int(local.get("version", 0)),
            }
            saved = call(lambda http: http.save_local_notes(code, payload))
            if saved is not None:
                st.success(f"Đã lưu (phiên bản {saved['version']}).")
    if local:
        st.caption(
            f"Cập nhật lần cuối bởi {local.get('updated_by') or '—'} lúc "
            f"{str(local.get('updated_at', ''))[:19].replace('T', ' ')}"
        )


def _synonyms_tab() -> None:
    data = call(lambda http: http.synonyms())
    if data is None:
        return
    st.caption(f"Tệp từ điển: {data['path']} · phiên bản {data['version']}")
    if data.get("load_error"):
        st.error(
            "Tệp từ điển trên đĩa không đọc được nên tìm kiếm vẫn dùng từ điển hợp lệ gần nhất, "
            "là bản hiển thị dưới đây. Bấm «Lưu từ điển» để ghi đè tệp bằng bản này. "
            f"Chi tiết: {data['load_error']}"
        )
    if not data["editable"]:
        st.warning(
            "Từ điển đang dùng là bản đi kèm phần mềm nên chỉ xem được. Để chỉnh sửa, sao chép "
            "tệp vào thư mục dữ liệu và đặt biến HOTLINE_SYNONYMS_PATH trỏ tới bản sao."
        )
    frame = pd.DataFrame(
        [
            {"Từ viết tắt / cách gọi": e["term"], "Nghĩa (ngăn cách bởi ;)": "; ".join(e["means"])}
            for e in data["entries"]
        ]
    )
    edited = st.data_editor(
        frame,
        num_rows="dynamic",
        hide_index=True,
        width="stretch",
        disabled=not data["editable"],
        key=f"synonyms_{data['version']}",
    )
    if data["editable"] and st.button("Lưu từ điển", type="primary"):
        entries = []
        for row in edited.to_dict("records"):
            term = str(row.get("Từ viết tắt / cách gọi") or "").strip()
            means = [m.strip() for m in str(row.get("Nghĩa (ngăn cách bởi ;)") or "").split(";")]
            if term:
                entries.append({"term": term, "means": [m for m in means if m]})
        saved = call(lambda http: http.save_synonyms(entries, version=data["version"]))
        if saved is not None:
            st.success(f"Đã lưu {len(saved['entries'])} mục; tìm kiếm dùng ngay từ điển mới.")
            if saved.get("reindex_needed"):
                st.info(
                    "Thay đổi có từ viết tắt viết hoa (như TNLĐ). Chỉ mục viết đầy đủ các từ này "
                    "trong văn bản thủ tục, nên cần chạy lại lập chỉ mục (hotline reindex) để "
                    "văn bản dùng nghĩa mới."
                )


def _proposals_tab() -> None:
    items = call(
        lambda http: http.proposals(status="proposed"),
        missing="Hàng đợi câu trả lời đề xuất từ phiếu chưa sẵn sàng trên dịch vụ.",
    )
    if items is None:
        return
    if not items:
        st.info("Không có câu trả lời nào đang chờ duyệt.")
        return
    st.caption(f"{len(items)} câu trả lời đang chờ duyệt.")
    for item in items:
        with st.expander(f"#{item['id']} — {item['question'][:100]}"):
            st.caption(
                f"Đề xuất bởi {item['proposed_by']} · Lĩnh vực: {item.get('field') or '—'} · "
                f"Thủ tục: {', '.join(item.get('procedure_codes') or []) or '—'}"
            )
            answer = st.text_area("Câu trả lời", value=item["answer"], key=f"p-{item['id']}")
            note = st.text_input("Ghi chú duyệt", key=f"pn-{item['id']}", max_chars=2_000)
            approve, edit, reject = st.columns(3)
            decision = None
            if approve.button("Duyệt", key=f"pa-{item['id']}"):
                decision = "approve"
            if edit.button("Lưu sửa, chưa duyệt", key=f"pe-{item['id']}"):
                decision = "edit"
            if reject.button("Từ chối", key=f"pr-{item['id']}"):
                decision = "reject"
            if decision:
                review: dict[str, Any] = {"decision": decision, "version": item.get("version")}
                if answer.strip() and answer.strip() != item["answer"]:
                    review["answer"] = answer.strip()
                if note.strip():
                    review["note"] = note.strip()
                done = call(lambda http, r=review, i=item: http.review_proposal(int(i["id"]), r))
                if done is not None:
                    st.success(
                        f"Đã ghi nhận: {PROPOSAL_STATES.get(done['status'], done['status'])}."
                    )


WORKER_HINT_AFTER_S = 30.0


def waiting_hint(state: str, waited_s: float) -> str | None:
    """What to tell an editor whose sync has waited in the queue for ``waited_s`` seconds."""
    if state != "PENDING" or waited_s < WORKER_HINT_AFTER_S:
        return None
    return (
        f"Yêu cầu đã chờ {waited_s:.0f} giây mà chưa có tiến trình nền nào nhận. Hãy kiểm tra "
        "rằng `hotline worker` đang chạy và dùng cùng hàng đợi (HOTLINE_BROKER_URL) với dịch vụ."
    )


@st.fragment(run_every=3)
def _sync_progress() -> None:
    task_id = st.session_state.get("editor_sync_task")
    if not task_id:
        return
    task = call(lambda http: http.sync_task(task_id))
    if task is None:
        return
    st.markdown(
        f"**Đồng bộ thủ công** `{task_id}`: {SYNC_STATES.get(task['state'], task['state'])}"
    )
    started = st.session_state.get("editor_sync_started", time.monotonic())
    if hint := waiting_hint(task["state"], time.monotonic() - started):
        st.warning(hint)
    for run in task.get("running", []):
        st.info(
            f"Nguồn {run['source']} đang đồng bộ: đã ghi {run['records_written']} bản ghi thay "
            f"đổi sau {run['elapsed_s']:.0f} giây."
        )
    if task["done"]:
        if task.get("error"):
            st.error(f"Đồng bộ thất bại: {task['error']}")
        else:
            st.success("Đồng bộ đã xong.")
            st.json(task.get("result") or {}, expanded=False)
        st.session_state.pop("editor_sync_task", None)


def _sync_tab() -> None:
    status = call(lambda http: http.sync_status())
    if status is None:
        return
    totals = status["records"]
    st.markdown("**Số bản ghi theo nguồn và loại**")
    st.dataframe(
        pd.DataFrame([{"Nguồn/loại": k, "Số bản ghi": v} for k, v in totals.items()]),
        hide_index=True,
    )
    runs = status["last_runs"]
    if runs:
        st.markdown("**Các lần đồng bộ gần đây**")
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "Lần": r["run_id"],
                        "Nguồn": r["source"],
                        "Trạng thái": RUN_STATUS.get(r["status"], r["status"]),
                        "Bắt đầu": str(r["started_at"])[:19].replace("T", " "),
                        "Thêm": r["added"],
                        "Cập nhật": r["updated"],
                        "Gỡ bỏ": r["removed"],
                        "Lỗi": r["failed"],
                        "Thời gian (giây)": round(r["duration_s"], 1),
                    }
                    for r in runs
                ]
            ),
            hide_index=True,
        )
        chosen = st.selectbox("Xem thay đổi của lần", [r["run_id"] for r in runs])
        changes = call(lambda http: http.sync_run_changes(int(chosen)))
        if changes is not None:
            changed = changes["changed"]
            st.caption(f"{len(changed)} bản ghi được thêm hoặc cập nhật trong lần này.")
            for item in changed[:50]:
                st.markdown(f"- {item['code']} — {item['title']}")
    else:
        st.info("Chưa có lần đồng bộ nào.")
    if st.button("Đồng bộ ngay", type="primary"):
        started = call(lambda http: http.start_sync(None))
        if started is not None:
            remember("editor_sync_task", started["task_id"])
            remember("editor_sync_started", time.monotonic())
            st.success("Đã đưa yêu cầu đồng bộ vào hàng đợi.")
    _sync_progress()


def render() -> None:
    st.title("Biên tập tri thức")
    browse, local, synonyms, proposals, sync = st.tabs(
        ["Kho tri thức", "Thông tin địa phương", "Từ điển viết tắt", "Đề xuất từ phiếu", "Đồng bộ"]
    )
    with browse:
        _browse_tab()
    with local:
        _local_tab()
    with synonyms:
        _synonyms_tab()
    with proposals:
        _proposals_tab()
    with sync:
        _sync_tab()
