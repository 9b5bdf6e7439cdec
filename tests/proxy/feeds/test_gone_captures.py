"""proxy/feeds/gone.py on what the platforms really sent (../shared/datasets/feeds/, read from
there, never copied here): no live page or call of a real capture, answered for the profile of
a reported account, reads as a takedown; and X's answer, whose path to the account's result a
real capture shows, reads as gone once that result is the one X gives a suspended account.
None of the captures is of an account that was gone: which markers a capture confirms, and
which come from the scrapers' sources only, is in docs/feed-shapes.md. Skipped, saying why,
without ../shared.
"""

from __future__ import annotations

import json

import pytest

from benchmarks.feed_census import CAPTURES, captures, content_type
from sentinelle.proxy.feeds.gone import account_gone
from tests.proxy.feeds.test_gone import X_CALL

pytestmark = pytest.mark.skipif(not captures(), reason=f"the real captures are not here ({CAPTURES})")

# The address of a profile (its page, or its page's call for it) on each network, as the proxy
# would be asked it for a reported account.
PROFILES = {
    "instagram": ("https://www.instagram.com/alice.fake/",
                  "https://www.instagram.com/api/v1/users/web_profile_info/?username=alice.fake"),
    "x": ("https://x.com/alice_fake", X_CALL),
    "tiktok": ("https://www.tiktok.com/@alice.fake", "https://www.tiktok.com/api/user/detail/?uniqueId=alice.fake"),
    "reddit": ("https://www.reddit.com/user/alice_fake/", "https://www.reddit.com/user/alice_fake/about.json"),
    "facebook": ("https://www.facebook.com/alice.fake",),
    "pinterest": ("https://www.pinterest.com/alice_fake/",),
}


@pytest.mark.parametrize(("platform", "path"), captures(), ids=[p.name for _, p in captures()])
def test_no_live_answer_of_a_real_capture_reads_as_a_takedown(platform, path):
    body = path.read_bytes()
    for url in PROFILES[platform]:
        assert account_gone(platform, url, 200, content_type(path), body) is None, url


def test_x_s_answer_reads_as_gone_where_a_real_capture_shows_the_account_s_result():
    [live] = [p for platform, p in captures() if p.name == "twscrape_raw_user_tweets.json"]
    doc = json.loads(live.read_bytes())
    assert doc["data"]["user"]["result"]["__typename"] == "User"  # the path, as X really sent it
    doc["data"]["user"]["result"] = {"__typename": "UserUnavailable", "reason": "Suspended"}
    gone = account_gone("x", X_CALL, 200, "application/json", json.dumps(doc).encode())
    assert gone is not None and (gone.handle, gone.why) == ("alice_fake", "UserUnavailable (Suspended)")
