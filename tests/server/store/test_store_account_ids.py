"""server/store/sightings.py and migrations.py (`_add_account_ids_and_stories`, migration 12): an account known by its id alone until a feed names
it, and stories, kept with when they disappear."""

from __future__ import annotations

import sqlite3
from dataclasses import replace

import pytest

from sentinelle.proxy.feeds.attribution import AccountNamed, Attribution
from sentinelle.proxy.feeds.lookalikes import Lookalike
from sentinelle.proxy.feeds.names import Resemblance
from sentinelle.server.store import migrations, schema
from sentinelle.server.store.records import Store
from tests.server.store.test_store import enroll, sighting
from tests.support.older_store import database_before, insert_photo


def by_id(account_id: str, post: str, account: str | None = None, **kwargs) -> Attribution:
    return Attribution(platform="instagram", account=account,
                       account_url=f"https://www.instagram.com/{account}/" if account else None,
                       post_url=f"https://www.instagram.com/p/{post}/", caption=None,
                       feed_url="https://www.instagram.com/graphql/query", record="{}", account_id=account_id, **kwargs)


def seen(photo_id: int, url: str, attribution: Attribution, minutes: int = 0):
    return replace(sighting(photo_id, url, minutes=minutes), attribution=attribution)


def test_an_account_known_by_id_is_one_alert_and_is_named_when_a_feed_ties_its_id(store):
    photo = enroll(store, 5)
    alert, new = store.record_sighting(seen(photo["id"], "https://cdn/a.jpg", by_id("4300000061", "CHaShTaG061")))
    again, new_again = store.record_sighting(seen(photo["id"], "https://cdn/b.jpg", by_id("4300000061", "CLoCaTiOn63"), 2))
    assert new and not new_again and again["id"] == alert["id"] and again["count"] == 2
    assert (alert["account"], alert["account_id"], alert["post_url"]) == (
        None, "4300000061", "https://www.instagram.com/p/CHaShTaG061/")
    assert store.unnamed_accounts() == [("instagram", "4300000061")]
    named = AccountNamed("instagram", "4300000061", "grid.owner", "https://www.instagram.com/grid.owner/", "Grid Owner")
    assert store.name_account(named) == [alert["id"]]
    after = store.alert(alert["id"])
    assert (after["account"], after["account_url"], after["display_name"]) == (
        "grid.owner", "https://www.instagram.com/grid.owner/", "Grid Owner")
    assert store.unnamed_accounts() == []
    assert store.name_account(named) == []  # named once
    assert [s["account_id"] for s in store.sightings(alert["id"])] == ["4300000061"] * 2
    assert [s["account"] for s in store.sightings(alert["id"])] == [None, None]  # evidence: what was known then
    # a later sighting naming the account by handle and id joins the same alert
    named_later, new = store.record_sighting(seen(photo["id"], "https://cdn/c.jpg", by_id("4300000061", "CNeW", "grid.owner"), 3))
    assert not new and named_later["id"] == alert["id"] and named_later["count"] == 3


def test_a_sighting_naming_the_handle_names_the_alert_known_by_id(store):
    photo = enroll(store, 5)
    alert, _ = store.record_sighting(seen(photo["id"], "https://cdn/a.jpg", by_id("7", "CA")))
    joined, new = store.record_sighting(seen(photo["id"], "https://cdn/d.jpg", by_id("7", "CD", "handle.seven"), 1))
    assert not new and joined["id"] == alert["id"] and joined["account"] == "handle.seven"
    other, new = store.record_sighting(seen(photo["id"], "https://cdn/e.jpg", by_id("8", "CE"), 2))
    assert new and other["id"] != alert["id"]  # another id is another account


def test_naming_an_account_on_the_watch_list_makes_its_alert_an_impersonation(store):
    photo = enroll(store, 5, child="Alice Dupont")
    alert, _ = store.record_sighting(seen(photo["id"], "https://cdn/a.jpg", by_id("9", "CI")))
    store.record_lookalike(Lookalike("instagram", "alice.dupont.2013", None, "https://www.instagram.com/alice.dupont.2013/",
                                     Resemblance("Alice Dupont", "handle", "full name"), "https://feed", "{}"))
    assert store.alert(alert["id"])["kind"] == "copy"  # its account was not known yet
    store.name_account(AccountNamed("instagram", "9", "alice.dupont.2013", "https://www.instagram.com/alice.dupont.2013/"))
    assert store.alert(alert["id"])["kind"] == "impersonation"


def test_a_story_is_its_own_alert_and_keeps_when_it_disappears(store):
    photo = enroll(store, 5)
    story = by_id("50", "x", "story.fake.alice", shown_as="story", posted_at="2025-11-24T16:00:00+00:00",
                  expires_at="2025-11-25T16:00:00+00:00")
    alert, _ = store.record_sighting(seen(photo["id"], "https://cdn/s1.jpg", story))
    assert (alert["shown_as"], alert["expires_at"]) == ("story", "2025-11-25T16:00:00+00:00")
    later = replace(story, expires_at="2025-11-25T18:00:00+00:00")
    again, new = store.record_sighting(seen(photo["id"], "https://cdn/s2.jpg", later, 1))
    assert not new and again["expires_at"] == "2025-11-25T18:00:00+00:00"  # the latest of its stories
    earlier = replace(story, expires_at="2025-11-25T10:00:00+00:00")
    assert store.record_sighting(seen(photo["id"], "https://cdn/s3.jpg", earlier, 2))[0]["expires_at"] == "2025-11-25T18:00:00+00:00"
    post, new = store.record_sighting(seen(photo["id"], "https://cdn/p.jpg", by_id("50", "CP", "story.fake.alice"), 3))
    assert new and post["shown_as"] == "post" and post["expires_at"] is None
    (first, *_) = store.sightings(alert["id"])
    assert (first["attribution"]["posted_at"], first["attribution"]["expires_at"]) == (
        "2025-11-24T16:00:00+00:00", "2025-11-25T16:00:00+00:00")


def test_a_store_of_today_s_schema_gains_account_ids_and_expiries(data_dir):
    db = database_before(data_dir, migrations._add_account_ids_and_stories)
    _, photo_id = insert_photo(db, 5)
    alert_id = db["alerts"].insert({"photo_id": photo_id, "child": "Alice", "image_key": "k", "image_url": "u",
                                    "platform": "instagram", "status": "new", "account": "old.account"}).last_pk
    db["sightings"].insert({"alert_id": alert_id, "seen_at": "2026-11-01T00:00:00+00:00", "image_url": "u",
                            "evidence_sha256": "0" * 64, "evidence_file": "0.jpg", "image_key": "k"})
    db.close()
    store = Store(data_dir)
    try:
        assert store._db.execute("PRAGMA user_version").fetchone()[0] == schema.SCHEMA_VERSION
        old = store.alert(alert_id)
        assert (old["account"], old["account_id"], old["expires_at"], old["shown_as"]) == ("old.account", None, None, "post")
        assert store.sightings(alert_id)[0]["account_id"] is None
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):  # evidence stays append-only
            store._db.execute("UPDATE sightings SET account_id = '1'")
        alert, _ = store.record_sighting(seen(photo_id, "https://cdn/a.jpg", by_id("61", "C61")))
        assert alert["account_id"] == "61" and store.unnamed_accounts() == [("instagram", "61")]
    finally:
        store.close()
