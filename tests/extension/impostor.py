"""Test only: a program that takes Sentinelle's API port while Sentinelle is stopped (it
mimics Sentinelle's routes, says yes to everything or refuses everything as Sentinelle refuses
a wrong token, offers its own proxy and PAC, and keeps every header and body it receives);
Sentinelle's own API, to run before and after it; a way to run an aiohttp application in a
thread; and the parent's data about her child that must never reach the impostor."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

from aiohttp import web

from sentinelle.proxy.hosts import all_domains
from sentinelle.server.alerts.events import Events
from sentinelle.server.api.app import create_app
from sentinelle.server.api.pac import pac_script
from sentinelle.server.store.door import StoreDoor
from sentinelle.server.store.records import Store
from tests.server.store.test_store import enroll, sighting

EVIL_PORT = 6666
EVIL_HOST = "10.6.6.6"
# What the parent says of her child in those tests: none of it may reach an impostor.
HER_NAME = "Léa Martin"
HER_ALIASES = ["Lili-Rose", "Léa la Fusée"]
HER_HANDLE = "lea.martin.2013"


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
        except BaseException as e:  # noqa: BLE001 — reported by __enter__
            self.error = e
            self._ready.set()
            return
        self._ready.set()
        await self._done.wait()
        await runner.cleanup()


def sentinelle_api(data_dir: Path, token: str, port: int, proxy_port: int,
                   extra: tuple[str, ...] = ()) -> Callable[[], web.Application]:
    """Sentinelle's API as `sentinelle run` makes it (with `extra` hosts), on the store of `data_dir`."""
    def make() -> web.Application:
        store = StoreDoor(data_dir)
        domains = all_domains(list(extra))
        app = create_app(store, Events(), token, port=port, proxy={
            "pac": pac_script(domains, proxy_port), "port": proxy_port, "domains": domains})

        async def close(app):
            store.close()
        app.on_cleanup.append(close)
        return app
    return make


def store_with_an_alert(data_dir: Path) -> int:
    """Sentinelle's store in `data_dir`, new, with a photo enrolled and an alert on it; its id."""
    data_dir.mkdir()
    store = Store(data_dir)
    try:
        photo = enroll(store, 5)
        alert, _ = store.record_sighting(sighting(photo["id"], "https://scontent.cdninstagram.com/a.jpg"))
    finally:
        store.close()
    return alert["id"]


def traces_of_her(received: list[dict], photo: bytes) -> list[str]:
    """What of her the impostor received: her name, a nickname or her handle (as UTF-8, escaped
    in JSON or in a URL), or her photo's bytes."""
    everything = "".join(r["path"] + json.dumps(r["headers"]) + r["body"] for r in received)
    found = [word for word in (HER_NAME, *HER_ALIASES, HER_HANDLE)
             if any(form in everything for form in
                    (word.encode().decode("latin-1"), json.dumps(word)[1:-1], quote(word)))]
    middle = len(photo) // 2
    if photo[middle:middle + 64].decode("latin-1") in everything:
        found.append("her photo")
    return found


def methods_beyond_hello(received: list[dict]) -> set[str]:
    """The methods of the requests the impostor received but the hello, none with a body."""
    assert not [r for r in received if r["body"] and r["path"] != "/api/hello"], "a body reached it"
    return {r["method"] for r in received if r["path"] != "/api/hello"}


def impostor(received: list[dict], refuse: bool = False) -> Callable[[], web.Application]:
    """A program that mimics Sentinelle's routes and keeps what it is sent (each body as latin-1,
    byte for byte): it says yes to everything, or (`refuse`) answers everything with the 401
    Sentinelle gives a wrong token, unsigned."""
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
        if refuse:
            return web.json_response({"error": "missing or wrong token: run `sentinelle token`"},
                                     status=401, headers={"WWW-Authenticate": "Bearer"})
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
