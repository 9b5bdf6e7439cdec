"""Fingerprints version 3 in the store: rows of version 2 (a thumbnail's sides in one byte each) in a
database of today's schema still load and match, and photos whose avatar view outgrew that layout
enrol and match beside them."""

from __future__ import annotations

import io

import sqlite_utils
from PIL import Image

from benchmarks.transforms import AVATARS
from sentinelle.proxy.engine import avatar
from sentinelle.proxy.engine.fingerprint import FINGERPRINT_VERSION, fingerprint
from sentinelle.proxy.engine.matcher import Matcher
from sentinelle.server.alerts.enroll import prepare_photo
from sentinelle.server.store import schema
from sentinelle.server.store.records import Store
from tests.conftest import jpeg_bytes, kodak, square_crop_copy
from tests.support.older_store import insert_photo, version_2_bytes

WIDE_AVATAR = next(t for t in AVATARS if t.name == "60 %, centre, 320 px")


def database_with_version_2_rows(data_dir, number: int):
    """Today's schema, and Kodak photo `number` enrolled as the Sentinelle before version 3 wrote it."""
    data_dir.mkdir()
    db = sqlite_utils.Database(data_dir / "sentinelle.db")
    schema.migrate(db)
    photo, photo_id = insert_photo(db, number)
    db["fingerprints"].insert_all(
        {"photo_id": photo_id, "view": view, "data": version_2_bytes(fp)} for view, fp in photo.views
    )
    db.close()
    return photo


def wide_photo() -> bytes:
    """A 1,045 × 588 photo: its avatar view's thumbnail is 261 px wide (the size a tester's photo crashed at)."""
    return jpeg_bytes(Image.open(kodak(5)).convert("RGB").resize((1045, 588), Image.Resampling.LANCZOS), 92)


def test_version_2_rows_load_as_they_were_enrolled(data_dir):
    photo = database_with_version_2_rows(data_dir, 7)
    store = Store(data_dir)
    try:
        assert {data[0] for (data,) in store._db.execute("SELECT data FROM fingerprints")} == {2}
        assert {view: fp for _, view, fp in store.fingerprints()} == dict(photo.views)
        found = Matcher(store.fingerprints()).match(fingerprint(square_crop_copy(kodak(7))))
        assert found is not None
    finally:
        store.close()


def test_a_wide_photo_enrols_beside_version_2_rows_and_both_match(data_dir):
    database_with_version_2_rows(data_dir, 7)
    store = Store(data_dir)
    try:
        wide, _ = store.add_photo(prepare_photo(wide_photo(), "wide.jpg", None))
        (data,) = store._db.execute("SELECT data FROM fingerprints WHERE photo_id = ? AND view = ?",
                                   [wide["id"], avatar.AVATAR_VIEW]).fetchone()
        assert data[0] == FINGERPRINT_VERSION
        views = {(photo_id, view): fp for photo_id, view, fp in store.fingerprints()}
        assert views[wide["id"], avatar.AVATAR_VIEW].features.thumb.shape[1] > 255
        matcher = Matcher(store.fingerprints())
        profile = fingerprint(WIDE_AVATAR.apply(Image.open(io.BytesIO(wide_photo())).convert("RGB")))
        found = matcher.match(profile)
        assert found is not None and found.photo_id == wide["id"] and found.stage == "avatar"
        found = matcher.match(fingerprint(square_crop_copy(kodak(7))))
        assert found is not None and found.photo_id != wide["id"]
    finally:
        store.close()
