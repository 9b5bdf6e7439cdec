"""The protected set as the watcher sees it: a matcher kept in step with the store.

`sentinelle enroll` in another process, or the extension's upload, changes the photos;
the next image checked sees the change, without a restart.
"""

from __future__ import annotations

from proxy.fingerprint import Fingerprint
from proxy.matcher import Match, Matcher
from server.store import Store


class ProtectedSet:
    """Matches fingerprints against the photos currently enrolled in a store."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._revision = -1
        self._matcher = Matcher([])

    def match(self, fingerprint: Fingerprint) -> Match | None:
        self.refresh()
        return self._matcher.match(fingerprint)

    def refresh(self) -> None:
        """Rebuild the matcher if the enrolled photos changed since it was built."""
        revision = self._store.photos_revision()
        if revision != self._revision:
            self._matcher = Matcher(self._store.fingerprints())
            self._revision = revision

    def __len__(self) -> int:
        self.refresh()
        return len(self._matcher)
