"""server/run/connections.py: the open-files limit raised, each listener's share, and the API's
site closing what it does not keep. (The whole, against a real `sentinelle run` at a soft limit
of 1,024: tests/test_hostile_proxy.py.)"""

from __future__ import annotations

import asyncio
import resource

from aiohttp import web

from sentinelle.server.run.connections import (
    MOST_PROXY_CONNECTIONS,
    RESERVED_FILES,
    CappedSite,
    proxy_connections,
    raise_open_files_limit,
)


def test_the_soft_limit_on_open_files_is_raised_to_the_hard_one():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(1024, hard), hard))
    try:
        assert raise_open_files_limit() == (None if hard == resource.RLIM_INFINITY else hard)
        assert resource.getrlimit(resource.RLIMIT_NOFILE) == (hard, hard)
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_the_proxy_takes_two_files_a_connection_and_leaves_the_reserve():
    assert proxy_connections(1024) == (1024 - RESERVED_FILES) // 2 == 384
    assert proxy_connections(1_048_576) == MOST_PROXY_CONNECTIONS
    assert proxy_connections(None) == MOST_PROXY_CONNECTIONS
    assert proxy_connections(260) == 16  # a few, whatever the limit


async def test_the_api_s_site_closes_connections_past_its_most_on_arrival():
    async def ok(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/", ok)
    runner = web.AppRunner(app)
    await runner.setup()
    site = CappedSite(runner, "127.0.0.1", 0, most=2)
    await site.start()
    try:
        kept = [await asyncio.open_connection("127.0.0.1", site.port) for _ in range(2)]
        await asyncio.sleep(0.1)
        reader, writer = await asyncio.open_connection("127.0.0.1", site.port)
        writer.write(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        try:
            assert await asyncio.wait_for(reader.read(), 5) == b""
        except ConnectionResetError:
            pass  # closed on arrival, before or after the request came
        assert site.refused == 1
        for _, w in kept:  # the kept ones are served
            w.write(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        assert [(await r.read()).split(b"\r\n")[0] for r, _ in kept] == [b"HTTP/1.1 200 OK"] * 2
        writer.close()
    finally:
        await runner.cleanup()
