"""Errors of the ticket system, all under the platform's one root.

Each maps to the HTTP status the API answers with, so routes never pick a status themselves.

    PlatformError                      (search.errors)
    └── TicketError                    422 by default: input the ticket system cannot accept
        ├── TicketNotFound             404 a ticket, user, agency or proposal that does not exist
        ├── VersionConflict            409 the client edited an older version of the ticket
        ├── InvalidTransition          409 the status flow does not allow the step
        ├── PermissionDenied           403 the actor's role or agency does not allow the action
        ├── AuthenticationFailed       401 no, a wrong or an expired credential
        ├── UnknownAgency              422 an agency code that is not configured or not active
        └── RateLimited                429 too many requests from one client
"""

from __future__ import annotations

from collections.abc import Iterable

from search.errors import ErrorCode, PlatformError


class TicketError(PlatformError):
    """Root of the ticket system's errors; bad input by default."""

    default_code = ErrorCode.INVALID_INPUT


class TicketNotFound(TicketError):
    """A ticket (or a user, agency or proposal) that does not exist or is not visible."""

    default_code = ErrorCode.NOT_FOUND


class VersionConflict(TicketError):
    """The client saved an older version of a record than the stored one.

    Args:
        detail: What was being saved.
        current_version: The stored version, so the client can reload and retry.
    """

    default_code = ErrorCode.CONFLICT

    def __init__(self, detail: str, *, current_version: int) -> None:
        super().__init__(f"{detail} (current version is {current_version})")
        self.current_version = current_version


class InvalidTransition(TicketError):
    """A status change that the workflow does not allow from the current status.

    Args:
        current: The ticket's status now.
        requested: The status or action asked for.
        allowed: The statuses the actor could move the ticket to instead.
        reason: Why, when it is not the flow itself (a missing role, for example).
    """

    default_code = ErrorCode.CONFLICT

    def __init__(
        self, *, current: str, requested: str, allowed: Iterable[str], reason: str = ""
    ) -> None:
        allowed_list = sorted(set(allowed))
        allowed_text = ", ".join(allowed_list) if allowed_list else "none"
        detail = (
            f"cannot move a ticket from {current!r} to {requested!r}; "
            f"allowed next statuses: {allowed_text}"
        )
        if reason:
            detail = f"{detail} ({reason})"
        super().__init__(detail)
        self.current = current
        self.requested = requested
        self.allowed = allowed_list


class PermissionDenied(TicketError):
    """The actor's role or agency does not allow the action."""

    default_code = ErrorCode.FORBIDDEN


class AuthenticationFailed(TicketError):
    """No credential, a wrong one, or one that expired or was revoked."""

    default_code = ErrorCode.UNAUTHORIZED


class UnknownAgency(TicketError):
    """An agency code that is not configured, or not active."""

    default_code = ErrorCode.INVALID_INPUT


class RateLimited(TicketError):
    """Too many requests from one client in the current window.

    Args:
        detail: Which limit was reached.
        retry_after: Seconds until the client may try again.
    """

    default_code = ErrorCode.RATE_LIMITED

    def __init__(self, detail: str, *, retry_after: int = 1) -> None:
        super().__init__(detail)
        self.retry_after = retry_after
