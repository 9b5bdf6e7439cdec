"""server/store/cases.py and its migrations (migrations.py, migration 12, `_add_cases`; migration 15,
`_what_said_gone`): alerts and accounts grouped into a case per child, reports kept, takedowns of
reported accounts seen with their page, returns linked; a store of the previous schema comes up
with its cases, and what said an account gone kept as the network said it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from sentinelle.proxy.feeds.gone import BANNED, NO_SUCH_ACCOUNT, PAGE_SAYS, Gone
from sentinelle.server.store import migrations, records, schema, sightings
from sentinelle.server.store.cases import Cases
from sentinelle.server.store.records import Store
from sentinelle.server.store.schema import StoreError
from tests.server.store.test_store import enroll, sighting
from tests.server.store.test_store_attribution import posted_by
from tests.server.store.test_watchlist import lookalike

CDN = "https://scontent.cdninstagram.com/v/t51.2885-15/{}_n.jpg"


def post(photo_id: int, account: str, image: int, days: float = 0):
    return replace(sighting(photo_id, CDN.format(image), minutes=int(days * 1440)), attribution=posted_by(account))


def gone(handle: str, days: float, platform: str = "instagram") -> Gone:
    return Gone(platform=platform, handle=handle, why="HTTP 404", url=f"https://www.instagram.com/{handle}/",
                status=404, content_type="text/html; charset=utf-8", body=b"<html>Sorry, this page isn't available.</html>",
                seen_at=datetime(2026, 11, 25, 8, 0, tzinfo=UTC) + timedelta(days=days))


def test_alerts_and_accounts_join_their_child_s_case_and_an_account_s_alerts_stay_together(store):
    alice, lea, alice_too = enroll(store, 5, "Alice Martin"), enroll(store, 6, "Léa"), enroll(store, 7, "Alice Martin")
    first, _ = store.record_sighting(post(alice["id"], "fake.alice", 1))
    other, _ = store.record_sighting(post(lea["id"], "someone", 2))
    entry, _, _ = store.record_lookalike(lookalike("alice.martin.2014"))
    assert first["case_id"] == entry["case_id"] != other["case_id"]
    assert [(c["child"], c["alerts"], c["watched"]) for c in store.cases()] == [("Alice Martin", 1, 1), ("Léa", 1, 0)]
    # The parent moves one alert to a case of its own (a split); the account's next alert follows it.
    split = store.move_alert(first["id"])
    assert split["id"] not in (first["case_id"], other["case_id"]) and split["child"] == "Alice Martin"
    again, new = store.record_sighting(post(alice_too["id"], "fake.alice", 3, days=1))
    assert new and again["case_id"] == split["id"]
    assert [c["id"] for c in store.cases_of("alice")] == [first["case_id"], split["id"]]
    with pytest.raises(StoreError):
        store.move_alert(first["id"], 999)


def test_a_report_names_an_alert_or_an_account_and_is_kept_with_its_channel_and_reference(store):
    photo = enroll(store, 5, "Alice Martin")
    alert, _ = store.record_sighting(post(photo["id"], "fake.alice", 1))
    store.record_lookalike(lookalike("alice.martin.2014"))
    by_alert = store.record_report(f"#{alert['id']}", "Platform", "IG-123", on="2026-11-25")
    assert (by_alert["handle"], by_alert["channel"], by_alert["ref"]) == ("fake.alice", "platform", "IG-123")
    assert by_alert["reported_on"] == "2026-11-25T12:00:00.000+00:00"
    assert store.alert(alert["id"])["status"] == "reported"
    by_account = store.record_report("@Alice.Martin.2014", "pharos", on="2026-11-26T09:30:00+01:00")
    assert (by_account["alert_id"], by_account["handle"], by_account["reported_on"]) == (
        None, "alice.martin.2014", "2026-11-26T08:30:00.000+00:00")
    assert by_account["case_id"] == by_alert["case_id"] == alert["case_id"]
    other, _ = store.record_sighting(post(photo["id"], "fake.alice.2", 2))
    store.record_report("instagram:fake.alice.2")
    assert store.alert(other["id"])["status"] == "reported"  # an account reported: its alerts are
    assert store.reported_accounts() == [("instagram", "alice.martin.2014"), ("instagram", "fake.alice"),
                                        ("instagram", "fake.alice.2")]
    for ref, on in (("nobody", None), ("#999", None), ("fake.alice", "yesterday")):
        with pytest.raises(StoreError):
            store.record_report(ref, on=on)


def test_an_account_named_on_two_networks_must_be_said_which(store):
    photo = enroll(store, 5, "Alice Martin")
    store.record_sighting(post(photo["id"], "fake.alice", 1))
    store.record_sighting(replace(post(photo["id"], "fake.alice", 2), platform="x"))
    with pytest.raises(StoreError, match="platform:name"):
        store.record_report("fake.alice")
    assert store.record_report("x:fake.alice")["platform"] == "x"


def test_a_takedown_is_kept_once_with_its_page_for_a_reported_account_only(store):
    photo = enroll(store, 5, "Alice Martin")
    store.record_sighting(post(photo["id"], "fake.alice", 1))
    assert store.record_takedown(gone("fake.alice", 1)) is None  # not reported: nothing is kept
    store.record_report("fake.alice")
    event = store.record_takedown(gone("FAKE.alice", 1))
    assert (event["kind"], event["handle"], event["http_status"], event["detail"]) == (
        "taken_down", "fake.alice", 404, {"why": "HTTP 404"})
    assert (store.evidence_dir / event["evidence_file"]).read_bytes() == gone("x", 0).body
    assert event["evidence_file"].endswith(".html")
    assert store.record_takedown(gone("fake.alice", 2)) is None
    assert store.reported_accounts() == []  # its profile is no longer read
    with pytest.raises(Exception, match="append-only"):
        store._db.execute("DELETE FROM account_events")


def test_a_new_account_with_a_photo_seen_in_the_case_after_a_takedown_is_a_return(store):
    photo, other = enroll(store, 5, "Alice Martin"), enroll(store, 6, "Alice Martin")
    first, _ = store.record_sighting(post(photo["id"], "fake.alice", 1))
    store.record_report("fake.alice", on="2026-11-25")
    store.record_takedown(gone("fake.alice", 1))
    came_back, _ = store.record_sighting(post(photo["id"], "alice.again", 4, days=3))
    assert came_back["case_id"] == first["case_id"]
    back = store.return_of("instagram", "alice.again")
    assert back["detail"] == {"after": "fake.alice", "after_platform": "instagram", "how": "photo", "days": 2.0,
                              "taken_down_at": "2026-11-26T08:00:00.000+00:00", "photo_id": photo["id"]}
    # Another photo of hers, on a new account: in her case, but not a return (nothing links it).
    store.record_sighting(post(other["id"], "stranger", 5, days=4))
    assert store.return_of("instagram", "stranger") is None
    # The same account seen again is not a second return.
    store.record_sighting(post(photo["id"], "alice.again", 6, days=5))
    assert len([e for e in store.case_record(first["case_id"])["events"] if e["kind"] == "returned"]) == 1


def test_a_new_account_with_her_name_as_a_taken_down_one_had_it_is_a_return(store):
    enroll(store, 5, "Alice Martin")
    entry, _, _ = store.record_lookalike(lookalike("alice.martin.2014"))
    store.record_report("alice.martin.2014")
    store.record_takedown(gone("alice.martin.2014", 1))
    store.record_lookalike(lookalike("alice.martin.2015", minutes=3 * 1440))
    back = store.return_of("instagram", "alice.martin.2015")
    assert back["case_id"] == entry["case_id"]
    assert (back["detail"]["after"], back["detail"]["how"], back["detail"]["days"]) == ("alice.martin.2014", "name", 2.0)
    # An account seen before the takedown is no return, whatever it shows.
    assert store.return_of("instagram", "alice.martin.2014") is None


def test_no_takedown_no_return(store):
    photo = enroll(store, 5, "Alice Martin")
    store.record_sighting(post(photo["id"], "fake.alice", 1))
    store.record_report("fake.alice")
    store.record_sighting(post(photo["id"], "alice.again", 2, days=1))
    assert store.return_of("instagram", "alice.again") is None


@contextmanager
def before(data_dir, monkeypatch, step) -> Iterator[Store]:
    """Today's store in `data_dir` stopped before migration `step`: it writes what the caller
    writes as the Sentinelle before that step did (with the caller's other patches)."""
    monkeypatch.setattr(records, "migrate", lambda db: schema.migrate(db, until=step))
    older = Store(data_dir)
    try:
        yield older
    finally:
        older.close()


@contextmanager
def opened_as_today(data_dir, monkeypatch) -> Iterator[Store]:
    """The store an older Sentinelle left in `data_dir`, opened as today's Sentinelle opens it."""
    monkeypatch.undo()
    store = Store(data_dir)
    try:
        assert store._db.execute("PRAGMA user_version").fetchone()[0] == schema.SCHEMA_VERSION
        yield store
    finally:
        store.close()


def test_a_store_of_the_previous_schema_comes_up_with_a_case_per_child(data_dir, monkeypatch):
    # Today's store, stopped before the cases and without its one call into them, writes alerts
    # and the watch list as the Sentinelle before this one did; then it is opened as it is now.
    monkeypatch.setattr(Cases, "_join_case", lambda *args: None)
    monkeypatch.setattr(sightings, "_ALERTS_SQL", sightings._ALERTS_SQL.replace(", case_id", ""))
    with before(data_dir, monkeypatch, migrations._add_cases) as older:
        alice, lea = enroll(older, 5, "Alice Martin"), enroll(older, 6, "Léa")
        older.record_sighting(post(alice["id"], "fake.alice", 1))
        older.record_sighting(post(lea["id"], "someone", 2))
        older.record_lookalike(lookalike("alice.martin.2014"))
        assert "cases" not in older._db.table_names()
    with opened_as_today(data_dir, monkeypatch) as store:
        assert [(c["child"], c["alerts"], c["watched"]) for c in store.cases()] == [("Alice Martin", 1, 1), ("Léa", 1, 0)]
        # The upgraded case takes reports, and its next alerts join it.
        store.record_report("fake.alice", "police", "PV 2026/123")
        case_id = store.cases_of("Alice Martin")[0]["id"]
        new, _ = store.record_sighting(post(alice["id"], "fake.alice.2", 3, days=1))
        assert new["case_id"] == case_id
        record = store.case_record(case_id)
        assert [r["ref"] for r in record["reports"]] == ["PV 2026/123"]
        assert [a["account"] for a in record["alerts"]] == ["fake.alice", "fake.alice.2"]


def test_a_store_of_the_previous_schema_keeps_what_said_an_account_gone_as_the_network_said_it(data_dir, monkeypatch):
    # Today's store, stopped before the step, keeps takedowns as the Sentinelle before it did:
    # a page's sentence inside an English one of its own, a status with English words beside it.
    with before(data_dir, monkeypatch, migrations._what_said_gone) as older:
        photo = enroll(older, 5, "Alice Martin")
        said = {"fake.alice": "the page says “Sorry, this page isn't available”", "fake.alice.2": "HTTP 404",
                "fake.alice.3": "statusCode 10202 (no such account)", "fake.alice.4": "statusCode 10221 (banned)",
                "fake.alice.5": "UserUnavailable (no reason given)", "fake.alice.6": "UserUnavailable (Suspended)"}
        for number, (handle, why) in enumerate(said.items(), 1):
            older.record_sighting(post(photo["id"], handle, number))
            older.record_report(handle)
            older.record_takedown(replace(gone(handle, number), why=why))
    with opened_as_today(data_dir, monkeypatch) as store:
        events = store.case_record(store.cases_of("Alice Martin")[0]["id"])["events"]
        assert [(e["handle"], e["detail"]) for e in events] == [
            ("fake.alice", {"why": "Sorry, this page isn't available", "means": PAGE_SAYS}),
            ("fake.alice.2", {"why": "HTTP 404"}),
            ("fake.alice.3", {"why": "statusCode 10202", "means": NO_SUCH_ACCOUNT}),
            ("fake.alice.4", {"why": "statusCode 10221", "means": BANNED}),
            ("fake.alice.5", {"why": "UserUnavailable"}),
            ("fake.alice.6", {"why": "UserUnavailable (Suspended)"})]
        with pytest.raises(Exception, match="account events are evidence: append-only"):
            store._db.execute("UPDATE account_events SET detail = '{}'")
        # Takedowns seen from now on are kept so.
        store.record_sighting(post(photo["id"], "fake.alice.7", 7))
        store.record_report("fake.alice.7")
        page = replace(gone("fake.alice.7", 7), why="Sorry, this page isn't available", means=PAGE_SAYS)
        assert store.record_takedown(page)["detail"] == {"why": "Sorry, this page isn't available", "means": PAGE_SAYS}
