"""Crash safety: `kill -9` in the middle of a burst of matches loses no alert that was announced."""

from __future__ import annotations

import asyncio
import hashlib
import signal
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from PIL import Image

from sentinelle.server.store.records import Store
from tests.conftest import jpeg_bytes, kodak
from tests.support.scenario import CDN, read_events, wait_for, watching
from tests.support.watcher import sentinelle

BURST = 200


def copies(count: int) -> dict[str, tuple[str, bytes]]:
    """Distinct copies of the two enrolled photos, each at its own address."""
    files = {}
    for i in range(count):
        with Image.open(kodak(5 if i % 2 else 15)) as photo:
            width = 300 + 3 * i
            copy = photo.resize((width, round(photo.height * width / photo.width)))
            files[f"/burst/{i}.jpg"] = ("image/jpeg", jpeg_bytes(copy, quality=60 + i % 35))
    return files


def children_of(pid: int) -> list[int]:
    """The processes `pid` started (Linux's /proc)."""
    return [int(child) for task in Path(f"/proc/{pid}/task").iterdir()
            for child in (task / "children").read_text().split()]


def alive(pid: int) -> bool:
    """Running, or stopped: not ended (a zombie has ended, its exit not yet collected)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def fetch_quietly(watcher, path: str) -> None:
    try:
        watcher.fetch(CDN, path)
    except OSError:
        pass  # the proxy was killed under it: that is the point


async def test_kill_9_during_a_burst_keeps_every_announced_alert(tmp_path, data_dir):
    sentinelle(data_dir, "enroll", str(kodak(5)), str(kodak(15)))
    files = copies(BURST)
    async with watching(tmp_path, data_dir, files) as (watcher, _):
        events: list[tuple[str, dict]] = []
        connected = asyncio.Event()
        reader = asyncio.create_task(read_events(
            f"http://127.0.0.1:{watcher.api_port}/api/events", watcher.token, events, connected))
        await asyncio.wait_for(connected.wait(), 20)  # the stream is subscribed
        pool = ThreadPoolExecutor(8)
        loop = asyncio.get_running_loop()
        burst = [loop.run_in_executor(pool, fetch_quietly, watcher, path) for path in files]
        await wait_for(lambda: sum(kind == "alert" for kind, _ in events) >= 5, interval=0.005)
        workers = children_of(watcher.process.pid)
        watcher.process.send_signal(signal.SIGKILL)  # mid-burst, no warning
        announced = {data["id"] for kind, data in events if kind == "alert"}
        await asyncio.gather(*burst)
        pool.shutdown()
        reader.cancel()
        assert watcher.process.wait(10) == -signal.SIGKILL
    assert len(announced) < BURST, "the burst was over before the kill: nothing was proven"
    assert workers, "Sentinelle had no worker process to check"
    await wait_for(lambda: not any(alive(pid) for pid in workers))  # none left behind

    store = Store(data_dir)  # the database opens...
    try:
        assert store._db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        kept = {alert["id"] for alert in store.alerts()}
        assert announced <= kept  # ...with every alert whose notification went out,
        for alert_id in kept:     # and every evidence file it names is whole.
            for sighting in store.sightings(alert_id):
                evidence = (store.evidence_dir / sighting["evidence_file"]).read_bytes()
                assert hashlib.sha256(evidence).hexdigest() == sighting["evidence_sha256"]
    finally:
        store.close()

    # And Sentinelle starts again on what was left.
    async with watching(tmp_path, data_dir, files) as (watcher, _):
        status, alerts = await asyncio.to_thread(watcher.api, "GET", "/api/alerts")
        assert status == 200 and {a["id"] for a in alerts} == kept
