"""Decompression bombs through a real `sentinelle run`: a small body that inflates to gigabytes
(gzip and brotli, as an image and as a feed) reaches the browser as it was sent, the proxy
stays alive, and Sentinelle's memory stays where it was: every front hands bodies as received
to the checking processes, which decode them within a limit (proxy/fronts/encoding.py)."""

from __future__ import annotations

import asyncio
import zlib
from pathlib import Path

import brotli
import pytest

from tests.support.memory import tree_memory
from tests.support.scenario import CDN, wait_for, watching
from tests.support.watcher import sentinelle

INFLATED = 2 * 2**30  # what each bomb becomes once decoded: 2 GiB of zeros
MEMORY_SLACK = 100 * 2**20  # the bound on what a bomb may add to resident memory
# A checker decodes up to the limit (16 MB for an image), and one brotli step more (16 MB).
DECODING = 2 * (16 + 16) * 2**20


def gzip_bomb(size: int = INFLATED) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    block = bytes(2**20)
    return b"".join(packer.compress(block) for _ in range(size // len(block))) + packer.flush()


def brotli_bomb(size: int = INFLATED) -> bytes:
    packer, block = brotli.Compressor(quality=5, lgwin=24), bytes(2**24)
    return b"".join(packer.process(block) for _ in range(size // len(block))) + packer.finish()


@pytest.fixture(scope="module")
def bombs() -> dict[str, bytes]:
    return {"gzip": gzip_bomb(), "br": brotli_bomb()}


async def test_bombs_pass_to_the_browser_and_cost_sentinelle_nothing(tmp_path, data_dir, bombs):
    assert all(len(bomb) < 8 * 2**20 for bomb in bombs.values())  # small on the wire
    sentinelle(data_dir, "enroll", str(Path(__file__).parent / "fixtures" / "kodak" / "kodim05.jpg"))
    files = {f"/bomb.{coding}.jpg": ("image/jpeg", bomb, {"Content-Encoding": coding})
             for coding, bomb in bombs.items()}
    files |= {f"/feed.{coding}.json": ("application/json", bomb, {"Content-Encoding": coding})
              for coding, bomb in bombs.items()}
    async with watching(tmp_path, data_dir, files) as (watcher, _):
        def images() -> dict:
            return watcher.api("GET", "/api/stats")[1]["images"]

        # Warmed up first (the checkers load the matcher), then measured.
        await asyncio.to_thread(watcher.fetch, CDN, "/bomb.gzip.jpg")
        await wait_for(lambda: images()["waiting"] == 0 and not images()["reading"], timeout=60)
        resident, peak = tree_memory(watcher.process.pid)
        for coding, bomb in bombs.items():
            for path in (f"/bomb.{coding}.jpg", f"/feed.{coding}.json"):
                fetched = await asyncio.to_thread(watcher.fetch, CDN, path)
                # The browser gets the body as the site sent it, encoded: its to decode.
                assert fetched.status == 200 and fetched.body == bomb
                assert fetched.headers["Content-Encoding"] == coding
        await wait_for(lambda: images()["waiting"] == 0 and not images()["reading"], timeout=60)
        assert watcher.process.poll() is None
        assert watcher.api("GET", "/api/health")[0] == 200
        after, peak_after = tree_memory(watcher.process.pid)
        assert after - resident < MEMORY_SLACK, (resident, after)
        assert peak_after - peak < MEMORY_SLACK + DECODING, (peak, peak_after)
        assert images()["skipped"].get("too large") == 1 + len(bombs)  # the warm-up and both images
        assert watcher.api("GET", "/api/alerts")[1] == []
