"""Test only: a fake social-network origin over HTTPS on 127.0.0.1 (the network's edge)."""

from __future__ import annotations

import gzip
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from aiohttp import WSMsgType, web

from tests.support.certs import OriginCerts


@dataclass
class Origin:
    """Serves `files[path] = (content_type, body)`, or `(content_type, body, headers)` for a body sent
    as it is with headers of its own (a Content-Encoding it is already in); every request path
    is counted in `hits`."""

    port: int = 0
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    hits: list[str] = field(default_factory=list)


@asynccontextmanager
async def serve_origin(certs: OriginCerts, files: dict[str, tuple[str, bytes]]) -> AsyncIterator[Origin]:
    origin = Origin(files=files)

    async def handle(request: web.Request) -> web.StreamResponse:
        """`?enc=gzip` sends the body compressed, `?enc=chunked` in chunks; `/ws` echoes a websocket."""
        origin.hits.append(request.path)
        if request.path == "/ws":
            return await _echo(request)
        if request.path not in origin.files:
            return web.Response(status=404, text="not found")
        content_type, body, *own = origin.files[request.path]
        headers = ({"Content-Type": content_type} if content_type else {}) | (own[0] if own else {})
        encoding = request.query.get("enc")
        if encoding == "gzip":
            return web.Response(body=gzip.compress(body, mtime=0),
                                headers=headers | {"Content-Encoding": "gzip"})
        if encoding == "chunked":
            response = web.StreamResponse(headers=headers)
            response.enable_chunked_encoding()
            await response.prepare(request)
            for at in range(0, len(body), 7919):
                await response.write(body[at:at + 7919])
            await response.write_eof()
            return response
        response = web.Response(body=body, headers=headers)
        if not content_type:
            response.headers.popall("Content-Type", None)
        return response

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


async def _echo(request: web.Request) -> web.WebSocketResponse:
    ws = web.WebSocketResponse()
    await ws.prepare(request)
    async for message in ws:
        if message.type == WSMsgType.BINARY:
            await ws.send_bytes(message.data)
        elif message.type == WSMsgType.TEXT:
            await ws.send_str(message.data)
    return ws
