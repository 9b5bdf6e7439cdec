"""server/store/records.py and what Store inherits (photos.py, sightings.py): photos, alerts
grouped by image, append-only evidence, migrations."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import stat
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from sentinelle.proxy.engine.matcher import Match
from sentinelle.proxy.feeds.image_keys import image_key
from sentinelle.proxy.fronts.sighting import Sighting
from sentinelle.server.alerts.enroll import prepare_photo
from sentinelle.server.store.records import Store, StoreError
from sentinelle.server.store.schema import SCHEMA_VERSION
from tests.conftest import kodak


def sighting(photo_id: int, url: str, body: bytes = b"\xff\xd8evidence", minutes: int = 0,
             page: str | None = "https://www.instagram.com/someone/") -> Sighting:
    return Sighting(
        seen_at=datetime(2026, 11, 25, 8, 0, tzinfo=UTC) + timedelta(minutes=minutes),
        image_url=url, page_url=page, host="scontent.cdninstagram.com", platform="instagram",
        content_type="image/jpeg", body=body,
        match=Match(photo_id=photo_id, view="crop 1:1", distance=12, score=0.95),
    )


def enroll(store: Store, number: int, child: str | None = "Alice") -> dict:
    path = kodak(number)
    return store.add_photo(prepare_photo(path.read_bytes(), path.name, child))[0]


def test_a_photo_is_kept_as_fingerprints_and_a_thumbnail_once(store):
    photo = enroll(store, 5)
    assert photo["name"] == "kodim05.jpg" and photo["child"] == "Alice"
    assert photo["sha256"] == hashlib.sha256(kodak(5).read_bytes()).hexdigest()
    again, added = store.add_photo(prepare_photo(kodak(5).read_bytes(), "renamed.jpg", None))
    assert not added and again["id"] == photo["id"] and len(store.photos()) == 1
    assert store.photo_thumbnail(photo["id"])[:2] == b"\xff\xd8"
    views = {view for photo_id, view, _ in store.fingerprints() if photo_id == photo["id"]}
    assert "original" in views and len(views) > 1


class Unwritable:
    """A fingerprint that fails as it is written: what a full disk or a fault midway looks like."""

    def to_bytes(self) -> bytes:
        raise OSError("no space left on device")


def test_a_photo_is_written_whole_or_not_at_all(store):
    photo = prepare_photo(kodak(5).read_bytes(), "kodim05.jpg", "Alice")
    broken = replace(photo, views=photo.views[:3] + [("crop 9:16", Unwritable())] + photo.views[3:])
    before = store.photos_revision()
    with pytest.raises(OSError):
        store.add_photo(broken)
    assert store._db.execute("SELECT (SELECT count(*) FROM photos), (SELECT count(*) FROM fingerprints),"
                            " (SELECT count(*) FROM children)").fetchone() == (0, 0, 0)
    assert store.photos_revision() == before
    assert store.add_photo(photo)[1]  # and the same photo enrols whole afterwards


def test_the_revision_changes_with_the_protected_set(store):
    before = store.photos_revision()
    photo = enroll(store, 5)
    middle = store.photos_revision()
    store.forget_photo(photo["id"])
    assert before < middle < store.photos_revision()
    assert store.photos() == [] and list(store.fingerprints()) == []


def test_sightings_of_one_image_group_into_one_alert(store):
    photo = enroll(store, 5)
    first, new = store.record_sighting(sighting(photo["id"], "https://cdn/x/a.jpg?sig=1"))
    second, again = store.record_sighting(sighting(photo["id"], "https://cdn/x/a.jpg?sig=2", minutes=5))
    other, new_other = store.record_sighting(sighting(photo["id"], "https://cdn/x/b.jpg", minutes=9))
    assert new and not again and new_other
    assert second["id"] == first["id"] and second["count"] == 2
    assert second["last_seen"] > first["first_seen"]
    assert [a["id"] for a in store.alerts()] == [other["id"], first["id"]]  # newest first
    assert len(store.sightings(first["id"])) == 2


def test_evidence_is_the_exact_bytes_and_a_status_change_never_touches_it(store):
    photo = enroll(store, 5)
    body = b"\xff\xd8 the bytes the browser received"
    alert, _ = store.record_sighting(sighting(photo["id"], "https://cdn/a.jpg", body=body))
    path, content_type = store.latest_evidence(alert["id"])
    assert path.read_bytes() == body and content_type == "image/jpeg"
    assert path.name == hashlib.sha256(body).hexdigest() + ".jpg"
    before = store.sightings(alert["id"])
    store.set_status(alert["id"], "reported")
    assert store.alert(alert["id"])["status"] == "reported"
    assert store.sightings(alert["id"]) == before and path.read_bytes() == body
    assert [a["id"] for a in store.alerts("reported")] == [alert["id"]]
    assert store.alerts("new") == []
    assert not list(store.evidence_dir.glob(".incoming-*"))


def test_bad_statuses_and_unknown_alerts_are_refused(store):
    with pytest.raises(StoreError, match="unknown status"):
        store.set_status(1, "deleted")
    with pytest.raises(StoreError, match="no alert 42"):
        store.set_status(42, "seen")
    with pytest.raises(StoreError):
        store.alerts("whatever")


def test_a_forgotten_photo_keeps_its_alerts_by_name(store):
    photo = enroll(store, 5)
    alert, _ = store.record_sighting(sighting(photo["id"], "https://cdn/a.jpg"))
    store.forget_photo(photo["id"])
    assert store.alert(alert["id"])["photo_name"] == "kodim05.jpg"
    assert store.photo_thumbnail(photo["id"]) is None


def test_find_photos_by_number_or_name(store):
    photo = enroll(store, 5)
    assert store.find_photos(str(photo["id"])) == [photo]
    assert store.find_photos("kodim05.jpg") == [photo]
    assert store.find_photos("nothing.jpg") == []


def test_the_database_is_in_wal_mode_and_versioned(store, data_dir):
    assert store._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store._db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_a_database_from_a_newer_sentinelle_is_refused(data_dir):
    data_dir.mkdir()
    with sqlite3.connect(data_dir / "sentinelle.db") as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(StoreError, match="newer Sentinelle"):
        Store(data_dir)


def test_reopening_keeps_everything(store, data_dir):
    photo = enroll(store, 5)
    store.record_sighting(sighting(photo["id"], "https://cdn/a.jpg"))
    store.close()
    reopened = Store(data_dir)
    assert len(reopened.photos()) == 1 and len(reopened.alerts()) == 1
    reopened.close()


def test_image_key_drops_signing_parameters():
    assert image_key("https://CDN.example/v/a.jpg?sig=1&e=2#x") == "cdn.example/v/a"


def test_an_older_store_keys_its_images_as_the_feeds_map_does(data_dir):
    import sqlite_utils

    from sentinelle.server.store import migrations, schema

    data_dir.mkdir()
    db = sqlite_utils.Database(data_dir / "old.db")
    schema.migrate(db, until=migrations._one_image_key)
    db["photos"].insert({"id": 1, "sha256": "s", "name": "a.jpg", "enrolled_at": "2026-12-01T00:00:00+00:00"})
    url = "https://social.example/img/a.jpg?sig=1"
    db["alerts"].insert({"photo_id": 1, "image_key": "https://social.example/img/a.jpg", "image_url": url,
                         "status": "new"})
    schema.migrate(db)
    assert [r["image_key"] for r in db["alerts"].rows] == [image_key(url)] == ["social.example/img/a"]


def test_migrations_run_in_order_from_any_older_version(data_dir, monkeypatch):
    from sentinelle.server.store import schema

    data_dir.mkdir()
    Store(data_dir).close()  # a database at the current version
    def add_notes(db):
        db["alerts"].add_column("note", str)
    monkeypatch.setattr(schema, "MIGRATIONS", [*schema.MIGRATIONS, add_notes])
    monkeypatch.setattr(schema, "SCHEMA_VERSION", len(schema.MIGRATIONS))
    upgraded = Store(data_dir)
    assert "note" in upgraded._db["alerts"].columns_dict
    assert upgraded._db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION + 1
    upgraded.close()


def test_abandoned_half_written_evidence_is_discarded_on_open(store, data_dir):
    import os
    import time

    old = store.evidence_dir / ".incoming-crashed"
    fresh = store.evidence_dir / ".incoming-being-written"
    old.write_bytes(b"half")
    fresh.write_bytes(b"half")
    os.utime(old, (time.time() - 7200,) * 2)
    Store(data_dir).close()
    assert not old.exists() and fresh.exists()


def test_the_database_and_its_wal_and_shm_are_the_owner_s_alone(data_dir):
    data_dir.mkdir()
    older = data_dir / "sentinelle.db-wal"  # left readable by all by an older Sentinelle
    older.write_bytes(b"")
    older.chmod(0o644)
    previous = os.umask(0o022)
    try:
        store = Store(data_dir)
        try:
            enroll(store, 5)  # written: the -wal and -shm are in use
            names = ("sentinelle.db", "sentinelle.db-wal", "sentinelle.db-shm")
            modes = {name: stat.S_IMODE((data_dir / name).stat().st_mode) for name in names}
            assert modes == dict.fromkeys(names, 0o600)
        finally:
            store.close()
    finally:
        os.umask(previous)
