"""Page logic with Streamlit's AppTest, against the real answer service on loopback.

Each test runs the consoles' entry script as Streamlit would, with a user of the role under
test signed in with a real bearer token from ``/v1/auth/token``, drives widgets and reads what
the page shows; what a page wrote is checked on the service.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from agent_assist_ui.client import AnswerServiceClient
from agent_assist_ui.session import USER_KEY, ConsoleUser
from telephony_bridge.recognizer import TranscriptSegment
from tests.integration.answer_service.invented_kb import LIBRARY, SWIFTLET
from tests.integration.ui.live_service import AGENCIES, PASSWORD, USERS, LiveService, free_port

pytestmark = pytest.mark.integration

APP = str(Path(__file__).resolve().parents[3] / "agent_assist_ui" / "app.py")


def app_as(role: str | None, live: LiveService | None = None) -> AppTest:
    """The app, with the test user of ``role`` signed in (a real token when ``live`` is given)."""
    at = AppTest.from_file(APP, default_timeout=60)
    if role is not None:
        username, full_name = USERS.get(role, (f"{role}-thu", "Nguyễn Văn Thử"))
        token = live.token(role) if live is not None else None
        at.session_state[USER_KEY] = ConsoleUser(
            username=username, full_name=full_name, role=role, token=token
        )
    return at.run()


def api_as(live: LiveService, role: str) -> AnswerServiceClient:
    return AnswerServiceClient(live.url, token=live.token(role))


def texts(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    parts += [e.value for e in at.error] + [i.value for i in at.info]
    parts += [s.value for s in at.success] + [w.value for w in at.warning]
    return "\n".join(str(p) for p in parts)


class TestLogin:
    def test_demo_login_by_role(self, ui_env: LiveService) -> None:
        at = app_as(None)
        assert at.title[0].value == "Tổng đài 1022 — Đăng nhập"
        at.selectbox[0].select("supervisor")
        at.button[0].click().run()
        assert not at.exception
        assert at.title[0].value == "Giám sát"
        assert "Giám sát viên" in texts(at)

    def test_password_login_gives_the_role_pages(
        self, ui_env: LiveService, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("HOTLINE_UI_AUTH", "token")
        at = app_as(None)
        at.text_input[0].input(USERS["editor"][0])
        at.text_input[1].input(PASSWORD)
        at.button[0].click().run()
        assert not at.exception
        assert at.title[0].value == "Biên tập tri thức"
        user = at.session_state[USER_KEY]
        assert user.role == "editor" and user.token
        with AnswerServiceClient(ui_env.url, token=user.token) as api:
            assert api.me()["username"] == USERS["editor"][0]

    def test_wrong_password_is_refused_in_vietnamese(
        self, ui_env: LiveService, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("HOTLINE_UI_AUTH", "token")
        at = app_as(None)
        at.text_input[0].input(USERS["operator"][0])
        at.text_input[1].input("khong-dung-mat-khau")
        at.button[0].click().run()
        assert at.title[0].value == "Tổng đài 1022 — Đăng nhập"
        assert "thông tin đăng nhập không đúng" in texts(at)

    def test_empty_password_is_refused_before_calling(
        self, ui_env: LiveService, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("HOTLINE_UI_AUTH", "token")
        at = app_as(None)
        at.button[0].click().run()
        assert "Vui lòng nhập tên đăng nhập và mật khẩu." in texts(at)

    def test_logout_revokes_the_token(self, ui_env: LiveService) -> None:
        at = app_as("operator", ui_env)
        token = at.session_state[USER_KEY].token
        at.button(key="logout").click().run()
        assert at.title[0].value == "Tổng đài 1022 — Đăng nhập"
        with AnswerServiceClient(ui_env.url, token=token) as api, pytest.raises(Exception) as c:
            api.me()
        assert getattr(c.value, "status", 0) == 401

    def test_demo_mode_explains_what_needs_an_account(self, ui_env: LiveService) -> None:
        at = app_as("supervisor")
        assert "cần đăng nhập bằng tài khoản" in texts(at)


class TestOperator:
    def test_suggestion_with_copyable_reply_and_feedback(self, ui_env: LiveService) -> None:
        at = app_as("operator", ui_env)
        assert at.title[0].value == "Bảng điều khiển tổng đài viên"
        at.text_area(key="operator_notes").input("tôi muốn xin giấy phép nuôi chim yến")
        at.button(key="suggest_button").click().run()
        assert not at.exception
        reply = at.code[0].value
        assert "150.000" in reply or "nuôi chim yến" in reply
        assert SWIFTLET in texts(at) or any(SWIFTLET in e.label for e in at.expander)

        at.button(key="feedback-useful").click().run()
        assert "Đã ghi nhận phản hồi" in texts(at)
        with api_as(ui_env, "supervisor") as api:
            summary = api.quality("summary", days=1)
        assert summary["feedback"]["useful"] >= 1

    def test_each_suggested_procedure_shows_its_chance(self, ui_env: LiveService) -> None:
        at = app_as("operator", ui_env)
        at.text_area(key="operator_notes").input("tôi muốn xin giấy phép nuôi chim yến")
        at.button(key="suggest_button").click().run()
        assert not at.exception
        labels = [e.label for e in at.expander if SWIFTLET in e.label]
        assert labels and re.search(r"· khả năng \d{1,3}%$", labels[0])

    def test_a_code_the_catalogue_lacks_is_named_and_not_read_out(
        self, ui_env: LiveService
    ) -> None:
        at = app_as("operator", ui_env)
        at.text_area(key="operator_notes").input("1.999999 cần giấy tờ gì")
        at.button(key="suggest_button").click().run()
        assert not at.exception
        assert any("1.999999" in w.value for w in at.warning)
        assert not at.code  # no suggested reply to copy

    def test_empty_notes_warn(self, ui_env: LiveService) -> None:
        at = app_as("operator", ui_env)
        at.button(key="suggest_button").click().run()
        assert "Vui lòng nhập lời công dân" in texts(at)

    def test_search_with_level_filter(self, ui_env: LiveService) -> None:
        at = app_as("operator", ui_env)
        form_inputs = [t for t in at.text_input if t.label == "Câu hỏi hoặc mã thủ tục"]
        form_inputs[0].input("thư viện cộng đồng")
        at.multiselect[0].select("Cấp xã")
        at.button[[b.label for b in at.button].index("Tìm kiếm")].click().run()
        assert not at.exception
        labels = [e.label for e in at.expander]
        assert any(LIBRARY in label for label in labels)
        assert not any("Cấp đổi thẻ hội viên" in label for label in labels)  # a province one

    def test_search_with_a_field_chosen_from_the_index(self, ui_env: LiveService) -> None:
        at = app_as("operator", ui_env)
        fields = next(m for m in at.multiselect if m.label == "Lĩnh vực")
        assert "Thư viện" in fields.options and "Đường bộ" in fields.options
        form_inputs = [t for t in at.text_input if t.label == "Câu hỏi hoặc mã thủ tục"]
        form_inputs[0].input("thủ tục cấp đổi")
        fields.select("Thư viện")
        at.button[[b.label for b in at.button].index("Tìm kiếm")].click().run()
        assert not at.exception
        labels = [e.label for e in at.expander]
        assert labels and all(LIBRARY in label for label in labels)

    def test_procedure_facts_with_local_notes(self, ui_env: LiveService) -> None:
        with api_as(ui_env, "editor") as api:
            saved = api.save_local_notes(
                SWIFTLET, {"counter_address": "Số 9 phố Thử Nghiệm", "version": 0}
            )
        try:
            at = app_as("operator", ui_env)
            at.text_input(key="operator_code").input(SWIFTLET).run()
            shown = texts(at)
            assert "Cấp giấy phép nuôi chim yến trong khu dân cư" in [s.value for s in at.subheader]
            assert "Số 9 phố Thử Nghiệm" in shown
            assert "150.000" in shown
            assert "Đối tượng: Công dân Việt Nam, Hộ gia đình" in shown
        finally:
            with api_as(ui_env, "editor") as api:
                api.delete_local_notes(SWIFTLET, version=saved["version"])

    def test_unknown_code_says_not_found(self, ui_env: LiveService) -> None:
        at = app_as("operator", ui_env)
        at.text_input(key="operator_code").input("1.999999").run()
        assert "Không tìm thấy" in texts(at)

    def test_service_down_is_explained(
        self, ui_env: LiveService, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("HOTLINE_UI_API_URL", f"http://127.0.0.1:{free_port()}")
        at = app_as("operator", ui_env)
        at.text_area(key="operator_notes").input("cấp lại giấy phép lái xe")
        at.button(key="suggest_button").click().run()
        assert not at.exception
        assert "Không kết nối được dịch vụ trả lời" in texts(at)


class TestEditor:
    def test_browse_and_detail(self, ui_env: LiveService) -> None:
        at = app_as("editor", ui_env)
        assert at.title[0].value == "Biên tập tri thức"
        assert not at.exception
        assert "5 bản ghi" in texts(at)
        assert "Bản ghi gốc từ nguồn" in texts(at)
        assert any(e.label.startswith("Tổng quan") for e in at.expander)

    def test_save_local_notes_from_the_form(self, ui_env: LiveService) -> None:
        at = app_as("editor", ui_env)
        at.text_input(key="editor_local_code").input(LIBRARY).run()
        address = next(t for t in at.text_input if t.label == "Địa chỉ nơi tiếp nhận tại tỉnh")
        address.input("Nhà văn hóa phường Mẫu")
        phones = next(t for t in at.text_area if t.label.startswith("Số điện thoại"))
        phones.input("0900000102")
        at.button[[b.label for b in at.button].index("Lưu thông tin địa phương")].click().run()
        assert "Đã lưu (phiên bản 1)." in texts(at)
        with api_as(ui_env, "editor") as api:
            notes = api.local_notes(LIBRARY)
            assert notes["phones"] == ["0900000102"]
            assert notes["updated_by"] == USERS["editor"][0]
            api.delete_local_notes(LIBRARY, version=notes["version"])

    def test_synonyms_and_sync_tabs(self, ui_env: LiveService) -> None:
        at = app_as("editor", ui_env)
        assert "Tệp từ điển:" in texts(at)
        assert "Các lần đồng bộ gần đây" in texts(at)
        assert "chờ duyệt" in texts(at)


class TestSupervisor:
    def test_quality_and_ticket_statistics(self, ui_env: LiveService) -> None:
        with api_as(ui_env, "operator") as api:
            api.suggest(transcript="bla bla không liên quan")
        at = app_as("supervisor", ui_env)
        assert at.title[0].value == "Giám sát"
        assert not at.exception
        metrics = {m.label: m.value for m in at.metric}
        assert int(metrics["Lượt gợi ý và trả lời"]) >= 1
        shown = texts(at)
        assert "Lỗ hổng tri thức" in shown
        assert "Số phiếu theo kênh" in shown
        assert int(metrics["Tổng số phiếu"]) >= 0


class TestTickets:
    def test_create_classify_transfer(self, ui_env: LiveService) -> None:
        at = app_as("operator", ui_env)
        at.text_area(key="operator_notes").input("Cống thoát nước trước nhà số 0 bị vỡ, xin xử lý")
        at.run()
        content = next(t for t in at.text_area if t.label == "Nội dung yêu cầu")
        content.input("Cống thoát nước trước nhà số 0 đường Thử Nghiệm bị vỡ, xin xử lý")
        next(t for t in at.text_input if t.label == "Số điện thoại").input("0900000123")
        at.button[[b.label for b in at.button].index("Tạo phiếu")].click().run()
        assert not at.exception
        assert "Đã tạo phiếu 1022-" in texts(at)
        ticket = at.session_state["operator_ticket"]
        assert ticket["status"] == "new" and ticket["contact_phone"] == "0900000123"

        at.selectbox(key="classify_kind").select("incident")
        at.text_input(key="classify_field").input("Hạ tầng đô thị")
        at.button[[b.label for b in at.button].index("Phân loại")].click().run()
        assert at.session_state["operator_ticket"]["status"] == "classified"
        assert at.session_state["operator_ticket"]["field"] == "Hạ tầng đô thị"

        agency = next(s for s in at.selectbox if s.label == "Cơ quan tiếp nhận")
        agency.select("UB-XA-MAU")
        next(t for t in at.text_input if t.label == "Lý do chuyển").input("Thuộc thẩm quyền xã")
        at.button[[b.label for b in at.button].index("Chuyển cơ quan xử lý")].click().run()
        assert not at.exception
        moved = at.session_state["operator_ticket"]
        assert moved["status"] == "transferred" and moved["agency_code"] == "UB-XA-MAU"
        assert AGENCIES["UB-XA-MAU"] in texts(at)
        with api_as(ui_env, "operator") as api:
            assert api.ticket(int(moved["id"]))["status"] == "transferred"

    def test_empty_ticket_is_refused(self, ui_env: LiveService) -> None:
        at = app_as("operator", ui_env)
        at.button[[b.label for b in at.button].index("Tạo phiếu")].click().run()
        assert "Nội dung yêu cầu không được để trống." in texts(at)
        assert "operator_ticket" not in at.session_state

    def test_editor_approves_a_proposed_answer(self, ui_env: LiveService) -> None:
        with api_as(ui_env, "operator") as desk:
            ticket = desk.create_ticket(
                {"channel": "zalo", "content": "Làm thẻ thư viện cộng đồng ở đâu?"}
            )
            ticket = desk.ticket_transition(
                ticket["id"], {"to": "classified", "version": ticket["version"]}
            )
            ticket = desk.ticket_transition(
                ticket["id"],
                {"to": "answered", "version": ticket["version"], "text": "Tại Ủy ban xã Mẫu."},
            )
            proposal = desk._request("POST", f"/v1/tickets/{ticket['id']}/proposals", json={})
        at = app_as("editor", ui_env)
        assert any(f"#{proposal['id']}" in e.label for e in at.expander)
        at.button(key=f"pa-{proposal['id']}").click().run()
        assert "Đã ghi nhận: đã duyệt." in texts(at)
        with api_as(ui_env, "editor") as editor:
            approved = editor.proposals(status="approved")
        assert proposal["id"] in [p["id"] for p in approved]


class TestLiveCall:
    def test_call_in_progress_gets_suggestions_from_typed_words(self, ui_env: LiveService) -> None:
        call_id = "thu-nghiem-cuoc-goi-1"
        snapshot = {
            "call_id": call_id,
            "caller": {"name": None, "number": "0900000155"},
            "state": "answered",
            "started_at": "2026-01-01T00:00:00+00:00",
            "answered_at": "2026-01-01T00:00:01+00:00",
            "ended_at": None,
            "outcome": None,
            "ticket": {"id": None, "number": "1022-2026-999999"},
            "recording": None,
            "transferred_to": None,
        }
        live = ui_env.app.state.live_calls
        ui_env.run_in_server(
            live.apply({"type": "call_started", "call_id": call_id, "call": snapshot})
        )
        try:
            at = app_as("operator", ui_env)
            assert "0900000155" in texts(at)
            assert "1022-2026-999999" in texts(at)
            words = next(t for t in at.text_input if t.label.startswith("Ghi thêm lời công dân"))
            words.input("tôi muốn xin giấy phép nuôi chim yến")
            at.button[[b.label for b in at.button].index("Gửi")].click().run()
            assert not at.exception
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                at.run()
                if any("nuôi chim yến" in c.value or "150.000" in c.value for c in at.code):
                    break
                time.sleep(0.3)
            else:
                pytest.fail(f"no suggestion for the call appeared:\n{texts(at)}")
            assert any(SWIFTLET in e.label for e in at.expander)
        finally:
            ended = dict(snapshot, ended_at="2026-01-01T00:05:00+00:00", state="ended")
            ui_env.run_in_server(
                live.apply({"type": "call_ended", "call_id": call_id, "call": ended})
            )
        assert call_id not in [c["call_id"] for c in live.calls()]

    def test_two_calls_from_one_number_transcript_and_call_transfer(
        self, ui_env: LiveService
    ) -> None:
        live = ui_env.app.state.live_calls
        snapshots = []
        for index in (1, 2):
            snapshot = {
                "call_id": f"thu-nghiem-cung-so-{index}",
                "caller": {"name": "Nguyễn Văn Thử", "number": "0900000156"},
                "state": "Up",
                "started_at": f"2026-01-01T00:0{index}:00+00:00",
                "ended_at": None,
                "ticket": {"id": None, "number": "1022-2026-999998"},
                "transferred_to": None,
            }
            snapshots.append(snapshot)
            ui_env.run_in_server(
                live.apply(
                    {"type": "call_started", "call_id": snapshot["call_id"], "call": snapshot}
                )
            )
        second = snapshots[1]["call_id"]
        try:
            segment = TranscriptSegment(text="Nhà tôi đang cháy!", speaker="citizen")
            ui_env.run_in_server(live.add_segments(second, [segment]))
            at = app_as("operator", ui_env)
            radio = next(r for r in at.radio if r.label == "Cuộc gọi")
            labels = list(radio.options)
            assert len(set(labels)) == 2, labels
            assert all("Up" not in label and "Đang đàm thoại" in label for label in labels)
            radio.set_value(second).run()
            assert "Người gọi: Nhà tôi đang cháy!" in "\n".join(t.value for t in at.text)
            reason = next(t for t in at.text_input if t.label == "Lý do chuyển cuộc gọi")
            reason.input("Cháy nhà, cần cứu hỏa")
            at.button[[b.label for b in at.button].index("Chuyển cuộc gọi")].click().run()
            assert not at.exception
            assert "Đã gửi yêu cầu chuyển cuộc gọi" in texts(at), texts(at)
            assert live.get(second).transfer_requested
            assert not live.get(snapshots[0]["call_id"]).transfer_requested
        finally:
            for snapshot in snapshots:
                ended = dict(snapshot, ended_at="2026-01-01T00:05:00+00:00")
                ui_env.run_in_server(
                    live.apply(
                        {"type": "call_ended", "call_id": snapshot["call_id"], "call": ended}
                    )
                )
        # Once the calls are over, nothing on screen offers to act on them.
        at.run()
        assert "Không có cuộc gọi nào đang diễn ra." in texts(at)
        at.run()
        assert "Chuyển cuộc gọi" not in [b.label for b in at.button]
