"""server/store/patrol.py: each network's last patrol, what stopped it, and what the proxy saw
while it looked (and only then, and only on the network the patrol tab was on)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sentinelle.proxy.hosts import SOCIAL_DOMAINS
from sentinelle.server.store import patrol as patrol_module
from sentinelle.server.store.patrol import look_fields
from sentinelle.server.store.schema import StoreError
from tests.server.store.test_store import enroll, sighting
from tests.server.store.test_watchlist import lookalike

# The sightings of test_store are made at 08:00 UTC on this day; the looks are stamped around them.
DAY = datetime(2026, 11, 25, tzinfo=UTC)


@pytest.fixture
def clock(monkeypatch):
    """The server's clock, set by the test: `clock.at = DAY + timedelta(...)`."""
    class Clock:
        at = DAY
    monkeypatch.setattr(patrol_module, "_now", lambda: Clock.at)
    return Clock


def look(store, clock, at: timedelta, term: str = "Alice Martin", platform: str = "instagram",
         run: str = "run-0001", what: str = "search") -> dict:
    clock.at = DAY + at
    url = {"instagram": f"https://www.instagram.com/explore/search/keyword/?q={term}",
           "x": f"https://x.com/search?q={term}&f=user"}[platform]
    return store.start_look(look_fields({"run": run, "platform": platform, "what": what, "term": term,
                                         "url": url, "child": "Alice Martin"}, SOCIAL_DOMAINS))


def test_a_network_s_last_patrol_says_what_was_looked_at_found_and_what_stopped_it(store, clock):
    photo = enroll(store, 5)
    first = look(store, clock, timedelta(hours=7, minutes=59))
    clock.at = DAY + timedelta(hours=8, minutes=0, seconds=30)
    store.end_look(first["id"], "bound", scrolls=5, requests=40)
    store.record_lookalike(lookalike(minutes=60))  # seen at 08:00, during the look
    alert, _ = store.record_sighting(sighting(photo["id"], "https://scontent.cdninstagram.com/v/a_n.jpg",
                                              page="https://www.instagram.com/"))
    walled = look(store, clock, timedelta(hours=8, minutes=1), platform="x")
    store.end_look(walled["id"], "login")

    networks = {n["platform"]: n for n in store.patrol()}
    assert set(networks) == {"instagram", "x"}
    instagram = networks["instagram"]
    assert instagram["looked_at"] == "2026-11-25T07:59:00.000+00:00" and instagram["stopped"] is None
    assert [(lk["term"], lk["outcome"], lk["scrolls"], lk["requests"]) for lk in instagram["looks"]] == [
        ("Alice Martin", "bound", 5, 40)]
    assert instagram["found"] == {"alerts": [{"id": alert["id"], "kind": "copy", "account": None, "child": "Alice"}],
                                  "watch": ["alice.martin_2014"]}
    assert networks["x"]["stopped"] == "login" and networks["x"]["found"] == {"alerts": [], "watch": []}

    # The sighting says it was found while looking for her, and which search.
    [seen] = store.sightings(alert["id"])
    assert (seen["found_while"]["term"], seen["found_while"]["what"]) == ("Alice Martin", "search")

    # The next patrol of a network replaces its summary; a look ends only once.
    again = look(store, clock, timedelta(days=1), run="run-0002")
    assert [lk["id"] for lk in {n["platform"]: n for n in store.patrol()}["instagram"]["looks"]] == [again["id"]]
    with pytest.raises(StoreError):
        store.end_look(first["id"], "done")
    with pytest.raises(StoreError):
        store.end_look(again["id"], "gave up")


def test_what_is_seen_elsewhere_or_at_another_time_is_not_found_by_the_patrol(store, clock):
    photo = enroll(store, 5)
    before = look(store, clock, timedelta(hours=7))  # ended an hour before the sighting
    clock.at = DAY + timedelta(hours=7, minutes=1)
    store.end_look(before["id"], "done")
    look(store, clock, timedelta(hours=7, minutes=59), platform="x")  # another network, then (left open)
    alert, _ = store.record_sighting(sighting(photo["id"], "https://scontent.cdninstagram.com/v/b_n.jpg"))
    [seen] = store.sightings(alert["id"])
    assert seen["found_while"] is None
    assert {n["platform"]: n["found"]["alerts"] for n in store.patrol()} == {"instagram": [], "x": []}


def test_an_instagram_page_on_another_host_is_not_the_patrol_s(store, clock):
    """A sighting whose page (Referer) is on another host than the look's was not made by it."""
    photo = enroll(store, 5)
    look(store, clock, timedelta(hours=7, minutes=59, seconds=30))  # never ended: counts 90 s
    alert, _ = store.record_sighting(sighting(photo["id"], "https://scontent.cdninstagram.com/v/c_n.jpg",
                                              page="https://help.instagram.com/page"))
    assert store.sightings(alert["id"])[0]["found_while"] is None
    other, _ = store.record_sighting(sighting(photo["id"], "https://scontent.cdninstagram.com/v/d_n.jpg",
                                              page=None, body=b"\xff\xd8other"))
    assert store.sightings(other["id"])[0]["found_while"]["term"] == "Alice Martin"


@pytest.mark.parametrize("body, wrong", [
    ({"run": "short", "platform": "instagram", "what": "search", "term": "A", "url": "https://x.com/"}, "run"),
    ({"run": "run-0001", "platform": "myspace", "what": "search", "term": "A", "url": "https://x.com/"}, "platform"),
    ({"run": "run-0001", "platform": "x", "what": "follow", "term": "A", "url": "https://x.com/"}, "what"),
    ({"run": "run-0001", "platform": "x", "what": "search", "term": "", "url": "https://x.com/"}, "term"),
    ({"run": "run-0001", "platform": "x", "what": "search", "term": "A", "url": "http://x.com/"}, "url"),
    ({"run": "run-0001", "platform": "x", "what": "search", "term": "A\n", "url": "https://x.com/"}, "term"),
    ([], "send"),
])
def test_a_look_is_refused_with_what_is_wrong(body, wrong):
    with pytest.raises(ValueError, match=wrong):
        look_fields(body, SOCIAL_DOMAINS)
