"""ARI objects and a mock ARI transport for the bridge's unit tests."""

from __future__ import annotations

import json
from typing import Any

import httpx

APP = "hotline1022"


def channel(channel_id: str = "1700000000.1", number: str = "0900000101", **extra: Any) -> dict:
    data = {
        "id": channel_id,
        "name": f"PJSIP/trunk-{channel_id}",
        "state": "Ring",
        "caller": {"name": "Khách Thử Nghiệm", "number": number},
        "connected": {"name": "", "number": ""},
        "accountcode": "",
        "dialplan": {
            "context": "hotline-in",
            "exten": "1022",
            "priority": 2,
            "app_name": "Stasis",
            "app_data": APP,
        },
        "creationtime": "2026-12-04T10:00:00.000+0700",
        "language": "vi",
    }
    data.update(extra)
    return data


def event(kind: str, timestamp: str = "2026-12-04T10:00:01.000+0700", **fields: Any) -> str:
    return json.dumps(
        {
            "type": kind,
            "timestamp": timestamp,
            "application": APP,
            "asterisk_id": "02:42:0a:00:00:10",
            **fields,
        }
    )


class MockAri:
    """Answers ARI REST requests from a table; records every request."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.channels: list[dict] = []
        self.fail: dict[str, int] = {}

    def handler(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        params = dict(request.url.params)
        self.requests.append((request.method, path, params))
        for part, status in self.fail.items():
            if part in path:
                return httpx.Response(status, json={"message": "refused by test"})
        if request.method == "GET" and path == "/ari/channels":
            return httpx.Response(200, json=self.channels)
        if path == "/ari/bridges":
            return httpx.Response(200, json={"id": "bridge-1", "channels": []})
        if path.endswith("/record"):
            return httpx.Response(
                201,
                json={
                    "name": params["name"],
                    "format": params["format"],
                    "target_uri": "channel:x",
                    "state": "recording",
                },
            )
        return httpx.Response(204)

    def paths(self, method: str = "POST") -> list[str]:
        return [p for m, p, _ in self.requests if m == method]
