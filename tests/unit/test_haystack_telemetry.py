"""Haystack's usage data stays off unless the operator turns it on."""

import os
import subprocess
import sys

import pytest

_PROBE = "import {module}; from haystack.telemetry import _telemetry; print(_telemetry.telemetry)"


@pytest.mark.parametrize("module", ["ingestion.chunking", "search.retrieval"])
def test_importing_the_product_leaves_telemetry_off(module: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "HAYSTACK_TELEMETRY_ENABLED"}
    out = subprocess.run(
        [sys.executable, "-c", _PROBE.format(module=module)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert out.stdout.strip() == "None"


def test_an_operator_may_turn_it_on(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # Turning it on only builds Haystack's client here; nothing is sent without a pipeline run.
    env = {**os.environ, "HAYSTACK_TELEMETRY_ENABLED": "True", "HOME": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, "-c", _PROBE.format(module="search.retrieval")],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert out.stdout.strip().startswith("<haystack.telemetry")
