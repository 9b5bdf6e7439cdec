"""proxy/fronts/watch.py: the work every front shares, fed as the ICAP front (no mitmproxy) feeds it."""

from __future__ import annotations

import asyncio
import gzip
import json
from pathlib import Path

import pytest

from sentinelle.proxy.fronts.icap_service import IcapService, Response
from sentinelle.proxy.fronts.watch import FEED, IMAGE, page_from, triage
from tests.conftest import kodak, square_crop_copy
from tests.support.scenario import wait_for

CDN = "scontent-cdg4-1.cdninstagram.com"
FEEDS = Path(__file__).parents[2] / "fixtures" / "feeds"


@pytest.fixture(autouse=True)
def front(watch):
    """The ICAP service as the watch's front: it describes what it kept (`Response`)."""
    return IcapService(watch, '"test"', key="k" * 43)


def image(body: bytes, **headers: str) -> Response:
    return Response(url=f"https://{CDN}/v/t51.29350-15/431000001_1_n.jpg?stp=s640x640", host=CDN,
                    page_url="https://www.instagram.com/",
                    headers=(("Content-Type", "image/jpeg"), ("Date", "Fri, 04 Dec 2026 10:00:00 GMT"),
                             ("Set-Cookie", "secret=1"), *headers.items()),
                    body=body)


@pytest.mark.parametrize(("status", "content_type", "head", "kind"), [
    (200, "image/jpeg", b"", IMAGE),
    (200, "application/octet-stream", b"\xff\xd8\xff\xe0", IMAGE),  # unlabelled, known by its bytes
    (200, "application/json; charset=utf-8", b"{", FEED),
    (200, "text/html", b"<!doctype", FEED),
    (200, "text/css", b"body", None),
    (200, "application/octet-stream", b"\x00\x01", None),
    (304, "image/jpeg", b"", None),
    (404, "application/json", b"{", None),
])
def test_triage_says_what_a_response_is_to_the_watch(status, content_type, head, kind):
    assert triage(status, content_type, head) == kind


def test_the_page_is_the_referer_else_the_origin():
    assert page_from([("Origin", "https://x.com"), ("Referer", "https://x.com/home")]) == "https://x.com/home"
    assert page_from([("origin", "https://x.com")]) == "https://x.com"
    assert page_from([("Accept", "*/*")]) is None


async def test_a_copy_handed_in_whole_is_recorded_with_its_evidence_even_while_the_front_is_busy(watch):
    copy = square_crop_copy(kodak(5))
    watch.busy()
    watch.take_image(image(copy), "instagram", copy)
    loop = asyncio.get_running_loop()
    busy_until = loop.time() + 20
    while not watch.recorded and loop.time() < busy_until:  # traffic back to back: no quiet moment
        watch.busy()
        await asyncio.sleep(0.001)
    [sighting] = watch.recorded  # checked all the same: a network is never quiet at its peak
    assert sighting.body == copy and sighting.match.photo_id == 5 and sighting.host == CDN
    assert sighting.page_url == "https://www.instagram.com/"
    assert sighting.response_headers == {"content-type": "image/jpeg", "date": "Fri, 04 Dec 2026 10:00:00 GMT"}


async def test_a_compressed_image_is_decoded_and_a_bomb_is_skipped(watch):
    copy = square_crop_copy(kodak(5))
    watch.take_image(image(gzip.compress(copy), **{"Content-Encoding": "gzip"}), "instagram", gzip.compress(copy))
    await wait_for(lambda: watch.recorded and not watch.waiting)
    assert watch.recorded[0].body == copy
    watch.max_image_bytes = 1000
    bomb = gzip.compress(b"\0" * 100_000)
    watch.take_image(image(bomb, **{"Content-Encoding": "gzip"}), "instagram", bomb)
    await wait_for(lambda: not watch.waiting)
    assert watch.counts.skipped["too large"] == 1 and len(watch.recorded) == 1


async def test_a_feed_read_names_the_account_of_a_match(watch):
    feed = (FEEDS / "instagram_timeline.json").read_bytes()
    assert watch.wants_feed(len(feed))
    watch.read_feed("instagram", "https://www.instagram.com/api/v1/feed/timeline/", "application/json", feed)
    await wait_for(lambda: not watch.reading)
    copy = square_crop_copy(kodak(5))
    watch.take_image(image(copy), "instagram", copy)
    await wait_for(lambda: watch.recorded)
    assert watch.recorded[0].attribution.account == "fake.account.123"


def hashtag_naming_by_id(owner_id: str) -> bytes:
    """A hashtag grid (docs/feed-shapes.md; gdl `_parse_post_graphql`) naming the owner by id alone."""
    node = {"shortcode": "CIdOnLy77", "owner": {"id": owner_id},
            "display_url": f"https://{CDN}/v/t51.29350-15/431000001_1_n.jpg?stp=s1080x1080"}
    return json.dumps({"data": {"hashtag": {"edge_hashtag_to_media": {"edges": [{"node": node}]}}}}).encode()


def profile_tying(owner_id: str, handle: str) -> bytes:
    return json.dumps({"data": {"user": {"id": owner_id, "username": handle,
                                         "profile_pic_url": f"https://{CDN}/v/t51.2885-19/461000077_1_n.jpg"}}}).encode()


async def read(watch, body: bytes) -> None:
    watch.read_feed("instagram", "https://www.instagram.com/graphql/query", "application/json", body)
    await wait_for(lambda: not watch.reading)


async def test_a_match_known_by_id_is_named_by_the_next_feed_that_ties_the_id(watch):
    await read(watch, hashtag_naming_by_id("4300000077"))
    copy = square_crop_copy(kodak(5))
    watch.take_image(image(copy), "instagram", copy)
    await wait_for(lambda: watch.recorded)
    got = watch.recorded[0].attribution
    assert (got.account, got.account_id, got.post_url) == (None, "4300000077", "https://www.instagram.com/p/CIdOnLy77/")
    await read(watch, profile_tying("4300000078", "someone.else"))
    assert watch.named_accounts == []  # another account
    await read(watch, profile_tying("4300000077", "named.later"))
    assert [(n.account_id, n.account) for n in watch.named_accounts] == [("4300000077", "named.later")]
    await read(watch, profile_tying("4300000077", "named.later"))
    assert len(watch.named_accounts) == 1  # handed on once


async def test_a_match_whose_id_a_feed_tied_before_is_named_at_once(watch):
    await read(watch, profile_tying("4300000079", "named.before"))
    await read(watch, hashtag_naming_by_id("4300000079"))
    copy = square_crop_copy(kodak(5))
    watch.take_image(image(copy), "instagram", copy)
    await wait_for(lambda: watch.recorded)
    assert (watch.recorded[0].attribution.account, watch.named_accounts) == ("named.before", [])


async def test_ids_the_store_waits_for_are_named_by_the_feeds_of_this_run(watch):
    watch.await_names([("instagram", "4300000080")])
    await read(watch, profile_tying("4300000080", "named.after.restart"))
    assert [n.account for n in watch.named_accounts] == ["named.after.restart"]


def test_a_watch_has_one_front(watch):
    class Other:
        def describe(self, kept, platform, seen_at):
            raise AssertionError("never asked")

    with pytest.raises(ValueError, match="already has a front"):
        watch.attach(Other())
