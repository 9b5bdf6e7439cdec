"""Soak, short: thousands of images through the real proxy leak no memory, file or task.
The long run (100,000 images) is `python -m benchmarks.load --soak 100000`."""

from __future__ import annotations

import asyncio

from sentinelle.proxy.fronts.watch import SHED
from tests.conftest import kodak
from tests.support.scenario import CDN, wait_for, watching
from tests.support.watcher import sentinelle
from tests.test_privacy import feed_of_strangers

WARM_UP, SOAK = 300, 2_000


async def test_a_long_feed_leaks_nothing(tmp_path, data_dir):
    sentinelle(data_dir, "enroll", str(kodak(5)))
    feed = feed_of_strangers(50)
    paths = list(feed)

    async with watching(tmp_path, data_dir, feed) as (watcher, _):
        def scroll(count: int) -> None:
            watcher.fetch_many(CDN, [paths[i % len(paths)] for i in range(count)])

        def usage() -> dict:
            return watcher.api("GET", "/api/stats")[1]

        async def settled() -> dict:
            await wait_for(lambda: usage()["images"]["waiting"] == 0, timeout=120)
            return usage()

        await asyncio.to_thread(scroll, WARM_UP)
        before = await settled()
        await asyncio.to_thread(scroll, SOAK)
        after = await settled()

    assert after["images"]["seen"] == WARM_UP + SOAK, after
    # All checked, but for what a busy machine shed (counted: the queue is bounded).
    shed = after["images"]["skipped"].get(SHED, 0)
    assert after["images"]["checked"] + shed == WARM_UP + SOAK, after
    start, end = before["process"], after["process"]
    assert end["open_fds"] <= start["open_fds"] + 2, (start, end)
    assert end["tasks"] <= start["tasks"] + 2, (start, end)
    assert end["rss_bytes"] < start["rss_bytes"] * 1.10, (start, end)
