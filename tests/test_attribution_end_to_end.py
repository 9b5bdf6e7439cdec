"""Who posted it, through the real proxy: the feed JSON, then the image; then the case file.

A fake Instagram (site and CDN) serves HTTPS on 127.0.0.1; the client goes through a real
`sentinelle run`. The feed names the account; the alert says so; `sentinelle export`
writes the case file, `sentinelle verify` checks it and catches a tampered copy.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import json
import zipfile
from pathlib import Path

import pytest

from tests.conftest import kodak, square_crop_copy
from tests.support.certs import make_origin_certs
from tests.support.origin import serve_origin
from tests.support.scenario import CDN, wait_for
from tests.support.watcher import Watcher, sentinelle

SITE = "www.instagram.com"
FEEDS = Path(__file__).parent / "fixtures" / "feeds"
RECORDED_CDN = "scontent-cdg4-1.cdninstagram.com"


def feed(account: str, code: str, image_path: str) -> bytes:
    """The recorded timeline shape, naming `account` as the poster of the image at `image_path`."""
    text = (FEEDS / "instagram_timeline.json").read_text()
    text = text.replace("fake.account.123", account).replace("C0dEfGhIjKl", code)
    text = text.replace(f"{RECORDED_CDN}/v/t51.29350-15/431000001_1_n.jpg", f"{CDN}{image_path}")
    return text.encode()


async def test_the_alert_names_the_account_and_its_case_file_stands_up(tmp_path, data_dir):
    sentinelle(data_dir, "enroll", "--child", "Alice", str(kodak(5)))
    copy, copy2 = square_crop_copy(kodak(5)), square_crop_copy(kodak(5), width=400)
    files = {
        "/api/v1/feed/timeline/": ("application/json; charset=utf-8",
                                   feed("fake.account.123", "C0dEfGhIjKl", "/v/t51/111_n.jpg")),
        "/api/v1/feed/user/second/": ("application/json", feed("second.thief", "C9zZzZzZzZz", "/v/t51/222_n.jpg")),
        "/v/t51/111_n.jpg": ("image/jpeg", copy),
        "/v/t51/222_n.jpg": ("image/jpeg", copy2),
    }
    certs = make_origin_certs(tmp_path / "origin", [CDN, SITE])
    async with serve_origin(certs, files) as origin:
        watcher = await asyncio.to_thread(Watcher, data_dir, {CDN: origin.port, SITE: origin.port}, certs.ca_file)

        def feeds_read() -> bool:  # every feed fetched so far is read for who posted what
            return watcher.api("GET", "/api/stats")[1]["images"]["reading"] == 0

        try:
            # The browser loads the feed (compressed, as sites send it), then its images.
            got = await asyncio.to_thread(watcher.fetch, SITE, "/api/v1/feed/timeline/?enc=gzip")
            assert got.status == 200 and got.headers["Content-Encoding"] == "gzip"  # passed on as sent
            assert gzip.decompress(got.body) == files["/api/v1/feed/timeline/"][1]
            await wait_for(feeds_read)  # as a browser renders the feed before fetching its images
            image = await asyncio.to_thread(watcher.fetch, CDN, "/v/t51/111_n.jpg?stp=dst-jpg_e35_p640x640&oh=00_A&oe=1",
                                            headers={"Referer": f"https://{SITE}/"})
            assert image.body == copy
            await wait_for(lambda: watcher.api("GET", "/api/stats")[1]["alerts"] == 1)
            _, [alert] = await asyncio.to_thread(watcher.api, "GET", "/api/alerts")
            assert alert["account"] == "fake.account.123"
            assert alert["post_url"] == "https://www.instagram.com/p/C0dEfGhIjKl/"
            assert alert["account_url"] == "https://www.instagram.com/fake.account.123/"
            assert alert["page_url"] == f"https://{SITE}/"

            # Another account posting the same photo is its own alert.
            await asyncio.to_thread(watcher.fetch, SITE, "/api/v1/feed/user/second/")
            await wait_for(feeds_read)
            await asyncio.to_thread(watcher.fetch, CDN, "/v/t51/222_n.jpg?oh=00_B")
            await wait_for(lambda: watcher.api("GET", "/api/stats")[1]["alerts"] == 2)
            _, alerts = await asyncio.to_thread(watcher.api, "GET", "/api/alerts")
            assert [a["account"] for a in alerts] == ["second.thief", "fake.account.123"]

            # The evidence: the bytes, their hash, the full URL, the headers, the feed record.
            _, detail = await asyncio.to_thread(watcher.api, "GET", f"/api/alerts/{alert['id']}")
            [s] = detail["sightings"]
            assert s["evidence_sha256"] == hashlib.sha256(copy).hexdigest()
            assert s["image_url"] == f"https://{CDN}/v/t51/111_n.jpg?stp=dst-jpg_e35_p640x640&oh=00_A&oe=1"
            headers = s["response_headers"]
            assert headers["content-type"] == "image/jpeg" and "date" in headers and "server" in headers
            record = s["attribution"]
            assert record["feed_url"] == f"https://{SITE}/api/v1/feed/timeline/?enc=gzip"
            assert json.loads(record["record"])["code"] == "C0dEfGhIjKl"

            # The review page's button: the same case file over the API.
            status, zipped = await asyncio.to_thread(watcher.api, "GET", f"/api/casefile?alert={alert['id']}")
            assert status == 200 and zipped[:2] == b"PK"
        finally:
            code = await asyncio.to_thread(watcher.stop)
    out, err = watcher.output
    assert code == 0 and "Traceback" not in err, err
    # What the feeds said of posts that matched nothing stayed in memory: not a trace on disk.
    for path in data_dir.rglob("*"):
        if path.is_file():
            assert b"other.person" not in path.read_bytes(), path

    case = tmp_path / "case.zip"
    said = sentinelle(data_dir, "export", "--account", "fake.account.123", "-o", str(case)).stdout
    assert "1 alert(s)" in said
    with zipfile.ZipFile(case) as z:
        assert hashlib.sha256(z.read(f"evidence/{hashlib.sha256(copy).hexdigest()}.jpg")).hexdigest() \
            == hashlib.sha256(copy).hexdigest()
        assert "posted by @fake.account.123 on Instagram" in z.read("report.html").decode()
        assert "second.thief" not in z.read("report.html").decode()
    assert "match the manifest" in sentinelle(data_dir, "verify", str(case)).stdout

    tampered = tmp_path / "tampered.zip"
    with zipfile.ZipFile(case) as src, zipfile.ZipFile(tampered, "w") as dst:
        for name in src.namelist():
            data = src.read(name)
            dst.writestr(name, data.replace(b"fake.account.123", b"someone.else") if name == "sightings.json" else data)
    result = sentinelle(data_dir, "verify", str(tampered), check=False)
    assert result.returncode == 1 and "sightings.json: changed" in result.stdout


# Each platform through the real proxy: its feed as the site sends it (a fixture of
# tests/fixtures/feeds/), then one of the feed's images fetched from its CDN at a size (or a
# mirror, or a signature) the feed does not name. (site, feed path, content type, fixture,
# CDN host, image path and query, account, post, who posted it first.)
PLATFORMS = {
    "instagram": ("www.instagram.com", "/graphql/query", "application/json", "instagram_xdt_home.json",
                  "scontent-cdg4-1.cdninstagram.com",
                  "/v/t51.2885-15/451000001_1_n.jpg?stp=dst-jpg_e35_s320x320&_nc_ht=x&oh=00_Other&oe=6745B000",
                  "home.poster", "https://www.instagram.com/p/DAhOmEfEeD1/", None),
    "x": ("x.com", "/i/api/graphql/Q1w2e3/HomeLatestTimeline", "application/json", "x_home_latest_timeline.json",
          "pbs.twimg.com", "/media/GeOrIgInAl10?format=jpg&name=small",
          "the_retweeter", "https://x.com/the_retweeter/status/1862000000000000011", "first_poster"),
    "tiktok": ("www.tiktok.com", "/api/recommend/item_list/", "application/json", "tiktok_item_list.json",
               "p19-sign.tiktokcdn-us.com",
               "/tos-maliva-i-photomode-us/aabbccdd0001~tplv-photomode-tx2.jpeg?x-expires=1764200000&x-signature=New",
               "tt.someone", "https://www.tiktok.com/@tt.someone/photo/7440000000000000001", None),
    "reddit": ("www.reddit.com", "/r/aww/.json", "application/json", "reddit_crosspost.json",
               "preview.redd.it", "/xp0riginal1.jpeg?width=640&crop=smart&auto=webp&s=5f5f5f",
               "cross_poster", "https://www.reddit.com/r/aww/comments/1h1dddd/vu_ailleurs/", "original_poster"),
    "pinterest": ("www.pinterest.com", "/resource/BaseSearchResource/get/", "application/json",
                  "pinterest_search_repin.json", "i.pinimg.com",
                  "/564x/1f/2e/3d/1f2e3d4c5b6a79881f2e3d4c5b6a7988.jpg",
                  "re.pinner", "https://www.pinterest.com/pin/1125000000000000010/", "first.pinner"),
    "facebook": ("www.facebook.com", "/api/graphql/", "text/html; charset=utf-8", "facebook_graphql_feed.json",
                 "scontent-cdg4-2.xx.fbcdn.net", "/v/t39.30808-6/471000004_1_2_n.jpg?stp=dst-jpg_p526x395&oh=00_Q&oe=6745",
                 "Feed Poster", "https://www.facebook.com/permalink.php?story_fbid=1090000000000002&id=100000000000002",
                 None),
    "snapchat": ("www.snapchat.com", "/spotlight/W7_EDlSpOtLiGhT0001", "text/html; charset=utf-8",
                 "snapchat_spotlight.html", "cf-st.sc-cdn.net", "/d/sP0tThumb0001.1024.IRZXSOY",
                 "snap.poster", "https://www.snapchat.com/spotlight/W7_EDlSpOtLiGhT0001", None),
}


@pytest.mark.parametrize("platform", sorted(PLATFORMS))
async def test_each_platform_s_feed_names_who_posted_an_image_fetched_at_another_size(tmp_path, data_dir, platform):
    site, feed_path, content_type, fixture, cdn, image, account, post_url, first = PLATFORMS[platform]
    sentinelle(data_dir, "enroll", "--child", "Alice", str(kodak(5)))
    copy = square_crop_copy(kodak(5))
    files = {feed_path: (content_type, (FEEDS / fixture).read_bytes()), image.split("?")[0]: ("image/jpeg", copy)}
    certs = make_origin_certs(tmp_path / "origin", [site, cdn])
    async with serve_origin(certs, files) as origin:
        watcher = await asyncio.to_thread(Watcher, data_dir, {site: origin.port, cdn: origin.port}, certs.ca_file)
        try:
            got = await asyncio.to_thread(watcher.fetch, site, feed_path)
            assert got.status == 200
            await wait_for(lambda: watcher.api("GET", "/api/stats")[1]["images"]["reading"] == 0)
            fetched = await asyncio.to_thread(watcher.fetch, cdn, image, headers={"Referer": f"https://{site}/"})
            assert fetched.body == copy
            await wait_for(lambda: watcher.api("GET", "/api/stats")[1]["alerts"] == 1)
            _, [alert] = await asyncio.to_thread(watcher.api, "GET", "/api/alerts")
            assert (alert["platform"], alert["account"], alert["post_url"]) == (platform, account, post_url)
            assert alert["first_account"] == first and alert["shown_as"] == "post"
            assert alert["image_url"] == f"https://{cdn}{image}"
        finally:
            code = await asyncio.to_thread(watcher.stop)
    assert code == 0 and "Traceback" not in watcher.output[1], watcher.output[1]


async def test_an_alert_known_by_id_is_named_by_a_later_feed_and_a_story_keeps_its_expiry(tmp_path, data_dir):
    """A hashtag grid names the poster by id alone (docs/feed-shapes.md; gdl
    `_parse_post_graphql`); her stories, seen later, name her handle: the first alert says who,
    and the story's alert keeps when the story disappears."""
    sentinelle(data_dir, "enroll", "--child", "Alice", str(kodak(5)))
    copy, copy2 = square_crop_copy(kodak(5)), square_crop_copy(kodak(5), width=400)
    owner = {"id": "4300000077", "username": "named.later", "profile_pic_url": f"https://{CDN}/v/t51.2885-19/461077_n.jpg"}
    hashtag = {"data": {"hashtag": {"name": "vacances", "edge_hashtag_to_media": {"edges": [{"node": {
        "__typename": "GraphImage", "id": "3200000000000000077", "shortcode": "CIdOnLy77", "owner": {"id": "4300000077"},
        "display_url": f"https://{CDN}/v/t51.2885-15/333077_n.jpg?stp=dst-jpg_e35&oh=00_A"}}]}}}}
    stories = {"data": {"reels_media": [{"__typename": "GraphReel", "id": "4300000077", "owner": owner,
                                         "latest_reel_media": 1764000000, "expiring_at": 1764086400, "items": [{
        "__typename": "GraphStoryImage", "id": "3300000000000000078", "owner": owner,
        "display_url": f"https://{CDN}/v/t51.12442-15/444078_n.jpg?oh=00_B", "taken_at_timestamp": 1764000000,
        "expiring_at_timestamp": 1764086400}]}]}}
    files = {"/explore/tags/vacances/": ("application/json", json.dumps(hashtag).encode()),
             "/graphql/query/": ("application/json", json.dumps(stories).encode()),
             "/v/t51.2885-15/333077_n.jpg": ("image/jpeg", copy), "/v/t51.12442-15/444078_n.jpg": ("image/jpeg", copy2)}
    certs = make_origin_certs(tmp_path / "origin", [CDN, SITE])
    async with serve_origin(certs, files) as origin:
        watcher = await asyncio.to_thread(Watcher, data_dir, {CDN: origin.port, SITE: origin.port}, certs.ca_file)

        def feeds_read() -> bool:
            return watcher.api("GET", "/api/stats")[1]["images"]["reading"] == 0

        def alerts() -> list[dict]:
            return watcher.api("GET", "/api/alerts")[1]

        try:
            await asyncio.to_thread(watcher.fetch, SITE, "/explore/tags/vacances/")
            await wait_for(feeds_read)
            await asyncio.to_thread(watcher.fetch, CDN, "/v/t51.2885-15/333077_n.jpg?stp=dst-jpg_s640x640&oh=00_C")
            await wait_for(lambda: len(alerts()) == 1)
            [by_id] = alerts()
            assert (by_id["account"], by_id["account_id"], by_id["post_url"]) == (
                None, "4300000077", "https://www.instagram.com/p/CIdOnLy77/")

            await asyncio.to_thread(watcher.fetch, SITE, "/graphql/query/")
            await wait_for(lambda: alerts()[0]["account"] == "named.later")  # named by the stories feed
            await asyncio.to_thread(watcher.fetch, CDN, "/v/t51.12442-15/444078_n.jpg?oh=00_D")
            await wait_for(lambda: len(alerts()) == 2)
            story, post = alerts()
            assert (story["account"], story["shown_as"], story["expires_at"]) == (
                "named.later", "story", "2025-11-25T16:00:00+00:00")
            assert story["post_url"] == "https://www.instagram.com/stories/named.later/3300000000000000078/"
            assert (post["id"], post["account"], post["shown_as"]) == (by_id["id"], "named.later", "post")
        finally:
            code = await asyncio.to_thread(watcher.stop)
    assert code == 0 and "Traceback" not in watcher.output[1], watcher.output[1]
