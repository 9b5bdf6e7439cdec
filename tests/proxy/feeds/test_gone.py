"""proxy/feeds/gone.py: which account a request asks about, and whether the network's answer
says it is gone, for each network (tests/fixtures/gone/), and never for a live profile."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import quote

import pytest

from sentinelle.proxy.feeds.gone import (
    BANNED,
    KEEP_BYTES,
    NO_SUCH_ACCOUNT,
    PAGE_SAYS,
    SUSPENDED,
    account_gone,
    profile_of,
)

GONE = Path(__file__).parents[2] / "fixtures" / "gone"
FEEDS = Path(__file__).parents[2] / "fixtures" / "feeds"
X_CALL = ("https://x.com/i/api/graphql/abc/UserByScreenName?variables="
          + quote(json.dumps({"screen_name": "alice_fake", "withSafetyModeUserFields": True})))

# (platform, address asked, content type, fixture) → the account, what said it is gone, and what
# that means (a key of server/words.py) when it needs words.
ANSWERS = [
    ("instagram", "https://www.instagram.com/alice.fake/", "text/html; charset=utf-8",
     "instagram_profile_gone.html", ("Sorry, this page isn't available", PAGE_SAYS)),
    ("instagram", "https://www.instagram.com/api/v1/users/web_profile_info/?username=alice.fake",
     "application/json; charset=utf-8", "instagram_web_profile_info_gone.json", ("data.user is null", NO_SUCH_ACCOUNT)),
    ("x", X_CALL, "application/json", "x_user_by_screen_name_suspended.json", ("UserUnavailable (Suspended)", None)),
    ("x", X_CALL, "application/json", "x_user_by_screen_name_missing.json", ("data is empty", NO_SUCH_ACCOUNT)),
    ("tiktok", "https://www.tiktok.com/@alice.fake", "text/html", "tiktok_user_page_gone.html",
     ("statusCode 10221", BANNED)),
    ("tiktok", "https://www.tiktok.com/api/user/detail/?uniqueId=alice.fake&secUid=", "application/json",
     "tiktok_user_detail_gone.json", ("statusCode 10202", NO_SUCH_ACCOUNT)),
    ("reddit", "https://www.reddit.com/user/alice_fake/about.json", "application/json; charset=UTF-8",
     "reddit_about_suspended.json", ("is_suspended", SUSPENDED)),
    ("facebook", "https://www.facebook.com/alice.fake", "text/html; charset=utf-8",
     "facebook_profile_gone.html", ("This content isn't available right now", PAGE_SAYS)),
]


@pytest.mark.parametrize(("platform", "url", "content_type", "fixture", "why"), ANSWERS,
                         ids=[a[3] for a in ANSWERS])
def test_each_network_s_answer_for_a_gone_account_is_read(platform, url, content_type, fixture, why):
    body = (GONE / fixture).read_bytes()
    gone = account_gone(platform, url, 200, content_type, body)
    assert gone is not None
    assert (gone.platform, (gone.why, gone.means), gone.url, gone.status) == (platform, why, url, 200)
    assert gone.handle in ("alice.fake", "alice_fake") and gone.body == body


def test_an_x_account_unavailable_for_no_reason_given_says_only_so():
    body = json.dumps({"data": {"user": {"result": {"__typename": "UserUnavailable"}}}}).encode()
    gone = account_gone("x", X_CALL, 200, "application/json", body)
    assert gone is not None and (gone.why, gone.means) == ("UserUnavailable", None)


def test_every_fixture_is_read():
    assert {a[3] for a in ANSWERS} == {p.name for p in GONE.iterdir() if p.suffix != ".md"}


@pytest.mark.parametrize(("platform", "url"), [
    ("pinterest", "https://www.pinterest.com/alice_fake/"),
    ("snapchat", "https://www.snapchat.com/add/alice_fake"),
    ("reddit", "https://www.reddit.com/user/alice_fake/about.json"),
    ("instagram", "https://www.instagram.com/alice_fake/"),
    ("x", "https://x.com/alice_fake"),
    ("tiktok", "https://www.tiktok.com/@alice_fake"),
    ("facebook", "https://www.facebook.com/alice_fake"),
])
@pytest.mark.parametrize("status", [404, 410])
def test_a_profile_answered_not_found_is_gone(platform, url, status):
    gone = account_gone(platform, url, status, "text/html", b"<html>Not found</html>")
    assert gone is not None and (gone.handle, gone.why, gone.means) == ("alice_fake", f"HTTP {status}", None)


@pytest.mark.parametrize("status", [401, 403, 429, 500, 502, 302])
def test_an_answer_that_says_nothing_of_the_account_is_not_a_takedown(status):
    # A login wall, a rate limit, the network's own error: the account may well be there.
    assert account_gone("instagram", "https://www.instagram.com/alice_fake/", status, "text/html",
                        (GONE / "instagram_profile_gone.html").read_bytes()) is None


@pytest.mark.parametrize(("platform", "url", "content_type", "fixture"), [
    ("instagram", "https://www.instagram.com/insta.profile/", "text/html", "instagram_profile.html"),
    ("tiktok", "https://www.tiktok.com/@tt.profile", "text/html", "tiktok_user_page.html"),
    ("reddit", "https://www.reddit.com/user/avatar_user/about.json", "application/json", "reddit_user_about.json"),
    ("x", X_CALL, "application/json", "x_user_media.json"),
])
def test_a_live_profile_is_not_gone(platform, url, content_type, fixture):
    assert account_gone(platform, url, 200, content_type, (FEEDS / fixture).read_bytes()) is None


def test_a_sentence_is_read_only_on_a_profile_and_only_near_the_top():
    page = (GONE / "instagram_profile_gone.html").read_bytes()
    # A post's page quoting the sentence, or the network's own pages, are no account's.
    for url in ("https://www.instagram.com/p/Cabc123/", "https://www.instagram.com/explore/",
                "https://www.instagram.com/"):
        assert account_gone("instagram", url, 200, "text/html", page) is None
    # A live profile whose bio (far down its page) quotes the sentence is not gone.
    live = b"<html><title>Alice (@alice_fake)</title>" + b" " * 300_000 + b"Sorry, this page isn't available"
    assert account_gone("instagram", "https://www.instagram.com/alice_fake/", 200, "text/html", live) is None


def test_the_page_kept_as_evidence_is_bounded():
    gone = account_gone("instagram", "https://www.instagram.com/alice_fake/", 404, "text/html", b"x" * (KEEP_BYTES * 2))
    assert len(gone.body) == KEEP_BYTES


@pytest.mark.parametrize(("platform", "url", "handle"), [
    ("instagram", "https://www.instagram.com/alice.fake/?hl=fr", "alice.fake"),
    ("instagram", "https://www.instagram.com/stories/alice.fake/123/", None),
    ("x", "https://x.com/alice_fake/media", None),
    ("x", "https://x.com/home", None),
    ("tiktok", "https://www.tiktok.com/@alice.fake/video/1", None),
    ("reddit", "https://old.reddit.com/u/alice_fake", "alice_fake"),
    ("reddit", "https://www.reddit.com/user/alice_fake/comments/", None),
    ("snapchat", "https://www.snapchat.com/add/alice_fake?share_id=1", "alice_fake"),
    ("facebook", "https://www.facebook.com/profile.php?id=100", None),
    ("other", "https://example.net/alice", None),
])
def test_which_account_a_request_asks_about(platform, url, handle):
    assert profile_of(platform, url) == handle
