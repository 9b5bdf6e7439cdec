"""server/alerts/protected.py: the index beside the store, in step with it — a start maps it as it is, an enrolment is watched at the next refresh, a forgotten photo is hidden and dropped, an earlier Sentinelle's index is made again, and the event loop never waits for any of it."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sentinelle.proxy.engine.fingerprint import fingerprint
from sentinelle.proxy.engine.index import IndexFolder, open_index
from sentinelle.proxy.engine.matcher import Matcher
from sentinelle.proxy.fronts import worker
from sentinelle.server.alerts import protected
from sentinelle.server.alerts.enroll import enroll_bytes
from sentinelle.server.alerts.protected import OLD_INDEX_FILE, LiveIndex, ProtectedSet, index_folder, keep_index
from sentinelle.server.store.door import StoreDoor
from sentinelle.server.store.records import Store
from tests.conftest import kodak, square_crop_copy


def enrol(store: Store, *numbers: int) -> list[int]:
    return [enroll_bytes(store, kodak(n).read_bytes(), kodak(n).name, None).photo["id"] for n in numbers]


@contextlib.contextmanager
def live_index(store: Store, data_dir: Path, *numbers: int) -> Iterator[LiveIndex]:
    """A running proxy's protected set, over a store holding the Kodak photos `numbers`, indexed."""
    enrol(store, *numbers)
    keep_index(store, data_dir)
    door = StoreDoor(data_dir)
    try:
        yield LiveIndex(door, data_dir)
    finally:
        door.close()


def matched(ref: worker.IndexRef, number: int) -> int | None:
    found = worker.load(ref).matcher.match(fingerprint(square_crop_copy(kodak(number))))
    return found.photo_id if found else None


def test_check_brings_the_index_up_to_date_then_matches(store, data_dir):
    [photo_id] = enrol(store, 5)
    assert not index_folder(data_dir).path.exists()  # nothing kept it yet
    assert ProtectedSet(store, data_dir).match(fingerprint(square_crop_copy(kodak(5)))).photo_id == photo_id
    assert index_folder(data_dir).latest().revision == store.photos_revision()


def test_a_command_that_forgets_drops_the_photo_from_the_index_files(store, data_dir):
    first, second = enrol(store, 5, 20)
    keep_index(store, data_dir)
    store.forget_photo(second)
    keep_index(store, data_dir)
    latest = index_folder(data_dir).latest()
    found, _ = open_index(latest.path)
    assert found.photo_ids() == [first] and latest.hidden == {}
    assert all(second not in segment.photo_ids for segment in found.segments)


async def test_a_start_maps_the_index_as_it_is_without_reading_the_fingerprints(store, data_dir, monkeypatch):
    enrol(store, 5, 20)
    keep_index(store, data_dir)
    read = []
    monkeypatch.setattr(Store, "fingerprints", lambda *a, **k: read.append(a) or iter(()))
    door = StoreDoor(data_dir)
    try:
        live = LiveIndex(door, data_dir)
        assert matched(live.current(), 20) is not None
        await live.refresh()  # up to date: nothing to read
        assert read == []
    finally:
        door.close()


async def test_a_photo_enrolled_meanwhile_is_watched_after_the_next_refresh(store, data_dir):
    with live_index(store, data_dir, 5) as live:
        before = live.current()
        [photo_id] = enrol(store, 20)  # `sentinelle enroll` in another process
        assert matched(before, 20) is None
        after = await live.refresh()
        assert after.version > before.version and matched(after, 20) == photo_id


async def test_a_photo_enrolled_by_another_process_is_watched_as_soon_as_it_wrote_the_index(store, data_dir):
    with live_index(store, data_dir, 5) as live:
        task = asyncio.create_task(live.keep_fresh(every=3600, notice=0.05))  # the store looked at once, at start
        await asyncio.sleep(0.2)
        before = live.current()
        [photo_id] = enrol(store, 20)  # `sentinelle enroll` in another process: the store, then the index
        keep_index(store, data_dir)
        deadline = time.monotonic() + 2
        while live.current() == before and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        task.cancel()
        assert live.current().version > before.version and matched(live.current(), 20) == photo_id


async def test_a_refresh_asked_while_one_is_under_way_sees_the_store_as_it_is_after(store, data_dir, monkeypatch):
    with live_index(store, data_dir, 5) as live:
        go = threading.Event()
        up_to_date = IndexFolder.up_to_date
        monkeypatch.setattr(IndexFolder, "up_to_date", lambda *a: go.wait(10) and up_to_date(*a))
        under_way = asyncio.ensure_future(live.refresh())  # it reads the store's revision, then waits
        await asyncio.sleep(0.2)
        [photo_id] = enrol(store, 20)  # an upload, written while that refresh is under way
        asked = asyncio.ensure_future(live.refresh())
        await asyncio.sleep(0.05)
        go.set()
        await under_way
        assert matched(await asked, 20) == photo_id

async def test_a_first_start_serves_at_once_and_indexes_in_the_background(store, data_dir):
    [photo_id] = enrol(store, 5)  # enrolled by an earlier Sentinelle, which kept no index
    (data_dir / OLD_INDEX_FILE).write_bytes(b"an earlier Sentinelle's pickled matcher")
    door = StoreDoor(data_dir)
    try:
        live = LiveIndex(door, data_dir)
        assert not (data_dir / OLD_INDEX_FILE).exists()
        assert matched(live.current(), 5) is None  # an empty index serves from the first moment
        assert matched(await live.refresh(), 5) == photo_id
    finally:
        door.close()


async def test_an_index_of_an_earlier_schema_is_made_again(store, data_dir, monkeypatch):
    [photo_id] = enrol(store, 5)
    keep_index(store, data_dir)
    old = index_folder(data_dir).latest()
    monkeypatch.setattr(protected, "SCHEMA_VERSION", protected.SCHEMA_VERSION + 1)  # an upgrade migrated the store
    door = StoreDoor(data_dir)
    try:
        live = LiveIndex(door, data_dir)
        assert live.current().path == str(old.path)  # the old index serves meanwhile
        ref = await live.refresh()
        latest = index_folder(data_dir).latest()
        assert latest.extra["schema"] == protected.SCHEMA_VERSION and old.segments[0] not in [
            name for name in latest.segments if name not in latest.hidden]
        assert matched(ref, 5) == photo_id
    finally:
        door.close()


async def test_the_event_loop_never_waits_while_the_index_is_written(store, data_dir, monkeypatch):
    # No wall-clock bound, which a busy machine breaks by holding any thread up for a while: the
    # writing thread, before it returns, waits until the loop has turned three times since the
    # write began. A loop that waited for the write could not turn: the write would never return
    # (a timeout far past any load says so).
    enrol(store, *range(1, 13))
    ticks = 0
    turned: dict[str, int] = {}

    def the_loop_turns_meanwhile(name: str, write):
        def writing(*args, **kwargs):
            began = ticks
            result = write(*args, **kwargs)
            deadline = time.monotonic() + 60
            while ticks < began + 3 and time.monotonic() < deadline:
                time.sleep(0.001)
            turned[name] = ticks - began
            return result
        return writing

    door = StoreDoor(data_dir)
    try:
        live = LiveIndex(door, data_dir)  # a first start writes an empty index, before the loop serves
        monkeypatch.setattr(IndexFolder, "update", the_loop_turns_meanwhile("update", IndexFolder.update))
        monkeypatch.setattr(IndexFolder, "tidy", the_loop_turns_meanwhile("tidy", IndexFolder.tidy))

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.005)
                ticks += 1

        ticking = asyncio.create_task(ticker())
        ref = await live.refresh()  # twelve photos read, written as a segment, then tidied
        for _ in range(12000):  # the tidying follows the refresh in the background: up to a minute
            if "tidy" in turned:
                break
            await asyncio.sleep(0.005)
        ticking.cancel()
        assert len(Matcher(open_index(Path(ref.path))[0])) == 12
        assert turned.get("update", 0) >= 3 and turned.get("tidy", 0) >= 3, f"the loop turned {turned} times while the index was written"
    finally:
        door.close()


@pytest.fixture(autouse=True)
def _quick_enough(monkeypatch):
    # Tidying waits for nothing in a test: old manifests and segments go at once.
    monkeypatch.setattr("sentinelle.proxy.engine.index.KEEP_SECONDS", 0.0)
