"""The store: the only package that speaks SQL. `Store` opens Sentinelle's database and evidence
folder; what it keeps is in the modules it inherits, one concern each.

One SQLite file (WAL mode, through sqlite-utils) in the data dir, and the evidence bytes
as files beside it, named by their SHA-256 (sightings.py). The tables and the steps that bring
an older database to them are in `schema`.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import sqlite_utils

from sentinelle.server.store.cases import Cases
from sentinelle.server.store.children import Children
from sentinelle.server.store.outbox import Outbox
from sentinelle.server.store.patrol import Patrols
from sentinelle.server.store.photos import NewPhoto, Photos
from sentinelle.server.store.schema import StoreError, migrate
from sentinelle.server.store.sightings import STATUSES, Sightings
from sentinelle.server.store.watchlist import WatchList

# What the store's callers import from here, wherever it lives.
__all__ = ["STATUSES", "NewPhoto", "Store", "StoreError"]


def _owner_only(database: Path) -> None:
    """The database file, and the -wal and -shm beside it, readable by their owner alone
    (0600), whatever the umask: SQLite makes the database 0644 and gives the other two the
    database's mode, and they hold the alerts and the photos' fingerprints. A data dir of an
    older Sentinelle has its files made private here too."""
    database.touch(mode=0o600, exist_ok=True)
    for path in (database, database.with_name(database.name + "-wal"), database.with_name(database.name + "-shm")):
        with contextlib.suppress(FileNotFoundError):
            path.chmod(0o600)


class Store(Photos, Sightings, Children, WatchList, Cases, Outbox, Patrols):
    """Sentinelle's database and evidence folder: the protected photos (server/store/photos.py),
    alerts and their evidence (server/store/sightings.py), the children (server/store/children.py),
    the watch list (server/store/watchlist.py), cases, reports, takedowns and returns
    (server/store/cases.py), the parent's channels and what is due to them
    (server/store/outbox.py), the patrol's looks (server/store/patrol.py)."""

    def __init__(self, data_dir: Path, *, read_only: bool = False) -> None:
        """Open (and bring up to date) the store of `data_dir`; `read_only`: a connection that can
        only read, for a database another connection keeps up to date (server/store/door.py)."""
        self.evidence_dir = data_dir / "evidence"
        if not read_only:
            self.evidence_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            self._discard_abandoned_evidence()
            _owner_only(data_dir / "sentinelle.db")
        self._db = sqlite_utils.Database(data_dir / "sentinelle.db")
        self._db.execute("PRAGMA busy_timeout = 5000")
        if read_only:
            self._db.execute("PRAGMA query_only = ON")
            return
        self._db.enable_wal()
        self._db.execute("PRAGMA foreign_keys = ON")
        migrate(self._db)

    def close(self) -> None:
        self._db.close()
