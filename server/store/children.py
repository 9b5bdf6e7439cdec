"""The children: one child, one name (child_names.py): however the parent types a name, it means
the child it names; a full name gives a child known by her first name alone her full name. Her
nicknames and her own accounts, renaming (two names of one child become one), removing.

Part of the store (`Store` inherits it, server/store/records.py): the same connection, the same thread.
"""

from __future__ import annotations

import json

import sqlite_utils

from sentinelle.server.store.child_names import Meant, same_name, tidy, which_child
from sentinelle.server.store.schema import (
    StoreError,
    bump_photos_revision,
    inserted,
    merge_child,
    rename_child,
    written,
)


class Children:
    """The store's children: names and handles."""

    _db: sqlite_utils.Database

    def meant_child(self, name: str) -> Meant:
        """The child `name` means, and the name she goes by from now on; StoreError when a
        first name could mean several children."""
        meant = which_child(name, (row[0] for row in self._db.execute("SELECT name FROM children")))
        if meant.ambiguous:
            raise StoreError(f"{meant.typed!r} could be {' or '.join(meant.ambiguous)}: give her full name")
        return meant

    def set_child(self, name: str, aliases: list[str] | None = None,
                  handles: list[tuple[str, str]] | None = None) -> tuple[dict, Meant]:
        """Create or update the child `name` means; aliases or handles given replace hers,
        those not given stay. Returns her, and whom the name was taken to mean."""
        with self._db.atomic():
            meant = self.meant_child(name)
            child_id = self._child_id(meant.name)
            if aliases is not None:
                self._db.execute("UPDATE children SET aliases = ? WHERE id = ?",
                                [json.dumps(list(dict.fromkeys(aliases)), ensure_ascii=False), child_id])
            if handles is not None:
                self._db.execute("UPDATE children SET handles = ? WHERE id = ?",
                                [json.dumps([list(h) for h in dict.fromkeys(handles)], ensure_ascii=False), child_id])
            bump_photos_revision(self._db)  # the watcher's workers check accounts against her names
        return written(self.child(child_id)), meant

    def rename_child(self, child_id: int, name: str) -> dict:
        """Give a child another name; a name that is another child's makes the two one child,
        under `name`, with both their photos, nicknames and accounts."""
        name = tidy(name)
        with self._db.atomic():
            if self.child(child_id) is None:
                raise StoreError(f"no child {child_id}")
            other = next((row for row in self._db.execute("SELECT id, name FROM children WHERE id != ?", [child_id])
                          if same_name(row[1]) == same_name(name)), None)
            if other is not None:
                merge_child(self._db, other[0], child_id)
            rename_child(self._db, child_id, name)
            bump_photos_revision(self._db)
        return written(self.child(child_id))

    def remove_child(self, child_id: int) -> dict:
        """Stop watching for a child: her names and accounts go, and her photos are no longer
        protected (what was kept of them is deleted). Her alerts, their evidence and the watch
        list stay, with her name. Returns what was removed: {name, photos, alerts}."""
        with self._db.atomic():
            child = self.child(child_id)
            if child is None:
                raise StoreError(f"no child {child_id}")
            (alerts,) = self._db.execute("SELECT count(*) FROM alerts WHERE child = ?", [child["name"]]).fetchone()
            self._db.execute("DELETE FROM fingerprints WHERE photo_id IN (SELECT id FROM photos WHERE child_id = ?)",
                            [child_id])
            self._db.execute("DELETE FROM photos WHERE child_id = ?", [child_id])
            self._db.execute("DELETE FROM children WHERE id = ?", [child_id])
            bump_photos_revision(self._db)
        return {"name": child["name"], "photos": child["photos"], "alerts": alerts}

    def children(self) -> list[dict]:
        """Every child: her name, nicknames, own accounts and how many of her photos are protected."""
        return [_child_row(row) for row in self._db.query(_CHILDREN_SQL + " GROUP BY children.id ORDER BY children.name")]

    def child(self, child_id: int) -> dict | None:
        rows = list(self._db.query(_CHILDREN_SQL + " WHERE children.id = ? GROUP BY children.id", [child_id]))
        return _child_row(rows[0]) if rows else None

    def _child_id(self, name: str) -> int:
        """The child `name` means (given her full name if she had her first name only), made if new."""
        meant = self.meant_child(name)
        if meant.known is None:
            return inserted(self._db.table("children").insert({"name": meant.name}))
        (child_id,) = self._db.execute("SELECT id FROM children WHERE name = ?", [meant.known]).fetchone()
        if meant.renamed:
            rename_child(self._db, child_id, meant.name)
        return child_id


_CHILDREN_SQL = """
SELECT children.id, children.name, children.aliases, children.handles, count(photos.id) AS photos
FROM children LEFT JOIN photos ON photos.child_id = children.id"""


def _child_row(row: dict) -> dict:
    return row | {"aliases": json.loads(row["aliases"] or "[]"),
                  "handles": [tuple(h) for h in json.loads(row["handles"] or "[]")]}
