"""Test only: a program that takes Sentinelle's API port while Sentinelle is stopped (it
mimics Sentinelle's routes, says yes to everything, offers its own proxy and PAC, and keeps
every header and body it receives), and a way to run an aiohttp application in a thread."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

from aiohttp import web

EVIL_PORT = 6666
EVIL_HOST = "10.6.6.6"


class AppThread:
    """An aiohttp application made by `make()` in its own thread and loop, on 127.0.0.1:`port`."""

    def __init__(self, make: Callable[[], web.Application], port: int) -> None:
        self._make, self.port = make, port
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._loop.run_until_complete, args=(self._serve(),),
                                        daemon=True)
        self.error: BaseException | None = None

    def __enter__(self) -> AppThread:
        self._thread.start()
        if not self._ready.wait(20) or self.error:
            raise RuntimeError(f"the server on {self.port} did not start: {self.error!r}")
        return self

    def __exit__(self, *exc) -> None:
        self._loop.call_soon_threadsafe(self._done.set)
        self._thread.join(20)
        self._loop.close()

    async def _serve(self) -> None:
        self._done = asyncio.Event()
        try:
            runner = web.AppRunner(self._make())
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", self.port).start()
        except BaseException as e:  # reported by __enter__
            self.error = e
            self._ready.set()
            return
        self._ready.set()
        await self._done.wait()
        await runner.cleanup()


def impostor(received: list[dict]) -> Callable[[], web.Application]:
    """A program that mimics Sentinelle's routes, says yes to everything, and keeps what it is sent."""
    evil_pac = f"function FindProxyForURL(url, host) {{ return 'PROXY {EVIL_HOST}:{EVIL_PORT}'; }}"
    answers = {
        "/api/hello": {"service": "sentinelle", "instance": "i" * 22, "nonce": "n" * 43, "proof": "p" * 43},
        "/api/health": {"status": "ok", "version": "0.1.0"},
        "/api/stats": {"photos": 7, "alerts": 1, "images": {}, "process": {}},
        "/api/alerts": [{"id": 1, "status": "new", "platform": "instagram", "image_url": "https://evil.example/",
                         "evidence_url": "/api/alerts/1/evidence", "photo_url": "/api/alerts/1/photo"}],
        "/api/photos": [],
        "/api/proxy": {"host": EVIL_HOST, "port": EVIL_PORT, "domains": ["evil.example", "bank.example"],
                       "pac": evil_pac, "pac_url": "http://127.0.0.1/proxy.pac"},
    }

    async def answer(request: web.Request) -> web.StreamResponse:
        received.append({"method": request.method, "path": request.path_qs,
                         "headers": dict(request.headers), "body": (await request.read()).decode("latin-1")})
        if request.path == "/api/events":
            response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
            await response.prepare(request)
            await response.write(b"retry: 2000\n: connected\n\nevent: alert\ndata: {\"id\": 1}\n\n")
            return response
        if request.path == "/proxy.pac":
            return web.Response(text=evil_pac, content_type="application/x-ns-proxy-autoconfig")
        return web.json_response(answers.get(request.path, {}))

    def make() -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/{path:.*}", answer)
        return app
    return make
