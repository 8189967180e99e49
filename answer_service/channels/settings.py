"""Settings of the citizen channels (prefix ``HOTLINE_CHANNELS_``), read once at the entry point.

Secrets are ``SecretStr`` and empty by default: a channel whose secret is not configured refuses
every webhook (403) instead of accepting unsigned ones. Provider base URLs default to the real
providers; tests point them at loopback servers.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ingestion.settings import shared_data_dir


class ChannelSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="HOTLINE_CHANNELS_", env_file=".env", env_ignore_empty=True, extra="ignore"
    )

    database_url: str = Field("", description="Conversation store; default SQLite in data_dir.")
    data_dir: Path = Field(
        default_factory=shared_data_dir, description="Where the default store and tokens live."
    )
    broker_url: str = Field("", description="Celery broker; default SQLite in data_dir.")
    result_backend: str = ""
    task_always_eager: bool = Field(False, description="Run tasks in process (unit tests only).")
    public_base_url: str = Field(
        "https://dichvucong.gov.vn/p/home/dvc-tthc-thu-tuc-hanh-chinh-chi-tiet.html?ma_thu_tuc=",
        description="Link for a procedure code, appended to SMS and chat answers.",
    )
    max_inbound_chars: int = Field(4000, ge=100, description="Longer messages are cut.")
    ack_text: str = "Tổng đài 1022 đã nhận được thông tin của Quý khách, xin cảm ơn."
    event_max_age_s: int = Field(
        3600, ge=60, description="Signed events older than this are refused as replays."
    )

    zalo_app_id: str = ""
    zalo_app_secret: SecretStr = SecretStr("")
    zalo_oa_secret_key: SecretStr = SecretStr("")
    zalo_api_base: str = "https://openapi.zalo.me"
    zalo_oauth_base: str = "https://oauth.zaloapp.com"
    zalo_token_file: Path | None = Field(None, description="Token pair; default in data_dir.")
    zalo_max_chars: int = 2000

    messenger_app_secret: SecretStr = SecretStr("")
    messenger_verify_token: SecretStr = SecretStr("")
    messenger_page_token: SecretStr = SecretStr("")
    messenger_graph_base: str = "https://graph.facebook.com/v21.0"
    messenger_max_chars: int = 2000

    mail_address: str = "1022@hotline.example"
    imap_host: str = ""
    imap_port: int = 993
    imap_ssl: bool = True
    imap_user: str = ""
    imap_password: SecretStr = SecretStr("")
    imap_mailbox: str = "INBOX"
    imap_idle_s: int = Field(300, ge=5, le=1740, description="IDLE is renewed before 29 min.")
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_starttls: bool = True
    smtp_user: str = ""
    smtp_password: SecretStr = SecretStr("")

    sms_provider: str = Field("esms", description="esms or speedsms, for outbound SMS.")
    sms_inbound_secret: SecretStr = SecretStr("")
    campaign_token: SecretStr = SecretStr("")
    sms_max_segments: int = Field(2, ge=1, le=10)
    sms_unicode: bool = Field(False, description="UCS-2 replies with diacritics.")
    sms_rate_limit: int = Field(10, ge=1, description="Messages per window from one number.")
    sms_rate_window_s: int = Field(600, ge=1)
    sms_campaign_per_second: float = Field(5.0, gt=0, description="Broadcast send rate.")
    webchat_rate_limit: int = Field(30, ge=1, description="Messages per window in one session.")
    webchat_rate_window_s: int = Field(600, ge=1)
    esms_api_base: str = "https://rest.esms.vn"
    esms_api_key: str = ""
    esms_secret_key: SecretStr = SecretStr("")
    esms_brandname: str = ""
    speedsms_api_base: str = "https://api.speedsms.vn"
    speedsms_access_token: SecretStr = SecretStr("")
    speedsms_sender: str = ""
    onestop_base_url: str = Field("", description="Province one-stop system (dossier status).")
    onestop_api_key: SecretStr = SecretStr("")

    http_timeout_s: float = 10.0

    @field_validator("sms_provider")
    @classmethod
    def _known_sms_provider(cls, value: str) -> str:
        allowed = ("esms", "speedsms")
        if value not in allowed:
            raise ValueError(f"sms_provider must be one of {', '.join(allowed)}, got {value!r}")
        return value

    @property
    def store_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir.resolve() / 'channels.sqlite'}"

    @property
    def zalo_token_path(self) -> Path:
        return self.zalo_token_file or self.data_dir / "zalo-token.json"

    @property
    def celery_broker_url(self) -> str:
        return self.broker_url or f"sqla+sqlite:///{self.data_dir.resolve() / 'celery.sqlite'}"

    @property
    def celery_result_backend(self) -> str:
        return (
            self.result_backend
            or f"db+sqlite:///{self.data_dir.resolve() / 'celery-results.sqlite'}"
        )


@lru_cache(maxsize=1)
def get_channel_settings() -> ChannelSettings:
    return ChannelSettings()
