"""Loopback servers that play the providers the channels talk to, on their real wire formats.

- ``FakeZalo``: the OA customer-service message API (``POST /v3.0/oa/message/cs`` with an
  ``access_token`` header) and the OAuth refresh (``POST /v4/oa/access_token``) whose refresh
  tokens are single-use and rotate, as Zalo's are.
- ``FakeGraph``: the Messenger Send API (``POST /v21.0/me/messages?access_token=…``).
- ``FakeEsms`` and ``FakeSpeedSms``: outbound SMS gateways in the two styles.
- ``FakeOneStop``: the province one-stop adapter (``GET /api/v1/dossiers/{number}``).
- ``ImapServer``: a minimal IMAP4rev1 server (CAPABILITY, LOGIN, SELECT, UID SEARCH/FETCH/STORE,
  IDLE, NOOP, LOGOUT) over asyncio; ``deliver()`` drops a message in and wakes IDLE clients.
- ``SmtpServer``: aiosmtpd, keeping every message it receives.

HTTP fakes run under uvicorn on a socket bound to 127.0.0.1 port 0, in a thread. Every fake
records what it received with a monotonic timestamp and lets a test wait for a count.
"""

from __future__ import annotations

import asyncio
import base64
import ctypes
import functools
import itertools
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import uvicorn
from aiosmtpd.controller import Controller
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse


class Recorder:
    """What a fake received, with a condition to wait on."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []
        self._condition = threading.Condition()

    def add(self, item: dict[str, Any]) -> None:
        with self._condition:
            self.items.append({**item, "at": time.monotonic()})
            self._condition.notify_all()

    def wait_for(self, count: int, timeout: float = 30.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        with self._condition:
            while len(self.items) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"expected {count} item(s) within {timeout} s, got {len(self.items)}: "
                        f"{self.items[-3:]}"
                    )
                self._condition.wait(left)
            return list(self.items)

    def clear(self) -> None:
        with self._condition:
            self.items.clear()


class LoopbackHttpServer:
    """A FastAPI app served by uvicorn on 127.0.0.1 in a background thread."""

    def __init__(self, app: FastAPI, *, lifespan: str = "off") -> None:
        self.app = app
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", 0))
        self.port = self._socket.getsockname()[1]
        config = uvicorn.Config(app, log_level="warning", lifespan=lifespan, access_log=False)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> LoopbackHttpServer:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("loopback server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._socket.close()


class FakeZalo:
    """Zalo OA API and OAuth, with expiring access tokens and single-use refresh tokens.

    Args:
        app_id: The app id the refresh call must carry.
        app_secret: The ``secret_key`` header the refresh call must carry.
        access_ttl_s: Lifetime of issued access tokens (``expires_in``).
        latency_s: Added to every message call, to play a slow provider.
    """

    def __init__(
        self, *, app_id: str, app_secret: str, access_ttl_s: int = 90000, latency_s: float = 0
    ) -> None:
        self.app_id = app_id
        self.app_secret = app_secret
        self.access_ttl_s = access_ttl_s
        self.latency_s = latency_s
        self.access: dict[str, float] = {}
        self.refresh: set[str] = set()
        self.spent_refresh: set[str] = set()
        self.refresh_calls = 0
        self.messages = Recorder()
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self.app = self._build()

    def issue_pair(self) -> tuple[str, str, int]:
        with self._lock:
            access, refresh = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
            self.access[access] = time.time() + self.access_ttl_s
            self.refresh.add(refresh)
            return access, refresh, self.access_ttl_s

    def revoke_access_tokens(self) -> None:
        with self._lock:
            self.access.clear()

    def _build(self) -> FastAPI:
        app = FastAPI()

        @app.post("/v3.0/oa/message/cs")
        async def send(request: Request) -> dict[str, Any]:
            if self.latency_s:
                await asyncio.sleep(self.latency_s)
            token = request.headers.get("access_token", "")
            with self._lock:
                valid = self.access.get(token, 0) > time.time()
            if not valid:
                return {"error": -216, "message": "Access token is invalid"}
            body = await request.json()
            text = body["message"]["text"]
            if len(text) > 2000:
                return {"error": -201, "message": "Parameters are invalid: text too long"}
            user_id = body["recipient"]["user_id"]
            message_id = f"zm{next(self._ids):012d}"
            self.messages.add({"user_id": user_id, "text": text, "message_id": message_id})
            return {
                "error": 0,
                "message": "Success",
                "data": {"message_id": message_id, "user_id": user_id},
            }

        @app.post("/v4/oa/access_token")
        async def refresh(request: Request) -> dict[str, Any]:
            form = await request.form()
            with self._lock:
                self.refresh_calls += 1
                if request.headers.get("secret_key") != self.app_secret:
                    return {"error": -14002, "error_name": "Invalid secret key"}
                token = str(form.get("refresh_token", ""))
                if form.get("app_id") != self.app_id or token not in self.refresh:
                    return {"error": -14014, "error_name": "Invalid refresh token"}
                self.refresh.discard(token)
                self.spent_refresh.add(token)
            access, new_refresh, ttl = self.issue_pair()
            return {"access_token": access, "refresh_token": new_refresh, "expires_in": str(ttl)}

        return app


class FakeGraph:
    """The Messenger Send API of one page."""

    def __init__(self, *, page_token: str, latency_s: float = 0) -> None:
        self.page_token = page_token
        self.latency_s = latency_s
        self.messages = Recorder()
        self._ids = itertools.count(1)
        self.app = self._build()

    def _build(self) -> FastAPI:
        app = FastAPI()

        @app.post("/v21.0/me/messages")
        async def send(request: Request) -> JSONResponse:
            if self.latency_s:
                await asyncio.sleep(self.latency_s)
            if request.query_params.get("access_token") != self.page_token:
                error = {"message": "Invalid OAuth access token.", "type": "OAuthException"}
                return JSONResponse({"error": {**error, "code": 190}}, status_code=400)
            body = await request.json()
            text = body["message"]["text"]
            if len(text) > 2000:
                error = {
                    "message": "(#100) Length of param message[text] must be less than "
                    "or equal to 2000",
                    "type": "OAuthException",
                    "code": 100,
                }
                return JSONResponse({"error": error}, status_code=400)
            psid = body["recipient"]["id"]
            mid = f"m_{next(self._ids):010d}"
            self.messages.add({"psid": psid, "text": text, "type": body.get("messaging_type")})
            return JSONResponse({"recipient_id": psid, "message_id": mid})

        return app


class FakeEsms:
    """eSMS-style outbound gateway (GET with key and secret in the query)."""

    def __init__(self, *, api_key: str, secret_key: str) -> None:
        self.api_key, self.secret_key = api_key, secret_key
        self.messages = Recorder()
        self._ids = itertools.count(1)
        self.app = FastAPI()

        @self.app.get("/MainService.svc/json/SendMultipleMessage_V4_get")
        async def send(request: Request) -> dict[str, Any]:
            q = request.query_params
            if q.get("ApiKey") != self.api_key or q.get("SecretKey") != self.secret_key:
                return {"CodeResult": "101", "ErrorMessage": "Authorize Failed"}
            if not q.get("Phone") or not q.get("Content"):
                return {"CodeResult": "99", "ErrorMessage": "Phone and Content are required"}
            sms_id = f"esms-{next(self._ids)}"
            self.messages.add(
                {"phone": q["Phone"], "text": q["Content"], "unicode": q.get("IsUnicode") == "1"}
            )
            return {"CodeResult": "100", "CountRegenerate": 0, "SMSID": sms_id}


class FakeSpeedSms:
    """SpeedSMS-style outbound gateway (JSON POST, HTTP Basic with the token)."""

    def __init__(self, *, access_token: str) -> None:
        self.access_token = access_token
        self.messages = Recorder()
        self._ids = itertools.count(1)
        self.app = FastAPI()

        @self.app.post("/index.php/sms/send")
        async def send(request: Request) -> JSONResponse:
            auth = request.headers.get("authorization", "")
            expected = "Basic " + base64.b64encode(f"{self.access_token}:x".encode()).decode()
            if auth != expected:
                return JSONResponse(
                    {"status": "error", "code": "007", "message": "invalid access token"},
                    status_code=401,
                )
            body = await request.json()
            for phone in body["to"]:
                self.messages.add({"phone": phone, "text": body["content"], "unicode": False})
            return JSONResponse(
                {"status": "success", "code": "00", "data": {"tranId": next(self._ids)}}
            )


class FakeOneStop:
    """The province one-stop adapter: dossier status by number."""

    def __init__(self, *, api_key: str, dossiers: dict[str, dict[str, str]]) -> None:
        self.api_key = api_key
        self.dossiers = dossiers
        self.app = FastAPI()

        @self.app.get("/api/v1/dossiers/{number}")
        async def dossier(number: str, request: Request) -> JSONResponse:
            if request.headers.get("x-api-key") != self.api_key:
                return JSONResponse({"detail": "bad key"}, status_code=401)
            found = self.dossiers.get(number)
            if found is None:
                return JSONResponse({"detail": "not found"}, status_code=404)
            return JSONResponse({"number": number, **found})


@contextmanager
def serving(app: FastAPI) -> Iterator[LoopbackHttpServer]:
    server = LoopbackHttpServer(app).start()
    try:
        yield server
    finally:
        server.stop()


# SMTP ------------------------------------------------------------------------------------------


class _SmtpHandler:
    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        message = message_from_bytes(envelope.content, policy=policy.default)
        self.recorder.add(
            {"from": envelope.mail_from, "to": list(envelope.rcpt_tos), "message": message}
        )
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class SmtpServer:
    """aiosmtpd on 127.0.0.1; ``messages`` holds every ``EmailMessage`` received."""

    def __init__(self) -> None:
        self.messages = Recorder()
        self.port = free_port()
        self._controller = Controller(
            _SmtpHandler(self.messages), hostname="127.0.0.1", port=self.port
        )

    def start(self) -> SmtpServer:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()


# IMAP ------------------------------------------------------------------------------------------


@dataclass
class _StoredMail:
    uid: int
    raw: bytes
    flags: set[str] = field(default_factory=set)


_TOKEN = re.compile(r'"((?:[^"\\]|\\.)*)"|(\([^)]*\))|(\S+)')


def _tokens(line: str) -> list[str]:
    out = []
    for quoted, group, atom in _TOKEN.findall(line):
        if quoted or (not group and not atom):
            out.append(re.sub(r"\\(.)", r"\1", quoted))
        else:
            out.append(group or atom)
    return out


class ImapServer:
    """A minimal IMAP4rev1 server for one mailbox, on 127.0.0.1, optionally offering IDLE.

    Args:
        user: The login.
        password: The password.
        idle: Advertise and serve IDLE (RFC 2177).
    """

    def __init__(self, *, user: str, password: str, idle: bool = True) -> None:
        self.user, self.password, self.idle = user, password, idle
        self.mails: list[_StoredMail] = []
        self.commands: list[str] = []
        self._uids = itertools.count(1)
        self._lock = threading.Lock()
        self._idlers: set[asyncio.Queue[int]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.base_events.Server | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._ready = threading.Event()
        self.port = 0

    # control, from the test's thread

    def start(self) -> ImapServer:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("IMAP server did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    def deliver(self, raw: bytes | EmailMessage) -> int:
        data = raw.as_bytes() if isinstance(raw, EmailMessage) else raw
        with self._lock:
            mail = _StoredMail(next(self._uids), data)
            self.mails.append(mail)
            count = len(self.mails)
        if self._loop is not None:
            for queue in list(self._idlers):
                self._loop.call_soon_threadsafe(queue.put_nowait, count)
        return mail.uid

    def seen_uids(self) -> set[int]:
        with self._lock:
            return {m.uid for m in self.mails if "\\Seen" in m.flags}

    # the server, in its own thread and loop

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        self._server = loop.run_until_complete(asyncio.start_server(self._client, "127.0.0.1", 0))
        self.port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            self._server.close()
            loop.run_until_complete(self._server.wait_closed())
            loop.close()

    def _capabilities(self) -> str:
        return "IMAP4rev1 AUTH=PLAIN" + (" IDLE" if self.idle else "")

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        async def send(text: str | bytes) -> None:
            writer.write(text.encode() if isinstance(text, str) else text)
            await writer.drain()

        await send(f"* OK [CAPABILITY {self._capabilities()}] loopback IMAP ready\r\n")
        authenticated = selected = False
        try:
            while True:
                raw = await reader.readline()
                if not raw:
                    break
                line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
                self.commands.append(line)
                parts = line.split(" ", 2)
                if len(parts) < 2:
                    await send("* BAD missing command\r\n")
                    continue
                tag, command = parts[0], parts[1].upper()
                rest = parts[2] if len(parts) > 2 else ""
                if command == "CAPABILITY":
                    await send(f"* CAPABILITY {self._capabilities()}\r\n{tag} OK done\r\n")
                elif command == "NOOP":
                    await send(f"{tag} OK NOOP completed\r\n")
                elif command == "LOGOUT":
                    await send(f"* BYE logging out\r\n{tag} OK LOGOUT completed\r\n")
                    break
                elif command == "LOGIN":
                    args = _tokens(rest)
                    if len(args) == 2 and args[0] == self.user and args[1] == self.password:
                        authenticated = True
                        await send(f"{tag} OK LOGIN completed\r\n")
                    else:
                        await send(f"{tag} NO [AUTHENTICATIONFAILED] invalid credentials\r\n")
                elif not authenticated:
                    await send(f"{tag} BAD authenticate first\r\n")
                elif command in ("SELECT", "EXAMINE"):
                    selected = True
                    with self._lock:
                        count = len(self.mails)
                        next_uid = self.mails[-1].uid + 1 if self.mails else 1
                    await send(
                        f"* {count} EXISTS\r\n* 0 RECENT\r\n* FLAGS (\\Seen \\Deleted)\r\n"
                        f"* OK [UIDVALIDITY 7] UIDs valid\r\n* OK [UIDNEXT {next_uid}]\r\n"
                        f"{tag} OK [READ-WRITE] {command} completed\r\n"
                    )
                elif not selected:
                    await send(f"{tag} BAD select a mailbox first\r\n")
                elif command == "UID":
                    await self._uid(tag, rest, send)
                elif command == "IDLE" and self.idle:
                    await self._idle(tag, reader, send)
                elif command in ("CLOSE", "EXPUNGE", "CHECK"):
                    await send(f"{tag} OK {command} completed\r\n")
                else:
                    await send(f"{tag} BAD unknown command {command}\r\n")
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def _uid(self, tag: str, rest: str, send: Any) -> None:
        sub, _, args = rest.partition(" ")
        sub = sub.upper()
        with self._lock:
            mails = list(self.mails)
        if sub == "SEARCH":
            criteria = args.upper().split()
            found = [m for m in mails if not ("UNSEEN" in criteria and "\\Seen" in m.flags)]
            await send(f"* SEARCH {' '.join(str(m.uid) for m in found)}".rstrip() + "\r\n")
            await send(f"{tag} OK SEARCH completed\r\n")
            return
        uid_text, _, what = args.partition(" ")
        wanted = {int(u) for u in uid_text.split(",") if u.isdigit()}
        for seq, mail in enumerate(mails, start=1):
            if mail.uid not in wanted:
                continue
            if sub == "FETCH":
                if "PEEK" not in what.upper():
                    mail.flags.add("\\Seen")
                head = f"* {seq} FETCH (UID {mail.uid} BODY[] {{{len(mail.raw)}}}\r\n".encode()
                await send(head + mail.raw + b")\r\n")
            elif sub == "STORE":
                flags = set(re.findall(r"\\\w+", what))
                with self._lock:
                    if "-FLAGS" in what.upper():
                        mail.flags -= flags
                    else:
                        mail.flags |= flags
                    shown = " ".join(sorted(mail.flags))
                await send(f"* {seq} FETCH (UID {mail.uid} FLAGS ({shown}))\r\n")
        if sub in ("FETCH", "STORE"):
            await send(f"{tag} OK UID {sub} completed\r\n")
        else:
            await send(f"{tag} BAD unknown UID command\r\n")

    async def _idle(self, tag: str, reader: asyncio.StreamReader, send: Any) -> None:
        queue: asyncio.Queue[int] = asyncio.Queue()
        self._idlers.add(queue)
        await send("+ idling\r\n")
        done = asyncio.ensure_future(reader.readline())
        try:
            while True:
                waiter = asyncio.ensure_future(queue.get())
                finished, _ = await asyncio.wait(
                    {done, waiter}, return_when=asyncio.FIRST_COMPLETED
                )
                if waiter in finished:
                    await send(f"* {waiter.result()} EXISTS\r\n")
                else:
                    waiter.cancel()
                if done in finished:
                    break
        finally:
            self._idlers.discard(queue)
        line = done.result().decode(errors="replace").strip().upper()
        if line == "DONE":
            await send(f"{tag} OK IDLE terminated\r\n")
        else:
            await send(f"{tag} BAD expected DONE\r\n")


# A channel worker process ----------------------------------------------------------------------


class ChannelWorker:
    """``celery -A answer_service.channels.celery_app worker -Q …`` as a child process.

    Args:
        env: The whole environment of the worker (HOTLINE_* settings included).
        log: File the worker writes its output to.
        pool: Celery pool (``solo`` for tests, ``threads`` for the benchmark).
        concurrency: Threads of the ``threads`` pool.
        queues: Comma-separated queues to consume.
    """

    def __init__(
        self,
        env: dict[str, str],
        log: Path,
        *,
        pool: str = "solo",
        concurrency: int = 1,
        queues: str = "channels,channels_ack",
    ) -> None:
        self.env, self.log, self.pool, self.concurrency = env, log, pool, concurrency
        self.queues = queues
        self.hostname = f"channels-test-{secrets.token_hex(4)}@localhost"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, client: Any, timeout: float = 120) -> ChannelWorker:
        command = [
            sys.executable, "-m", "celery", "-A", "answer_service.channels.celery_app", "worker",
            f"--pool={self.pool}", f"--concurrency={self.concurrency}", "-Q", self.queues,
            "--loglevel=INFO", f"--hostname={self.hostname}", "--without-mingle",
            "--without-gossip",
        ]  # fmt: skip
        with self.log.open("wb") as log_file:
            self.process = subprocess.Popen(
                command,
                cwd=REPO_ROOT,
                env=self.env,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                preexec_fn=functools.partial(_die_with_parent, os.getpid()),
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"channel worker exited:\n{self.log_tail()}")
            if client.control.ping(destination=[self.hostname], timeout=1.0):
                self._refuse_strangers(client)
                return self
        self.stop()
        raise RuntimeError(f"channel worker did not answer within {timeout} s:\n{self.log_tail()}")

    def _refuse_strangers(self, client: Any) -> None:
        """Fail when a worker of an earlier run consumes our queues: it would take our tasks."""
        ours = set(self.queues.split(","))
        consuming = client.control.inspect(timeout=1.0).active_queues() or {}
        strangers = sorted(
            name
            for name, queues in consuming.items()
            if name != self.hostname
            and name.startswith("channels-test-")
            and ours & {q["name"] for q in queues}
        )
        if strangers:
            self.stop()
            raise RuntimeError(
                f"workers of another run consume {sorted(ours)} on this broker: {strangers}; "
                "stop them (ps -eo pid,cmd | grep 'celery.*channels-test') and run again"
            )

    def log_tail(self, chars: int = 4000) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")[-chars:]

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


def _die_with_parent(parent: int) -> None:
    """In the child, before exec: Linux sends it SIGTERM when the test process dies, even by
    SIGKILL, so no worker outlives its run and takes the next run's tasks."""
    if _prctl is None:
        return
    if _prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != parent:  # the run died before the signal was asked for
        os._exit(1)


def _find_prctl() -> Any:
    """libc's prctl, looked up once here rather than in a forked child."""
    if sys.platform != "linux":
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    prctl.restype = ctypes.c_int
    return prctl


_PR_SET_PDEATHSIG = 1
_prctl = _find_prctl()
REPO_ROOT = Path(__file__).resolve().parents[2]
