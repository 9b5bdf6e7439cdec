"""Real receivers of the parent's messages, on 127.0.0.1 only: an HTTP server that takes what
Apprise's `json://` and `form://` send, and an SMTP server (aiosmtpd) that takes its e-mail.

Each keeps the raw bytes it received, so that a test can say what left the PC. The HTTP
receiver can refuse (answer 500), hang (never answer) or be down (its port closed) and come
back on the same port: a channel that fails, then recovers. They run on the test's event loop;
`in_a_thread` runs one on a loop of its own, for a synchronous test (a command).
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import threading
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage

from aiohttp import web
from aiosmtpd.smtp import SMTP


@dataclass(frozen=True)
class Received:
    """A request as it came: its path, headers and body, byte for byte."""

    path: str
    headers: dict[str, str]
    body: bytes

    def message(self) -> dict:
        """The title and message Apprise sent, whichever of its forms (JSON or a form)."""
        if self.headers.get("Content-Type", "").startswith("application/json"):
            return json.loads(self.body)
        return dict(urllib.parse.parse_qsl(self.body.decode()))


class HttpReceiver:
    """What `json://127.0.0.1:PORT/…` and `form://127.0.0.1:PORT/…` reach. `mode`: "ok",
    "refuse" (500) or "hang" (no answer until it is stopped)."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.mode = "ok"
        self.port = 0
        self._runner: web.AppRunner | None = None
        self._hanging = asyncio.Event()

    async def start(self) -> HttpReceiver:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._take)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        """Down: the port closes (a channel that cannot be reached). `start` brings it back."""
        self._hanging.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        self._hanging = asyncio.Event()

    def url(self, scheme: str = "json", path: str = "/sentinelle") -> str:
        return f"{scheme}://127.0.0.1:{self.port}{path}"

    async def _take(self, request: web.Request) -> web.Response:
        body = await request.read()
        if self.mode == "hang":
            await self._hanging.wait()
        if self.mode != "ok":
            return web.Response(status=500, text="down for maintenance")
        self.received.append(Received(request.path, dict(request.headers), body))
        return web.Response(text="ok")


class SmtpReceiver:
    """A real SMTP server (aiosmtpd) on 127.0.0.1: what `mailto://…?smtp=127.0.0.1` sends."""

    def __init__(self) -> None:
        self.received: list[bytes] = []
        self.port = 0
        self._server: asyncio.base_events.Server | None = None

    async def start(self) -> SmtpReceiver:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: SMTP(self, hostname="receiver.test"), "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def url(self) -> str:
        return (f"mailto://family.test:{self.port}?smtp=127.0.0.1&from=sentinelle@family.test"
                "&to=parent@family.test")

    def messages(self) -> list[EmailMessage]:
        return [email.message_from_bytes(raw, policy=email.policy.default) for raw in self.received]

    async def handle_DATA(self, server, session, envelope) -> str:  # aiosmtpd's handler hook
        self.received.append(envelope.original_content or envelope.content)
        return "250 OK"


class InAThread:
    """A receiver on an event loop of its own, in a thread, for a synchronous test."""

    def __init__(self, make: Callable[[], HttpReceiver | SmtpReceiver]) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="receiver", daemon=True)
        self._thread.start()
        self.receiver = self.call(lambda: make().start())

    def call(self, coroutine: Callable):
        return asyncio.run_coroutine_threadsafe(coroutine(), self._loop).result(10)

    def stop(self) -> None:
        self.call(self.receiver.stop)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
