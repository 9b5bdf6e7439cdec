"""server/store/migrations.py, migration 3 (`_add_local_features`): photos enrolled with hashes alone
gain local features, from the thumbnail the store kept."""

from __future__ import annotations

import sqlite_utils
from PIL import Image

from benchmarks.transforms import EDITS
from sentinelle.proxy.engine.fingerprint import FINGERPRINT_VERSION, Fingerprint, fingerprint
from sentinelle.proxy.engine.matcher import Matcher
from sentinelle.server.alerts.enroll import prepare_photo
from sentinelle.server.store import migrations, schema
from sentinelle.server.store.records import Store
from tests.conftest import kodak
from tests.support.older_store import insert_photo


def old_database(data_dir, number: int) -> None:
    """A database as Sentinelle v1 left it: schema 1, fingerprint rows holding a version 1 hash alone."""
    data_dir.mkdir()
    db = sqlite_utils.Database(data_dir / "sentinelle.db")
    migrations._create_v1(db)
    db.execute("PRAGMA user_version = 1")
    photo, photo_id = insert_photo(db, number)
    db["fingerprints"].insert_all(
        {"photo_id": photo_id, "view": view, "data": bytes([1]) + fp.phash} for view, fp in photo.views
    )
    db.close()


def test_an_old_database_is_migrated_and_then_sees_through_edits(data_dir):
    old_database(data_dir, 7)
    tilted = next(t for t in EDITS if t.name == "6°, black corners")
    copy = fingerprint(tilted.apply(Image.open(kodak(7)).convert("RGB")))
    before = Matcher((photo_id, view, Fingerprint(phash=fp.phash)) for photo_id, view, fp in _rows(data_dir))
    assert before.match(copy) is None

    store = Store(data_dir)
    assert store._db.execute("PRAGMA user_version").fetchone()[0] == schema.SCHEMA_VERSION >= 2
    views = {view: fp for _, view, fp in store.fingerprints()}
    assert views["original"].local and views["mirror"].local  # keypoints, from the thumbnail
    assert not views["crop 4:5"].local  # the crops keep their hash alone, as newly enrolled ones do
    found = Matcher(store.fingerprints()).match(copy)
    assert found is not None and found.stage == "local"
    store.close()


def test_photos_enrolled_now_store_everything_matching_needs(data_dir):
    store = Store(data_dir)
    photo, _ = store.add_photo(prepare_photo(kodak(7).read_bytes(), "kodim07.jpg", None))
    rows = store._db.execute("SELECT view, data FROM fingerprints WHERE photo_id = ?", [photo["id"]]).fetchall()
    stored = {view: Fingerprint.from_bytes(data) for view, data in rows}
    assert all(data[0] == FINGERPRINT_VERSION for _, data in rows)
    assert len(stored["original"].features) >= 100 and len(stored["mirror"].features) >= 100
    store.close()


def _rows(data_dir):
    db = sqlite_utils.Database(data_dir / "sentinelle.db")
    rows = [(photo_id, view, Fingerprint.from_bytes(data)) for photo_id, view, data in db.execute("SELECT photo_id, view, data FROM fingerprints")]
    db.close()
    return rows
