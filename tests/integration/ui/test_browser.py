"""Every console page in a real headless Chromium against the running answer service.

Streamlit serves the consoles in a subprocess on a free loopback port, pointed at the answer
service of the session; each test signs in with the password of the test user of its role.
Debian's ``chromium`` is driven by
Playwright through ``executable_path``, never a downloaded browser. For each page: it loads, one
key interaction works, the browser console shows no error, and a screenshot is saved in the
test's temporary folder.

Needs ``apt-get install -y chromium`` and ``pip install playwright`` (no ``playwright install``).
These tests fail, not skip, when Chromium is missing: CI must run them.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.answer_service.invented_kb import LIBRARY, SWIFTLET
from tests.integration.ui.live_service import PASSWORD, USERS, LiveService, free_port

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REPO_ROOT = Path(__file__).resolve().parents[3]
CHROMIUM = Path(os.environ.get("HOTLINE_TEST_CHROMIUM", "/usr/bin/chromium"))
STREAMLIT_START_TIMEOUT_S = 60
TIMEOUT_MS = 60_000


@pytest.fixture(scope="module")
def chromium_path() -> Path:
    if not CHROMIUM.exists() and shutil.which("chromium") is None:
        pytest.fail(
            f"Chromium is not installed at {CHROMIUM}: run `apt-get install -y chromium` "
            "(or set HOTLINE_TEST_CHROMIUM to its path); the browser tests must run in CI",
            pytrace=False,
        )
    return CHROMIUM if CHROMIUM.exists() else Path(str(shutil.which("chromium")))


@pytest.fixture(scope="module")
def consoles(live_service: LiveService, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``streamlit run agent_assist_ui/app.py`` on a free loopback port; its URL."""
    home = tmp_path_factory.mktemp("streamlit-home")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")} | {
        "HOME": str(home),
        "HOTLINE_UI_API_URL": live_service.url,
        "HOTLINE_UI_AUTH": "token",
    }
    command = [
        sys.executable, "-m", "streamlit", "run", str(REPO_ROOT / "agent_assist_ui" / "app.py"),
        "--server.port", str(port), "--server.address", "127.0.0.1",
        "--server.headless", "true", "--browser.gatherUsageStats", "false",
        "--server.fileWatcherType", "none", "--client.toolbarMode", "viewer",
    ]  # fmt: skip
    log = home / "streamlit.log"
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=home, env=env, stdout=out, stderr=out)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STREAMLIT_START_TIMEOUT_S
        while True:
            try:
                if httpx.get(f"{url}/_stcore/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"Streamlit did not start:\n{log.read_text()[-3000:]}", pytrace=False)
            time.sleep(0.3)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture(scope="module")
def browser(chromium_path: Path) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(chromium_path), headless=True, args=["--no-sandbox"]
        )
        yield launched
        launched.close()


class ConsolePage:
    """One browser tab on the consoles, recording console errors."""

    def __init__(self, browser: object, url: str, shots: Path) -> None:
        context = browser.new_context(  # type: ignore[attr-defined]  # playwright Browser
            viewport={"width": 1400, "height": 1000}, locale="vi-VN"
        )
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=url)
        context.route(re.compile(r"^(?!https?://127\.0\.0\.1[:/]).*"), self._refuse_outside)
        self.context = context
        self.page = context.new_page()
        self.page.set_default_timeout(TIMEOUT_MS)
        self.errors: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("requestfailed", lambda r: self.errors.append(f"request failed: {r.url}"))
        self.url = url
        self.shots = shots

    def _refuse_outside(self, route: Any) -> None:
        # The consoles run on networks without the internet: any request elsewhere is a defect.
        self.errors.append(f"request outside loopback: {route.request.url}")
        route.abort()

    def login_as(self, role: str) -> None:
        self.page.goto(self.url)
        self.page.get_by_text("Tổng đài 1022 — Đăng nhập").wait_for()
        self.page.get_by_label("Tên đăng nhập").fill(USERS[role][0])
        self.page.get_by_label("Mật khẩu").fill(PASSWORD)
        self.page.get_by_role("button", name="Đăng nhập").click()

    def settled(self) -> None:
        """Wait until the script run ends (the running indicator goes away)."""
        self.page.wait_for_timeout(300)
        self.page.locator('[data-testid="stStatusWidget"]').wait_for(state="detached")

    def tab(self, name: str) -> None:
        self.page.get_by_role("tab", name=name).click()

    def screenshot(self, name: str) -> Path:
        self.settled()
        path = self.shots / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def tab(browser: object, consoles: str, tmp_path: Path) -> Iterator[ConsolePage]:
    page = ConsolePage(browser, consoles, tmp_path)
    yield page
    page.close()


def assert_clean(tab: ConsolePage, shot: Path) -> None:
    assert shot.stat().st_size > 10_000, "the screenshot is empty"
    assert tab.errors == [], f"console errors: {tab.errors}"


def test_login_page(tab: ConsolePage) -> None:
    tab.page.goto(tab.url)
    tab.page.get_by_text("Tổng đài 1022 — Đăng nhập").wait_for()
    tab.page.get_by_label("Tên đăng nhập").fill(USERS["operator"][0])
    tab.page.get_by_label("Mật khẩu").fill("khong-dung-mat-khau")
    tab.page.get_by_role("button", name="Đăng nhập").click()
    tab.page.get_by_text("thông tin đăng nhập không đúng").wait_for()
    shot = tab.screenshot("dang-nhap")
    tab.login_as("operator")
    tab.page.get_by_role("heading", name="Bảng điều khiển tổng đài viên").wait_for()
    tab.page.get_by_text(USERS["operator"][1]).wait_for()
    assert_clean(tab, shot)


def test_operator_suggestion_and_copy(tab: ConsolePage) -> None:
    tab.login_as("operator")
    tab.page.get_by_role("heading", name="Bảng điều khiển tổng đài viên").wait_for()
    tab.tab("Hỗ trợ trả lời")
    tab.page.get_by_label("Lời công dân / ghi chú cuộc gọi").fill(
        "tôi muốn xin giấy phép nuôi chim yến"
    )
    tab.page.get_by_role("button", name="Gợi ý", exact=True).click()
    tab.page.get_by_text("Câu trả lời gợi ý").wait_for()
    tab.page.get_by_text(f"{SWIFTLET} — Cấp giấy phép nuôi chim yến").first.wait_for()
    code = tab.page.locator('[data-testid="stCode"]').first
    code.hover()
    code.get_by_role("button").first.click()
    copied = tab.page.evaluate("navigator.clipboard.readText()")
    assert "nuôi chim yến" in copied or "150.000" in copied
    tab.page.get_by_role("button", name="Hữu ích").click()
    tab.page.get_by_text("Đã ghi nhận phản hồi").wait_for()
    assert_clean(tab, tab.screenshot("tong-dai-vien"))


def test_editor_local_notes(tab: ConsolePage, live_service: LiveService) -> None:
    tab.login_as("editor")
    tab.page.get_by_role("heading", name="Biên tập tri thức").wait_for()
    # The list's caption; the sync panel may also say "5 bản ghi được thêm …" of its last run.
    tab.page.get_by_text("5 bản ghi; hiển thị 5 bản ghi đầu.").wait_for()
    tab.tab("Thông tin địa phương")
    tab.page.get_by_label("Mã thủ tục").fill(LIBRARY)
    tab.page.get_by_label("Mã thủ tục").press("Enter")
    address = tab.page.get_by_label("Địa chỉ nơi tiếp nhận tại tỉnh")
    address.fill("Nhà văn hóa phường Thử Nghiệm")
    tab.page.get_by_role("button", name="Lưu thông tin địa phương").click()
    tab.page.get_by_text("Đã lưu (phiên bản").wait_for()
    shot = tab.screenshot("bien-tap")
    notes = httpx.get(f"{live_service.url}/v1/knowledge/procedures/{LIBRARY}/local").json()
    assert notes["counter_address"] == "Nhà văn hóa phường Thử Nghiệm"
    httpx.delete(
        f"{live_service.url}/v1/knowledge/procedures/{LIBRARY}/local",
        params={"version": notes["version"]},
        headers={"Authorization": f"Bearer {live_service.token('editor')}"},
    ).raise_for_status()
    assert_clean(tab, shot)


def test_supervisor_quality(tab: ConsolePage, live_service: LiveService) -> None:
    suggestion = httpx.post(
        f"{live_service.url}/v1/suggest", json={"transcript": "xin giấy phép nuôi chim yến"}
    ).json()
    httpx.post(
        f"{live_service.url}/v1/feedback",
        json={"interaction_id": suggestion["interaction_id"], "verdict": "wrong"},
        headers={"Authorization": f"Bearer {live_service.token('operator')}"},
    ).raise_for_status()
    tab.login_as("supervisor")
    tab.page.get_by_role("heading", name="Giám sát").wait_for()
    tab.page.get_by_text("Số phiếu theo kênh").wait_for()
    tab.tab("Chất lượng trả lời")
    tab.page.get_by_text("Lượt gợi ý và trả lời").wait_for()
    tab.page.locator('[data-testid="stVegaLiteChart"] svg.marks:visible').first.wait_for()
    tab.page.get_by_role("button", name="Lấy mẫu mới").click()
    assert_clean(tab, tab.screenshot("giam-sat"))


def test_operator_creates_a_ticket(tab: ConsolePage, live_service: LiveService) -> None:
    tab.login_as("operator")
    tab.page.get_by_role("heading", name="Bảng điều khiển tổng đài viên").wait_for()
    tab.tab("Phiếu yêu cầu")
    tab.page.get_by_label("Nội dung yêu cầu").fill("Đèn đường trước số 0 phố Thử Nghiệm bị hỏng")
    tab.page.get_by_label("Số điện thoại").fill("0900000124")
    tab.page.get_by_role("button", name="Tạo phiếu").click()
    tab.page.get_by_text("Đã tạo phiếu 1022-").wait_for()
    tab.page.get_by_role("button", name="Phân loại").wait_for()
    shot = tab.screenshot("phieu-yeu-cau")
    with httpx.Client(
        base_url=live_service.url,
        headers={"Authorization": f"Bearer {live_service.token('supervisor')}"},
    ) as http:
        page = http.get("/v1/tickets", params={"text": "Đèn đường trước số 0"}).json()
    assert [t["contact_phone"] for t in page["items"]] == ["0900000124"]
    assert_clean(tab, shot)
