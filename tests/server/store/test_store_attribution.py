"""server/store/sightings.py and migrations.py's migration 2 (`_add_attribution`): alerts group by the
account that posted the photo; evidence is append-only."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import replace

import pytest
import sqlite_utils

from sentinelle.proxy.feeds.attribution import Attribution
from sentinelle.server.store import migrations, schema
from sentinelle.server.store.records import Store
from tests.server.store.test_store import enroll, sighting


def posted_by(account: str, post: str = "C0dE", platform: str = "instagram") -> Attribution:
    return Attribution(
        platform=platform, account=account, account_url=f"https://www.instagram.com/{account}/",
        post_url=f"https://www.instagram.com/p/{post}/", caption="hello",
        feed_url="https://www.instagram.com/api/v1/feed/timeline/", record=json.dumps({"code": post}),
    )


def attributed(photo_id: int, url: str, account: str | None, minutes: int = 0, **kwargs):
    return replace(sighting(photo_id, url, minutes=minutes, **kwargs),
                   attribution=posted_by(account) if account else None,
                   response_headers={"date": "Wed, 25 Nov 2026 08:00:00 GMT", "x-fb-trip-id": "1234"})


def test_one_account_is_one_alert_and_a_new_account_is_a_new_alert(store):
    photo = enroll(store, 5)
    first, new = store.record_sighting(attributed(photo["id"], "https://cdn/a.jpg?sig=1", "fake.account.123"))
    # The same account posting the photo again, as another image and another post: the same alert.
    again, new_again = store.record_sighting(attributed(photo["id"], "https://cdn/b.jpg", "fake.account.123", 3))
    other, new_other = store.record_sighting(attributed(photo["id"], "https://cdn/c.jpg", "second.thief", 5))
    assert new and not new_again and new_other
    assert again["id"] == first["id"] and again["count"] == 2
    assert first["account"] == "fake.account.123"
    assert first["account_url"] == "https://www.instagram.com/fake.account.123/"
    assert first["post_url"] == "https://www.instagram.com/p/C0dE/"
    assert other["account"] == "second.thief" and other["id"] != first["id"]
    assert [a["id"] for a in store.alerts_of_account("@Fake.Account.123")] == [first["id"]]


def test_an_image_seen_without_its_feed_joins_the_alert_it_was_seen_in(store):
    photo = enroll(store, 5)
    unknown, _ = store.record_sighting(attributed(photo["id"], "https://cdn/a.jpg?sig=1", None))
    assert unknown["account"] is None
    # Later the feed names it: the alert gains its account, and does not split.
    named, new = store.record_sighting(attributed(photo["id"], "https://cdn/a.jpg?sig=2", "fake.account.123", 1))
    assert not new and named["id"] == unknown["id"] and named["account"] == "fake.account.123"
    # Another image of that account, then the second image again without feed data: same alert.
    store.record_sighting(attributed(photo["id"], "https://cdn/b.jpg", "fake.account.123", 2))
    back, new = store.record_sighting(attributed(photo["id"], "https://cdn/b.jpg?sig=9", None, 3))
    assert not new and back["id"] == unknown["id"] and back["count"] == 4
    # The same image under another account (a repin) is that account's own alert.
    repin, new = store.record_sighting(attributed(photo["id"], "https://cdn/a.jpg", "repinner", 4))
    assert new and repin["id"] != unknown["id"]


def test_each_sighting_keeps_its_headers_and_feed_record(store):
    photo = enroll(store, 5)
    alert, _ = store.record_sighting(attributed(photo["id"], "https://cdn/a.jpg?sig=1", "fake.account.123"))
    (row,) = store.sightings(alert["id"])
    assert row["response_headers"] == {"date": "Wed, 25 Nov 2026 08:00:00 GMT", "x-fb-trip-id": "1234"}
    feed = row["attribution"]
    assert feed["account"] == "fake.account.123" and json.loads(feed["record"]) == {"code": "C0dE"}
    assert row["image_url"] == "https://cdn/a.jpg?sig=1"  # the full request URL, signature included
    assert row["post_url"] == "https://www.instagram.com/p/C0dE/"


def test_sightings_cannot_be_changed_or_deleted(store):
    photo = enroll(store, 5)
    alert, _ = store.record_sighting(attributed(photo["id"], "https://cdn/a.jpg", "fake.account.123"))
    for statement in ("UPDATE sightings SET evidence_sha256 = 'forged'", "DELETE FROM sightings"):
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            store._db.execute(statement)
    store.set_status(alert["id"], "resolved")
    assert store.sightings(alert["id"])[0]["evidence_sha256"] != "forged"


def test_a_database_from_before_attribution_keeps_its_alerts_and_groups_as_before(data_dir):
    data_dir.mkdir()
    db = sqlite_utils.Database(data_dir / "sentinelle.db")
    schema.migrate(db, until=migrations._add_attribution)
    db["alerts"].insert({"photo_id": 1, "photo_name": "kodim05.jpg", "image_key": "https://cdn/a.jpg",
                         "image_url": "https://cdn/a.jpg?sig=1", "platform": "instagram", "count": 1,
                         "status": "reported", "first_seen": "2026-11-01", "last_seen": "2026-11-01"})
    db["sightings"].insert({"alert_id": 1, "seen_at": "2026-11-01", "image_url": "https://cdn/a.jpg?sig=1",
                            "evidence_sha256": "ab", "evidence_file": "ab.jpg"})
    db.close()
    store = Store(data_dir)
    try:
        (old,) = store.alerts()
        assert old["status"] == "reported" and old["account"] is None
        assert store.sightings(old["id"])[0]["image_key"] == "cdn/a"  # recomputed from its address
        photo = enroll(store, 5)
        assert photo["id"] == 1
        again, new = store.record_sighting(attributed(1, "https://cdn/a.jpg?sig=2", None))
        assert not new and again["id"] == old["id"] and again["count"] == 2
    finally:
        store.close()
