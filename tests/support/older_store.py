"""Databases as an older Sentinelle left them, for the store's migration tests."""

from __future__ import annotations

import struct
from collections.abc import Callable
from pathlib import Path

import sqlite_utils

from sentinelle.proxy.engine.fingerprint import Fingerprint
from sentinelle.server.alerts.enroll import prepare_photo
from sentinelle.server.store import schema
from tests.conftest import kodak


def database_before(data_dir: Path, step: Callable) -> sqlite_utils.Database:
    """A database in a new `data_dir` as the Sentinelle before `step` (a migration of
    server/store/migrations.py) left it: every migration up to that one, for the caller to fill."""
    data_dir.mkdir()
    db = sqlite_utils.Database(data_dir / "sentinelle.db")
    schema.migrate(db, until=step)
    return db


def insert_photo(db: sqlite_utils.Database, number: int):
    """Kodak photo `number`, prepared as enrolment prepares it, in the `photos` table as if
    enrolled on 2026-11-01: the prepared photo and its row id (its fingerprint rows are the
    caller's to write, as the older schema had them)."""
    photo = prepare_photo(kodak(number).read_bytes(), kodak(number).name, None)
    photo_id = db["photos"].insert(
        {"sha256": photo.sha256, "name": photo.name, "width": photo.width, "height": photo.height,
         "thumbnail": photo.thumbnail, "enrolled_at": "2026-11-01T00:00:00+00:00"}
    ).last_pk
    return photo, photo_id


def version_2_bytes(fp: Fingerprint) -> bytes:
    """`fp` as Sentinelle stored it before fingerprint version 3: a version byte 2, the hash, then
    the local features with a header of three 16-bit numbers and two bytes (the thumbnail's
    sides), written here by hand as that Sentinelle wrote it."""
    if not fp.local:
        return bytes([2]) + fp.phash
    count, width, height, thumb_width, thumb_height = struct.unpack_from("<HHHHH", fp.local)
    header = struct.pack("<HHHBB", count, width, height, thumb_width, thumb_height)
    return bytes([2]) + fp.phash + header + fp.local[10:]
