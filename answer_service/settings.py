"""Settings of the answer service; the knowledge-base settings come from ``ingestion.settings``."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class AnswerSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="HOTLINE_", env_file=".env", env_ignore_empty=True, extra="ignore"
    )

    abstain_below: float = Field(0.75, ge=0, le=1, description="Hand over below this confidence.")
    clarify_within: float = Field(
        0.9,
        ge=0,
        le=1,
        description=(
            "Ask the citizen to choose when another procedure's score is at least this share "
            "of the best one's; 1 asks only on a tie."
        ),
    )
    llm_base_url: str = ""
    llm_model: str = ""
    llm_api_key: SecretStr | None = None
    quality_database_url: str = Field(
        "", description="Where interactions and feedback are kept; default SQLite in data_dir."
    )
    max_body_bytes: int = Field(64 * 1024, description="Larger request bodies answer 413.")
