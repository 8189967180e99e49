"""Generated requests (schemathesis) against the channel routes: never a server error.

The app is the endpoint tests' one (``client`` in conftest), with the unit fakes behind it.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis.errors import Unsatisfiable
from schemathesis.generation.modes import GenerationMode


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_server_errors(client: TestClient, mode: GenerationMode) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", client.app)
    found: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy(generation_mode=mode))
        @hypothesis_settings(
            max_examples=15,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def run(case: Any) -> None:
            try:
                response = case.call()
            except Exception as exc:  # the ASGI transport re-raises what the app did not handle
                found.append(f"{case.method} {case.formatted_path} raised {exc!r:.200}")
                return
            if response.status_code >= 500:
                found.append(f"{case.method} {case.formatted_path} -> {response.status_code}")

        try:
            run()
        except Unsatisfiable:
            continue

    assert not found, "\n".join(found)
