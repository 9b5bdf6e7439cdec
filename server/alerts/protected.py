"""The protected set as the watcher sees it: a matcher and the children's names, kept in step with the store.

`sentinelle enroll` in another process, or the extension's upload, changes the photos;
the watcher sees the change without a restart. Its workers get the matcher through a file
in the data dir, rewritten when the photos change. `ProtectedSet` matches where it is called
(`sentinelle check`); `LiveIndex` keeps the file for a running proxy, off the event loop and
off the store's threads: the watcher asks `LiveIndex.current` at each image and gets, at
once, the index as last refreshed.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from sentinelle.proxy.engine.fingerprint import Fingerprint
from sentinelle.proxy.engine.matcher import Match, Matcher
from sentinelle.proxy.feeds.names import Child, NameWatch
from sentinelle.proxy.fronts.worker import IndexRef, save_matcher
from sentinelle.server.store.records import Store
from sentinelle.server.store.door import StoreDoor

logger = logging.getLogger("sentinelle")

INDEX_FILE = "protected-index.pickle"
# How often a running proxy looks for photos enrolled by another process (`sentinelle
# enroll`): an enrolment through the API is seen at once, one from the command line within this.
LOOK_FOR_CHANGES_SECONDS = 1.0


class ProtectedSet:
    """Matches fingerprints against the photos currently enrolled in a store (`sentinelle check`)."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._revision = -1
        self._matcher = Matcher([])

    def match(self, fingerprint: Fingerprint) -> Match | None:
        """Search in this process, the matcher rebuilt if the enrolled photos changed since."""
        if (revision := self._store.photos_revision()) != self._revision:
            self._matcher = Matcher(self._store.fingerprints())
            self._revision = revision
        return self._matcher.match(fingerprint)

    def __len__(self) -> int:
        return len(self._matcher)


class LiveIndex:
    """The protected set of a running proxy: read through the store's door, built off the event
    loop and off the store's threads, saved for the checking processes.

    `current()` never touches the disk: it returns the index as last refreshed. `refresh()`
    (awaited after an upload through the API) and `keep_fresh()` (a task that looks every
    LOOK_FOR_CHANGES_SECONDS, for enrolments from other processes) rebuild it: the store is
    only read (in its reader thread, so the API's reads and the recorder's writes never wait
    for the matcher to be built), the matcher is built in a thread of its own.
    """

    def __init__(self, door: StoreDoor, index_path: Path) -> None:
        self._door, self._path = door, index_path
        # At start, before anything is served.
        revision, entries, children = door.read_now(_protected_set)
        _save(entries, children, index_path)
        self._current = IndexRef(str(index_path), revision)
        self._refreshing: asyncio.Future | None = None

    def current(self) -> IndexRef:
        return self._current

    async def refresh(self) -> IndexRef:
        """Bring the index up to date with the store; one refresh at a time, shared by callers."""
        if self._refreshing is None or self._refreshing.done():
            self._refreshing = asyncio.ensure_future(self._rebuild())
        return await asyncio.shield(self._refreshing)

    async def _rebuild(self) -> IndexRef:
        if await self._door.read(Store.photos_revision) != self._current.version:
            revision, entries, children = await self._door.read(_protected_set)
            await asyncio.to_thread(_save, entries, children, self._path)
            self._current = IndexRef(str(self._path), revision)
        return self._current

    async def keep_fresh(self, every: float = LOOK_FOR_CHANGES_SECONDS) -> None:
        while True:
            await asyncio.sleep(every)
            try:
                await self.refresh()
            except Exception as e:  # a locked or unreadable database: the old index serves meanwhile
                logger.error("Sentinelle could not read the protected photos (%s); it tries again.", e)


def _protected_set(store: Store) -> tuple[int, list, list[dict]]:
    """What the index is made of, read from the store: its revision first (a change made after
    is seen at the next refresh), then every enrolled view and the children's names."""
    return store.photos_revision(), list(store.fingerprints()), store.children()


def _save(entries: list, children: list[dict], path: Path) -> None:
    save_matcher(Matcher(entries), path, names_of(children))


def names_of(children: list[dict]) -> NameWatch:
    """What the watcher checks accounts against: every child's names and own handles."""
    return NameWatch(Child(c["name"], tuple(c["aliases"]), tuple(map(tuple, c["handles"]))) for c in children)
