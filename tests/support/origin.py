"""Test only: a fake social-network origin over HTTPS on 127.0.0.1 (the network's edge)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from aiohttp import web

from tests.support.certs import OriginCerts


@dataclass
class Origin:
    """Serves `files[path] = (content_type, body)`; every request path is counted in `hits`."""

    port: int = 0
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    hits: list[str] = field(default_factory=list)


@asynccontextmanager
async def serve_origin(certs: OriginCerts, files: dict[str, tuple[str, bytes]]) -> AsyncIterator[Origin]:
    origin = Origin(files=files)

    async def handle(request: web.Request) -> web.StreamResponse:
        origin.hits.append(request.path)
        if request.path not in origin.files:
            return web.Response(status=404, text="not found")
        content_type, body = origin.files[request.path]
        return web.Response(body=body, headers={"Content-Type": content_type})

    app = web.Application(client_max_size=64 * 2**20)
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=certs.server_context())
    await site.start()
    origin.port = site._server.sockets[0].getsockname()[1]
    try:
        yield origin
    finally:
        await runner.cleanup()
