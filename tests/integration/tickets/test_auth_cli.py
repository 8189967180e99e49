"""The first admin: ``hotline tickets create-user`` on a fresh database, then sign-in over HTTP."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.utils.tickets_api import api_client
from tickets.db import open_service
from tickets.settings import TicketSettings

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[3]
PASSWORD = "mat-khau-quan-tri-1"


def run_cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tickets.cli", "tickets", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
        check=False,
    )


def test_first_admin_from_the_command_line(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'tickets.sqlite'}"
    created = run_cli(
        "--database-url",
        url,
        "create-user",
        "--username",
        "quan-tri",
        "--role",
        "admin",
        "--password-stdin",
        stdin=PASSWORD + "\n",  # fmt: skip
    )
    assert created.returncode == 0, created.stderr
    assert "quan-tri" in created.stdout and PASSWORD not in created.stdout + created.stderr

    second = run_cli(
        "--database-url",
        url,
        "create-user",
        "--username",
        "quan-tri-2",
        "--role",
        "admin",
        "--password-stdin",
        stdin=PASSWORD + "\n",  # fmt: skip
    )
    assert second.returncode == 2 and "admin exists" in second.stderr
    short = run_cli(
        "--database-url",
        url,
        "create-user",
        "--username",
        "dieu-hanh",
        "--role",
        "operator",
        "--password-stdin",
        stdin="ngan\n",  # fmt: skip
    )
    assert short.returncode == 2 and "at least" in short.stderr
    agency = run_cli(
        "--database-url", url, "create-agency", "--code", "TN-CLI", "--name", "Cơ quan CLI",
    )  # fmt: skip
    assert agency.returncode == 0, agency.stderr

    service = open_service(TicketSettings(database_url=url))
    try:
        with api_client(service) as client:
            token = client.post(
                "/v1/auth/token", json={"username": "quan-tri", "password": PASSWORD}
            )
            assert token.status_code == 200, token.text
            headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
            assert client.get("/v1/me", headers=headers).json()["role"] == "admin"
            codes = [a["code"] for a in client.get("/v1/agencies", headers=headers).json()]
            assert codes == ["TN-CLI"]
    finally:
        service.engine.dispose()
