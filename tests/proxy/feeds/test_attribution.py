"""proxy/feeds/attribution.py: who posted an image, read from the feed shapes of each platform."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from sentinelle.proxy.feeds.attribution import (
    MAX_FEED_BYTES,
    Attribution,
    AttributionMap,
    image_key,
    is_feed,
    parse_feed,
)

FEEDS = Path(__file__).parents[2] / "fixtures" / "feeds"


def read(platform: str, name: str, content_type: str = "application/json") -> dict[str, Attribution]:
    body = (FEEDS / name).read_bytes()
    return dict(parse_feed(platform, f"https://www.example.com/{name}", content_type, body))


def test_instagram_api_feed_names_the_account_post_and_caption_of_every_size():
    found = read("instagram", "instagram_timeline.json")
    a = AttributionMap()
    a.add_all(list(found.items()))
    for size in ("s1080x1080", "s640x640"):  # every candidate, whatever its signature
        got = a.lookup("https://scontent-cdg4-1.cdninstagram.com/v/t51.29350-15/431000001_1_n.jpg"
                       f"?stp=dst-jpg_e35_{size}&_nc_ht=x&oh=00_other&oe=1")
        assert got is not None
        assert (got.account, got.post_url, got.caption) == (
            "fake.account.123", "https://www.instagram.com/p/C0dEfGhIjKl/", "my new profile pic 💖")
        assert got.account_url == "https://www.instagram.com/fake.account.123/"
        assert got.platform == "instagram" and got.feed_url.endswith("instagram_timeline.json")
        assert json.loads(got.record)["code"] == "C0dEfGhIjKl"  # the feed record, kept as evidence
    # A carousel's images belong to the carousel's post and account.
    child = a.lookup("https://scontent-cdg4-2.cdninstagram.com/v/t51.29350-15/431000003_3_n.jpg?oe=1")
    assert (child.account, child.post_url, child.caption) == (
        "other.person", "https://www.instagram.com/p/C0zYxWvUtSr/", None)
    assert len(found) == 3


def test_instagram_graphql_and_profile_html_with_embedded_json():
    found = read("instagram", "instagram_graphql.json")
    post = found[image_key("https://scontent-lhr8-1.cdninstagram.com/v/t51.2885-15/e35/431000010_n.jpg")]
    assert (post.account, post.post_url, post.caption) == (
        "copycat_account", "https://www.instagram.com/p/B1aBcDeFgHi/", "summer 🌞")
    # A sidecar's child has no owner of its own: it keeps the account of the post it is in.
    child = found[image_key("https://scontent-lhr8-1.cdninstagram.com/v/t51.2885-15/e35/431000012_n.jpg")]
    assert child.account == "copycat_account"

    page = read("instagram", "instagram_profile.html", "text/html; charset=utf-8")
    (key, got), = page.items()
    assert key == "fbcdn:431000020_n"  # the file name: the same on every host, size and signature
    assert (got.account, got.post_url, got.caption) == (
        "profile.thief", "https://www.instagram.com/p/C9pRoFiLe01/", "c'est moi")


def test_x_timeline_media_of_a_tweet_and_its_sizes():
    a = AttributionMap()
    a.add_all(list(read("x", "x_home_timeline.json").items()))
    for url in ("https://pbs.twimg.com/media/GdAbCdEfXYZ?format=jpg&name=small",
                "https://pbs.twimg.com/media/GdAbCdEfXYZ.jpg:large",
                "https://pbs.twimg.com/media/GdAbCdEfXY2?format=webp&name=900x900"):
        got = a.lookup(url.replace(".jpg:large", ".jpg"))
        assert got is not None, url
        assert got.account == "someone_x" and got.account_url == "https://x.com/someone_x"
        assert got.post_url == "https://x.com/someone_x/status/1861000000000000001"
        assert got.caption == "look at this https://t.co/abc"


def test_tiktok_photo_posts_video_covers_and_the_page_s_rehydration_data():
    found = read("tiktok", "tiktok_item_list.json")
    a = AttributionMap()
    a.add_all(list(found.items()))
    photo = a.lookup("https://p16-sign-va.tiktokcdn.com/tos-maliva-i-photomode-us/"
                     "aabbccdd0001~tplv-photomode-image.jpeg?x-expires=999&x-signature=other")
    assert (photo.account, photo.post_url, photo.caption) == (
        "tt.someone", "https://www.tiktok.com/@tt.someone/photo/7440000000000000001", "photo dump #fyp")
    cover = a.lookup("https://p16-sign-va.tiktokcdn.com/obj/tos-maliva-p-0068/ooCoverXyz?x-expires=2")
    assert cover.post_url == "https://www.tiktok.com/@video.maker/video/7440000000000000002"
    assert cover.caption is None  # an empty description is no caption

    page = read("tiktok", "tiktok_page.html", "text/html")
    (got,) = page.values()
    assert (got.account, got.caption) == ("page.poster", "souvenir")


def test_reddit_posts_previews_and_galleries():
    a = AttributionMap()
    a.add_all(list(read("reddit", "reddit_listing.json").items()))
    for url in ("https://i.redd.it/abc123xyz.jpeg",
                "https://preview.redd.it/abc123xyz.jpeg?width=640&crop=smart&auto=webp&s=zz"):
        got = a.lookup(url)
        assert (got.account, got.caption) == ("throwaway_1234", "found this"), url
        assert got.post_url == "https://www.reddit.com/r/pics/comments/1h0aaaa/found_this/"
        assert got.account_url == "https://www.reddit.com/user/throwaway_1234/"
    assert a.lookup("https://preview.redd.it/m1xyz.jpg?width=320&s=1").account == "gallery_poster"


def test_pinterest_pins_every_size_folder_is_the_same_image():
    a = AttributionMap()
    a.add_all(list(read("pinterest", "pinterest_resource.json").items()))
    for size in ("236x", "474x", "originals"):
        got = a.lookup(f"https://i.pinimg.com/{size}/ab/cd/ef/abcdef0123456789.jpg")
        assert got.account == "pin.collector", size
        assert got.post_url == "https://www.pinterest.com/pin/1125000000000000001/"
        assert got.caption == "cute kid photo"


@pytest.mark.parametrize("body", [
    b"", b"not json at all", b"{\"broken\": ", b"[1, 2, 3]", b"null", b"\xff\xfe\x00garbage",
    json.dumps({"code": 5, "user": "someone", "image_versions2": {"candidates": "x"}}).encode(),
    json.dumps({"code": "abc", "user": ["list"], "display_url": 12}).encode(),
    json.dumps({"kind": "t3", "data": {"preview": {"images": [None, 3]}, "url": None}}).encode(),
    json.dumps({"id": "1", "images": {"orig": "not a dict"}, "pinner": None}).encode(),
    json.dumps({"id": 7, "imagePost": {}, "author": {"uniqueId": "x"}}).encode(),
    json.dumps({"a": [[[[{"b": {}}]]]] * 100}).encode(),
])
@pytest.mark.parametrize("platform", ["instagram", "x", "tiktok", "reddit", "pinterest", "facebook", "other"])
def test_unknown_or_broken_shapes_are_ignored_without_error(platform, body):
    assert parse_feed(platform, "https://www.example.com/feed", "application/json", body) == []


def test_a_deep_document_and_a_huge_one_are_left_alone():
    deep = b"[" * 100_000 + b"]" * 100_000  # json.loads gives up with a RecursionError
    assert parse_feed("instagram", "u", "application/json", deep) == []
    huge = b'{"x": "' + b"a" * MAX_FEED_BYTES + b'"}'
    assert parse_feed("instagram", "u", "application/json", huge) == []


def test_a_feed_of_a_few_hundred_kb_is_read_quickly():
    item = json.loads((FEEDS / "instagram_timeline.json").read_text())["feed_items"][0]
    feed = {"feed_items": []}
    for n in range(400):
        media = json.loads(json.dumps(item).replace("C0dEfGhIjKl", f"C{n:010d}").replace("431000001", f"5{n:08d}"))
        feed["feed_items"].append(media)
    body = json.dumps(feed).encode()
    assert len(body) > 300_000
    start = time.perf_counter()
    found = parse_feed("instagram", "u", "application/json", body)
    elapsed = time.perf_counter() - start
    assert len(found) == 400
    assert elapsed < 1.0, elapsed  # ~50 ms here, in a worker process, off the response path


def test_the_map_is_bounded_and_forgets_the_oldest():
    a = AttributionMap(max_entries=3)
    record = Attribution("x", "a", None, None, None, "u", "{}")
    for n in range(5):
        a.add(image_key(f"https://pbs.twimg.com/media/{n}.jpg"), record)
    assert len(a) == 3
    assert a.lookup("https://pbs.twimg.com/media/0.jpg") is None
    assert a.lookup("https://pbs.twimg.com/media/4?format=jpg") is record


def test_image_keys_drop_signatures_sizes_and_extensions_but_not_the_image():
    assert image_key("https://Scontent.cdninstagram.com/v/a_n.jpg?oh=1&oe=2") == "fbcdn:a_n"
    assert image_key("https://preview.redd.it/x.jpeg?width=1&amp;s=2") == "reddit:x"
    assert image_key("https://cdn.example.org/v/a.jpg?sig=1") == "cdn.example.org/v/a"  # no known CDN: host and path
    assert image_key("//i.pinimg.com/236x/ab/x.jpg") == image_key("https://i.pinimg.com/originals/ab/x.jpg")
    assert image_key("https://pbs.twimg.com/media/A.jpg") != image_key("https://pbs.twimg.com/media/B.jpg")


def test_which_responses_are_feeds():
    for content_type in ("application/json", "application/json; charset=utf-8", "text/javascript; charset=utf-8",
                         "text/html; charset=utf-8", "application/vnd.api+json"):
        assert is_feed(content_type), content_type
    for content_type in ("image/jpeg", "text/css", "video/mp4", "", "application/octet-stream"):
        assert not is_feed(content_type), content_type


def _by_id(key: str, account_id: str) -> Attribution:
    return Attribution("instagram", None, None, f"https://www.instagram.com/p/{key}/", None, "u", "{}",
                       account_id=account_id)


def _named(account: str, account_id: str, shown_as: str = "profile_picture") -> Attribution:
    return Attribution("instagram", account, f"https://www.instagram.com/{account}/", None, None, "u", "{}",
                       display_name="Her Name", shown_as=shown_as, account_id=account_id)


def test_an_account_named_by_id_is_named_by_a_handle_seen_before_or_after():
    url = "https://scontent.cdninstagram.com/v/t51.2885-15/7_8_9_n.jpg"
    after = AttributionMap()
    after.add(image_key(url), _by_id("CAfter", "4300000099"))
    assert (after.lookup(url).account, after.lookup(url).account_id) == (None, "4300000099")
    after.add("fbcdn:picture", _named("tied.later", "4300000099"))  # any response that ties the id
    got = after.lookup(url)
    assert (got.account, got.account_url, got.display_name) == ("tied.later", "https://www.instagram.com/tied.later/", "Her Name")
    assert (got.post_url, got.shown_as) == ("https://www.instagram.com/p/CAfter/", "post")  # the post stays its own

    before = AttributionMap()
    before.add("fbcdn:picture", _named("tied.before", "4300000098"))
    before.add(image_key(url), _by_id("CBefore", "4300000098"))
    assert before.lookup(url).account == "tied.before"
    assert before.named("instagram", "4300000098").account == "tied.before"
    assert before.named("x", "4300000098") is None  # ids are per platform


def test_an_id_alone_never_hides_a_handle_the_map_had_for_the_image():
    url = "https://scontent.cdninstagram.com/v/t51.2885-15/7_8_0_n.jpg"
    seen = AttributionMap()
    seen.add(image_key(url), _named("known.poster", "1", shown_as="post"))
    seen.add(image_key(url), _by_id("CLater", "2"))
    assert seen.lookup(url).account == "known.poster"


def test_the_map_forgets_the_oldest_ids_past_its_bound():
    seen = AttributionMap(max_entries=2)
    for n in range(3):
        seen.add(f"fbcdn:{n}", _named(f"account{n}", str(n)))
    assert seen.named("instagram", "0") is None and seen.named("instagram", "2").account == "account2"


def test_a_feed_names_an_account_by_handle_rather_than_by_id_alone():
    body = json.dumps({"items": [
        {"code": "CIdOnly", "owner": {"id": "5"}, "display_url": "https://scontent.cdninstagram.com/v/t51.2885-15/1_2_5_n.jpg"},
        {"code": "CNamed", "owner": {"id": "5", "username": "the.handle"},
         "display_url": "https://scontent.cdninstagram.com/v/t51.2885-15/1_2_5_n.jpg"}]}).encode()
    (got,) = dict(parse_feed("instagram", "u", "application/json", body)).values()
    assert (got.account, got.account_id) == ("the.handle", "5")


def test_another_s_sound_keeps_its_creator_s_name_and_the_sound_s_page_without_an_account():
    """A sound names its creator by name only (TikTok-Api `sound.py`: `authorName`): no handle is made up."""
    cover = "https://p16-sign-va.tiktokcdn.com/tos-maliva-avt-0068/0a0b0c0d0e0f00000000000000000b9~c5_100x100.jpeg"
    body = json.dumps({"itemList": [{"id": "7442000000000000091", "author": {"uniqueId": "borrower", "nickname": "Borrower"},
                                     "video": {"cover": "https://p16-sign-va.tiktokcdn.com/obj/tos-maliva-p-0068/c9"},
                                     "music": {"id": "7442000000000000191", "title": "Un Son Connu", "authorName": "Someone Else",
                                               "original": True, "coverThumb": cover}}]}).encode()
    got = dict(parse_feed("tiktok", "u", "application/json", body))[image_key(cover)]
    assert (got.account, got.display_name, got.shown_as) == (None, "Someone Else", "profile_picture")
    assert got.post_url == "https://www.tiktok.com/music/un-son-connu-7442000000000000191"


def test_a_tweet_whose_author_sits_in_author_results_names_it():
    """twscrape `_get_tweet_user_obj` reads `core.user_results`, else `author_results`."""
    tweet = {"__typename": "Tweet", "rest_id": "1862000000000000301",
             "author_results": {"result": {"__typename": "User", "rest_id": "1862000000000000300",
                                           "core": {"screen_name": "elsewhere_author"}}},
             "legacy": {"id_str": "1862000000000000301", "full_text": "photo",
                        "extended_entities": {"media": [{"type": "photo", "media_url_https": "https://pbs.twimg.com/media/GeAuThOr301.jpg"}]}}}
    body = json.dumps({"data": {"tweetResult": {"result": tweet}}}).encode()
    got = dict(parse_feed("x", "u", "application/json", body))["x:media/GeAuThOr301"]
    assert (got.account, got.account_id) == ("elsewhere_author", "1862000000000000300")
