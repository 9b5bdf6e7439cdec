"""server/store/door.py: the store reached only through its door, reads never behind writes."""

from __future__ import annotations

import asyncio
import sqlite3
import time

import pytest

from sentinelle.server.store.door import StoreDoor
from sentinelle.server.store.records import Store
from tests.server.store.test_store import enroll, sighting


@pytest.fixture
def door(data_dir):
    door = StoreDoor(data_dir)
    yield door
    door.close()


async def test_a_read_does_not_wait_for_a_write(door):
    photo = await door.write(enroll, 5)
    await door.write(Store.record_sighting, sighting(photo["id"], "https://cdn/a.jpg"))
    busy = asyncio.ensure_future(door.write(lambda _: time.sleep(1.0)))  # a write that takes a second
    await asyncio.sleep(0.05)
    started = time.monotonic()
    alerts = await door.read(Store.alerts)
    assert time.monotonic() - started < 0.5 and len(alerts) == 1
    assert not busy.done()
    await busy


async def test_the_reader_cannot_write(door):
    photo = await door.write(enroll, 5)
    alert, _ = await door.write(Store.record_sighting, sighting(photo["id"], "https://cdn/a.jpg"))
    with pytest.raises(sqlite3.OperationalError, match="readonly|read-only|query_only"):
        await door.read(Store.set_status, alert["id"], "seen")
    assert (await door.read(Store.alert, alert["id"]))["status"] == "new"


async def test_a_write_is_read_at_once(door):
    photo = await door.write(enroll, 5)
    assert [p["id"] for p in await door.read(Store.photos)] == [photo["id"]]


def test_closing_twice_does_nothing(data_dir):
    door = StoreDoor(data_dir)
    door.close()
    door.close()
