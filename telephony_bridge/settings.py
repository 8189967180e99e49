"""Settings of the telephony bridge (``HOTLINE_TELEPHONY_`` prefix).

The bridge runs as its own process next to Asterisk; the answer service reads the same settings
to find the hub (Redis when ``redis_url`` is set, in-process otherwise) and the live-assist
timing.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from ingestion.settings import shared_data_dir


def _default_state_path() -> Path:
    return shared_data_dir() / "telephony-state.sqlite"


class BridgeSettings(BaseSettings):
    """Where Asterisk is, how calls become tickets and how live assist is paced."""

    model_config = SettingsConfigDict(
        env_prefix="HOTLINE_TELEPHONY_", env_file=".env", env_ignore_empty=True, extra="ignore"
    )

    ari_url: str = Field("http://127.0.0.1:8088", description="Asterisk's HTTP server (no /ari).")
    ari_username: str = "hotline"
    ari_password: SecretStr = SecretStr("")
    ari_app: str = Field("hotline1022", description="The Stasis application name.")
    redis_url: str = Field("", description="Hub on Redis pub/sub; empty: in-process hub.")
    redis_prefix: str = Field("", description="Put before hub topics (deployments sharing Redis).")
    state_path: Path = Field(default_factory=_default_state_path, description="Local call state.")
    record_calls: bool = True
    recording_format: str = "wav"
    recording_uri_prefix: str = Field(
        "file:///var/spool/asterisk/recording/", description="Prefix of stored recording URIs."
    )
    agency_endpoints: dict[str, str] = Field(
        default_factory=dict,
        description='Agency code → ARI endpoint for transfers, e.g. {"CA-HN": "PJSIP/113@trunk"}.',
    )
    dtmf_transfer: dict[str, str] = Field(
        default_factory=dict, description='DTMF digit → agency code, e.g. {"9": "CA-HN"}.'
    )
    route_transfer: dict[str, str] = Field(
        default_factory=dict,
        description='Answer-service route → agency code, e.g. {"emergency_114": "PCCC-HN"}.',
    )
    audiosocket_host: str = "127.0.0.1"
    audiosocket_port: int = Field(0, ge=0, le=65535, description="0: no AudioSocket receiver.")
    audiosocket_external_host: str = Field(
        "", description="host:port Asterisk dials for externalMedia; empty: no live audio."
    )
    audiosocket_format: str = Field("slin16", pattern="^(slin|slin16)$")
    reconcile_seconds: float = Field(
        60.0, gt=0, description="Also reconcile with Asterisk this often (retries failed writes)."
    )
    reconnect_initial_seconds: float = Field(0.5, gt=0)
    reconnect_max_seconds: float = Field(30.0, gt=0)
    debounce_ms: int = Field(250, ge=0, le=5_000, description="Quiet time before a suggestion.")
    suggest_parallel: int = Field(
        2, ge=1, le=64, description="Suggestions computed at once, across all calls."
    )
    embedded_bridge: bool = Field(False, description="Run the bridge inside the answer service.")


@lru_cache(maxsize=1)
def get_bridge_settings() -> BridgeSettings:
    """The settings read once from the environment."""
    return BridgeSettings()
