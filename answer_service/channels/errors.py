"""Errors of the channels, under the platform's one root.

PlatformError
└── ChannelError               a channel could not take or send a message
    ├── UnsignedWebhook        no signature header: 401
    ├── ForgedWebhook          a signature that does not match, or a stale event: 403
    ├── MalformedWebhook       a body that is not the provider's JSON: 400
    ├── ChannelRateLimited     too many messages from one sender: 429
    └── ProviderError          the provider's API refused or failed a call: 502
"""

from __future__ import annotations

from search.errors import ErrorCode, PlatformError


class ChannelError(PlatformError):
    """A channel could not take or send a message."""

    default_code = ErrorCode.BAD_REQUEST


class UnsignedWebhook(ChannelError):
    """The request carries no signature (or verification token) at all."""

    default_code = ErrorCode.UNAUTHORIZED


class ForgedWebhook(ChannelError):
    """The signature does not match the body, or the event is too old to be fresh."""

    default_code = ErrorCode.FORBIDDEN


class MalformedWebhook(ChannelError):
    """The body is not JSON, or not the shape the provider sends."""

    default_code = ErrorCode.BAD_REQUEST


class ChannelRateLimited(ChannelError):
    """One sender wrote more messages than the configured window allows."""

    default_code = ErrorCode.RATE_LIMITED


class ProviderError(ChannelError):
    """A provider API answered with an error or could not be reached.

    Args:
        detail: What failed; a provider's response body is cut to 200 characters.
        provider_code: The provider's own error code, when it sent one.
    """

    default_code = ErrorCode.SOURCE_UNAVAILABLE

    def __init__(self, detail: str, *, provider_code: str | None = None) -> None:
        super().__init__(detail[:400])
        self.provider_code = provider_code
