"""A full disk mid-feed loses no evidence: the sightings wait, and are written once it has room.

Every part real: `sentinelle run` with its data dir on a small tmpfs of its own, a fake
Instagram CDN on loopback, copies of an enrolled photo fetched through the proxy. Mounting
needs root (as CI runs); elsewhere the test says it was skipped, and why.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
from pathlib import Path

import pytest

from tests.conftest import kodak, square_crop_copy
from tests.support.scenario import CDN, wait_for, watching
from tests.support.watcher import sentinelle

COPIES = 6  # two before the disk fills, four while it is full


@contextlib.contextmanager
def small_disk(where: Path, size: str = "32m"):
    where.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(where)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"needs to mount a tmpfs (root): {mounted.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def fill(disk: Path) -> Path:
    """Write a file until the disk has no byte left; returns it."""
    filler = disk / "filler"
    block = b"\0" * 2**16
    # Unbuffered: the last write fills what room is left (a part of a block), the next one
    # fails, and nothing is left in a buffer for the close to fail on.
    with open(filler, "wb", buffering=0) as f, contextlib.suppress(OSError):
        while True:
            f.write(block)
    return filler


def stats(watcher) -> dict:
    status, body = watcher.api("GET", "/api/stats")
    assert status == 200
    return body


async def test_sightings_seen_while_the_disk_is_full_are_written_once_it_has_room(tmp_path):
    with small_disk(tmp_path / "disk") as disk:
        data_dir = disk / "sentinelle"
        sentinelle(data_dir, "enroll", "--child", "Alice", str(kodak(5)))
        # Each copy its own bytes (another JPEG quality), so each needs room of its own on disk.
        copies = {f"/v/copy-{i}.jpg": ("image/jpeg", square_crop_copy(kodak(5), quality=70 + i))
                  for i in range(COPIES)}
        async with watching(tmp_path, data_dir, copies) as (watcher, _):
            async def seen(path: str) -> None:
                await asyncio.to_thread(watcher.fetch, CDN, f"{path}?sig=1")

            def matched() -> int:
                return stats(watcher)["images"]["matched"]

            for path in list(copies)[:2]:
                await seen(path)
            await wait_for(lambda: matched() == 2 and stats(watcher)["images"]["unsaved"] == 0)

            filler = await asyncio.to_thread(fill, disk)
            for path in list(copies)[2:]:
                fetched = await asyncio.to_thread(watcher.fetch, CDN, f"{path}?sig=1")
                assert fetched.status == 200  # the browser is served all the same
            await wait_for(lambda: matched() == COPIES)
            # None of the four could be written: they wait, in memory, and say so.
            assert stats(watcher)["images"]["unsaved"] == COPIES - 2
            assert "cannot write an alert's evidence" in "".join(watcher.output_so_far())

            filler.unlink()
            await wait_for(lambda: stats(watcher)["images"]["unsaved"] == 0, timeout=60)
            status, alerts = watcher.api("GET", "/api/alerts")
            assert status == 200
            sightings = [s for alert in alerts for s in watcher.api("GET", f"/api/alerts/{alert['id']}")[1]["sightings"]]
            assert sorted(s["image_url"] for s in sightings) == sorted(f"https://{CDN}{p}?sig=1" for p in copies)
            assert len({s["evidence_sha256"] for s in sightings}) == COPIES
            for s in sightings:  # each evidence file whole on disk
                status, evidence = watcher.api("GET", f"/api/alerts/{s['alert_id']}/evidence")
                assert status == 200
            assert sorted(s["evidence_bytes"] for s in sightings) == sorted(len(body) for _, body in copies.values())
            assert "the evidence could be written again" in "".join(watcher.output_so_far())
