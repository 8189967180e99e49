"""Login: a password exchanged for a bearer token, then the user's role from ``/v1/me``."""

from __future__ import annotations

import streamlit as st

from agent_assist_ui.client import AnswerServiceClient, ConsoleError
from agent_assist_ui.session import ROLE_LABELS, ConsoleUser, settings, sign_in
from agent_assist_ui.settings import AuthMode


def _login_with_password(username: str, password: str) -> None:
    config = settings()
    try:
        with AnswerServiceClient(config.api_url, timeout_s=config.timeout_s) as anonymous:
            issued = anonymous.login(username, password)
        token = str(issued["access_token"])
        user = issued.get("user") or {}
    except ConsoleError as exc:
        st.error(exc.message)
        return
    except (KeyError, TypeError):
        st.error("Dịch vụ đăng nhập trả lời không đúng định dạng (thiếu access_token).")
        return
    sign_in(
        ConsoleUser(
            username=str(user.get("username", username)),
            full_name=str(user.get("full_name") or username),
            role=str(user.get("role", "")),
            token=token,
        )
    )
    st.rerun()


def render() -> None:
    st.title("Tổng đài 1022 — Đăng nhập")
    st.caption("Bảng điều khiển dành cho tổng đài viên, biên tập viên tri thức và giám sát viên.")
    config = settings()
    if config.auth is AuthMode.NONE:
        st.warning(
            "Chế độ thử nghiệm: không xác thực mật khẩu. Chỉ dùng trên máy thử nghiệm, "
            "không dùng khi có dữ liệu thật của công dân."
        )
        with st.form("demo_login"):
            name = st.text_input("Tên hiển thị", value="Người thử nghiệm")
            role = st.selectbox(
                "Vai trò",
                options=list(ROLE_LABELS),
                format_func=lambda value: ROLE_LABELS[value],
            )
            if st.form_submit_button("Vào bảng điều khiển", type="primary"):
                sign_in(ConsoleUser(username="thu-nghiem", full_name=name, role=role))
                st.rerun()
        return
    with st.form("login"):
        username = st.text_input("Tên đăng nhập", max_chars=100)
        password = st.text_input("Mật khẩu", type="password", max_chars=200)
        if st.form_submit_button("Đăng nhập", type="primary"):
            if not username.strip() or not password:
                st.error("Vui lòng nhập tên đăng nhập và mật khẩu.")
            else:
                _login_with_password(username.strip(), password)
