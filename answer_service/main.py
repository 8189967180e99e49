"""The FastAPI application: search, procedures, agent-assist suggestions and grounded answers."""

from __future__ import annotations

import gc
import logging
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from fastapi import FastAPI

from answer_service.api.body_limit import BodySizeLimitMiddleware
from answer_service.api.routes import answers, feedback, health, knowledge, procedures, search
from answer_service.api.routes import calls as call_routes
from answer_service.api.routes.knowledge import SYNONYMS_MAX_BODY_BYTES
from answer_service.channels import api as channel_routes
from answer_service.errors import install_error_handlers
from answer_service.quality import QualityStore
from answer_service.service import AnswerService
from answer_service.settings import AnswerSettings
from tickets import api as tickets_api

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
        answer_at=answer_settings.answer_at,
        offer_at=answer_settings.offer_at,
        rephraser=rephraser,
    )


def quality_url(settings: Settings | None, answer_settings: AnswerSettings) -> str:
    """Where interactions are kept: the setting, else SQLite beside the knowledge base."""
    if answer_settings.quality_database_url:
        return answer_settings.quality_database_url
    from ingestion.settings import get_settings

    data_dir = (settings or get_settings()).ensure_data_dir()
    return f"sqlite:///{data_dir.resolve() / 'quality.sqlite'}"


def settle_heap() -> None:
    """Collect what start-up left over, then exempt every object alive now from collection.

    A serving process holds about 440,000 objects once the knowledge base is open, and the
    collector's oldest generation walks them all: measured in process over 536 dev searches,
    one such collection stopped every thread for 235 ms. With them set aside (``gc.freeze``)
    the same searches saw four oldest-generation collections of 12 to 13 ms. Objects of
    start-up that become garbage later are still freed when nothing refers to them; only
    cycles among them stay.
    """
    gc.collect()
    gc.freeze()


def create_served_app() -> FastAPI:
    """The app of a served worker process (``hotline serve --workers N``)."""
    return create_app(freeze_heap=True)


def create_app(
    service: AnswerService | None = None,
    *,
    settings: Settings | None = None,
    max_body_bytes: int | None = None,
    quality: QualityStore | None = None,
    freeze_heap: bool = False,
) -> FastAPI:
    """Build the app; ``service`` is opened from ``settings`` at start-up when not given.

    ``quality`` keeps the interactions for review. An injected ``service`` without
    ``settings`` (tests, tools) gets an in-memory quality store and, unless the caller put a
    ticket service or ticket settings on ``app.state``, a scratch ticket database.
    ``freeze_heap`` runs ``settle_heap`` once start-up is done: for a process that only serves,
    not for tests and tools that make many apps in one process.
    """
    answer_settings = AnswerSettings()
    limit = max_body_bytes or answer_settings.max_body_bytes

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        opened = service is None
        app.state.service = service or open_service(settings)
        own_quality = quality is None
        scratch: tempfile.TemporaryDirectory[str] | None = None
        if quality is not None:
            app.state.quality = quality
        elif service is not None and settings is None:
            app.state.quality = QualityStore("sqlite://")
        else:
            app.state.quality = QualityStore(quality_url(settings, answer_settings))
        given = getattr(app.state, "tickets", None) or getattr(app.state, "ticket_settings", None)
        if service is not None and settings is None and given is None:
            # An injected service is a test's or a tool's: its tickets go to a scratch
            # database, never to the working directory's data dir.
            from tickets.settings import TicketSettings

            scratch = tempfile.TemporaryDirectory(prefix="hotline-tickets-")
            app.state.ticket_settings = TicketSettings(data_dir=Path(scratch.name))
        if freeze_heap:
            settle_heap()
        yield
        if own_quality:
            app.state.quality.close()
        if scratch is not None:
            scratch.cleanup()
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

    # A whole synonym dictionary (up to 5,000 entries) is saved in one request.
    app.add_middleware(
        BodySizeLimitMiddleware,
        limit=limit,
        larger={"/v1/knowledge/synonyms": max(limit, SYNONYMS_MAX_BODY_BYTES)},
    )

    for router in (
        health.router,
        search.router,
        procedures.router,
        answers.router,
        call_routes.router,
        feedback.router,
        knowledge.router,
        channel_routes.router,
        tickets_api.router,
    ):
        app.include_router(router)
    return app
