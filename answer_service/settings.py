"""Settings of the answer service; the knowledge-base settings come from ``ingestion.settings``."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class AnswerSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="HOTLINE_", env_file=".env", env_ignore_empty=True, extra="ignore"
    )

    answer_at: float = Field(
        0.95,
        ge=0,
        le=1,
        description=(
            "Answer directly when the chance that the likeliest procedure is the one asked "
            "about is at least this and the procedure matches the question well on its own."
        ),
    )
    offer_at: float = Field(
        0.9,
        ge=0,
        le=1,
        description=(
            "Else ask the citizen to choose among the fewest likeliest procedures (two to "
            "three) whose chances add up to this; hand over when three do not."
        ),
    )
    llm_base_url: str = ""
    llm_model: str = ""
    llm_api_key: SecretStr | None = None
    quality_database_url: str = Field(
        "", description="Where interactions and feedback are kept; default SQLite in data_dir."
    )
    max_body_bytes: int = Field(64 * 1024, description="Larger request bodies answer 413.")
