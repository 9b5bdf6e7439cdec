"""server/store/watchlist.py: the two tiers. An account that looks like a child and shows her
photo is an impersonation alert, whichever was seen first; one that only looks like her waits
on the watch list; a dismissed one never makes an impersonation alert."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from sentinelle.proxy.feeds.lookalikes import Lookalike
from sentinelle.proxy.feeds.names import Resemblance
from sentinelle.server.store.schema import StoreError
from tests.server.store.test_store import enroll, sighting
from tests.server.store.test_store_attribution import posted_by

PICTURE = "https://scontent.cdninstagram.com/v/t51.2885-19/77_n.jpg"


def lookalike(handle: str = "alice.martin_2014", child: str = "Alice Martin", minutes: int = 0) -> Lookalike:
    return Lookalike(
        platform="instagram", handle=handle, display_name="Alice Martin",
        profile_url=f"https://www.instagram.com/{handle}/",
        resemblance=Resemblance(child, "handle", "full name"),
        feed_url="https://www.instagram.com/api/v1/users/search/", record=f'{{"username":"{handle}"}}',
        seen_at=datetime(2026, 11, 25, 7, 0, tzinfo=UTC) + timedelta(minutes=minutes),
    )


def worn_by(photo_id: int, handle: str):
    return replace(sighting(photo_id, PICTURE), attribution=replace(posted_by(handle), shown_as="profile_picture"))


def test_a_look_alike_without_her_photos_waits_on_the_watch_list(store):
    entry, new, upgraded = store.record_lookalike(lookalike())
    assert new and upgraded == []
    assert (entry["status"], entry["child"], entry["what"], entry["alerts"]) == ("open", "Alice Martin", "full name", 0)
    again, new_again, _ = store.record_lookalike(lookalike(handle="Alice.Martin_2014", minutes=5))
    assert not new_again and again["id"] == entry["id"] and again["count"] == 2
    assert [e["handle"] for e in store.watchlist("open")] == ["alice.martin_2014"]
    assert store.counts()["alerts"] == 0


def test_her_photo_on_a_look_alike_account_is_an_impersonation_alert(store):
    photo = enroll(store, 5, child="Alice Martin")
    store.record_lookalike(lookalike())
    alert, new = store.record_sighting(worn_by(photo["id"], "alice.martin_2014"))
    assert new and alert["kind"] == "impersonation" and alert["shown_as"] == "profile_picture"
    assert alert["resemblance"] == {"child": "Alice Martin", "field": "handle", "what": "full name"}
    assert alert["display_name"] == "Alice Martin"
    [entry] = store.watchlist()
    assert entry["status"] == "impersonation" and entry["alerts"] == 1


def test_her_photo_seen_before_the_account_s_name_becomes_an_impersonation_alert(store):
    photo = enroll(store, 5, child="Alice Martin")
    alert, _ = store.record_sighting(worn_by(photo["id"], "alice.martin_2014"))
    assert alert["kind"] == "copy"
    _, _, upgraded = store.record_lookalike(lookalike())
    assert upgraded == [alert["id"]] and store.alert(alert["id"])["kind"] == "impersonation"


def test_another_child_s_photo_on_the_account_stays_a_copy(store):
    photo = enroll(store, 5, child="Bob Durand")
    store.record_lookalike(lookalike())
    alert, _ = store.record_sighting(worn_by(photo["id"], "alice.martin_2014"))
    assert alert["kind"] == "copy" and alert["resemblance"] is None


def test_a_dismissed_account_is_not_an_impersonation_and_marking_one_makes_it_so(store):
    photo = enroll(store, 5, child="Alice Martin")
    entry, _, _ = store.record_lookalike(lookalike())
    alert, _ = store.record_sighting(worn_by(photo["id"], "alice.martin_2014"))
    assert store.set_watch_status(entry["id"], "dismissed")["status"] == "dismissed"
    assert store.alert(alert["id"])["kind"] == "copy"
    store.record_lookalike(lookalike(minutes=10))  # seen again: the parent's word stands
    assert store.watch_entry(entry["id"])["status"] == "dismissed" and store.alert(alert["id"])["kind"] == "copy"
    store.set_watch_status(entry["id"], "impersonation")
    assert store.alert(alert["id"])["kind"] == "impersonation"
    with pytest.raises(StoreError, match="unknown watch-list status"):
        store.set_watch_status(entry["id"], "whatever")
    with pytest.raises(StoreError, match="no watch-list entry"):
        store.set_watch_status(999, "dismissed")


def test_a_database_of_the_previous_schema_keeps_what_its_alerts_were(data_dir):
    import sqlite_utils

    from sentinelle.server.store import migrations, schema
    from sentinelle.server.store.records import Store

    data_dir.mkdir()
    db = sqlite_utils.Database(data_dir / "sentinelle.db")
    schema.migrate(db, until=migrations._add_impersonation)
    db["photos"].insert({"id": 1, "sha256": "ab", "name": "p.jpg", "enrolled_at": "2026-11-01"})
    db["alerts"].insert({"id": 1, "photo_id": 1, "image_key": "k", "image_url": "u", "status": "new",
                         "kind": "profile_picture", "account": "a"})
    db.close()
    store = Store(data_dir)
    try:
        old = store.alert(1)
        assert (old["shown_as"], old["kind"], old["resemblance"]) == ("profile_picture", "copy", None)
    finally:
        store.close()
