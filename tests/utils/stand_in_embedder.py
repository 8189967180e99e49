"""A small embedder that a child process can import: vectors from a hash of the text.

For the tests of ``search.embedding_process``, which run an embedder in a child process; the
child imports this module by name, so it lives here and not in a test file.
"""

from __future__ import annotations

import hashlib
import os
import time


class HashEmbedder:
    """Deterministic 8-dimensional vectors; texts starting "fail" raise ``ValueError``.

    Args:
        fail_warm_up: Raise at warm-up, as a missing model would.
        warm_up_s: How long warming up takes, as loading a model does.
        fail_while: Raise at warm-up while this file exists: a model that comes back.
    """

    def __init__(
        self, *, fail_warm_up: bool = False, warm_up_s: float = 0.0, fail_while: str = ""
    ) -> None:
        self.fail_warm_up = fail_warm_up
        self.warm_up_s = warm_up_s
        self.fail_while = fail_while
        self.query_path = "hash stand-in"

    @property
    def dimension(self) -> int:
        return 8

    def warm_up(self) -> None:
        time.sleep(self.warm_up_s)
        if self.fail_warm_up or (self.fail_while and os.path.exists(self.fail_while)):
            raise FileNotFoundError("no model file at /nonexistent/model.bin")

    def embed(self, texts: list[str], *, is_query: bool) -> list[list[float]]:
        if any(text.startswith("fail") for text in texts):
            raise ValueError(f"cannot embed {texts!r}")
        prefix = "query: " if is_query else "passage: "
        return [
            [b / 255 for b in hashlib.sha256((prefix + text).encode()).digest()[:8]]
            for text in texts
        ]


class PidEmbedder(HashEmbedder):
    """Its one number is the id of the process that embeds: where the work happens."""

    def embed(self, texts: list[str], *, is_query: bool) -> list[list[float]]:
        return [[float(os.getpid())] for _ in texts]
