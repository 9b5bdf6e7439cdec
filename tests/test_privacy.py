"""Privacy by construction: of an image that did not match, nothing reaches the disk or the log."""

from __future__ import annotations

import asyncio
import random

from PIL import Image

from sentinelle.proxy.fronts.watch import SHED
from tests.conftest import jpeg_bytes, kodak
from tests.support.scenario import CDN, wait_for, watching
from tests.support.watcher import sentinelle

FEED_SIZE = 500


def feed_of_strangers(count: int) -> dict[str, tuple[str, bytes]]:
    """`count` distinct photos, none of them enrolled: crops of the Kodak photos but #5."""
    rng = random.Random(500)
    sources = [Image.open(kodak(n)).convert("RGB") for n in range(1, 25) if n != 5]
    feed = {}
    for i in range(count):
        image = sources[i % len(sources)]
        w, h = image.size
        left, top = rng.randrange(w // 4), rng.randrange(h // 4)
        crop = image.crop((left, top, left + w // 2 + rng.randrange(w // 4), top + h // 2))
        feed[f"/feed/p{i:03d}-{rng.getrandbits(40):010x}.jpg"] = (
            "image/jpeg", jpeg_bytes(crop.resize((320, 240)), quality=70 + i % 20))
    return feed


async def test_a_feed_of_strangers_leaves_no_trace(tmp_path, data_dir):
    sentinelle(data_dir, "enroll", "--child", "Alice", str(kodak(5)))
    feed = feed_of_strangers(FEED_SIZE)
    async with watching(tmp_path, data_dir, feed) as (watcher, _):
        received = await asyncio.to_thread(watcher.fetch_many, CDN, list(feed))
        assert received == [body for _, body in feed.values()]
        await wait_for(lambda: watcher.api("GET", "/api/stats")[1]["images"]["waiting"] == 0,
                       timeout=180)
        _, stats = await asyncio.to_thread(watcher.api, "GET", "/api/stats")
        # Every image checked, but for what a busy machine shed (counted).
        shed = stats["images"]["skipped"].get(SHED, 0)
        assert stats["images"]["checked"] + shed == FEED_SIZE and stats["alerts"] == 0
    out, err = watcher.output

    # Scan everything Sentinelle wrote: the database and its journal, evidence, keys...
    written = {path: path.read_bytes() for path in data_dir.rglob("*") if path.is_file()}
    assert not list((data_dir / "evidence").iterdir())
    for url_path, (_, body) in feed.items():
        middle = body[len(body) // 2: len(body) // 2 + 48]  # a run of compressed pixels
        for path, content in written.items():
            assert middle not in content, f"bytes of {url_path} found in {path}"
            assert url_path.encode() not in content, f"{url_path} found in {path}"
        assert url_path not in out and url_path not in err
    # The log holds counts only.
    assert f"checked {stats['images']['checked']}, matched 0" in out
    assert CDN not in out and CDN not in err
