"""Entry point of the consoles: ``streamlit run agent_assist_ui/app.py``.

Who may see which page is decided here, from the role the service gave at login; the service
still checks every call, so hiding a page is a convenience, not the protection.
"""

from __future__ import annotations

import streamlit as st

from agent_assist_ui.session import current_user, sign_out
from agent_assist_ui.views import editor, login, operator, supervisor

# Pages carry no icon: a Material icon becomes the favicon, which is fetched from a font CDN.
OPERATOR = st.Page(operator.render, title="Tổng đài viên", url_path="tong-dai-vien")
EDITOR = st.Page(editor.render, title="Biên tập tri thức", url_path="bien-tap")
SUPERVISOR = st.Page(supervisor.render, title="Giám sát", url_path="giam-sat")

PAGES_BY_ROLE = {
    "operator": [OPERATOR],
    "editor": [EDITOR, OPERATOR],
    "supervisor": [SUPERVISOR, OPERATOR, EDITOR],
    "admin": [OPERATOR, EDITOR, SUPERVISOR],
    "agency_liaison": [OPERATOR],
}


def main() -> None:
    # No page_icon: a Material icon there is fetched from a font CDN, and the consoles must work
    # (and leak nothing) on a network without the internet.
    st.set_page_config(page_title="Tổng đài 1022", layout="wide")
    user = current_user()
    if user is None:
        st.navigation([st.Page(login.render, title="Đăng nhập", url_path="dang-nhap")]).run()
        return
    pages = PAGES_BY_ROLE.get(user.role)
    if not pages:
        st.error(f"Vai trò “{user.role}” chưa được cấp trang nào. Vui lòng báo quản trị viên.")
        if st.button("Đăng xuất"):
            sign_out()
            st.rerun()
        return
    with st.sidebar:
        st.markdown(f"**{user.full_name}**  \n{user.role_label}")
        if st.button("Đăng xuất", key="logout"):
            sign_out()
            st.rerun()
    st.navigation(pages).run()


main()
