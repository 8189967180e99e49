"""Errors of the telephony bridge, under the platform's one root.

PlatformError
└── TelephonyError          the call side: bad commands, unknown calls
    ├── AriError            Asterisk's REST interface refused or failed a request
    ├── AriEventError       a WebSocket message that is not a usable ARI event
    ├── AudioFrameError     a malformed AudioSocket frame
    ├── CallNotFound        no live call with that id
    └── CallEnded           the call is over; it takes no more segments or transfers
"""

from __future__ import annotations

from search.errors import ErrorCode, PlatformError


class TelephonyError(PlatformError):
    """A call-side request could not be carried out."""

    default_code = ErrorCode.INVALID_INPUT


class AriError(TelephonyError):
    """Asterisk's REST interface answered with an error or could not be reached.

    Args:
        detail: What was asked and what came back (the body shortened).
        status: The HTTP status Asterisk answered with; ``None`` when it was not reached.
    """

    default_code = ErrorCode.SOURCE_UNAVAILABLE

    def __init__(self, detail: str, *, status: int | None = None) -> None:
        super().__init__(detail)
        self.status = status


class AriEventError(TelephonyError):
    """A WebSocket message that is not JSON or lacks the fields its event type needs."""


class AudioFrameError(TelephonyError):
    """An AudioSocket frame with an unknown kind, a bad length or a truncated payload."""


class CallNotFound(TelephonyError):
    """No live call has that id."""

    default_code = ErrorCode.NOT_FOUND


class CallEnded(TelephonyError):
    """The call has ended; it takes no more transcript segments or transfers."""

    default_code = ErrorCode.CONFLICT
