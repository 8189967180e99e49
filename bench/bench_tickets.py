"""Ticket creation and listing latency over the HTTP API with 100 000 tickets in PostgreSQL.

Usage (from the project's venv, with the local PostgreSQL running)::

    python bench/bench_tickets.py [--tickets 100000] [--creates 300] [--lists 40]
                                  [--output docs/bench-tickets.md]

1. Creates a new PostgreSQL database ``tickets_bench_<random>`` on 127.0.0.1:5432, migrates it
   with the ticket migrations, and adds 8 agencies and the users of the run.
2. Loads ``--tickets`` invented tickets (channels, kinds, fields, statuses and agencies spread
   as a hotline's year would have them, creation times over the last 365 days, one log line
   each) with bulk INSERTs. Loading is set-up, not measured.
3. Measures through the ticket API (``tickets.api.create_tickets_app`` in this process, called
   with Starlette's ``TestClient``, so the figures include routing, validation, authentication,
   the service and PostgreSQL, but no network): ``--creates`` sequential ``POST /v1/tickets``,
   then ``--lists`` sequential requests for each listing scenario (filters and paging).
4. Writes a Markdown table to ``--output`` and drops the database, also on failure.

Times are wall-clock per request at the client, in milliseconds.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, insert, text

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tickets.auth import AuthStore, UserCreate  # noqa: E402  # after the path set-up above
from tickets.db import create_ticket_engine, migrate  # noqa: E402
from tickets.intake import Channel, TicketKind, Urgency  # noqa: E402
from tickets.models import Ticket, TicketEvent  # noqa: E402
from tickets.ratelimit import MemoryCounterStore, RateLimiter  # noqa: E402
from tickets.service import TicketService, search_text_of  # noqa: E402
from tickets.settings import TicketSettings  # noqa: E402
from tickets.workflow import Role, Status  # noqa: E402

SERVER_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
FIELDS = (
    "Tư pháp", "Hộ tịch", "Giao thông vận tải", "Xây dựng", "Đất đai", "Môi trường",
    "Y tế", "Giáo dục", "Lao động", "Thuế", "Công an", "Văn hóa",
)  # fmt: skip
AGENCIES = tuple(f"BENCH-{n}" for n in range(1, 9))
CHANNEL_WEIGHTS = {
    Channel.PHONE: 50, Channel.ZALO: 20, Channel.FACEBOOK: 8, Channel.EMAIL: 6,
    Channel.WEB_CHAT: 8, Channel.SMS: 3, Channel.APP: 4, Channel.WALK_IN: 1,
}  # fmt: skip
KIND_WEIGHTS = {
    TicketKind.QUESTION: 70, TicketKind.PROCEDURE_FEEDBACK: 12, TicketKind.COMPLAINT: 6,
    TicketKind.INCIDENT: 10, TicketKind.EMERGENCY_FORWARDED: 2,
}  # fmt: skip
STATUS_WEIGHTS = {
    Status.CLOSED: 55, Status.ANSWERED: 15, Status.CLASSIFIED: 6, Status.NEW: 4,
    Status.TRANSFERRED: 8, Status.AGENCY_PROCESSING: 10, Status.REOPENED: 2,
}  # fmt: skip
WORDS = (
    "làm lại căn cước công dân bị mất cấp hộ chiếu đăng ký khai sinh kết hôn đổi giấy phép "
    "lái xe đèn đường hỏng rác thải ngập nước thuế thu nhập cá nhân bảo hiểm xã hội sổ đỏ"
).split()
BATCH = 5000


def pick(rng: random.Random, weights: dict[Any, int]) -> Any:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


@contextmanager
def bench_database() -> Iterator[str]:
    """A new PostgreSQL database for the run, dropped at the end."""
    name = f"tickets_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(SERVER_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def ticket_rows(count: int, operator_ids: list[int], now: datetime) -> Iterator[list[dict]]:
    """Invented tickets in batches, with ids set so numbers can be made at once."""
    rng = random.Random(1022)
    batch: list[dict[str, Any]] = []
    for ticket_id in range(1, count + 1):
        created = now - timedelta(seconds=rng.randint(0, 365 * 86400))
        status = pick(rng, STATUS_WEIGHTS)
        transferred = status in (Status.TRANSFERRED, Status.AGENCY_PROCESSING) or (
            status in (Status.ANSWERED, Status.CLOSED) and rng.random() < 0.3
        )
        done = status in (Status.ANSWERED, Status.CLOSED)
        content = " ".join(rng.choices(WORDS, k=rng.randint(8, 30)))
        batch.append(
            {
                "id": ticket_id,
                "number": f"1022-{created.year}-{ticket_id:06d}",
                "channel": pick(rng, CHANNEL_WEIGHTS).value,
                "thread_key": f"bench-{ticket_id}",
                "kind": pick(rng, KIND_WEIGHTS).value,
                "urgency": rng.choice(list(Urgency)).value,
                "field": None if status is Status.NEW else rng.choice(FIELDS),
                "status": status.value,
                "content": content,
                "search_text": search_text_of(content),
                "public": rng.random() < 0.3,
                "contact_phone": f"0900{ticket_id:06d}",
                "procedure_codes": [],
                "operator_id": rng.choice(operator_ids),
                "agency_code": rng.choice(AGENCIES) if transferred else None,
                "answer": "Đã trả lời." if done else None,
                "answered_at": created + timedelta(hours=rng.randint(1, 200)) if done else None,
                "closed_at": created + timedelta(days=9) if status is Status.CLOSED else None,
                "due_at": created + timedelta(days=rng.choice((2, 3, 10, 30))),
                "version": 1,
                "created_at": created,
                "updated_at": created,
            }
        )
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def load(service: TicketService, count: int, operator_ids: list[int]) -> float:
    """Bulk-insert ``count`` tickets and one log line each; returns the seconds it took."""
    started = time.perf_counter()
    now = datetime.now(UTC)
    with service.engine.begin() as connection:
        for batch in ticket_rows(count, operator_ids, now):
            connection.execute(insert(Ticket.__table__), batch)
            events = [
                {
                    "ticket_id": row["id"],
                    "at": row["created_at"],
                    "actor": "bench",
                    "action": "create",
                    "field": "status",
                    "new_value": "new",
                }
                for row in batch
            ]
            connection.execute(insert(TicketEvent.__table__), events)
        connection.execute(
            text("SELECT setval(pg_get_serial_sequence('tickets', 'id'), :n)"), {"n": count}
        )
        connection.execute(text("ANALYZE"))
    return time.perf_counter() - started


def timed(call: Callable[[], Any], repeat: int) -> list[float]:
    """Milliseconds of ``repeat`` calls; each call must answer 2xx."""
    times: list[float] = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = call()
        times.append((time.perf_counter() - started) * 1000)
        if not 200 <= response.status_code < 300:
            raise RuntimeError(f"bench request failed: {response.status_code} {response.text}")
    return times


def summary(times: list[float]) -> tuple[float, float, float, float]:
    ordered = sorted(times)
    p95 = ordered[max(0, round(0.95 * len(ordered)) - 1)]
    p99 = ordered[max(0, round(0.99 * len(ordered)) - 1)]
    return statistics.median(ordered), p95, p99, ordered[-1]


def run(args: argparse.Namespace) -> str:
    from fastapi.testclient import TestClient

    from tickets.api import create_tickets_app

    load_start = os.getloadavg()
    with bench_database() as url:
        migrate(url)
        engine = create_ticket_engine(url)
        settings = TicketSettings(database_url=url)
        service = TicketService(engine, settings=settings)
        try:
            for code in AGENCIES:
                service.create_agency(code=code, name=f"Cơ quan {code}", actor="bench")
            store = AuthStore(engine)
            operators = [
                store.create_user(
                    UserCreate(username=f"op-{n}", role=Role.OPERATOR, password="bench-password-1")
                )
                for n in range(1, 11)
            ]
            store.create_user(
                UserCreate(username="sup", role=Role.SUPERVISOR, password="bench-password-1")
            )
            loaded_s = load(service, args.tickets, [o.id for o in operators])
            print(f"loaded {args.tickets} tickets in {loaded_s:.1f} s", file=sys.stderr)

            app = create_tickets_app(service, rate_limiter=RateLimiter(MemoryCounterStore()))
            with TestClient(app) as client:
                results = measure(client, args)
        finally:
            engine.dispose()
    return report(args, results, loaded_s, load_start, os.getloadavg())


def measure(client: Any, args: argparse.Namespace) -> list[tuple[str, list[float], int]]:
    def token(username: str) -> dict[str, str]:
        body = {"username": username, "password": "bench-password-1"}
        answer = client.post("/v1/auth/token", json=body).json()
        return {"Authorization": f"Bearer {answer['access_token']}"}

    operator, supervisor = token("op-1"), token("sup")
    rng = random.Random(7)
    results: list[tuple[str, list[float], int]] = []

    def create() -> Any:
        body = {
            "channel": "phone",
            "content": " ".join(rng.choices(WORDS, k=20)),
            "kind": "question",
            "contact": {"phone": "0900000999"},
        }
        return client.post("/v1/tickets", headers=operator, json=body)

    timed(create, 10)  # warm-up: connections, caches
    results.append(("POST /v1/tickets (create)", timed(create, args.creates), 0))

    scenarios = (
        ("newest page (limit 50)", ""),
        ("status=agency_processing & agency_code", "status=agency_processing&agency_code=BENCH-3"),
        ("kind=complaint & channel=zalo", "kind=complaint&channel=zalo"),
        ("field & created_from/to (one month)", "field=Xây dựng&created_from={m1}&created_to={m0}"),
        ("overdue=true", "overdue=true"),
        ("text search (accent-folded)", "text=ho chieu"),
        ("deep page (offset 50 000)", "offset=50000&limit=50"),
    )
    month_end = datetime.now(UTC) - timedelta(days=30)
    dates = {"m0": month_end.isoformat(), "m1": (month_end - timedelta(days=30)).isoformat()}
    for label, query in scenarios:
        url = "/v1/tickets?" + query.format(**dates).replace("+", "%2B")
        total = client.get(url, headers=supervisor).json()["total"]
        timed(lambda url=url: client.get(url, headers=supervisor), 3)
        times = timed(lambda url=url: client.get(url, headers=supervisor), args.lists)
        results.append((f"GET /v1/tickets: {label}", times, total))
    return results


def report(
    args: argparse.Namespace,
    results: list[tuple[str, list[float], int]],
    loaded_s: float,
    load_start: tuple[float, float, float],
    load_end: tuple[float, float, float],
) -> str:
    engine = create_engine(SERVER_URL)
    with engine.connect() as connection:
        server = connection.execute(text("SHOW server_version")).scalar()
    engine.dispose()
    lines = [
        f"# Ticket API benchmark: creation and listing with {args.tickets:,} tickets",
        "",
        f"Generated by `bench/bench_tickets.py` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC.",
        "",
        f"- Machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, PostgreSQL {server} on 127.0.0.1 (default settings).",
        f"- Data: {args.tickets:,} invented tickets (one log line each) loaded in "
        f"{loaded_s:.1f} s, 8 agencies, 11 users; creation times spread over 365 days.",
        "- Path measured: the ticket API in process (Starlette `TestClient`, no network) → "
        "routing, validation, bearer-token check (one token lookup and `last_used_at` update per "
        "request), `TicketService`, PostgreSQL. Sequential requests, one client.",
        f"- Load average (1/5/15 min) at start {load_start[0]:.2f}/{load_start[1]:.2f}/"
        f"{load_start[2]:.2f}, at end {load_end[0]:.2f}/{load_end[1]:.2f}/{load_end[2]:.2f}: "
        "other work shared the two cores during the run.",
        "",
        "| Request | n | matching | p50 ms | p95 ms | p99 ms | max ms |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for label, times, total in results:
        p50, p95, p99, worst = summary(times)
        matching = f"{total:,}" if total else "–"
        lines.append(
            f"| {label} | {len(times)} | {matching} | {p50:.1f} | {p95:.1f} | {p99:.1f} | "
            f"{worst:.1f} |"
        )
    lines += [
        "",
        "Every list answer carries the total of matching tickets (a `COUNT(*)` over the same "
        "filters) besides the page, newest first. Text search is a `LIKE '%…%'` over the "
        "accent-folded content, a scan of the table.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--creates", type=int, default=300)
    parser.add_argument("--lists", type=int, default=40)
    parser.add_argument("--output", type=Path, default=REPO / "docs" / "bench-tickets.md")
    args = parser.parse_args(argv)
    markdown = run(args)
    args.output.write_text(markdown, encoding="utf-8")
    print(markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
