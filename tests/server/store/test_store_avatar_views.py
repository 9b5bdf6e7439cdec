"""server/store/migrations.py, migration 9: photos enrolled before profile pictures were looked for gain an "avatar" view, from the thumbnail the store kept."""

from __future__ import annotations

import sqlite_utils
from PIL import Image

from benchmarks.transforms import AVATARS
from sentinelle.proxy.engine import avatar
from sentinelle.proxy.engine.fingerprint import Fingerprint, fingerprint
from sentinelle.proxy.engine.matcher import Matcher
from sentinelle.server.alerts.enroll import prepare_photo
from sentinelle.server.store import migrations, schema
from sentinelle.server.store.records import Store
from tests.conftest import kodak
from tests.support.older_store import insert_photo

# The loosest profile picture of the class: 60 % of the photo around its centre, at 320 px.
# The thumbnail the store kept is 256 px: a crop of a third of it would hold too little.
WIDE_AVATAR = next(t for t in AVATARS if t.name == "60 %, centre, 320 px")


def database_before_avatars(data_dir, number: int) -> None:
    """A database as the previous Sentinelle left it: every view of a photo but "avatar"."""
    data_dir.mkdir()
    db = sqlite_utils.Database(data_dir / "sentinelle.db")
    schema.migrate(db, until=migrations._add_avatar_views)
    photo, photo_id = insert_photo(db, number)
    db["fingerprints"].insert_all(
        {"photo_id": photo_id, "view": view, "data": fp.to_bytes()} for view, fp in photo.views if view != avatar.AVATAR_VIEW
    )
    db.close()


def test_an_older_database_gains_avatar_views_and_finds_profile_pictures(data_dir):
    database_before_avatars(data_dir, 7)
    copy = fingerprint(WIDE_AVATAR.apply(Image.open(kodak(7)).convert("RGB")))
    store = Store(data_dir)
    try:
        assert store._db.execute("PRAGMA user_version").fetchone()[0] == schema.SCHEMA_VERSION
        views = {view: fp for _, view, fp in store.fingerprints()}
        assert len(views[avatar.AVATAR_VIEW].features) >= 100  # keypoints, from the thumbnail
        assert views["original"].local and views["mirror"].local  # the other views as they were
        found = Matcher(store.fingerprints()).match(copy)
        assert found is not None and found.stage == "avatar"
    finally:
        store.close()


def test_the_migration_leaves_photos_that_have_their_avatar_view_alone(data_dir):
    store = Store(data_dir)
    store.add_photo(prepare_photo(kodak(7).read_bytes(), "kodim07.jpg", None))
    before = store._db.execute("SELECT id, data FROM fingerprints WHERE view = ?", [avatar.AVATAR_VIEW]).fetchall()
    migrations._add_avatar_views(store._db)
    assert store._db.execute("SELECT id, data FROM fingerprints WHERE view = ?", [avatar.AVATAR_VIEW]).fetchall() == before
    store.close()


def test_photos_enrolled_now_keep_an_avatar_view_of_the_full_photo(data_dir):
    store = Store(data_dir)
    photo, _ = store.add_photo(prepare_photo(kodak(7).read_bytes(), "kodim07.jpg", None))
    (data,) = store._db.execute("SELECT data FROM fingerprints WHERE photo_id = ? AND view = ?", [photo["id"], avatar.AVATAR_VIEW]).fetchone()
    features = Fingerprint.from_bytes(data).features
    assert features.height == avatar.AVATAR_SIDE and len(features) > 1000  # the photo at 600 px, not its thumbnail
    store.close()
