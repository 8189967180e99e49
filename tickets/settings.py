"""Settings of the ticket system, read once at the entry point.

Every setting can be given as an environment variable with the ``HOTLINE_TICKETS_`` prefix
(``HOTLINE_TICKETS_DATABASE_URL`` …). The default database is an embedded SQLite file beside the
search index, so a single machine needs no server; production points ``database_url`` at
PostgreSQL (``postgresql+psycopg://postgres@127.0.0.1:5432/<db>``).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ingestion.settings import shared_data_dir
from tickets.intake import TicketKind

BUNDLED_HOLIDAYS = Path(__file__).resolve().parent / "data" / "holidays.json"
"""Vietnamese public holidays per year, shipped with the package."""

DEFAULT_SLA_DAYS: dict[str, int] = {
    TicketKind.QUESTION.value: 2,
    TicketKind.PROCEDURE_FEEDBACK.value: 10,
    TicketKind.COMPLAINT.value: 30,
    TicketKind.INCIDENT.value: 3,
    TicketKind.EMERGENCY_FORWARDED.value: 1,
}
"""Working days a ticket of each kind may take before it is overdue."""


class TicketSettings(BaseSettings):
    """Database, deadlines, holidays, tokens and rate limits of the ticket system."""

    model_config = SettingsConfigDict(
        env_prefix="HOTLINE_TICKETS_", env_file=".env", env_ignore_empty=True, extra="ignore"
    )

    database_url: str = Field("", description="SQLAlchemy URL; default SQLite in the data dir.")
    data_dir: Path = Field(default_factory=shared_data_dir)
    sla_working_days: dict[str, int] = Field(
        default_factory=lambda: dict(DEFAULT_SLA_DAYS),
        description="Working days per ticket kind before a ticket is overdue.",
    )
    holidays_file: Path = Field(BUNDLED_HOLIDAYS, description="Public holidays per year (JSON).")
    token_lifetime_hours: int = Field(12, ge=1, le=24 * 90)
    rate_limit_per_minute: int = Field(60, ge=1, description="Public endpoints, per client.")
    rate_limit_burst: int = Field(
        20, ge=1, description="Sign-ins per minute, per client address and per account."
    )
    redis_url: str = Field(
        "",
        description="Redis for the rate-limit counters, shared by worker processes "
        "(redis://127.0.0.1:6379/0); empty: counters in each process.",
    )
    max_content_chars: int = Field(20_000, ge=100)
    open311_fields: list[str] = Field(
        default_factory=list,
        description="Fields (lĩnh vực) always offered as Open311 services, besides those of "
        "public tickets.",
    )

    @field_validator("sla_working_days")
    @classmethod
    def _known_kinds(cls, value: dict[str, int]) -> dict[str, int]:
        allowed = {kind.value for kind in TicketKind}
        unknown = sorted(set(value) - allowed)
        if unknown:
            raise ValueError(
                f"sla_working_days names unknown kinds {unknown}; allowed: {sorted(allowed)}"
            )
        bad = {kind: days for kind, days in value.items() if days < 0}
        if bad:
            raise ValueError(f"sla_working_days must be 0 or more, got {bad}")
        return {**DEFAULT_SLA_DAYS, **value}

    @property
    def url(self) -> str:
        """The database URL, with the embedded SQLite default filled in."""
        return self.database_url or f"sqlite:///{self.data_dir.resolve() / 'tickets.sqlite'}"
