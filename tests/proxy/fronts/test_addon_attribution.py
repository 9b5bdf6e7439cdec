"""proxy/fronts/addon.py: feed responses are read off the response path, and a match carries who posted it."""

from __future__ import annotations

import json
from pathlib import Path

from mitmproxy.test import tflow
from PIL import Image

from benchmarks.transforms import avatar as tight_square
from benchmarks.transforms import jpeg
from sentinelle.proxy.feeds.attribution import MAX_FEED_BYTES
from tests.conftest import kodak, square_crop_copy
from tests.proxy.fronts.test_addon import image_flow, settle, watcher  # noqa: F401 (a fixture)
from tests.support.scenario import wait_for

FEEDS = Path(__file__).parents[2] / "fixtures" / "feeds"
IMAGE = "https://scontent-cdg4-1.cdninstagram.com/v/t51.29350-15/431000001_1_n.jpg"


def feed_flow(body: bytes, host: str = "www.instagram.com", content_type: str = "application/json",
              path: str = "/api/v1/feed/timeline/", gzip: bool = False):
    flow = tflow.tflow(resp=True)
    flow.request.scheme, flow.request.host, flow.request.port = "https", host, 443
    flow.request.path = path
    flow.response.status_code = 200
    flow.response.headers["Content-Type"] = content_type
    flow.response.content = body
    if gzip:
        flow.response.encode("gzip")
    return flow


async def read_all(watcher) -> None:
    """Until no feed is being read: the last one's done-callback, which takes it off, has run whole."""
    await wait_for(lambda: not watcher.watch.reading, timeout=30, interval=0.005)


async def test_a_match_carries_the_account_its_feed_named(watcher):
    body = (FEEDS / "instagram_timeline.json").read_bytes()
    flow = feed_flow(body, gzip=True)
    raw = flow.response.raw_content
    watcher.response(flow)
    assert watcher.watch.reading == 1 and watcher.watch.report()["reading"] == 1  # as /api/stats says
    assert flow.response.raw_content == raw  # the browser gets it as it came
    await read_all(watcher)
    assert len(watcher.watch.attributions) == 3

    image = image_flow(square_crop_copy(kodak(5)), host="scontent-cdg4-1.cdninstagram.com")
    image.request.path = "/v/t51.29350-15/431000001_1_n.jpg?stp=dst-jpg_e35_s640x640&oh=1&oe=2"
    image.response.headers["Date"] = "Wed, 25 Nov 2026 08:41:05 GMT"
    image.response.headers["X-FB-Trip-ID"] = "1904365577"
    image.response.headers["Set-Cookie"] = "secret=1"
    watcher.response(image)
    await settle(watcher)
    [sighting] = watcher.recorded
    assert sighting.attribution.account == "fake.account.123"
    assert sighting.attribution.post_url == "https://www.instagram.com/p/C0dEfGhIjKl/"
    assert sighting.response_headers["date"] == "Wed, 25 Nov 2026 08:41:05 GMT"
    assert sighting.response_headers["x-fb-trip-id"] == "1904365577"
    assert "set-cookie" not in sighting.response_headers


async def test_an_image_no_feed_named_keeps_its_page_only(watcher):
    watcher.response(image_flow(square_crop_copy(kodak(5)), referer="https://www.instagram.com/someone/"))
    await settle(watcher)
    [sighting] = watcher.recorded
    assert sighting.attribution is None and sighting.page_url == "https://www.instagram.com/someone/"


async def test_feeds_of_other_hosts_and_unknown_shapes_are_harmless(watcher):
    watcher.response(feed_flow((FEEDS / "instagram_timeline.json").read_bytes(), host="www.mybank.fr"))
    assert watcher.watch.reading == 0
    for body in (b"{not json", json.dumps({"data": [1, 2, 3]}).encode(), b""):
        watcher.response(feed_flow(body))
    watcher.response(feed_flow(b"{}" + b" " * (MAX_FEED_BYTES + 1)))  # too large: passed unread
    await read_all(watcher)
    assert len(watcher.watch.attributions) == 0
    assert watcher.watch.counts.seen == 0  # feeds are not images


async def test_a_profile_picture_that_copies_a_protected_photo_names_the_account_that_wears_it(watcher):
    watcher.response(feed_flow((FEEDS / "instagram_search.json").read_bytes(), path="/api/v1/web/search/topsearch/?query=alice"))
    await read_all(watcher)
    # The search results named the picture at 150 px; the browser fetches it at 320.
    image = image_flow(square_crop_copy(kodak(5), width=320), host="scontent-cdg4-1.cdninstagram.com")
    image.request.path = "/v/t51.2885-19/461000030_1_n.jpg?stp=dst-jpg_s320x320&_nc_ht=x&oh=00_Other&oe=2"
    watcher.response(image)
    await settle(watcher)
    [sighting] = watcher.recorded
    assert sighting.attribution.shown_as == "profile_picture"
    assert (sighting.attribution.account, sighting.attribution.display_name) == ("alice.fan.page", "Alice ❤")
    assert sighting.attribution.post_url == "https://www.instagram.com/alice.fan.page/"


async def test_a_profile_picture_cut_tight_from_a_protected_photo_names_the_account_too(watcher):
    # What a fake account does with a photo: a square of 40 % of it, around the upper left,
    # as its profile picture, served at 150 px. The whole photo's hash and keypoints cannot
    # see it (a third of the photo, at a third of the scale); the avatar stage does.
    watcher.response(feed_flow((FEEDS / "instagram_search.json").read_bytes(), path="/api/v1/web/search/topsearch/?query=alice"))
    await read_all(watcher)
    with Image.open(kodak(5)) as photo:
        picture = jpeg(tight_square(photo.convert("RGB"), 0.4, (0.35, 0.4)).resize((150, 150), Image.Resampling.LANCZOS), 80)
    image = image_flow(picture, host="scontent-cdg4-1.cdninstagram.com")
    image.request.path = "/v/t51.2885-19/461000030_1_n.jpg?stp=dst-jpg_s150x150&_nc_ht=x&oh=00_Other&oe=2"
    watcher.response(image)
    await settle(watcher)
    [sighting] = watcher.recorded
    assert (sighting.match.photo_id, sighting.match.stage) == (5, "avatar")
    assert sighting.attribution.shown_as == "profile_picture"
    assert sighting.attribution.account == "alice.fan.page"
