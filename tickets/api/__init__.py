"""The ticket API: one router that ``answer_service.main`` mounts, with its own start-up.

``router`` carries a lifespan: when the app starts it opens the ticket database from
``TicketSettings`` (the embedded SQLite file by default), migrates it to head, and puts the
service, the user and token store and the rate limiter on ``app.state``. A test or a benchmark
that wants another database sets ``app.state.tickets`` to its own ``TicketService`` before the
app starts; the lifespan then uses that one and closes nothing it did not open.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import APIRouter, FastAPI

from tickets.api.routes import agencies, auth, holidays, knowledge, stats, tickets, users
from tickets.api.suggest import suggester_for
from tickets.auth import AuthStore
from tickets.open311 import router as open311_router
from tickets.ratelimit import RateLimit, RateLimiter, open_rate_limiter
from tickets.service import TicketService
from tickets.settings import TicketSettings

logger = logging.getLogger(__name__)

__all__ = ["create_tickets_app", "rate_limits", "router"]


def rate_limits(settings: TicketSettings) -> dict[str, RateLimit]:
    """The limits of the public endpoints, per client address.

    Open311 gets the configured requests per minute; token creation gets the burst number per
    minute, which is plenty for people signing in and little for a password-guessing script.
    """
    return {
        "open311": RateLimit("open311", settings.rate_limit_per_minute, 60),
        "token": RateLimit("token", settings.rate_limit_burst, 60),
        # Per account too: a guesser who varies its address (or X-Forwarded-For) still stops.
        "token-account": RateLimit("token-account", settings.rate_limit_burst, 60),
    }


def _open_default_service(app: FastAPI, settings: TicketSettings) -> TicketService:
    from tickets.db import open_service

    # The answer service's search engine doubles as the ticket suggester when it is open.
    suggester = suggester_for(getattr(app.state, "service", None))
    service: TicketService = open_service(settings, suggester=suggester)
    return service


@asynccontextmanager
async def tickets_lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Open (and migrate) the ticket database unless a service was given; close what we open."""
    opened = getattr(app.state, "tickets", None) is None
    if opened:
        settings = getattr(app.state, "ticket_settings", None) or TicketSettings()
        app.state.tickets = _open_default_service(app, settings)
        logger.info("ticket service opened on %s", settings.url.split("://", 1)[0])
    service = app.state.tickets
    # A given service brings its own settings (token lifetime, rate limits).
    settings = service.settings
    app.state.ticket_settings = settings
    app.state.ticket_auth = AuthStore(
        service.engine, token_lifetime=timedelta(hours=settings.token_lifetime_hours)
    )
    if getattr(app.state, "ticket_rate_limiter", None) is None:
        app.state.ticket_rate_limiter = open_rate_limiter(settings.redis_url)
    app.state.ticket_rate_limits = rate_limits(settings)
    try:
        yield
    finally:
        if opened:
            service.engine.dispose()
            app.state.tickets = None


router = APIRouter(lifespan=tickets_lifespan)
for _child in (
    auth.router,
    users.router,
    agencies.router,
    holidays.router,
    tickets.router,
    stats.router,
    knowledge.router,
    open311_router,
):
    router.include_router(_child)


def create_tickets_app(
    service: TicketService | None = None,
    *,
    max_body_bytes: int = 64 * 1024,
    rate_limiter: RateLimiter | None = None,
) -> FastAPI:
    """An app with the ticket API alone: for benchmarks, tests and a tickets-only deployment.

    It has the same error handlers and body-size limit as ``answer_service.main.create_app``.

    Args:
        service: A ``TicketService`` to serve; opened from ``TicketSettings`` when not given.
        max_body_bytes: Larger request bodies answer 413.
        rate_limiter: A ``RateLimiter`` to use instead of one from the settings.
    """
    from answer_service.api.body_limit import BodySizeLimitMiddleware
    from answer_service.errors import install_error_handlers

    app = FastAPI(title="Tổng đài 1022: tickets", version="0.1.0")
    install_error_handlers(app)
    app.add_middleware(BodySizeLimitMiddleware, limit=max_body_bytes)
    app.state.tickets = service
    app.state.ticket_rate_limiter = rate_limiter
    app.include_router(router)
    return app
