"""Settings of the consoles, read once per Streamlit session from ``HOTLINE_UI_*`` variables.

The consoles hold no data of their own: everything comes from the answer service over HTTP,
so the only settings are where that service is, how long to wait for it, and how people log in.
"""

from __future__ import annotations

from enum import Enum

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class AuthMode(str, Enum):
    """How the login page identifies people.

    ``token``: username and password are exchanged for a bearer token at ``/v1/auth/token``.
    ``none``: a role is picked from a list and no token is sent; for demonstrations and tests on
    a machine of one's own, never for a deployment that citizens' data passes through.
    """

    TOKEN = "token"
    NONE = "none"

    @classmethod
    def from_str(cls, value: str) -> AuthMode:
        try:
            return cls(value)
        except ValueError:
            allowed = ", ".join(m.value for m in cls)
            raise ValueError(f"auth mode must be one of {allowed}, got {value!r}") from None


class UiSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="HOTLINE_UI_", env_file=".env", env_ignore_empty=True, extra="ignore"
    )

    api_url: str = Field("http://127.0.0.1:8022", description="Base URL of the answer service.")
    timeout_s: float = Field(15.0, gt=0, le=120, description="Seconds to wait for an answer.")
    auth: AuthMode = Field(AuthMode.TOKEN, description="token (default) or none (demo only).")

    @field_validator("api_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"api_url must start with http:// or https://, got {value!r}")
        return value.rstrip("/")

    @field_validator("auth", mode="before")
    @classmethod
    def _known_mode(cls, value: object) -> AuthMode:
        return value if isinstance(value, AuthMode) else AuthMode.from_str(str(value))
