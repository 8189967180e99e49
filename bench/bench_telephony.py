"""100 concurrent calls through the telephony harness: ticket latency, suggestion latency, losses.

Usage (from the project's venv, in the repository; needs Redis on 127.0.0.1:6379)::

    python bench/bench_telephony.py [--calls 100] [--postgres] [--output docs/bench-telephony.md]

Three processes, as in production, all on this machine:

- the loopback ARI server (``tests/utils/ari_server.py``) playing Asterisk, which also dials
  the callers in and hangs them up;
- the telephony bridge (``TelephonyBridge``) on it, filing tickets through the real ticket
  service on a fresh SQLite database (``--postgres``: a fresh PostgreSQL database on
  127.0.0.1, dropped afterwards; ``--database-url`` for any other) and publishing on Redis;
- this process: live assist (``LiveCalls``) on Redis with the real ``AnswerService`` on the
  published index under ./var (``HOTLINE_DATA_DIR`` for another; it stops when none is published),
  and the measuring console.

The ``--calls`` callers dial in evenly over ``--ramp-seconds`` (10 s: ten new calls a second)
and each hangs up 45 s after dialling, so all of them are in progress together. Each asks three
questions (dev questions from shared/data/eval): a question's final transcript segment arrives
when the caller has finished saying it (4.5 syllables a second), and the operator answers for
3–6 s before the next one. That is one suggestion about every 10 s per call, about ten a second
with all calls up.

Measured:

- event-to-ticket: from the StasisStart ``timestamp`` Asterisk wrote to the moment the
  ``call_started`` message (ticket opened, screen-pop fetched) arrives at a hub subscriber;
- transcript-to-suggestion: from handing a segment to live assist to the moment the suggestion
  answering that revision arrives at a console listener (0 ms debounce wait for final
  segments; revisions overtaken by a newer one while the previous was computed are skipped and
  counted, not timed);
- lost events: ARI events sent but not handled by the bridge, hub messages published but not
  received (sequence gaps), and calls without a complete ticket (duration, outcome and
  recording).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pydantic import SecretStr  # noqa: E402

from ingestion.settings import default_shared_data  # noqa: E402
from search.errors import PlatformError  # noqa: E402
from telephony_bridge.bridge import TelephonyBridge  # noqa: E402
from telephony_bridge.hub import EVENTS_TOPIC, CallHub, RedisHub  # noqa: E402
from telephony_bridge.live import LiveCalls  # noqa: E402
from telephony_bridge.recognizer import TranscriptSegment  # noqa: E402
from telephony_bridge.settings import BridgeSettings  # noqa: E402
from tests.utils.ari_server import FakeAriServer  # noqa: E402

DEV_QUESTIONS = default_shared_data() / "eval" / "dev-questions.jsonl"
REDIS_URL = "redis://127.0.0.1:6379/0"
TICKET_P95_TARGET_MS = 100.0
SUGGESTION_P95_TARGET_MS = 300.0
SENTENCES_PER_CALL = 3
CALL_SECONDS = 45.0  # each caller hangs up this long after dialling in
SYLLABLES_PER_SECOND = 4.5  # Vietnamese words are single syllables


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def load_questions() -> list[str]:
    with DEV_QUESTIONS.open(encoding="utf-8") as handle:
        return [json.loads(line)["question"] for line in handle if line.strip()]


def open_answer_service() -> Any:
    from answer_service.main import open_service
    from ingestion.settings import get_settings
    from search.index.published import current_generation

    settings = get_settings()
    if current_generation(settings.published_path) is None:
        raise SystemExit(f"no published index under {settings.data_dir}: run `hotline sync` first")
    return open_service(settings)


class Console:
    """A hub subscriber (event-to-ticket, losses) and a listener on live assist (suggestions)."""

    def __init__(self, live: LiveCalls, questions: list[str], rng: random.Random) -> None:
        self.live = live
        self.questions = questions
        self.rng = rng
        self.ticket_ms: list[float] = []
        self.suggestion_ms: list[float] = []
        self.compute_ms: list[float] = []
        self.sent_at: dict[tuple[str, int], float] = {}
        self.seqs: list[int] = []
        self.started: dict[str, int] = {}
        self.ended: set[str] = set()
        self.refused_segments = 0
        self._speakers: set[asyncio.Task[None]] = set()

    async def follow_hub(self, hub: CallHub, ready: asyncio.Event) -> None:
        subscription = await hub.subscribe(EVENTS_TOPIC)
        ready.set()
        async for message in subscription:
            self.seqs.append(int(message["seq"]))
            if message["type"] == "call_started":
                started = datetime.fromisoformat(message["call"]["started_at"])
                delay = (datetime.now(UTC) - started).total_seconds() * 1000
                self.ticket_ms.append(delay)
                self.started[message["call_id"]] = message["ticket"]["id"]
                speaker = asyncio.create_task(self.speak(message["call_id"]))
                self._speakers.add(speaker)
                speaker.add_done_callback(self._speakers.discard)
            elif message["type"] == "call_ended":
                self.ended.add(message["call_id"])

    async def speak(self, call_id: str) -> None:
        """The caller's side of the conversation, as a recognizer would hand it over.

        A sentence's final segment arrives when the caller has finished saying it (its
        syllables at ``SYLLABLES_PER_SECOND``); the operator's reply takes 3–6 s.
        """
        await asyncio.sleep(self.rng.uniform(1.0, 3.0))  # "Tổng đài 1022 xin nghe"
        sentences = self.rng.sample(self.questions, SENTENCES_PER_CALL)
        for revision, sentence in enumerate(sentences, start=1):
            await asyncio.sleep(len(sentence.split()) / SYLLABLES_PER_SECOND)
            self.sent_at[(call_id, revision)] = time.perf_counter()
            try:
                await self.live.add_segments(call_id, [TranscriptSegment(text=sentence)])
            except PlatformError:
                self.refused_segments += 1
                self.sent_at.pop((call_id, revision), None)
                return
            await asyncio.sleep(self.rng.uniform(3.0, 6.0))

    async def follow_live(self) -> None:
        async with self.live.listen(None) as queue:
            while True:
                message = await queue.get()
                if message["type"] != "suggestion":
                    continue
                sent = self.sent_at.pop((message["call_id"], message["revision"]), None)
                if sent is not None:
                    self.suggestion_ms.append((time.perf_counter() - sent) * 1000)
                    self.compute_ms.append(float(message["suggestion"]["took_ms"]))


async def ari_side(calls: int, ramp_seconds: float, call_seconds: float) -> dict[str, Any]:
    """The loopback Asterisk (its own process): dial in, wait, hang up."""
    with FakeAriServer() as ari:
        print(ari.url, flush=True)
        await asyncio.to_thread(sys.stdin.readline)  # the bridge is connected: go

        async def one_call(index: int) -> None:
            await asyncio.sleep(index * ramp_seconds / calls)
            call_id = await asyncio.to_thread(ari.start_call, f"09000{index:05d}")
            await asyncio.sleep(call_seconds)
            await asyncio.to_thread(ari.hang_up, call_id)

        await asyncio.gather(*(one_call(i) for i in range(calls)))
        await asyncio.sleep(1.0)
        result = {"ari_events_sent": ari.events_sent, "ari_events_dropped": ari.events_dropped}
        print(json.dumps(result), flush=True)
        await asyncio.to_thread(sys.stdin.readline)  # the bridge has stopped: close
        return result


async def bridge_side(
    ari_url: str, database_url: str, redis_prefix: str, workdir: Path
) -> dict[str, Any]:
    """The telephony bridge (its own process, as ``python -m telephony_bridge`` runs it)."""
    from tickets import open_intake
    from tickets.settings import TicketSettings

    intake = open_intake(TicketSettings(database_url=database_url))
    hub = RedisHub(REDIS_URL, prefix=redis_prefix)
    settings = BridgeSettings(
        ari_url=ari_url,
        ari_username="hotline",
        ari_password=SecretStr("test-only-secret"),
        ari_app="hotline1022",
        state_path=workdir / "bridge-state.sqlite",
    )
    bridge = TelephonyBridge(settings, intake=intake, hub=hub)
    stop = asyncio.Event()
    runner = asyncio.create_task(bridge.run(stop))
    while bridge.stream.connections == 0:
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.2)
    print("READY", flush=True)
    await asyncio.to_thread(sys.stdin.readline)  # the calls are over: stop
    await bridge.controller.drain()
    stop.set()
    await runner
    result = {
        "ari_events_handled": bridge.controller.stats.get("messages", 0),
        "failed_events": bridge.controller.stats.get("failed_events", 0),
        "hub_published": bridge.controller._seq,
    }
    await bridge.aclose()
    await hub.close()
    intake.engine.dispose()
    return result


async def _spawn(*args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )


async def _say(process: asyncio.subprocess.Process, line: str) -> None:
    assert process.stdin is not None
    process.stdin.write(line.encode() + b"\n")
    await process.stdin.drain()


async def _last_json(process: asyncio.subprocess.Process) -> dict[str, Any]:
    assert process.stdout is not None
    output = await process.stdout.read()
    await process.wait()
    result: dict[str, Any] = json.loads(output.decode().strip().splitlines()[-1])
    return result


async def run(
    calls: int,
    ramp_seconds: float,
    database_url: str | None,
    seed: int,
    suggest_parallel: int = 2,
) -> dict[str, Any]:
    from tickets import open_service
    from tickets.settings import TicketSettings

    rng = random.Random(seed)
    answers = open_answer_service()
    answers.suggest(answers_warmup())  # load the models before timing
    workdir = Path(tempfile.mkdtemp(prefix="bench-telephony-"))
    url = database_url or f"sqlite:///{workdir / 'tickets.sqlite'}"
    tickets = open_service(TicketSettings(database_url=url))  # migrated before the PBX starts
    prefix = f"bench-{os.getpid()}:"
    hub = RedisHub(REDIS_URL, prefix=prefix)
    live = LiveCalls(hub, answers.suggest, debounce_ms=250, max_parallel=suggest_parallel)
    await live.start()
    console = Console(live, load_questions(), rng)
    ready = asyncio.Event()
    followers = [
        asyncio.create_task(console.follow_hub(hub, ready)),
        asyncio.create_task(console.follow_live()),
    ]
    await ready.wait()
    ari = await _spawn("--ari-side", "--calls", str(calls), "--ramp-seconds", str(ramp_seconds))
    assert ari.stdout is not None
    ari_url = (await ari.stdout.readline()).decode().strip()
    bridge = await _spawn(
        "--bridge-side",
        ari_url,
        "--database-url",
        url,
        "--redis-prefix",
        prefix,
        "--workdir",
        str(workdir),
    )
    assert bridge.stdout is not None
    assert (await bridge.stdout.readline()).strip() == b"READY"
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    await _say(ari, "go")
    ari_result = json.loads(await ari.stdout.readline())
    await asyncio.sleep(1.0)
    await _say(bridge, "stop")
    pbx = {**ari_result, **await _last_json(bridge)}
    await _say(ari, "close")
    await _last_json(ari)
    await asyncio.sleep(1.0)
    wall = time.perf_counter() - started
    load_after = os.getloadavg()[0]
    for task in followers:
        task.cancel()
    await asyncio.gather(*followers, return_exceptions=True)
    await live.stop()
    await hub.close()
    incomplete = calls - len(console.started)
    for ticket_id in console.started.values():
        ticket = tickets.get(ticket_id)
        if ticket.call_outcome is None or ticket.call_seconds is None or not ticket.recording_uri:
            incomplete += 1
    tickets.engine.dispose()
    return {
        "calls": calls,
        "ramp_s": ramp_seconds,
        "suggest_parallel": suggest_parallel,
        "wall_s": wall,
        "load": (load_before, load_after),
        "ticket_ms": console.ticket_ms,
        "suggestion_ms": console.suggestion_ms,
        "compute_ms": console.compute_ms,
        "unanswered_revisions": len(console.sent_at),
        "refused_segments": console.refused_segments,
        "hub_received": len(set(console.seqs)),
        "incomplete_calls": incomplete,
        "database": url.split(":", 1)[0],
        **pbx,
    }


def answers_warmup() -> Any:
    from answer_service.schemas import SuggestIn, Turn

    return SuggestIn(conversation=[Turn(text="Thủ tục cấp căn cước công dân")])


def report(result: dict[str, Any]) -> str:
    ticket, suggestion = result["ticket_ms"], result["suggestion_ms"]
    lost_ari = result["ari_events_sent"] - result["ari_events_handled"]
    lost_hub = result["hub_published"] - result["hub_received"]
    postgres_flag = " --postgres" if "postgres" in result["database"] else ""
    lost = lost_ari + lost_hub + result["incomplete_calls"] + result["failed_events"]

    def row(name: str, values: list[float], target: float) -> str:
        p95 = percentile(values, 0.95)
        verdict = "meets" if p95 <= target else "**misses**"
        return (
            f"| {name} | {len(values)} | {percentile(values, 0.5):.1f} | {p95:.1f} | "
            f"{max(values) if values else float('nan'):.1f} | ≤ {target:.0f} | {verdict} |"
        )

    return "\n".join(
        [
            "# Telephony bridge benchmark",
            "",
            f"Produced by `python bench/bench_telephony.py --calls {result['calls']} "
            f"--ramp-seconds {result['ramp_s']:g} --suggest-parallel "
            f"{result['suggest_parallel']}{postgres_flag}`"
            " (method in its docstring) on "
            f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.machine()}, {os.cpu_count()} cores "
            f"shared with other work (load average {result['load'][0]:.2f} at start, "
            f"{result['load'][1]:.2f} at end).",
            "",
            f"{result['calls']} callers dial in through the loopback ARI server, evenly over "
            f"{result['ramp_s']:g} s, and each hangs up {CALL_SECONDS:g} s later, so all of "
            f"them are in progress together. Each asks {SENTENCES_PER_CALL} dev questions "
            "(shared/data/eval); a question's final transcript segment arrives when the caller "
            f"has finished saying it ({SYLLABLES_PER_SECOND:g} syllables a second) and the "
            "operator answers for 3–6 s before the next one. Three processes, as in "
            "production: the loopback Asterisk; the bridge, filing tickets through the real "
            f"ticket service ({result['database']}); and the answer-service side, live assist with "
            "the real `AnswerService` on the published index in ./var (the real corpus); Redis "
            f"pub/sub between them. Wall time {result['wall_s']:.1f} s.",
            "",
            "| latency | n | p50 ms | p95 ms | max ms | target p95 | status |",
            "|---|---|---|---|---|---|---|",
            row(
                "event → ticket (StasisStart timestamp → `call_started` received)",
                ticket,
                TICKET_P95_TARGET_MS,
            ),
            row(
                "transcript → suggestion (segment in → suggestion received)",
                suggestion,
                SUGGESTION_P95_TARGET_MS,
            ),
            "",
            "| losses | count |",
            "|---|---|",
            f"| ARI events sent by the server / handled by the bridge | "
            f"{result['ari_events_sent']} / {result['ari_events_handled']} |",
            f"| hub messages published / received | {result['hub_published']} / "
            f"{result['hub_received']} |",
            f"| calls without a complete ticket (duration, outcome, recording) | "
            f"{result['incomplete_calls']} |",
            f"| events whose handling failed | {result['failed_events']} |",
            f"| **lost events (target 0)** | **{lost}** |",
            "",
            f"Transcript revisions without a suggestion of their own: "
            f"{result['unanswered_revisions']} (overtaken by the caller's next sentence while "
            "waiting for a free suggestion worker, or the call ended first; by design the newest "
            f"revision is answered instead). Segments refused because the call had ended: "
            f"{result['refused_segments']}.",
            "",
            f"Of the transcript-to-suggestion time, `AnswerService.suggest` itself took p50 "
            f"{percentile(result['compute_ms'], 0.5):.1f} ms, p95 "
            f"{percentile(result['compute_ms'], 0.95):.1f} ms (its own `took_ms`); the rest is "
            "waiting for a worker and the hops.",
            "",
            "Event-to-ticket includes opening the ticket in the database, fetching the caller's "
            "history for the screen-pop and the hop through Redis; ARI timestamps have millisecond "
            "resolution. Transcript-to-suggestion includes waiting for one of the "
            f"`SUGGEST_PARALLEL` ({result['suggest_parallel']}) suggestion workers and the "
            "retrieval and composition in `AnswerService.suggest`.",
            "",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument(
        "--ramp-seconds",
        type=float,
        default=10.0,
        help="callers dial in evenly over this time (0: all at once)",
    )
    parser.add_argument("--database-url", default=None)
    parser.add_argument(
        "--postgres",
        action="store_true",
        help="tickets on a fresh PostgreSQL database on 127.0.0.1 (dropped afterwards)",
    )
    parser.add_argument("--seed", type=int, default=1022)
    parser.add_argument(
        "--suggest-parallel", type=int, default=2, help="suggestions computed at once"
    )
    parser.add_argument("--output", type=Path, default=REPO / "docs" / "bench-telephony.md")
    parser.add_argument("--ari-side", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--bridge-side", default="", help=argparse.SUPPRESS)
    parser.add_argument("--redis-prefix", default="", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    import logging

    logging.basicConfig(level=logging.WARNING)
    if args.ari_side:
        result = asyncio.run(ari_side(args.calls, args.ramp_seconds, CALL_SECONDS))
        print(json.dumps(result), flush=True)
        return
    if args.bridge_side:
        result = asyncio.run(
            bridge_side(args.bridge_side, args.database_url, args.redis_prefix, args.workdir)
        )
        print(json.dumps(result), flush=True)
        return
    if args.postgres:
        from tests.utils.tickets import fresh_postgres_database

        with fresh_postgres_database("bench_telephony") as url:
            result = asyncio.run(
                run(args.calls, args.ramp_seconds, url, args.seed, args.suggest_parallel)
            )
    else:
        result = asyncio.run(
            run(args.calls, args.ramp_seconds, args.database_url, args.seed, args.suggest_parallel)
        )
    text = report(result)
    print(text)
    args.output.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
