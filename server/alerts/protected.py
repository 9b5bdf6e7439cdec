"""The protected set as Sentinelle's commands see it: the index kept beside the store (proxy/engine/index.py), in step with it.

The store says which photos are protected and holds their fingerprints; the index, a folder in
the data dir, is what searches them, and each change of the store is carried to it as a change
of its own: a photo enrolled is added, a photo forgotten hidden at once and its data dropped
from the files in the background. Whoever changes the photos brings the index up to date when
done (`sentinelle enroll`, `forget`, `child remove`: `keep_index`); a running proxy looks for
changes after each upload or deletion through the API, as soon as another process has written the
index (NOTICE_SECONDS), and every LOOK_FOR_CHANGES_SECONDS whatever happened (`LiveIndex`); `sentinelle check` looks before it matches (`ProtectedSet`). Nothing is trained,
nothing rebuilt: a start maps the index as it is, and the checking processes share its pages.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from pathlib import Path

from sentinelle.proxy.engine.fingerprint import Fingerprint
from sentinelle.proxy.engine.index import IndexFolder, Manifest, open_index
from sentinelle.proxy.engine.matcher import Match, Matcher
from sentinelle.proxy.engine.segment import Photo, grouped
from sentinelle.proxy.fronts.worker import IndexRef
from sentinelle.server.store.door import StoreDoor
from sentinelle.server.store.records import Store
from sentinelle.server.store.schema import SCHEMA_VERSION

logger = logging.getLogger("sentinelle")

INDEX_FOLDER = "index"
# What Sentinelle kept before the index: a pickled matcher, rebuilt at every change.
OLD_INDEX_FILE = "protected-index.pickle"
# How often a running proxy looks for changes of the store made by another process: an enrolment
# through the API is seen at once, one from the command line as soon as it has written the index
# (below), any other change within this.
LOOK_FOR_CHANGES_SECONDS = 1.0
# How often a running proxy looks whether the index's folder changed (another process published a
# generation: `sentinelle enroll`, `forget` when done): one stat, cheap enough to be often; the
# proxy then reads the new generation at once instead of at its next look at the store.
NOTICE_SECONDS = 0.1


def index_folder(data_dir: Path) -> IndexFolder:
    return IndexFolder(data_dir / INDEX_FOLDER)


def keep_up(store: Store, folder: IndexFolder) -> Manifest:
    """Bring the index up to date with the store, in this thread (the store is only read)."""
    revision, extra = store.photos_revision(), extra_of(store.children())
    if (latest := folder.up_to_date(revision, extra)) is not None:
        return latest
    return folder.update(revision, store.photo_keys(), lambda ids: photos_of(store, ids), extra, again=stale(folder))


def extra_of(children: list[dict]) -> dict:
    """What the checking processes need of the store besides the photos: the children's names
    (proxy/fronts/worker.py reads them), and the store's schema, whose migrations may rewrite
    fingerprints (an index made under another is made again)."""
    return {"children": children, "schema": SCHEMA_VERSION}


def stale(folder: IndexFolder) -> bool:
    """Whether the index was made from fingerprints of another schema (an earlier Sentinelle's)."""
    latest = folder.latest()
    return latest is not None and latest.extra.get("schema") != SCHEMA_VERSION


def keep_index(store: Store, data_dir: Path) -> None:
    """After a command changed the photos: the index brought up to date, and the data of any photo
    forgotten dropped from its files at once."""
    folder = index_folder(data_dir)
    keep_up(store, folder)
    folder.tidy()
    (data_dir / OLD_INDEX_FILE).unlink(missing_ok=True)


def photos_of(store: Store, photo_ids: list[int]) -> list[Photo]:
    """The enrolled views of the photos `photo_ids`, as the index takes them."""
    return grouped(store.fingerprints(photo_ids))


class ProtectedSet:
    """Matches fingerprints against the photos enrolled in a store (`sentinelle check`): the index
    brought up to date first, then mapped."""

    def __init__(self, store: Store, data_dir: Path) -> None:
        manifest = keep_up(store, index_folder(data_dir))
        self._matcher = Matcher(open_index(manifest.path)[0])

    def match(self, fingerprint: Fingerprint) -> Match | None:
        return self._matcher.match(fingerprint)

    def __len__(self) -> int:
        return len(self._matcher)


class LiveIndex:
    """The protected set of a running proxy: the index as it is at start (nothing waits for it to be
    brought up to date), then kept in step with the store off the event loop and off the store's
    threads, for the checking processes.

    `current()` never touches the disk: it returns the newest generation. `refresh()` (awaited
    after an upload or a deletion through the API) and `keep_fresh()` (a task that looks every
    LOOK_FOR_CHANGES_SECONDS, and as soon as another process wrote the index) bring it up to date: the store
    is only read (in its reader thread, so the API's reads and the recorder's writes never wait),
    the index written in a thread of its own; merging and dropping forgotten photos' data
    (`IndexFolder.tidy`) follow in the background, never before a photo is watched.
    """

    def __init__(self, door: StoreDoor, data_dir: Path) -> None:
        self._door, self._folder = door, index_folder(data_dir)
        (data_dir / OLD_INDEX_FILE).unlink(missing_ok=True)
        latest = self._folder.latest()
        if latest is None:
            # No index yet (a first start, a data dir of an earlier Sentinelle): an empty one serves
            # until the first refresh has written it, photo batch by photo batch.
            latest = self._folder.update(-1, [], lambda ids: [], extra_of([]))
        self._current = IndexRef(str(latest.path), latest.generation)
        self._refreshing: asyncio.Future | None = None
        self._following: asyncio.Future | None = None
        self._tidying: asyncio.Future | None = None

    def current(self) -> IndexRef:
        return self._current

    async def refresh(self) -> IndexRef:
        """Bring the index up to date with the store as it is now; one refresh at a time. A refresh
        under way may have read the store before the caller changed it (an upload): one more follows
        it, shared by every caller that came meanwhile."""
        if self._refreshing is None or self._refreshing.done():
            self._refreshing = asyncio.ensure_future(self._update())
            return await asyncio.shield(self._refreshing)
        if self._following is None:
            self._following = asyncio.ensure_future(self._follow(self._refreshing))
        return await asyncio.shield(self._following)

    async def _follow(self, under_way: asyncio.Future) -> IndexRef:
        with contextlib.suppress(Exception):  # its own callers hear of its failure
            await under_way
        self._following, self._refreshing = None, asyncio.ensure_future(self._update())
        return await self._refreshing

    async def _update(self) -> IndexRef:
        revision = await self._door.read(Store.photos_revision)
        extra = extra_of(await self._door.read(Store.children))
        latest = await asyncio.to_thread(self._folder.up_to_date, revision, extra)
        if latest is None:
            keys = await self._door.read(Store.photo_keys)
            loop = asyncio.get_running_loop()

            def photos(ids: list[int]) -> list[Photo]:  # called in the writing thread: waits for the reader
                return asyncio.run_coroutine_threadsafe(self._door.read(photos_of, ids), loop).result()

            def published(manifest: Manifest) -> None:  # each batch watched as soon as it is written
                loop.call_soon_threadsafe(setattr, self, "_current", IndexRef(str(manifest.path), manifest.generation))

            again = await asyncio.to_thread(stale, self._folder)
            latest = await asyncio.to_thread(self._folder.update, revision, keys, photos, extra, again=again,
                                             publish=published)
            if self._tidying is None or self._tidying.done():
                self._tidying = asyncio.ensure_future(self._tidy())
        self._current = IndexRef(str(latest.path), latest.generation)
        return self._current

    async def _tidy(self) -> None:
        try:
            latest = await asyncio.to_thread(self._folder.tidy)
        except Exception as e:  # noqa: BLE001 — a full disk: the index keeps serving as it is; tidied at the next change
            logger.error("Sentinelle could not tidy its index (%s); it tries again at the next change.", e)
            return
        if latest is not None and latest.generation > self._current.version:
            self._current = IndexRef(str(latest.path), latest.generation)

    async def keep_fresh(self, every: float = LOOK_FOR_CHANGES_SECONDS, notice: float = NOTICE_SECONDS) -> None:
        """Refresh now, then every `every` s, and whenever the index's folder changed (looked at every `notice` s)."""
        seen, waited = self._folder_changed_at(), every
        while True:
            changed_at = self._folder_changed_at()
            if waited >= every or changed_at != seen:
                seen, waited = changed_at, 0.0
                try:
                    await self.refresh()
                except Exception as e:  # noqa: BLE001 — a locked or unreadable database: the old index serves meanwhile
                    logger.error("Sentinelle could not read the protected photos (%s); it tries again.", e)
            await asyncio.sleep(notice)
            waited += notice

    def _folder_changed_at(self) -> int | None:
        """When a file of the index's folder was last added or removed (a manifest published), or None."""
        try:
            return os.stat(self._folder.path).st_mtime_ns
        except OSError:
            return None
