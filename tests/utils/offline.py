"""Keep unit tests off the network: no model hub, no Python sockets."""

from __future__ import annotations

import socket
from typing import Any

import pytest

OFFLINE_ENV = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")


def go_offline(mp: pytest.MonkeyPatch, attempts: list[Any]) -> None:
    """Offline hub (env and the flag huggingface_hub reads at import) and no Python sockets.

    Every refused connection is appended to ``attempts``, so a fixture can fail the test.
    """
    for name in OFFLINE_ENV:
        mp.setenv(name, "1")
    import huggingface_hub.constants

    mp.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)

    def refuse(_sock: socket.socket, address: Any, *_args: Any) -> None:
        attempts.append(address)
        raise ConnectionRefusedError(f"unit tests open no socket (tried {address!r})")

    mp.setattr(socket.socket, "connect", refuse)
    mp.setattr(socket.socket, "connect_ex", refuse)
