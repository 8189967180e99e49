"""Dossier status from the province's one-stop system (``HS <number>`` by SMS).

Each province runs its own one-stop information system (hệ thống thông tin giải quyết thủ tục
hành chính); ``DossierLookup`` is the seam. ``HttpDossierLookup`` speaks a small JSON API
(``GET {base}/api/v1/dossiers/{number}`` with an ``X-API-Key``) that an adapter in front of the
province's system is expected to offer; tests run a loopback server with that shape.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import quote

import httpx

from answer_service.channels.errors import ProviderError

DOSSIER_NUMBER = re.compile(r"^[A-Za-z0-9.\-/]{6,60}$")


@dataclass(frozen=True)
class DossierStatus:
    number: str
    status: str  # e.g. "Đang xử lý", "Đã có kết quả"
    procedure: str
    due_date: str  # yyyy-mm-dd, "" when unknown


class DossierLookup(Protocol):
    def dossier_status(self, number: str) -> DossierStatus | None:
        """The dossier's status, or None when the system has no such dossier."""


class HttpDossierLookup:
    """The one-stop adapter over HTTP.

    Args:
        client: HTTP client.
        base_url: Root of the adapter's API.
        api_key: Sent as ``X-API-Key``.
    """

    def __init__(self, client: httpx.Client, *, base_url: str, api_key: str) -> None:
        self.client = client
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key

    def dossier_status(self, number: str) -> DossierStatus | None:
        if not DOSSIER_NUMBER.match(number):
            return None
        try:
            response = self.client.get(
                f"{self.base_url}/api/v1/dossiers/{quote(number, safe='')}",
                headers={"X-API-Key": self.api_key},
            )
        except httpx.HTTPError as exc:
            raise ProviderError(f"one-stop system unreachable: {exc}") from exc
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise ProviderError(f"one-stop system answered {response.status_code}")
        data = response.json()
        return DossierStatus(
            number=str(data.get("number", number)),
            status=str(data.get("status", "")),
            procedure=str(data.get("procedure", "")),
            due_date=str(data.get("due_date", "")),
        )
