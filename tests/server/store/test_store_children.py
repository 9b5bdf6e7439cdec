"""server/store/children.py and schema.py: one child, one name in the store; renaming, joining
and removing a child; and the migration that makes one child of those an older store split."""

from __future__ import annotations

import json

import pytest

from sentinelle.server.store import migrations, schema
from sentinelle.server.store.records import Store, StoreError
from tests.server.store.test_store import enroll, sighting
from tests.support.older_store import database_before, insert_photo


def test_the_readme_s_two_steps_make_one_child(store):
    enroll(store, 5, child="Alice")
    saved, meant = store.set_child("Alice Dupont", ["Lili"], [("instagram", "alice_dpt")])
    assert meant.renamed and meant.known == "Alice"
    assert [(c["name"], c["aliases"], c["photos"]) for c in store.children()] == [("Alice Dupont", ["Lili"], 1)]
    assert saved["handles"] == [("instagram", "alice_dpt")]
    enroll(store, 7, child="alice")  # her first name, another day
    enroll(store, 8, child="ALICE  DUPONT")
    assert [(c["name"], c["photos"]) for c in store.children()] == [("Alice Dupont", 3)]
    assert {p["child"] for p in store.photos()} == {"Alice Dupont"}


def test_her_alerts_follow_her_full_name(store):
    photo = enroll(store, 5, child="Alice")
    alert, _ = store.record_sighting(sighting(photo["id"], "https://scontent.cdninstagram.com/v/a_n.jpg"))
    assert alert["child"] == "Alice"
    store.set_child("Alice Dupont")
    assert store.alert(alert["id"])["child"] == "Alice Dupont"


def test_a_first_name_two_full_names_start_with_is_refused(store):
    store.set_child("Alice Dupont")
    store.set_child("Alice Martin")
    with pytest.raises(StoreError, match="'Alice' could be Alice Dupont or Alice Martin: give her full name"):
        store.set_child("Alice")
    with pytest.raises(StoreError, match="could be"):
        enroll(store, 5, child="alice")
    assert len(store.children()) == 2 and store.photos() == []


def test_renaming_a_child_to_another_s_name_makes_them_one(store):
    enroll(store, 5, child="Alice Dupond")
    store.set_child("Alice Dupond", ["Lili"])
    other, _ = store.set_child("alice dupont", None, [("tiktok", "lili.d")])
    enroll(store, 7, child="alice dupont")
    mended = store.rename_child(store.children()[0]["id"], " Alice  Dupont ")
    assert [(c["name"], c["aliases"], c["handles"], c["photos"]) for c in store.children()] == [
        ("Alice Dupont", ["Lili"], [("tiktok", "lili.d")], 2)]
    assert mended["id"] != other["id"]
    with pytest.raises(StoreError, match="no child 99"):
        store.rename_child(99, "Zoé")


def test_removing_a_child_stops_protecting_her_photos_and_keeps_her_alerts(store):
    photo = enroll(store, 5, child="Alice Dupont")
    enroll(store, 7, child="Jules Roy")
    store.record_sighting(sighting(photo["id"], "https://scontent.cdninstagram.com/v/a_n.jpg"))
    revision = store.photos_revision()
    alice = next(c for c in store.children() if c["name"] == "Alice Dupont")
    assert store.remove_child(alice["id"]) == {"name": "Alice Dupont", "photos": 1, "alerts": 1}
    assert [c["name"] for c in store.children()] == ["Jules Roy"]
    assert [p["child"] for p in store.photos()] == ["Jules Roy"]
    assert {pid for pid, _, _ in store.fingerprints()} == {store.photos()[0]["id"]}
    assert [(a["child"], a["photo_name"]) for a in store.alerts()] == [("Alice Dupont", "kodim05.jpg")]
    assert store.photos_revision() > revision  # the watcher stops matching her photos and names
    with pytest.raises(StoreError, match="no child"):
        store.remove_child(alice["id"])


def test_a_store_of_today_s_schema_with_a_child_split_in_two_is_made_one(data_dir):
    db = database_before(data_dir, migrations._one_child_one_name)
    first = db["children"].insert({"name": "Alice", "aliases": '["Lili"]'}).last_pk
    full = db["children"].insert({"name": "Alice Dupont", "aliases": '["Lili", "Ali"]',
                                  "handles": '[["instagram", "alice_dpt"]]'}).last_pk
    db["children"].insert({"name": "Léa Martin"})
    db["children"].insert({"name": "léa  martin", "handles": '[["tiktok", "lea.m"]]'})
    _, photo_id = insert_photo(db, 5)
    db["photos"].update(photo_id, {"child_id": first})
    db["alerts"].insert({"photo_id": photo_id, "child": "Alice", "image_key": "k", "image_url": "u", "status": "new"})
    db["watchlist"].insert({"child": "léa  martin", "platform": "instagram", "handle": "lea.martin.2013",
                            "status": "open"})
    db["alerts"].insert({"photo_id": photo_id, "child": "Léa Martin", "image_key": "k2", "image_url": "u2",
                         "status": "new", "kind": "impersonation",
                         "resemblance": json.dumps({"child": "léa  martin", "field": "handle", "what": "full name"})})
    db.close()
    store = Store(data_dir)
    try:
        assert store._db.execute("PRAGMA user_version").fetchone()[0] == schema.SCHEMA_VERSION
        assert [(c["id"], c["name"], c["aliases"], c["handles"], c["photos"]) for c in store.children()] == [
            (full, "Alice Dupont", ["Lili", "Ali"], [("instagram", "alice_dpt")], 1),
            (full + 1, "Léa Martin", [], [("tiktok", "lea.m")], 0)]
        assert sorted(a["child"] for a in store.alerts()) == ["Alice Dupont", "Léa Martin"]
        assert [a["resemblance"]["child"] for a in store.alerts() if a["resemblance"]] == ["Léa Martin"]
        assert [e["child"] for e in store.watchlist()] == ["Léa Martin"]
        assert store.photos_revision() >= 1
    finally:
        store.close()


def test_the_migration_leaves_a_first_name_two_children_share(data_dir):
    db = database_before(data_dir, migrations._one_child_one_name)
    db["children"].insert_all({"name": name} for name in ("Alice", "Alice Dupont", "Alice Martin"))
    db.close()
    store = Store(data_dir)
    try:
        assert [c["name"] for c in store.children()] == ["Alice", "Alice Dupont", "Alice Martin"]
        alice = store.children()[0]["id"]
        store.rename_child(alice, "Alice Martin")  # the parent says which she is
        assert [(c["name"], c["id"]) for c in store.children()] == [("Alice Dupont", alice + 1), ("Alice Martin", alice)]
    finally:
        store.close()
