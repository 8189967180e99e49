"""The FastAPI application: search, procedures, agent-assist suggestions and grounded answers."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from fastapi import FastAPI

from answer_service.api.body_limit import BodySizeLimitMiddleware
from answer_service.api.routes import answers, health, procedures, search
from answer_service.errors import install_error_handlers
from answer_service.service import AnswerService
from answer_service.settings import AnswerSettings

if TYPE_CHECKING:
    from ingestion.settings import Settings

logger = logging.getLogger(__name__)


def open_service(settings: Settings | None = None) -> AnswerService:
    """Open the knowledge base on the configured backends (embedded by default).

    Args:
        settings: Where the knowledge base lives; read from the environment when not given.
    """
    from answer_service.llm import LlmRephraser
    from ingestion.catalog import Catalog
    from ingestion.settings import get_settings
    from search.engine import SearchEngine

    settings = settings or get_settings()
    answer_settings = AnswerSettings()
    rephraser = None
    if answer_settings.llm_base_url and answer_settings.llm_model:
        key = answer_settings.llm_api_key
        rephraser = LlmRephraser(
            base_url=answer_settings.llm_base_url,
            model=answer_settings.llm_model,
            api_key=key.get_secret_value() if key else "none",
        )
    return AnswerService(
        engine=SearchEngine.open(settings),
        catalog=Catalog(settings.catalog_url),
        abstain_below=answer_settings.abstain_below,
        rephraser=rephraser,
    )


def create_app(
    service: AnswerService | None = None,
    *,
    settings: Settings | None = None,
    max_body_bytes: int | None = None,
) -> FastAPI:
    """Build the app; ``service`` is opened from ``settings`` at start-up when not given."""
    limit = max_body_bytes or AnswerSettings().max_body_bytes

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        opened = service is None
        app.state.service = service or open_service(settings)
        yield
        if opened:
            app.state.service.engine.close()
            app.state.service.catalog.close()

    app = FastAPI(
        title="Tổng đài 1022: answer service",
        version="0.1.0",
        description="Hybrid search over administrative procedures, agent-assist suggestions "
        "and grounded answers with citations.",
        lifespan=lifespan,
    )
    install_error_handlers(app)

    app.add_middleware(BodySizeLimitMiddleware, limit=limit)

    for router in (health.router, search.router, procedures.router, answers.router):
        app.include_router(router)
    return app
