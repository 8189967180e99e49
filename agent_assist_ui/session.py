"""Who is logged in, the client that speaks for them, and how pages show failures.

Streamlit reruns the page script on every interaction; what must survive a rerun (the user and
their token, the last results) lives in ``st.session_state``. The HTTP client is rebuilt per run
from the settings and the token: it is cheap and holds no state of its own.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import streamlit as st

from agent_assist_ui.client import AnswerServiceClient, ConsoleError, EndpointMissing
from agent_assist_ui.settings import UiSettings

logger = logging.getLogger(__name__)

T = TypeVar("T")

USER_KEY = "console_user"

ROLE_LABELS = {
    "operator": "Tổng đài viên",
    "editor": "Biên tập viên tri thức",
    "supervisor": "Giám sát viên",
    "agency_liaison": "Đầu mối cơ quan",
    "admin": "Quản trị viên",
}


@dataclass(frozen=True)
class ConsoleUser:
    username: str
    full_name: str
    role: str
    token: str | None = None

    @property
    def role_label(self) -> str:
        return ROLE_LABELS.get(self.role, self.role)


def settings() -> UiSettings:
    cached = st.session_state.get("console_settings")
    if cached is None:
        cached = UiSettings()
        st.session_state["console_settings"] = cached
    return cached


def current_user() -> ConsoleUser | None:
    user = st.session_state.get(USER_KEY)
    return user if isinstance(user, ConsoleUser) else None


def sign_in(user: ConsoleUser) -> None:
    st.session_state[USER_KEY] = user


def sign_out() -> None:
    """Forget the session; the token is revoked on the service when there is one."""
    user = current_user()
    if user is not None and user.token:
        try:
            with client() as http:
                http.logout()
        except ConsoleError as exc:  # an expired token or a stopped service: nothing to revoke
            logger.info("token not revoked: %s", exc.detail)
    for key in list(st.session_state.keys()):
        if key != "console_settings":
            del st.session_state[key]


@contextmanager
def client() -> Iterator[AnswerServiceClient]:
    """A client for this run, carrying the user's token."""
    config = settings()
    user = current_user()
    with AnswerServiceClient(
        config.api_url, token=user.token if user else None, timeout_s=config.timeout_s
    ) as http:
        yield http


def call(action: Callable[[AnswerServiceClient], T], *, missing: str = "") -> T | None:
    """Run one service call; on failure show its Vietnamese message and return None.

    Args:
        action: What to do with the client.
        missing: What to say instead when the endpoint does not exist yet ("" to show the
            generic message).
    """
    try:
        with client() as http:
            return action(http)
    except EndpointMissing as exc:
        logger.info("endpoint missing: %s", exc.detail)
        st.info(missing or exc.message)
    except ConsoleError as exc:
        user = current_user()
        if exc.status == 401 and (user is None or not user.token):
            st.info(
                "Chức năng này cần đăng nhập bằng tài khoản của hệ thống phiếu yêu cầu "
                "(chế độ thử nghiệm không có tài khoản)."
            )
        else:
            st.error(exc.message)
    return None


def remember(key: str, value: Any) -> Any:
    st.session_state[key] = value
    return value


def username() -> str:
    user = current_user()
    return user.username if user else ""


def flash(message: str) -> None:
    """A success message to show after the rerun that follows a change."""
    st.session_state["console_flash"] = message


def show_flash() -> None:
    message = st.session_state.pop("console_flash", None)
    if message:
        st.success(message)
