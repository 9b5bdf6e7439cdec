"""What a hostile program on the PC, or a hostile response, can do to a real `sentinelle run`:
forge nothing, hold no more memory than the size Sentinelle checks, and take from the proxy none
of the connections it needs.

The probes of issue 30, each against the real proxy (tests/support/watcher.py), a fake social
site over HTTPS and a plain-HTTP origin on 127.0.0.1 that answers whatever Host it is sent.
"""

from __future__ import annotations

import asyncio
import http.client
import ssl
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from aiohttp import web

from sentinelle.proxy.fronts.watch import KEEP_FOR_REUSE
from tests.conftest import kodak, square_crop_copy
from tests.support.certs import OriginCerts, make_origin_certs
from tests.support.memory import Sampled
from tests.support.origin import serve_origin
from tests.support.scenario import CDN, wait_for
from tests.support.sockets import closed_by_peer, hoard, trickle
from tests.support.watcher import Watcher, sentinelle
from tests.test_impersonation_end_to_end import search_results

SITE = "www.instagram.com"
SEARCH = "/api/v1/web/search/topsearch/"
PICTURE = "/v/t51.2885-19/501_1_2_n.jpg"
# A social network's name that the test resolver sends to the plain-HTTP origin.
PLAIN_CDN = "scontent-plain.cdninstagram.com"
BIG = 384 * 2**20  # a body far past the largest Sentinelle checks (16 MB)
# What a body held up to that size, then streamed, may leave resident: the memory the proxy keeps
# for its next backlog of images (proxy/fronts/memory.py), and its buffers.
STREAMING_SLACK = KEEP_FOR_REUSE + 32 * 2**20


@asynccontextmanager
async def big_origin(files: dict[str, tuple[str, bytes]], certs: OriginCerts | None = None) -> AsyncIterator[int]:
    """An origin on 127.0.0.1 (HTTPS with `certs`, else plain HTTP) that answers whatever Host it
    is sent: `files`, and `/big.jpg?size=N` (`&chunked=1`: without Content-Length), a JPEG's
    first bytes then zeros, written as it goes. Yields its port."""

    async def handle(request: web.Request) -> web.StreamResponse:
        if request.path == "/big.jpg":
            size = int(request.query["size"])
            response = web.StreamResponse(headers={"Content-Type": "image/jpeg"})
            if request.query.get("chunked"):
                response.enable_chunked_encoding()
            else:
                response.content_length = size
            await response.prepare(request)
            block = bytes(2**20)
            await response.write(b"\xff\xd8\xff\xe0" + block[4:])
            for _ in range(size // len(block) - 1):
                await response.write(block)
            await response.write_eof()
            return response
        if request.path not in files:
            return web.Response(status=404)
        content_type, body = files[request.path]
        return web.Response(body=body, content_type=content_type)

    app = web.Application()
    app.router.add_get("/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=certs.server_context() if certs else None)
    await site.start()
    try:
        yield site._server.sockets[0].getsockname()[1]
    finally:
        await runner.cleanup()


def through_proxy(watcher: Watcher, url: str, host: str | None = None) -> tuple[int, bytes]:
    """GET an http:// URL through the proxy as `curl -x` sends it (absolute form), with a Host
    header of the client's choosing."""
    conn = http.client.HTTPConnection("127.0.0.1", watcher.proxy_port, timeout=30)
    try:
        conn.request("GET", url, headers={"Host": host} if host else {})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def drain(watcher: Watcher, url: str, host: str | None = None, tunnel: str | None = None) -> tuple[int, float]:
    """GET a large body through the proxy, reading it as it comes: (bytes, seconds to the first)."""
    if tunnel:
        context = ssl.create_default_context(cafile=str(watcher.ca_file))
        conn = http.client.HTTPSConnection("127.0.0.1", watcher.proxy_port, context=context, timeout=60)
        conn.set_tunnel(tunnel, 443)
    else:
        conn = http.client.HTTPConnection("127.0.0.1", watcher.proxy_port, timeout=60)
    try:
        started = time.monotonic()
        conn.request("GET", url, headers={"Host": host} if host else {})
        response = conn.getresponse()
        first = response.read(65536)
        waited = time.monotonic() - started
        size = len(first)
        while block := response.read(2**20):
            size += len(block)
        return size, waited
    finally:
        conn.close()


async def test_a_program_on_the_pc_cannot_forge_alerts_through_the_proxy(tmp_path, data_dir):
    sentinelle(data_dir, "child", "set", "Alice Martin")
    sentinelle(data_dir, "enroll", "--child", "Alice Martin", str(kodak(5)))
    files = {SEARCH: ("application/json", search_results(("alice.martin.2014", "Alice Martin", PICTURE))),
             PICTURE: ("image/jpeg", square_crop_copy(kodak(5), width=320))}
    certs = make_origin_certs(tmp_path / "origin", [CDN, SITE])
    async with serve_origin(certs, files) as origin, big_origin(files) as plain:
        watcher = await asyncio.to_thread(
            Watcher, data_dir, {CDN: origin.port, SITE: origin.port, PLAIN_CDN: plain}, certs.ca_file)

        def stats() -> dict:
            return watcher.api("GET", "/api/stats")[1]

        try:
            # A program's own server, labelled a social network by the Host header (the probe:
            # `curl -x 127.0.0.1:PORT -H 'Host: www.facebook.com' http://127.0.0.1:OTHER/...`).
            for path, host in ((SEARCH, SITE), (PICTURE, CDN)):
                status, body = await asyncio.to_thread(through_proxy, watcher, f"http://127.0.0.1:{plain}{path}", host)
                assert (status, body) == (200, files[path][1])  # passed on, unchanged
            # A social network's name over plain HTTP, resolved the program's way.
            status, _ = await asyncio.to_thread(through_proxy, watcher, f"http://{PLAIN_CDN}:{plain}{PICTURE}")
            assert status == 200
            await asyncio.sleep(1.0)  # the proxy's pause: what it had kept would be checked now
            assert stats()["images"]["seen"] == 0 and stats()["images"]["reading"] == 0
            assert watcher.api("GET", "/api/alerts")[1] == [] and watcher.api("GET", "/api/watchlist")[1] == []

            # The same bytes from the social network itself, over TLS: they would have counted.
            assert (await asyncio.to_thread(watcher.fetch, SITE, SEARCH)).status == 200
            await wait_for(lambda: stats()["images"]["reading"] == 0)
            assert (await asyncio.to_thread(watcher.fetch, CDN, PICTURE,
                                            headers={"Referer": f"https://{SITE}/"})).status == 200
            await wait_for(lambda: stats()["alerts"] == 1, timeout=60)
            [alert] = watcher.api("GET", "/api/alerts")[1]
            assert (alert["kind"], alert["account"]) == ("impersonation", "alice.martin.2014")
        finally:
            code = await asyncio.to_thread(watcher.stop)
    assert code == 0 and "Traceback" not in watcher.output[1], watcher.output[1]


async def test_bodies_past_the_checked_size_go_through_as_they_come(tmp_path, data_dir):
    certs = make_origin_certs(tmp_path / "origin", [CDN])
    async with big_origin({}, certs) as social, big_origin({}) as plain:
        watcher = await asyncio.to_thread(Watcher, data_dir, {CDN: social}, certs.ca_file)
        try:
            # Warmed up (the first flow loads what mitmproxy loads once), then measured.
            await asyncio.to_thread(drain, watcher, f"http://127.0.0.1:{plain}/big.jpg?size={2**20}")
            for url, host, tunnel in (
                (f"http://127.0.0.1:{plain}/big.jpg?size={BIG}", None, None),  # another host's
                (f"http://127.0.0.1:{plain}/big.jpg?size={BIG}", CDN, None),  # ... labelled social
                (f"/big.jpg?size={BIG}", None, CDN),  # a social host's, Content-Length past the limit
                (f"/big.jpg?size={BIG}&chunked=1", None, CDN),  # ... and one that says no size
            ):
                with Sampled(watcher.process.pid) as memory:
                    size, first_byte = await asyncio.to_thread(drain, watcher, url, host, tunnel)
                assert size == BIG, (url, host)
                assert memory.rise < STREAMING_SLACK, (url, host, memory.rise)
                assert first_byte < 2.0, (url, host, first_byte)
            images = watcher.api("GET", "/api/stats")[1]["images"]
            assert images["seen"] == 2 and images["skipped"] == {"too large": 2}
        finally:
            code = await asyncio.to_thread(watcher.stop)
    assert code == 0 and "Traceback" not in watcher.output[1], watcher.output[1]


async def test_a_program_hoarding_connections_leaves_the_proxy_serving(tmp_path, data_dir):
    files = {PICTURE: ("image/jpeg", square_crop_copy(kodak(5), width=320))}
    certs = make_origin_certs(tmp_path / "origin", [CDN])
    async with serve_origin(certs, files) as origin:
        # A desktop's soft limit of 1,024 open files: Sentinelle raises it to the hard limit.
        watcher = await asyncio.to_thread(Watcher, data_dir, {CDN: origin.port}, certs.ca_file, open_files=1024)
        try:
            limits = Path(f"/proc/{watcher.process.pid}/limits").read_text()
            [line] = [line for line in limits.splitlines() if line.startswith("Max open files")]
            soft, hard = line.split()[3:5]
            assert soft == hard, line
            # 1,100 idle sockets to the API and 400 that send a request's first bytes only, and as
            # many to the proxy: the API keeps a few, the proxy keeps serving the browser. (The
            # probe: at 1,024 open files, the API and the proxy answered nothing until they closed.)
            hoarded = await asyncio.to_thread(hoard, watcher.api_port, 1100)
            hoarded += await asyncio.to_thread(hoard, watcher.api_port, 400, b"GET /api/health HTTP/1.1\r\nHo")
            hoarded += await asyncio.to_thread(hoard, watcher.proxy_port, 600)
            hoarded += await asyncio.to_thread(hoard, watcher.proxy_port, 400, b"CONNECT scontent")
            try:
                started = time.monotonic()
                fetched = await asyncio.to_thread(watcher.fetch, CDN, PICTURE)
                assert (fetched.status, fetched.body) == (200, files[PICTURE][1])
                assert time.monotonic() - started < 5
                # The unfinished ones are closed by then, those whose head comes a byte every 2 s
                # too; the API answers again.
                await trickle(hoarded[1100:1120] + hoarded[-20:], 13)
                still_open = sum(not closed_by_peer(s) for s in hoarded)
                assert still_open == 0, still_open
                assert watcher.api("GET", "/api/health")[0] == 200
            finally:
                for s in hoarded:
                    s.close()
        finally:
            code = await asyncio.to_thread(watcher.stop)
    assert code == 0 and "Traceback" not in watcher.output[1], watcher.output[1]
