"""Fuzzing through the real proxy: odd and broken responses on a social host reach the browser
exactly as sent — plain, gzip, chunked, over HTTP/1.1 and HTTP/2, and websockets — and the
watcher counts what it could not read. A sample; `python -m benchmarks.fuzz` runs thousands."""

from __future__ import annotations

import asyncio
import ssl

import aiohttp

from tests.conftest import kodak
from tests.support.broken_images import seed_images
from tests.support.proxy_fuzz import make_cases, origin_files, send_all
from tests.support.scenario import CDN, wait_for, watching
from tests.support.watcher import sentinelle

CASES = 60


async def test_odd_responses_reach_the_browser_unchanged(tmp_path, data_dir):
    sentinelle(data_dir, "enroll", str(kodak(15)))  # the broken images are made from #5
    cases = make_cases(seed_images(), CASES, seed=1)
    assert {c.encoding for c in cases} == {"identity", "gzip", "chunked"}
    async with watching(tmp_path, data_dir, origin_files(cases)) as (watcher, _):
        outcomes = await asyncio.to_thread(send_all, watcher, CDN, cases)
        assert outcomes == {"ok": CASES}

        def accounted() -> bool:  # every image seen is checked, or skipped for a counted reason
            images = watcher.api("GET", "/api/stats")[1]["images"]
            return images["checked"] + sum(images["skipped"].values()) == images["seen"]

        await wait_for(accounted, timeout=30)
        _, stats = await asyncio.to_thread(watcher.api, "GET", "/api/stats")
        images = stats["images"]
        assert images["seen"] > 0 and stats["alerts"] == 0
        assert images["checked"] + sum(images["skipped"].values()) == images["seen"]


async def test_http2_streams_from_the_browser_reach_it_unchanged(tmp_path, data_dir):
    # mitmproxy offers HTTP/2 to the browser when the origin speaks it; this fake origin
    # speaks HTTP/1.1 only, so the proxy is told to answer the browser before connecting
    # upstream (lazy), which lets it negotiate HTTP/2 with the browser all the same.
    cases = make_cases(seed_images(), 12, seed=2, http2=1.0)
    async with watching(tmp_path, data_dir, origin_files(cases),
                        extra_set=("connection_strategy=lazy",)) as (watcher, _):
        assert await asyncio.to_thread(send_all, watcher, CDN, cases) == {"ok": 12}
        _, stats = await asyncio.to_thread(watcher.api, "GET", "/api/stats")
        assert stats["images"]["seen"] > 0


async def test_websockets_on_a_social_host_pass_through(tmp_path, data_dir):
    async with watching(tmp_path, data_dir, {}) as (watcher, _):
        context = ssl.create_default_context(cafile=str(watcher.ca_file))
        async with aiohttp.ClientSession() as session:
            async with session.ws_connect(f"wss://{CDN}/ws", proxy=f"http://127.0.0.1:{watcher.proxy_port}",
                                          ssl=context) as ws:
                for message in (b"\xff\xd8\xff not an image", b"x" * 70_000):
                    await ws.send_bytes(message)
                    assert (await ws.receive_bytes(timeout=10)) == message
                await ws.send_str("hello")
                assert await ws.receive_str(timeout=10) == "hello"
        _, health = await asyncio.to_thread(watcher.api, "GET", "/api/health")
        assert health["status"] == "ok"
