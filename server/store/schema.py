"""The store's tables: what every part of the store shares of them (its error, a row just
written, the time as the store writes it, what changes a child's name or the protected set
everywhere), and `migrate`, which brings a database to them.

`migrate` runs, in order and each in one transaction, the steps of migrations.py a database
has not had yet (its `PRAGMA user_version` counts them). Used by `records.Store` when it opens
the database; a test can stop before a given step (`migrate(db, until=step)`) to make an older
database.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime

import sqlite_utils

from sentinelle.server.store.migrations import MIGRATIONS

# What an alert says of who showed the image and who posted it first, taken from the feed.
FIRST_POSTER = ("shown_as", "repost", "first_account", "first_account_url", "first_post_url")


def inserted(table: sqlite_utils.db.Table) -> int:
    """The id of the row `table` has just inserted. sqlite-utils types `last_pk` as optional (it
    is None before any insert); after an insert into a rowid table it is the row's id."""
    assert table.last_pk is not None
    return table.last_pk


def written(row: dict | None) -> dict:
    """A row read back by the connection that has just written it (the same thread, so nothing
    removed it between): there, though the store's readers say `dict | None`."""
    assert row is not None
    return row


class StoreError(Exception):
    """Something the parent asked of the store cannot be done (unknown alert, bad status, a
    database written by a newer Sentinelle)."""


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


SCHEMA_VERSION = len(MIGRATIONS)


# -- children: shared by the store and the migration that made each child one --------------

def rename_child(db: sqlite_utils.Database, child_id: int, name: str) -> None:
    """Give a child another name, and her alerts and watch-list entries with it."""
    (old,) = db.execute("SELECT name FROM children WHERE id = ?", [child_id]).fetchone()
    db.execute("UPDATE children SET name = ? WHERE id = ?", [name, child_id])
    _name_everywhere(db, old, name)


def merge_child(db: sqlite_utils.Database, gone: int, kept: int) -> None:
    """Make child `gone` one with child `kept`: her photos, nicknames and own accounts join
    hers, what named her names `kept`, and `gone` is deleted."""
    rows = {row[0]: row[1:] for row in db.execute(
        "SELECT id, name, aliases, handles FROM children WHERE id IN (?, ?)", [gone, kept])}
    (old, gone_aliases, gone_handles), (name, kept_aliases, kept_handles) = rows[gone], rows[kept]
    aliases = dict.fromkeys(json.loads(kept_aliases or "[]") + json.loads(gone_aliases or "[]"))
    handles = dict.fromkeys(map(tuple, json.loads(kept_handles or "[]") + json.loads(gone_handles or "[]")))
    db.execute("UPDATE photos SET child_id = ? WHERE child_id = ?", [kept, gone])
    db.execute("UPDATE children SET aliases = ?, handles = ? WHERE id = ?",
               [json.dumps(list(aliases), ensure_ascii=False),
                json.dumps([list(h) for h in handles], ensure_ascii=False), kept])
    db.execute("DELETE FROM children WHERE id = ?", [gone])
    _name_everywhere(db, old, name)


def _name_everywhere(db: sqlite_utils.Database, old: str, name: str) -> None:
    # Alerts and the watch list keep the child's name as text (what the review page filters on).
    db.execute("UPDATE alerts SET child = ? WHERE child = ?", [name, old])
    db.execute("UPDATE alerts SET resemblance = json_set(resemblance, '$.child', ?)"
               " WHERE json_extract(resemblance, '$.child') = ?", [name, old])
    db.execute("UPDATE watchlist SET child = ? WHERE child = ?", [name, old])


def bump_photos_revision(db: sqlite_utils.Database) -> None:
    """Change the number by which every process sees the protected set (photos, names) changed."""
    db.execute(
        "INSERT INTO meta (key, value) VALUES ('photos_revision', 1)"
        " ON CONFLICT(key) DO UPDATE SET value = value + 1"
    )


def migrate(db: sqlite_utils.Database, until: Callable | None = None) -> None:
    """Bring the database to SCHEMA_VERSION, one recorded step at a time; with `until`, stop
    before that step (what an older Sentinelle left, for tests)."""
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"this database was written by a newer Sentinelle (schema {version}); upgrade first"
        )
    for step in range(version, MIGRATIONS.index(until) if until else SCHEMA_VERSION):
        with db.atomic():
            MIGRATIONS[step](db)
            db.execute(f"PRAGMA user_version = {step + 1}")
