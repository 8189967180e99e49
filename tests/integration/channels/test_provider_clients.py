"""The provider clients against the loopback servers over real HTTP: refusals and rotation."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from answer_service.channels.errors import ProviderError
from answer_service.channels.messenger import GraphClient
from answer_service.channels.sms.gateways import EsmsGateway, SpeedSmsGateway
from answer_service.channels.sms.onestop import HttpDossierLookup
from answer_service.channels.zalo import TokenPair, ZaloClient, ZaloTokenStore
from tests.utils.channel_servers import (
    FakeEsms,
    FakeGraph,
    FakeOneStop,
    FakeSpeedSms,
    FakeZalo,
    serving,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10) as client:
        yield client


class TestZaloRotation:
    def test_run_two_workers_with_an_expired_token_refresh_once(
        self, http: httpx.Client, tmp_path: Path
    ) -> None:
        zalo = FakeZalo(app_id="42", app_secret="app-secret")
        access, refresh, _ = zalo.issue_pair()
        path = tmp_path / "zalo.json"
        ZaloTokenStore(path).save(TokenPair(access, refresh, time.time() - 1))
        errors: list[BaseException] = []

        with serving(zalo.app) as server:

            def send(n: int) -> None:
                client = ZaloClient(
                    http,
                    api_base=server.base_url,
                    oauth_base=server.base_url,
                    app_id="42",
                    app_secret="app-secret",
                    tokens=ZaloTokenStore(path),
                )
                try:
                    client.send_text("4368496045530239786", f"Tin nhắn {n}")
                except BaseException as exc:  # noqa: BLE001 - collected for the assertion
                    errors.append(exc)

            threads = [threading.Thread(target=send, args=(n,)) for n in range(4)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(30)

        assert errors == []
        assert zalo.refresh_calls == 1  # the single-use refresh token was spent once
        stored = ZaloTokenStore(path).load()
        assert stored is not None and stored.refresh_token in zalo.refresh
        assert refresh in zalo.spent_refresh
        assert len(zalo.messages.items) == 4

    def test_spent_refresh_token_raises(self, http: httpx.Client, tmp_path: Path) -> None:
        zalo = FakeZalo(app_id="42", app_secret="app-secret")
        _, refresh, _ = zalo.issue_pair()
        zalo.refresh.discard(refresh)  # spent elsewhere
        tokens = ZaloTokenStore(tmp_path / "zalo.json")
        tokens.save(TokenPair("old", refresh, time.time() - 1))

        with serving(zalo.app) as server, pytest.raises(ProviderError) as caught:
            ZaloClient(
                http,
                api_base=server.base_url,
                oauth_base=server.base_url,
                app_id="42",
                app_secret="app-secret",
                tokens=tokens,
            ).send_text("1", "x")

        assert caught.value.provider_code == "-14014"


class TestOtherProviders:
    def test_graph_wrong_page_token_raises_with_code(self, http: httpx.Client) -> None:
        graph = FakeGraph(page_token="right")

        with serving(graph.app) as server, pytest.raises(ProviderError) as caught:
            GraphClient(http, graph_base=f"{server.base_url}/v21.0", page_token="wrong").send_text(
                "1", "Xin chào"
            )

        assert caught.value.provider_code == "190"

    def test_run_speedsms_and_esms_gateways(self, http: httpx.Client) -> None:
        speed, esms = FakeSpeedSms(access_token="tok"), FakeEsms(api_key="k", secret_key="s")

        with serving(speed.app) as speed_server, serving(esms.app) as esms_server:
            SpeedSmsGateway(
                http, base_url=speed_server.base_url, access_token="tok", sender=""
            ).send("0900000001", "Xin chao", unicode=False)
            EsmsGateway(
                http, base_url=esms_server.base_url, api_key="k", secret_key="s", brandname="B"
            ).send("0900000002", "Đăng ký", unicode=True)
            with pytest.raises(ProviderError):
                SpeedSmsGateway(
                    http, base_url=speed_server.base_url, access_token="bad", sender=""
                ).send("0900000001", "x", unicode=False)
            with pytest.raises(ProviderError) as caught:
                EsmsGateway(
                    http,
                    base_url=esms_server.base_url,
                    api_key="k",
                    secret_key="bad",
                    brandname="B",
                ).send("0900000002", "x", unicode=False)

        assert speed.messages.items[0]["phone"] == "0900000001"
        assert (esms.messages.items[0]["text"], esms.messages.items[0]["unicode"]) == (
            "Đăng ký",
            True,
        )
        assert caught.value.provider_code == "101"

    def test_run_dossier_lookup(self, http: httpx.Client) -> None:
        onestop = FakeOneStop(
            api_key="key",
            dossiers={
                "000.00.12.H99-261201-0001": {
                    "status": "Đang xử lý",
                    "procedure": "Thủ tục thử nghiệm",
                    "due_date": "2026-12-30",
                }
            },
        )

        with serving(onestop.app) as server:
            lookup = HttpDossierLookup(http, base_url=server.base_url, api_key="key")
            found = lookup.dossier_status("000.00.12.H99-261201-0001")
            missing = lookup.dossier_status("000.00.12.H99-261201-9999")
            odd = lookup.dossier_status("../../etc/passwd")
            with pytest.raises(ProviderError):
                HttpDossierLookup(http, base_url=server.base_url, api_key="bad").dossier_status(
                    "000.00.12.H99-261201-0001"
                )

        assert found is not None and found.status == "Đang xử lý"
        assert missing is None and odd is None
