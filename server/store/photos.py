"""The protected photos: each photo's fingerprints (its enrolled views) and what the review page
shows of it, added, listed, forgotten; and the revision that tells every process the set changed.

Part of the store (`Store` inherits it, server/store/records.py): the same connection, the same thread.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import sqlite_utils

from sentinelle.server.store.schema import bump_photos_revision, inserted, now, written

if TYPE_CHECKING:  # the matching engine is loaded only by what compares images
    from sentinelle.proxy.engine.fingerprint import Fingerprint


@dataclass(frozen=True)
class NewPhoto:
    """A photo ready to be protected: its fingerprints and what the review page shows of it."""

    sha256: str
    name: str  # the file's original name
    child: str | None
    width: int
    height: int
    thumbnail: bytes  # a small JPEG
    views: list[tuple[str, Fingerprint]]


class Photos:
    """The store's protected photos."""

    _db: sqlite_utils.Database
    _child_id: Callable[[str], int]  # server/store/children.py: the child a name means, made if new

    def add_photo(self, photo: NewPhoto) -> tuple[dict, bool]:
        """Protect a photo; the same bytes twice is a no-op. Returns (photo, newly added)."""
        if existing := self.photo_by_sha256(photo.sha256):
            return existing, False
        with self._db.atomic():
            child_id = self._child_id(photo.child) if photo.child else None
            photo_id = inserted(self._db.table("photos").insert(
                {
                    "sha256": photo.sha256, "name": photo.name, "child_id": child_id,
                    "width": photo.width, "height": photo.height,
                    "thumbnail": photo.thumbnail, "enrolled_at": now(),
                }
            ))
            self._db.table("fingerprints").insert_all(
                {"photo_id": photo_id, "view": view, "data": fp.to_bytes()}
                for view, fp in photo.views
            )
            bump_photos_revision(self._db)
        return written(self.photo(photo_id)), True

    def photos(self) -> list[dict]:
        return list(self._db.query(_PHOTOS_SQL + " ORDER BY photos.id"))

    def photo(self, photo_id: int) -> dict | None:
        rows = list(self._db.query(_PHOTOS_SQL + " WHERE photos.id = ?", [photo_id]))
        return rows[0] if rows else None

    def photo_by_sha256(self, sha256: str) -> dict | None:
        rows = list(self._db.query(_PHOTOS_SQL + " WHERE photos.sha256 = ?", [sha256]))
        return rows[0] if rows else None

    def find_photos(self, ref: str) -> list[dict]:
        """Photos a parent may mean by `ref`: an id, or an original file name."""
        if ref.isdigit() and (photo := self.photo(int(ref))):
            return [photo]
        return list(self._db.query(_PHOTOS_SQL + " WHERE photos.name = ?", [ref]))

    def forget_photo(self, photo_id: int) -> None:
        """Stop protecting a photo and delete what was kept of it. Its alerts stay, with its name."""
        with self._db.atomic():
            self._db.execute("DELETE FROM fingerprints WHERE photo_id = ?", [photo_id])
            self._db.execute("DELETE FROM photos WHERE id = ?", [photo_id])
            bump_photos_revision(self._db)

    def photo_thumbnail(self, photo_id: int) -> bytes | None:
        row = self._db.execute("SELECT thumbnail FROM photos WHERE id = ?", [photo_id]).fetchone()
        return row[0] if row else None

    def fingerprints(self, photo_ids: Sequence[int] | None = None) -> Iterator[tuple[int, str, Fingerprint]]:
        """Every enrolled view (of the photos `photo_ids`, if given), for the matcher: matching never
        re-reads the original files."""
        where, args = "", []
        if photo_ids is not None:
            args = [int(i) for i in photo_ids]
            where = f" WHERE photo_id IN ({', '.join('?' * len(args))})" if args else " WHERE 0"
        for photo_id, view, data in self._db.execute(
            f"SELECT photo_id, view, data FROM fingerprints{where} ORDER BY id", args
        ):
            yield photo_id, view, _fingerprint(data)

    def photo_keys(self) -> list[tuple[int, bytes]]:
        """(id, SHA-256 of its bytes) of every protected photo: what the index knows a photo by (an
        id the database gives again later names another photo)."""
        return [(photo_id, bytes.fromhex(sha256)) for photo_id, sha256 in
                self._db.execute("SELECT id, sha256 FROM photos ORDER BY id")]

    def photos_revision(self) -> int:
        """A number that changes whenever the protected set does, from any process."""
        row = self._db.execute("SELECT value FROM meta WHERE key = 'photos_revision'").fetchone()
        return int(row[0]) if row else 0


_PHOTOS_SQL = """
SELECT photos.id, photos.sha256, photos.name, children.name AS child,
       photos.width, photos.height, photos.enrolled_at
FROM photos LEFT JOIN children ON children.id = photos.child_id"""


def _fingerprint(data: bytes) -> Fingerprint:
    from sentinelle.proxy.engine.fingerprint import Fingerprint  # only for the matcher's callers

    return Fingerprint.from_bytes(data)
