"""Bridge settings: where the local call state lives."""

from __future__ import annotations

from pathlib import Path

import pytest

from telephony_bridge.settings import BridgeSettings


def test_state_follows_the_data_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("HOTLINE_TELEPHONY_STATE_PATH", raising=False)
    monkeypatch.setenv("HOTLINE_DATA_DIR", str(tmp_path))
    assert BridgeSettings().state_path == tmp_path / "telephony-state.sqlite"


def test_explicit_state_path_wins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOTLINE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("HOTLINE_TELEPHONY_STATE_PATH", str(tmp_path / "other.sqlite"))
    assert BridgeSettings().state_path == tmp_path / "other.sqlite"
