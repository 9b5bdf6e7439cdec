"""server/store/outbox.py: the parent's channels and what is due to them, on a real SQLite file."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from sentinelle.server.store import migrations
from sentinelle.server.store.records import Store
from sentinelle.server.store.schema import StoreError
from tests.support.older_store import database_before

AT = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
SECRET_URL = "tgram://123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/987654321"


def add(store: Store, name: str = "phone", url: str = SECRET_URL, details: bool = False) -> dict:
    return store.add_channel(name, url, "tgram://1...w/9...1", details, AT)


def test_a_channels_url_is_given_only_to_what_sends(store):
    phone = add(store)
    assert SECRET_URL not in json.dumps([store.channels(), store.channel("phone"), store.channel(phone["id"])])
    assert store.channel("phone")["shown"] == "tgram://1...w/9...1" and store.channel_url(phone["id"]) == SECRET_URL
    with pytest.raises(StoreError, match="already named 'phone'"):
        add(store)
    assert store.channel("nobody") is None
    with pytest.raises(StoreError):
        store.channel_url(99)


def test_a_note_is_queued_once_per_channel_and_key_and_stays_once_sent(store):
    phone = add(store)
    add(store, "mail", "mailto://x", details=True)
    assert store.queue_note("alert 1 copy", "alert 1 copy", "copy", "Alice", "instagram", "fake.account", AT) == 2
    assert store.queue_note("alert 1 copy", "alert 1 copy", "copy", "Alice", "instagram", "fake.account", AT) == 0
    [(first, notes), (second, _)] = store.outbox()
    assert (first["name"], first["url"], second["details"]) == ("phone", SECRET_URL, True)
    assert [(n["key"], n["child"], n["account"]) for n in notes] == [("alert 1 copy", "Alice", "fake.account")]
    store.notes_sent(phone["id"], [notes[0]["id"]], AT + timedelta(minutes=1))
    assert [c["name"] for c, _ in store.outbox()] == ["mail"]
    assert store.queue_note("alert 1 copy", "alert 1 copy", "copy", "Alice", "instagram", None, AT) == 0  # told already
    assert store.channel("phone")["last_sent_at"].startswith("2026-12-07T09:01")
    assert (store.channel("phone")["pending"], store.channel("mail")["pending"]) == (0, 1)


def test_a_channel_without_details_is_not_told_twice_of_one_alert(store):
    add(store, "plain")
    add(store, "detailed", "mailto://x", details=True)
    store.queue_note("alert 1 copy", "alert 1 copy", "copy", "Alice", "instagram", "acc", AT)
    # The same alert, now an impersonation: news with details, the same words without.
    assert store.queue_note("alert 1 impersonation", "alert 1 copy", "impersonation", "Alice", "instagram", "acc", AT) == 1
    assert {c["name"]: [n["kind"] for n in notes] for c, notes in store.outbox()} == {
        "plain": ["copy"], "detailed": ["copy", "impersonation"]}


def test_a_failure_is_kept_with_its_reason_and_next_try_until_a_message_goes(store):
    phone = add(store)
    store.queue_note("alert 1 copy", "alert 1 copy", "copy", "Alice", "instagram", None, AT)
    for n in range(1, 4):
        store.sending_failed(phone["id"], AT + timedelta(minutes=n), "Connection refused", AT + timedelta(minutes=n + 1))
    failing = store.channel("phone")
    assert (failing["failures"], failing["failing_since"][:16], failing["next_try_at"][:16], failing["last_error"]) == (
        3, "2026-12-07T09:01", "2026-12-07T09:04", "Connection refused")
    [(_, [note])] = store.outbox()
    store.notes_sent(phone["id"], [note["id"]], AT + timedelta(minutes=5))
    recovered = store.channel("phone")
    assert (recovered["failures"], recovered["failing_since"], recovered["last_error"]) == (0, None, "Connection refused")


def test_a_test_that_reached_the_channel_ends_its_failures_and_tries_what_waits_at_once(store):
    phone = add(store)
    store.queue_note("alert 1 copy", "alert 1 copy", "copy", "Alice", "instagram", None, AT)
    store.sending_failed(phone["id"], AT, "Connection refused", AT + timedelta(hours=1))
    store.test_reached(phone["id"], AT + timedelta(minutes=2))
    works = store.channel("phone")
    assert (works["failures"], works["failing_since"], works["next_try_at"], works["last_sent_at"][:16]) == (
        0, None, None, "2026-12-07T09:02")
    assert [n["key"] for _, notes in store.outbox() for n in notes] == ["alert 1 copy"]  # still to send


def test_removing_a_channel_forgets_its_url_and_its_notes_to_the_last_byte(store, data_dir):
    phone = add(store)
    store.queue_note("alert 1 copy", "alert 1 copy", "copy", "Alice", "instagram", None, AT)
    on_disk = [data_dir / "sentinelle.db", data_dir / "sentinelle.db-wal"]
    token = SECRET_URL.split("/")[2].encode()
    assert any(token in path.read_bytes() for path in on_disk if path.exists())  # the test can fail
    assert store.remove_channel(phone["id"])["name"] == "phone"
    assert store.channels() == [] and store.outbox() == []
    assert not any(token in path.read_bytes() for path in on_disk if path.exists())
    with pytest.raises(StoreError):
        store.remove_channel(phone["id"])
    with pytest.raises(StoreError):
        store.set_channel_details(phone["id"], True)


def test_the_hours_have_defaults_and_keep_what_is_not_given(store):
    assert store.notify_hours() == {"digest": "18:00", "quiet": None}
    store.set_notify_hours({"quiet": ["22:00", "07:00"]})
    assert store.set_notify_hours({"digest": "19:30"}) == {"digest": "19:30", "quiet": ["22:00", "07:00"]}
    assert store.set_notify_hours({"quiet": None}) == {"digest": "19:30", "quiet": None}


def test_a_database_of_todays_schema_gains_the_channels_and_keeps_its_alerts(data_dir):
    db = database_before(data_dir, migrations._add_notify)
    db["alerts"].insert({"photo_id": 1, "image_key": "k", "image_url": "https://x/1.jpg", "status": "new",
                         "platform": "instagram"})
    db.close()
    store = Store(data_dir)
    try:
        assert [a["image_url"] for a in store.alerts()] == ["https://x/1.jpg"]
        assert store.channels() == [] and store.outbox() == []  # nothing that happened before is sent
        phone = add(store)
        assert store.queue_note("alert 1 copy", "alert 1 copy", "copy", None, "instagram", None, AT) == 1
        assert store.channel(phone["id"])["pending"] == 1
    finally:
        store.close()
