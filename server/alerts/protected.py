"""The protected set as the watcher sees it: a matcher kept in step with the store.

`sentinelle enroll` in another process, or the extension's upload, changes the photos;
the next image checked sees the change, without a restart. The watcher's workers get the
matcher through a file in the data dir (`index`), rewritten when the photos change.
"""

from __future__ import annotations

from pathlib import Path

from sentinelle.proxy.fingerprint import Fingerprint
from sentinelle.proxy.matcher import Match, Matcher
from sentinelle.proxy.worker import IndexRef, save_matcher
from sentinelle.server.alerts.store import Store

INDEX_FILE = "protected-index.pickle"


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
        """Rebuild the matcher (and its file) if the enrolled photos changed since."""
        revision = self._store.photos_revision()
        if revision != self._revision:
            self._matcher = Matcher(self._store.fingerprints())
            if self._index_path is not None:
                save_matcher(self._matcher, self._index_path)
            self._revision = revision

    def __len__(self) -> int:
        self.refresh()
        return len(self._matcher)
