"""Sign-in, bearer tokens, expiry, revocation and disabled users, over HTTP on both backends."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.utils.tickets_api import PASSWORD, api_client, bootstrap_user, sign_in
from tickets.auth import AuthStore
from tickets.models import ApiToken, utcnow
from tickets.service import TicketService
from tickets.workflow import Role

pytestmark = pytest.mark.integration


def test_wrong_password_unknown_user_and_disabled_user_look_the_same(
    ticket_service: TicketService,
) -> None:
    with api_client(ticket_service) as client:
        user = bootstrap_user(ticket_service, Role.OPERATOR)
        admin = bootstrap_user(ticket_service, Role.ADMIN)
        admin_headers = {"Authorization": f"Bearer {sign_in(client, admin.username)}"}
        disabled = client.patch(
            f"/v1/users/{user.id}", headers=admin_headers, json={"active": False}
        )
        assert disabled.status_code == 200 and disabled.json()["active"] is False
        answers = [
            client.post("/v1/auth/token", json={"username": name, "password": password})
            for name, password in (
                (admin.username, "mat-khau-sai-1234"),
                ("khong-ton-tai", PASSWORD),
                (user.username, PASSWORD),
            )
        ]
        assert {a.status_code for a in answers} == {401}
        assert len({a.json()["detail"] for a in answers}) == 1
        assert all(a.headers["WWW-Authenticate"] == "Bearer" for a in answers)


def test_only_the_sha256_of_a_token_is_stored(ticket_service: TicketService) -> None:
    with api_client(ticket_service) as client:
        user = bootstrap_user(ticket_service, Role.SUPERVISOR)
        response = client.post(
            "/v1/auth/token",
            json={"username": user.username, "password": PASSWORD, "name": "bàn số 3"},
        )
        assert response.status_code == 200
        body = response.json()
        token = body["access_token"]
        assert body["token_type"] == "bearer" and body["user"]["role"] == "supervisor"
        assert client.get("/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
        with ticket_service.sessions() as session:
            rows = session.scalars(select(ApiToken)).all()
        assert len(rows) == 1
        row = rows[0]
        assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
        assert token not in {str(v) for v in vars(row).values()}
        assert row.name == "bàn số 3" and row.last_used_at is not None
        assert row.expires_at - row.created_at == timedelta(hours=12)


def test_expired_and_revoked_tokens_stop_working(ticket_service: TicketService) -> None:
    user = bootstrap_user(ticket_service, Role.OPERATOR)
    # Tokens issued 13 and 11 hours ago with the default 12-hour lifetime.
    old = AuthStore(ticket_service.engine, clock=lambda: utcnow() - timedelta(hours=13))
    recent = AuthStore(ticket_service.engine, clock=lambda: utcnow() - timedelta(hours=11))
    expired = old.issue_token(user.username, PASSWORD).token
    alive = recent.issue_token(user.username, PASSWORD).token
    with api_client(ticket_service) as client:
        gone = client.get("/v1/me", headers={"Authorization": f"Bearer {expired}"})
        assert gone.status_code == 401
        headers = {"Authorization": f"Bearer {alive}"}
        assert client.get("/v1/me", headers=headers).status_code == 200

        assert client.delete("/v1/auth/token", headers=headers).status_code == 204
        assert client.get("/v1/me", headers=headers).status_code == 401
        # Signing out twice is refused like any dead token.
        assert client.delete("/v1/auth/token", headers=headers).status_code == 401


def test_new_password_revokes_tokens_and_role_changes_apply(
    ticket_service: TicketService,
) -> None:
    with api_client(ticket_service) as client:
        admin = bootstrap_user(ticket_service, Role.ADMIN)
        admin_headers = {"Authorization": f"Bearer {sign_in(client, admin.username)}"}
        user = bootstrap_user(ticket_service, Role.OPERATOR)
        headers = {"Authorization": f"Bearer {sign_in(client, user.username)}"}
        assert client.get("/v1/users", headers=headers).status_code == 403

        changed = client.patch(
            f"/v1/users/{user.id}",
            headers=admin_headers,
            json={"password": "mat-khau-moi-12345", "role": "supervisor"},
        )
        assert changed.status_code == 200 and changed.json()["role"] == "supervisor"
        assert client.get("/v1/me", headers=headers).status_code == 401
        fresh = sign_in(client, user.username, "mat-khau-moi-12345")
        me = client.get("/v1/me", headers={"Authorization": f"Bearer {fresh}"})
        assert me.json()["role"] == "supervisor"

        # A liaison needs an agency that exists.
        refused = client.patch(
            f"/v1/users/{user.id}", headers=admin_headers, json={"role": "agency_liaison"}
        )
        assert refused.status_code == 422
        unknown = client.post(
            "/v1/users",
            headers=admin_headers,
            json={
                "username": "lien-lac-1",
                "role": "agency_liaison",
                "agency_code": "KHONG-CO",
                "password": "mat-khau-rat-dai",
            },
        )
        assert unknown.status_code == 422
        taken = client.post(
            "/v1/users",
            headers=admin_headers,
            json={"username": user.username, "role": "editor", "password": "mat-khau-rat-dai"},
        )
        assert taken.status_code == 409
        assert client.get("/v1/users/999999", headers=admin_headers).status_code == 404


def test_an_admin_cannot_lock_itself_out(ticket_service: TicketService) -> None:
    with api_client(ticket_service) as client:
        admin = bootstrap_user(ticket_service, Role.ADMIN)
        headers = {"Authorization": f"Bearer {sign_in(client, admin.username)}"}
        for change in ({"active": False}, {"role": "operator"}):
            refused = client.patch(f"/v1/users/{admin.id}", headers=headers, json=change)
            assert refused.status_code == 409, refused.text
        assert client.get("/v1/me", headers=headers).json()["role"] == "admin"
