"""server/alerts/recorder.py and server/store/door.py: the loop never waits on the store, and a
sighting the database refuses waits and is written later, in order, never dropped."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from dataclasses import replace

import pytest

from sentinelle.proxy.feeds.attribution import AccountNamed, Attribution
from sentinelle.server.alerts.events import Events
from sentinelle.server.alerts.recorder import AlertRecorder
from sentinelle.server.store.door import StoreDoor
from sentinelle.server.store.records import Store
from tests.server.store.test_store import enroll, sighting


@pytest.fixture
def db(data_dir):
    data_dir.mkdir()
    db = StoreDoor(data_dir)
    yield db
    db.close()


async def longest_stall_while(work, tick: float = 0.005) -> float:
    """Run `work` (a coroutine) and measure how late the loop ran a timer meanwhile, in seconds."""
    loop = asyncio.get_running_loop()
    late = 0.0
    done = False

    async def ticker():
        nonlocal late
        while not done:
            due = loop.time() + tick
            await asyncio.sleep(tick)
            late = max(late, loop.time() - due)

    ticking = asyncio.create_task(ticker())
    try:
        await work
    finally:
        done = True
        await ticking
    return late


async def test_a_slow_store_never_holds_the_event_loop(db):
    photo = await db.write(enroll, 5)
    events, seen = Events(), []
    recorder = AlertRecorder(db, events)

    async def record_behind_a_slow_write():
        slow = asyncio.ensure_future(db.write(lambda _: time.sleep(0.5)))  # the disk takes half a second
        recorder(sighting(photo["id"], "https://scontent.cdninstagram.com/v/1.jpg"))
        assert recorder.unsaved == 1  # queued at once, not written on the loop
        await slow
        await recorder.flush()

    async with events.subscribe() as queue:
        stall = await longest_stall_while(record_behind_a_slow_write())
        seen.append(queue.get_nowait())
    assert stall < 0.1, f"the loop was held {stall * 1000:.0f} ms"
    assert recorder.unsaved == 0 and seen[0][0] == "alert"
    assert (await db.read(Store.counts))["alerts"] == 1


async def test_a_locked_database_delays_sightings_and_loses_none(db, data_dir, monkeypatch):
    monkeypatch.setattr("sentinelle.server.alerts.recorder.FIRST_RETRY_SECONDS", 0.05)
    photo = await db.write(enroll, 5)
    await db.write(lambda store: store._db.execute("PRAGMA busy_timeout = 50"))  # fail fast while locked
    recorder = AlertRecorder(db, Events())
    other = sqlite3.connect(data_dir / "sentinelle.db", isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")  # another program holds the database
    urls = [f"https://scontent.cdninstagram.com/v/{i}.jpg" for i in range(3)]
    for i, url in enumerate(urls):
        recorder(sighting(photo["id"], url, body=b"\xff\xd8" + bytes([i]) * 100, minutes=i))
    await asyncio.wait_for(_until(lambda: recorder.failing), 5)
    assert recorder.unsaved == 3
    other.execute("ROLLBACK")
    other.close()
    await asyncio.wait_for(recorder.flush(), 10)
    assert recorder.unsaved == 0 and not recorder.failing
    reader = Store(data_dir)
    try:
        written = [s["image_url"] for a in reader.alerts() for s in reader.sightings(a["id"])]
    finally:
        reader.close()
    assert sorted(written) == urls


async def test_a_sighting_written_twice_by_a_retry_is_kept_once(db):
    photo = await db.write(enroll, 5)
    once = sighting(photo["id"], "https://scontent.cdninstagram.com/v/1.jpg")
    first, new = await db.write(Store.record_sighting, once)
    again, new_again = await db.write(Store.record_sighting, once)
    assert new and not new_again and again["id"] == first["id"] and again["count"] == 1


async def _until(condition, every: float = 0.01) -> None:
    while not condition():
        await asyncio.sleep(every)


async def test_an_account_known_by_id_is_named_after_its_sighting_and_the_extension_told(db):
    photo = await db.write(enroll, 5)
    events = Events()
    recorder = AlertRecorder(db, events)
    by_id = Attribution("instagram", None, None, "https://www.instagram.com/p/CIdOnLy/", None, "u", "{}",
                        account_id="4300000077")
    async with events.subscribe() as queue:
        # queued in this order: the sighting is in the store before its account is named
        recorder(replace(sighting(photo["id"], "https://scontent.cdninstagram.com/v/1.jpg"), attribution=by_id))
        recorder.named(AccountNamed("instagram", "4300000077", "named.later", "https://www.instagram.com/named.later/"))
        await recorder.flush()
        (new, alert), (kind, named) = queue.get_nowait(), queue.get_nowait()
    assert (new, alert["account"], alert["account_id"]) == ("alert", None, "4300000077")
    assert (kind, named["id"], named["account"]) == ("sighting", alert["id"], "named.later")  # no second notification
