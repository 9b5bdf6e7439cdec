"""server/casefile/timeline.py: a case's events in order, in UTC and local time; each report
answered (by a takedown after it) or unanswered for so many days, and due to escalate."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from sentinelle.server.casefile.timeline import accounts, reports, timeline

PARIS = timezone(timedelta(hours=1), "CET")


def record(**changes) -> dict:
    alert = {"id": 1, "platform": "instagram", "account": "fake.alice", "display_name": "Alice Martin",
             "photo_name": "beach.jpg", "first_seen": "2026-11-25T08:00:00.000+00:00",
             "last_seen": "2026-11-25T09:00:00.000+00:00", "shown_as": "profile_picture",
             "resemblance": {"child": "Alice Martin", "field": "handle", "what": "full name"},
             "sightings": [{"seen_at": "2026-11-25T08:00:00.000+00:00", "evidence_sha256": "ab" * 32}]}
    report = {"id": 1, "alert_id": 1, "platform": "instagram", "handle": "fake.alice", "channel": "pharos",
              "ref": "P-1", "reported_on": "2026-11-25T12:00:00.000+00:00"}
    return {"case": {"id": 1, "child": "Alice Martin"}, "alerts": [alert], "watched": [], "reports": [report],
            "events": []} | changes


def taken_down(why: str = "HTTP 404", means: str | None = None) -> dict:
    """@fake.alice taken down three days on, `why` being what the network answered (and `means`
    what that means, a key of server/words.py)."""
    return {"id": 1, "platform": "instagram", "handle": "fake.alice", "kind": "taken_down",
            "at": "2026-11-28T08:00:00.000+00:00", "detail": {"why": why} | ({"means": means} if means else {}),
            "page_url": "https://www.instagram.com/fake.alice/", "evidence_file": "cd.html"}


BACK = {"id": 2, "platform": "instagram", "handle": "alice.again", "kind": "returned",
        "at": "2026-11-30T08:00:00.000+00:00", "detail": {"after": "fake.alice", "days": 2.0, "how": "photo"}}


def test_the_timeline_is_in_order_in_utc_and_local_time():
    entries = timeline(record(), datetime(2026, 11, 27, tzinfo=UTC), local=PARIS)
    assert [(e["kind"], e["utc"], e["local"]) for e in entries] == [
        ("account", "2026-11-25 08:00 UTC", "2026-11-25 09:00 CET"),
        ("sighting", "2026-11-25 08:00 UTC", "2026-11-25 09:00 CET"),
        ("report", "2026-11-25 12:00 UTC", "2026-11-25 13:00 CET")]
    assert entries[0]["text"] == ("@fake.alice (Alice Martin) on Instagram first seen; shows 1 of her photos: beach.jpg;"
                                  " looks like her: its handle looks like Alice Martin's full name; last seen 2026-11-25 09:00 UTC")
    assert entries[1]["text"].startswith("@fake.alice showed beach.jpg as its profile picture (alert #1")
    assert entries[2]["text"] == "@fake.alice reported to Pharos, reference P-1 (unanswered for 1 day)"


def test_a_report_goes_unanswered_until_a_takedown_after_it_and_escalates_after_the_days_chosen():
    now = datetime(2026, 12, 5, 13, tzinfo=UTC)
    [late] = reports(record(), now, escalate_after=7)
    assert (late["answered"], late["days"], late["escalate"]) == (False, 10, True)
    assert not reports(record(), now, escalate_after=30)[0]["escalate"]
    done = record(events=[taken_down(), BACK])
    [answered] = reports(done, now)
    assert (answered["answered"], answered["days"], answered["escalate"]) == (True, 2, False)
    entries = timeline(done, now)
    assert [e["kind"] for e in entries][-2:] == ["taken down", "return"]
    assert entries[-1]["text"] == "Came back as @alice.again, 2 days after @fake.alice was taken down"
    assert [(a["handle"], bool(a["taken_down"]), a["returned"]) for a in accounts(done)] == [
        ("fake.alice", True, None),
        ("alice.again", False, "came back as @alice.again, 2 days after @fake.alice was taken down")]


def test_the_timeline_is_said_in_french_with_the_page_s_own_sentence_quoted():
    done = record(events=[taken_down("Sorry, this page isn't available", "gone_page_says"), BACK])
    said = [e["text"] for e in timeline(done, datetime(2026, 12, 5, tzinfo=UTC), lang="fr")]
    assert said[0] == ("@fake.alice (Alice Martin) sur Instagram vu pour la première fois ; montre 1 de ses photos : "
                       "beach.jpg ; lui ressemble : son identifiant ressemble au nom complet d'Alice Martin ; vu pour "
                       "la dernière fois le 2026-11-25 09:00 UTC")
    assert said[1].startswith("@fake.alice a montré beach.jpg comme photo de profil (alerte n° 1, preuve ababab")
    assert said[2:] == [
        "@fake.alice signalé à Pharos, référence P-1 (suivi d'effet : supprimé 2 jours plus tard)",
        "@fake.alice supprimé : Instagram a répondu la page indique « Sorry, this page isn't available » pour "
        "https://www.instagram.com/fake.alice/ (page conservée : evidence/cd.html)",
        "Revenu sous le nom @alice.again, 2 jours après la suppression de @fake.alice"]
    assert accounts(done, "fr")[1]["returned"] == "revenu sous le nom @alice.again, 2 jours après la suppression de @fake.alice"
