"""Latency and throughput of the answer service over HTTP, on the real knowledge base.

Usage (from the project's venv)::

    python bench/bench_answer_service.py [--data-dir var] [--output docs/bench-answer-service.md]

1. Starts the service as production does, ``python -m ingestion --data-dir DIR serve``, in a
   child process on a free 127.0.0.1 port, and waits until ``/ready`` answers 200. The service
   reads the index generation published under ``DIR/published``; the writer's ``DIR/index`` is
   never opened.
2. Sends the dev questions (``shared/data/eval/dev-questions.jsonl``), each as written and with
   its diacritics removed, to ``/v1/search`` and to ``/v1/suggest`` (as one citizen turn):
   first one request at a time from one keep-alive connection, then from 100 concurrent
   connections for ``--duration`` seconds. The concurrent load comes from wrk when it is
   installed (``apt-get install wrk``; written in C, it leaves the cores to the service), else
   from asyncio and httpx, which on two cores takes a large share of the CPU it measures.
   Latency is measured at the client, from sending the request to having read the whole
   answer; the service's own ``took_ms`` is reported beside it for the sequential runs. Any
   answer other than 200 (wrk: other than 2xx/3xx), and any transport error or timeout, counts
   as an error.
   Then 100 clients send paced requests (``--rates``: 10 and 50 a second in all, at random
   moments) for ``--duration`` seconds, from asyncio and httpx: the latency under a steady
   load, counted from the moment each request was due.
   After every concurrent and paced run the benchmark waits until the service has worked off
   the requests still queued (two sequential searches in a row within three times the
   sequential median), so that no run pays for the one before it.
3. Prints a Markdown report with the machine, the results and the targets, and writes it to
   ``--output``. The load generator runs on the same machine as the service, so both share the
   cores; the load average at start and end says how busy the machine was otherwise.

The child process is stopped at the end, also on failure or Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from ingestion.settings import default_shared_data

REPO = Path(__file__).resolve().parents[1]
DEV_QUESTIONS = default_shared_data() / "eval" / "dev-questions.jsonl"
CONCURRENT_CLIENTS = 100
P95_TARGET_MS = {"/v1/search": 30.0, "/v1/suggest": 60.0}
THROUGHPUT_TARGET = 50.0  # requests a second, at 100 concurrent clients
READY_TIMEOUT_S = 180.0
REQUEST_TIMEOUT_S = 60.0


# --------------------------------------------------------------------------------------------
# Questions and request bodies


def fold_accents(text: str) -> str:
    """ "Thủ tục" -> "Thu tuc": the way many citizens type."""
    decomposed = unicodedata.normalize("NFD", text)
    stripped = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    return stripped.replace("đ", "d").replace("Đ", "D")


def load_questions(path: Path) -> list[str]:
    """Every dev question as written, then every one without diacritics."""
    written = [
        json.loads(line)["question"]
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    return written + [fold_accents(q) for q in written]


def request_bodies(path: str, questions: list[str]) -> list[dict[str, Any]]:
    if path == "/v1/search":
        return [{"query": q, "top_k": 5} for q in questions]
    return [{"conversation": [{"speaker": "citizen", "text": q}], "top_k": 3} for q in questions]


# --------------------------------------------------------------------------------------------
# Measurements


@dataclass
class Run:
    """The outcome of one endpoint in one mode."""

    endpoint: str
    mode: str
    clients: int
    latencies_ms: list[float] = field(default_factory=list)
    server_ms: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    wall_s: float = 0.0
    generator: str = "httpx"
    # wrk reports percentiles from its histogram, not each latency.
    reported_percentiles: dict[int, float] = field(default_factory=dict)
    reported_requests: int = 0
    generator_cpu: float | None = None  # share of one core the load generator used

    @property
    def requests(self) -> int:
        return self.reported_requests or len(self.latencies_ms)

    def latency(self, q: int) -> float:
        if q in self.reported_percentiles:
            return self.reported_percentiles[q]
        return percentile(self.latencies_ms, q)

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    @property
    def throughput(self) -> float:
        return self.requests / self.wall_s if self.wall_s else 0.0

    def record(self, started: float, response: httpx.Response | None, error: str = "") -> None:
        self.latencies_ms.append((time.perf_counter() - started) * 1000)
        if response is None:
            self.errors[error] += 1
        elif response.status_code != 200:
            self.errors[f"HTTP {response.status_code}"] += 1
        else:
            took = response.json().get("took_ms")
            if isinstance(took, int | float):
                self.server_ms.append(float(took))


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile; NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def run_sequential(base_url: str, path: str, bodies: list[dict[str, Any]], total: int) -> Run:
    run = Run(endpoint=path, mode="sequential", clients=1)
    with httpx.Client(base_url=base_url, timeout=REQUEST_TIMEOUT_S) as client:
        started_all = time.perf_counter()
        for i in range(total):
            started = time.perf_counter()
            try:
                response = client.post(path, json=bodies[i % len(bodies)])
            except httpx.HTTPError as exc:
                run.record(started, None, type(exc).__name__)
            else:
                run.record(started, response)
        run.wall_s = time.perf_counter() - started_all
    return run


async def run_concurrent(
    base_url: str, path: str, bodies: list[dict[str, Any]], *, clients: int, total: int
) -> Run:
    run = Run(endpoint=path, mode="concurrent", clients=clients)
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    next_index = iter(range(total))

    async def client_loop(client: httpx.AsyncClient) -> None:
        for i in next_index:  # shared: each request index is taken by exactly one client
            started = time.perf_counter()
            try:
                response = await client.post(path, json=bodies[i % len(bodies)])
            except httpx.HTTPError as exc:
                run.record(started, None, type(exc).__name__)
            else:
                run.record(started, response)

    async with httpx.AsyncClient(
        base_url=base_url, limits=limits, timeout=REQUEST_TIMEOUT_S
    ) as client:
        started_all = time.perf_counter()
        await asyncio.gather(*(client_loop(client) for _ in range(clients)))
        run.wall_s = time.perf_counter() - started_all
    return run


async def run_paced(
    base_url: str,
    path: str,
    bodies: list[dict[str, Any]],
    *,
    clients: int,
    rate: float,
    duration_s: float,
    seed: int = 1022,
) -> Run:
    """``clients`` callers that together send ``rate`` requests a second, at random moments.

    Each client waits an exponentially distributed pause (mean ``clients / rate`` seconds)
    between requests, like an operator's console asking for suggestions during a call. The
    latency of a request counts from the moment it was due, not from when it went out, so a
    service that falls behind is charged for the wait (no coordinated omission).
    """
    run = Run(endpoint=path, mode=f"paced {rate:g}/s", clients=clients)
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    mean_gap = clients / rate
    counter = iter(range(10**9))

    async def client_loop(client: httpx.AsyncClient, rng: random.Random, end: float) -> None:
        due = time.perf_counter() + rng.uniform(0, mean_gap)
        while due < end:
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            body = bodies[next(counter) % len(bodies)]
            try:
                response = await client.post(path, json=body)
            except httpx.HTTPError as exc:
                run.record(due, None, type(exc).__name__)
            else:
                run.record(due, response)
            due += rng.expovariate(1 / mean_gap)

    async with httpx.AsyncClient(
        base_url=base_url, limits=limits, timeout=REQUEST_TIMEOUT_S
    ) as client:
        started_all = time.perf_counter()
        cpu_started = time.process_time()
        end = started_all + duration_s
        await asyncio.gather(
            *(client_loop(client, random.Random(seed + n), end) for n in range(clients))
        )
        run.wall_s = time.perf_counter() - started_all
        run.generator_cpu = (time.process_time() - cpu_started) / run.wall_s
    return run


_WRK_SCRIPT = r"""
local bodies = {%(bodies)s}
local counter = 0
request = function()
  counter = counter + 1
  return wrk.format("POST", "%(path)s", {["Content-Type"] = "application/json"},
                    bodies[(counter %% #bodies) + 1])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "WRK_RESULT {\"requests\": %%d, \"duration_us\": %%d, \"p50\": %%f, \"p95\": %%f, "
    .. "\"p99\": %%f, \"connect\": %%d, \"read\": %%d, \"write\": %%d, "
    .. "\"status\": %%d, \"timeout\": %%d}\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), e.connect, e.read, e.write, e.status, e.timeout))
end
"""


def lua_string(text: str) -> str:
    """A Lua long string that cannot be closed by the text inside it."""
    level = 0
    while f"]{'=' * level}]" in text:
        level += 1
    return f"[{'=' * level}[{text}]{'=' * level}]"


def settle(base_url: str, path: str, body: dict[str, Any], quiet_ms: float) -> float:
    """Wait until the service has worked off what an earlier run left queued.

    When wrk or the paced clients stop, up to ``clients`` requests are still queued in the
    service; the next run would count the time they take. Sends one request at a time until
    two in a row answer within ``quiet_ms`` (three times the sequential median), for at most a
    minute. Returns the seconds waited.
    """
    started = time.perf_counter()
    quick = 0
    with httpx.Client(base_url=base_url, timeout=REQUEST_TIMEOUT_S) as client:
        while quick < 2 and time.perf_counter() - started < 60:
            sent = time.perf_counter()
            client.post(path, json=body)
            quick = quick + 1 if (time.perf_counter() - sent) * 1000 <= quiet_ms else 0
    return time.perf_counter() - started


def run_concurrent_wrk(
    base_url: str, path: str, bodies: list[dict[str, Any]], *, clients: int, duration_s: int
) -> Run:
    """``clients`` keep-alive connections from wrk (C), so the load generator costs little CPU.

    wrk counts answers other than 2xx/3xx as status errors, and socket errors and timeouts
    by kind.
    """
    run = Run(endpoint=path, mode="concurrent", clients=clients, generator="wrk")
    encoded = ",\n".join(lua_string(json.dumps(b, ensure_ascii=False)) for b in bodies)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", encoding="utf-8", delete=False) as f:
        f.write(_WRK_SCRIPT % {"bodies": encoded, "path": path})
        script = f.name
    try:
        completed = subprocess.run(
            [
                "wrk",
                "-t2",
                f"-c{clients}",
                f"-d{duration_s}s",
                "--timeout",
                "60s",
                "-s",
                script,
                base_url,
            ],
            capture_output=True,
            text=True,
            check=True,
        )
    finally:
        os.unlink(script)
    lines = [x for x in completed.stdout.splitlines() if x.startswith("WRK_RESULT ")]
    if not lines:
        raise RuntimeError(f"wrk printed no result:\n{completed.stdout}\n{completed.stderr}")
    result = json.loads(lines[-1].removeprefix("WRK_RESULT "))
    run.reported_requests = int(result["requests"])
    run.wall_s = result["duration_us"] / 1e6
    run.reported_percentiles = {q: result[f"p{q}"] / 1000 for q in (50, 95, 99)}
    for kind in ("connect", "read", "write", "status", "timeout"):
        if result[kind]:
            run.errors[kind] += int(result[kind])
    return run


# --------------------------------------------------------------------------------------------
# The service in a child process


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServedAnswerService:
    """``python -m ingestion --data-dir DIR serve`` on 127.0.0.1, stopped on exit."""

    def __init__(self, data_dir: Path, *, port: int, log_path: Path, workers: int = 1) -> None:
        self.data_dir = data_dir
        self.workers = workers
        self.port = port
        self.log_path = log_path
        self.base_url = f"http://127.0.0.1:{port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.ready: dict[str, Any] = {}

    def __enter__(self) -> ServedAnswerService:
        command = [sys.executable, "-m", "ingestion", "--data-dir", str(self.data_dir)]
        command += ["serve", "--host", "127.0.0.1", "--port", str(self.port)]
        command += ["--workers", str(self.workers)]
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(command, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
        try:
            self.ready = self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _wait_ready(self) -> dict[str, Any]:
        assert self.process is not None
        deadline = time.monotonic() + READY_TIMEOUT_S
        last = "no answer yet"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"the service exited with {self.process.returncode}; its log "
                    f"({self.log_path}) ends with:\n{self._log_tail()}"
                )
            try:
                response = httpx.get(f"{self.base_url}/ready", timeout=2)
            except httpx.TransportError as exc:
                last = type(exc).__name__
            else:
                if response.status_code == 200:
                    return dict(response.json())
                last = f"HTTP {response.status_code}: {response.text[:200]}"
            time.sleep(0.5)
        raise RuntimeError(f"/ready did not answer 200 in {READY_TIMEOUT_S:.0f} s ({last})")

    def _log_tail(self, lines: int = 30) -> str:
        text = self.log_path.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


# --------------------------------------------------------------------------------------------
# Report


def machine_rows(load_at_start: tuple[float, float, float], ready: dict[str, Any]) -> list[str]:
    cpu = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        names = [
            line.split(":", 1)[1].strip()
            for line in cpuinfo.read_text().splitlines()
            if line.startswith("model name")
        ]
        cpu = names[0] if names else cpu
        # The encoder's speed depends on these most: bfloat16 products need AVX-512 bf16 or AMX.
        flags = next(
            (
                ln.split(":", 1)[1].split()
                for ln in cpuinfo.read_text().splitlines()
                if ln.startswith("flags")
            ),
            [],
        )
        wide = [f for f in ("avx2", "avx512f", "avx512_bf16", "amx_bf16") if f in flags]
        cpu += f" ({', '.join(wide) or 'no AVX2'})"
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"],
        cwd=REPO,
        capture_output=True,
        text=True,
    ).stdout.strip()
    load_end = os.getloadavg()
    return [
        "| item | value |",
        "|---|---|",
        f"| date | {datetime.now(UTC):%Y-%m-%d %H:%M} UTC |",
        f"| cores | {os.cpu_count()} logical, {usable} usable; {cpu} |",
        f"| Python | {platform.python_version()} on {platform.system()} {platform.release()} |",
        f"| httpx (load generator) | {httpx.__version__} |",
        f"| git commit | {commit or 'unknown'}{' + uncommitted changes' if dirty else ''} |",
        f"| index points served | {ready.get('points', 'unknown')} |",
        "| load average at start (1/5/15 min) | {:.2f} / {:.2f} / {:.2f} |".format(*load_at_start),
        "| load average at end (1/5/15 min) | {:.2f} / {:.2f} / {:.2f} |".format(*load_end),
    ]


def result_rows(runs: list[Run]) -> list[str]:
    rows = [
        "| endpoint | mode | clients | requests | errors | p50 ms | p95 ms | p99 ms "
        "| service p50 ms | req/s | load generator | generator CPU |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for run in runs:
        rows.append(
            f"| `{run.endpoint}` | {run.mode} | {run.clients} | {run.requests} "
            f"| {run.error_count} | {run.latency(50):.1f} "
            f"| {run.latency(95):.1f} | {run.latency(99):.1f} "
            f"| {percentile(run.server_ms, 50):.1f} | {run.throughput:.1f} | {run.generator} "
            f"| {'' if run.generator_cpu is None else f'{run.generator_cpu:.0%}'} |"
        )
    return rows


def target_rows(runs: list[Run]) -> list[str]:
    rows = ["| measure | result | target | status |", "|---|---|---|---|"]

    def status(ok: bool) -> str:
        return "meets" if ok else "**misses**"

    for run in runs:
        name = f"`{run.endpoint}` {run.mode}"
        p95 = run.latency(95)
        target = P95_TARGET_MS[run.endpoint]
        if run.mode == "concurrent":
            # Saturation: 100 clients each send again as soon as answered, so the latency is
            # the queue (clients / throughput); what this run measures is the throughput.
            rows.append(
                f"| {name} throughput | {run.throughput:.1f} req/s | ≥ {THROUGHPUT_TARGET:.0f} "
                f"req/s | {status(run.throughput >= THROUGHPUT_TARGET)} |"
            )
        elif not run.requests:  # nothing answered in time: no latency to compare
            rows.append(f"| {name} p95 | no request completed | ≤ {target:.0f} ms | **misses** |")
        else:
            rows.append(
                f"| {name} p95 | {p95:.1f} ms | ≤ {target:.0f} ms | {status(p95 <= target)} |"
            )
        if run.mode != "sequential":
            errors = ", ".join(f"{k}: {v}" for k, v in run.errors.most_common()) or "none"
            rows.append(
                f"| {name} errors | {run.error_count} ({errors}) | 0 "
                f"| {status(run.error_count == 0)} |"
            )
    return rows


def render_report(
    runs: list[Run],
    *,
    args: argparse.Namespace,
    questions: int,
    load_at_start: tuple[float, float, float],
    ready: dict[str, Any],
) -> str:
    # Name the data dir as the reader would type it, not by this machine's absolute path.
    shown_dir = args.data_dir
    if shown_dir.is_absolute():
        shown_dir = Path(os.path.relpath(shown_dir, REPO))
    lines = [
        "# Answer service benchmark",
        "",
        f"Produced by `python bench/bench_answer_service.py --sequential {args.sequential} "
        f"--concurrent {args.concurrent} --workers {args.workers} --generator "
        f"{args.generator} --duration {args.duration} --rates "
        f"{' '.join(f'{r:g}' for r in args.rates)}` (method in its "
        "docstring). "
        f"The service ran as `python -m ingestion --data-dir {shown_dir} serve --workers "
        f"{args.workers}` on 127.0.0.1; the load generator ran on the same machine. "
        f"Questions: the {questions // 2} "
        "dev questions, each as written and without diacritics, cycled in order.",
        "",
        "## Machine",
        "",
        *machine_rows(load_at_start, ready),
        "",
        "## Results",
        "",
        "Latency is measured at the client (request sent to answer read); *service p50* is the "
        "median of the service's own `took_ms`. *sequential*: one request at a time. "
        "*concurrent*: 100 clients, each sending again as soon as it has its answer, which "
        "saturates the service: the throughput is the measure, and the latency is mostly the "
        "wait in the queue (100 clients / throughput). *paced N/s*: 100 clients that together "
        "send N requests a second at random moments; latency counts from the moment a request "
        "was due, so time spent behind a slow answer counts too. 10/s is the design load of "
        "the telephony benchmark (100 calls, a suggestion about every 10 s each); 50/s is the "
        "throughput target offered as steady load. The paced load comes from asyncio and httpx "
        "in the benchmark's process, on the same two cores: *generator CPU* is the share of one "
        "core it used.",
        "",
        *result_rows(runs),
        "",
        "## Targets",
        "",
        *target_rows(runs),
        "",
    ]
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=REPO / "var", help="the knowledge base")
    parser.add_argument("--questions", type=Path, default=DEV_QUESTIONS)
    parser.add_argument("--port", type=int, default=0, help="0: any free port")
    parser.add_argument(
        "--sequential", type=int, default=200, help="requests per endpoint, one at a time"
    )
    parser.add_argument(
        "--concurrent", type=int, default=1000, help="requests per endpoint at 100 clients"
    )
    parser.add_argument("--clients", type=int, default=CONCURRENT_CLIENTS)
    parser.add_argument(
        "--generator",
        choices=("auto", "wrk", "httpx"),
        default="auto",
        help="load generator of the concurrent run; auto: wrk when installed",
    )
    parser.add_argument(
        "--duration", type=int, default=30, help="seconds of the concurrent run with wrk"
    )
    parser.add_argument(
        "--rates",
        type=float,
        nargs="*",
        default=[10.0, THROUGHPUT_TARGET],
        help="requests a second of each paced run (none: no paced run)",
    )
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument("--output", type=Path, default=REPO / "docs" / "bench-answer-service.md")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    data_dir = args.data_dir.resolve()
    if not (data_dir / "published").is_dir():
        print(f"no published index under {data_dir}: run `hotline sync` first", file=sys.stderr)
        return 2
    questions = load_questions(args.questions)
    load_at_start = os.getloadavg()
    port = args.port or free_port()
    log_path = Path(tempfile.gettempdir()) / f"bench-answer-service-{port}.log"
    print(f"starting the service on port {port} (log: {log_path})", file=sys.stderr)

    runs: list[Run] = []
    with ServedAnswerService(
        data_dir, port=port, log_path=log_path, workers=args.workers
    ) as served:
        print(f"ready: {served.ready}", file=sys.stderr)
        quiet_ms: dict[str, float] = {}
        for path in ("/v1/search", "/v1/suggest"):
            bodies = request_bodies(path, questions)
            run_sequential(served.base_url, path, bodies, min(20, len(bodies)))  # warm-up
            runs.append(run_sequential(served.base_url, path, bodies, args.sequential))
            quiet_ms[path] = 3 * percentile(runs[-1].latencies_ms, 50)
            print(f"{path} sequential: {runs[-1].requests} requests", file=sys.stderr)

        def quiet_down() -> None:
            waited = settle(
                served.base_url, "/v1/search", {"query": questions[0]}, quiet_ms["/v1/search"]
            )
            print(f"waited {waited:.1f} s for the queue to drain", file=sys.stderr)

        use_wrk = args.generator == "wrk" or (
            args.generator == "auto" and shutil.which("wrk") is not None
        )
        for path in ("/v1/search", "/v1/suggest"):
            bodies = request_bodies(path, questions)
            if use_wrk:
                run = run_concurrent_wrk(
                    served.base_url, path, bodies, clients=args.clients, duration_s=args.duration
                )
            else:
                run = asyncio.run(
                    run_concurrent(
                        served.base_url, path, bodies, clients=args.clients, total=args.concurrent
                    )
                )
            runs.append(run)
            print(f"{path} concurrent: {run.requests} requests", file=sys.stderr)
            quiet_down()
        for rate in args.rates:
            for path in ("/v1/search", "/v1/suggest"):
                run = asyncio.run(
                    run_paced(
                        served.base_url,
                        path,
                        request_bodies(path, questions),
                        clients=args.clients,
                        rate=rate,
                        duration_s=args.duration,
                    )
                )
                runs.append(run)
                quiet_down()
            print(f"{path} paced: {run.requests} requests", file=sys.stderr)

    report = render_report(
        runs,
        args=args,
        questions=len(questions),
        load_at_start=load_at_start,
        ready=served.ready,
    )
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(report, encoding="utf-8")
    print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
