"""The protected set as the watcher sees it: a matcher and the children's names, kept in step with the store.

`sentinelle enroll` in another process, or the extension's upload, changes the photos;
the watcher sees the change without a restart. Its workers get the matcher through a file
in the data dir, rewritten when the photos change. `ProtectedSet` does that work where it
is called (`sentinelle check`); `LiveIndex` does it for a running proxy, in the store's
thread, so that neither SQLite nor the rebuilt index ever holds the event loop: the watcher
asks `LiveIndex.current` at each image and gets, at once, the index as last refreshed.
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
from sentinelle.server.store.door import StoreThread

logger = logging.getLogger("sentinelle")

INDEX_FILE = "protected-index.pickle"
# How often a running proxy looks for photos enrolled by another process (`sentinelle
# enroll`): an enrolment through the API is seen at once, one from the command line within this.
LOOK_FOR_CHANGES_SECONDS = 1.0


class ProtectedSet:
    """Matches fingerprints against the photos currently enrolled in a store."""

    def __init__(self, store: Store, index_path: Path | None = None) -> None:
        self._store = store
        self._index_path = index_path
        self._revision = -1
        self._matcher = Matcher([])

    def match(self, fingerprint: Fingerprint) -> Match | None:
        """Search in this process (for `sentinelle check`)."""
        self.refresh()
        return self._matcher.match(fingerprint)

    def index(self) -> IndexRef:
        """The protected set saved for the watcher's workers, as it is now."""
        if self._index_path is None:
            raise ValueError("this protected set was made without an index file")
        self.refresh()
        return IndexRef(str(self._index_path), self._revision)

    def refresh(self) -> None:
        """Rebuild the matcher (and its file) if the enrolled photos or the children's names
        changed since."""
        revision = self._store.photos_revision()
        if revision != self._revision:
            self._matcher = Matcher(self._store.fingerprints())
            if self._index_path is not None:
                save_matcher(self._matcher, self._index_path, names_of(self._store.children()))
            self._revision = revision

    def __len__(self) -> int:
        self.refresh()
        return len(self._matcher)


class LiveIndex:
    """The protected set of a running proxy, refreshed in the store's thread.

    `current()` never touches the disk: it returns the index as last refreshed. `refresh()`
    (awaited after an upload through the API) and `keep_fresh()` (a task that looks every
    LOOK_FOR_CHANGES_SECONDS, for enrolments from other processes) rebuild it off the loop.
    """

    def __init__(self, store: StoreThread, index_path: Path) -> None:
        self._store = store
        self._protected = ProtectedSet(store.store, index_path)  # used only in the store's thread
        self._current = store.wait(self._protected.index)  # at start, before anything is served
        self._refreshing: asyncio.Future | None = None

    def current(self) -> IndexRef:
        return self._current

    async def refresh(self) -> IndexRef:
        """Bring the index up to date with the store; one refresh at a time, shared by callers."""
        if self._refreshing is None or self._refreshing.done():
            self._refreshing = asyncio.ensure_future(self._store.run(self._protected.index))
        self._current = await asyncio.shield(self._refreshing)
        return self._current

    async def keep_fresh(self, every: float = LOOK_FOR_CHANGES_SECONDS) -> None:
        while True:
            await asyncio.sleep(every)
            try:
                await self.refresh()
            except Exception as e:  # a locked or unreadable database: the old index serves meanwhile
                logger.error("Sentinelle could not read the protected photos (%s); it tries again.", e)


def names_of(children: list[dict]) -> NameWatch:
    """What the watcher checks accounts against: every child's names and own handles."""
    return NameWatch(Child(c["name"], tuple(c["aliases"]), tuple(map(tuple, c["handles"]))) for c in children)
