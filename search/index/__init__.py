"""The hybrid chunk index and its backends.

``open_index`` builds the backend named in the settings:

* ``edge`` (the default): ``EdgeHybridIndex``, the Qdrant engine inside this process, in the
  directory ``path / collection_name``;
* ``server``: ``ServerHybridIndex`` on a Qdrant server at ``url``;
* ``local``: ``ServerHybridIndex`` on qdrant-client's local mode stored under ``path``, for
  tests and small setups.
"""

from __future__ import annotations

import logging
from enum import StrEnum
from pathlib import Path

from qdrant_client import QdrantClient

from search.errors import ConfigurationError, IndexBackendError
from search.index.edge import EdgeHybridIndex
from search.index.protocol import HybridIndex, IndexFilter
from search.index.server import ServerHybridIndex

__all__ = [
    "EdgeHybridIndex",
    "HybridIndex",
    "IndexBackend",
    "IndexFilter",
    "ServerHybridIndex",
    "open_index",
]

logger = logging.getLogger(__name__)


class IndexBackend(StrEnum):
    """Where the index lives."""

    EDGE = "edge"
    SERVER = "server"
    LOCAL = "local"

    @classmethod
    def from_str(cls, value: str) -> IndexBackend:
        """The backend named ``value``.

        Raises:
            ConfigurationError: no backend has that name; the message lists the allowed ones.
        """
        try:
            return cls(value)
        except ValueError:
            allowed = ", ".join(backend.value for backend in cls)
            raise ConfigurationError(
                f"unknown index backend {value!r}; allowed: {allowed}"
            ) from None


def open_index(
    *,
    backend: str = IndexBackend.EDGE.value,
    path: Path | None = None,
    url: str | None = None,
    collection_name: str,
    api_key: str | None = None,
) -> HybridIndex:
    """Build the index for the configured backend; no collection is created yet.

    Args:
        backend: "edge", "server" or "local".
        path: The data directory (edge and local backends; the server backend does not use
            it). The edge backend keeps the collection in ``path / collection_name``; local
            mode keeps all its collections under ``path``.
        url: The Qdrant server URL (server backend; others log a warning when it is set).
        collection_name: The collection.
        api_key: The Qdrant API key (server backend; others log a warning when it is set).

    Returns:
        The index; call ``ensure_collection`` before writing to it.

    Raises:
        ConfigurationError: unknown backend, a missing ``path`` or ``url``, or a collection
            name that cannot be a directory name.
        IndexBackendError: the local-mode storage is held by another client.
    """
    kind = IndexBackend.from_str(backend)
    if not collection_name:
        raise ConfigurationError("collection_name must not be empty")
    if kind is IndexBackend.SERVER:
        if not url:
            raise ConfigurationError("the server index backend needs a url")
        return ServerHybridIndex(QdrantClient(url=url, api_key=api_key), collection_name)

    if path is None:
        raise ConfigurationError(f"the {kind.value} index backend needs a path")
    _warn_ignored(kind, url=url, api_key=api_key)
    if kind is IndexBackend.EDGE:
        if collection_name in {".", ".."} or Path(collection_name).name != collection_name:
            raise ConfigurationError(
                f"collection_name {collection_name!r} must be a plain directory name "
                "for the edge index backend"
            )
        return EdgeHybridIndex(Path(path) / collection_name)
    try:
        client = QdrantClient(path=str(path))
    except RuntimeError as exc:  # "Storage folder ... is already accessed by another instance"
        raise IndexBackendError(f"cannot open the local Qdrant storage at {path}: {exc}") from exc
    return ServerHybridIndex(client, collection_name, serialize_calls=True)


def _warn_ignored(kind: IndexBackend, **settings: object) -> None:
    ignored = [name for name, value in settings.items() if value is not None]
    if ignored:
        logger.warning("the %s index backend ignores %s", kind.value, ", ".join(ignored))
