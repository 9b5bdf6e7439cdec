"""benchmarks/feed_census.py: what a response shows, counted as issue 29 counts it (the
distinct images of the platform's image servers; videos, sounds, scripts and the sites' own
icons left out), whatever the escaping the body writes its addresses in."""

from __future__ import annotations

import json

import pytest

from benchmarks.feed_census import ACCOUNT, POST, addresses, census, kind_of
from benchmarks.feeds import DOCS, DOCS_TABLE

IG = "https://scontent-cdg4-1.cdninstagram.com/v/t51.2885-15/451000001_1_n.jpg?stp=dst-jpg_s640x640&_nc_ht=x&oh=S&oe=1"


def test_addresses_are_found_however_the_body_escapes_them():
    body = (json.dumps({"a": IG}) + '<img src="' + IG.replace("&", "&amp;") + '">'
            + "<i style=\"background: url(&#039;" + IG.replace(":", "\\3a ").replace("&", "\\26 ").replace("=", "\\3d ")
            + "&#039;)\"></i>" + '{"b":"' + IG.replace("/", "\\/").replace("&", "\\u0026") + '"}')
    assert addresses(body) == {IG}


@pytest.mark.parametrize(("platform", "url", "kind"), [
    ("instagram", IG, POST),
    ("instagram", "https://scontent.cdninstagram.com/v/t51.2885-19/461000001_1_n.jpg?oh=S", ACCOUNT),
    ("instagram", "https://scontent.cdninstagram.com/v/t50.2886-16/481_1_n.mp4?oh=V", None),  # a video
    ("instagram", "https://scontent.fplm3-1.fna.fbcdn.net/v/t39.12897-6/2_1_n.m4a?oh=A", None),  # a sound
    ("instagram", "https://static.cdninstagram.com/rsrc.php/v3/yb/r/lswP1OF1o6P.png", None),  # the site's icon
    ("facebook", "https://scontent.fhlz2-1.fna.fbcdn.net/v/t1.6435-1/cp0/p480x480/1_2_n.jpg", ACCOUNT),
    ("facebook", "https://scontent.fhlz2-1.fna.fbcdn.net/v/t1.6435-9/cp0/s640x640/1_3_n.jpg", POST),
    ("facebook", "https://external.fhlz2-1.fna.fbcdn.net/safe_image.php?d=AQ&url=https%3A%2F%2Fa.org%2Fb.jpg", POST),
    ("facebook", "https://static.xx.fbcdn.net/rsrc.php/v3/y4/r/icon.png", None),
    ("x", "https://pbs.twimg.com/media/GeAbC?format=jpg&name=small", POST),
    ("x", "https://pbs.twimg.com/card_img/186/AbC?format=jpg&name=800x419", POST),
    ("x", "https://pbs.twimg.com/profile_banners/2244994945/1690213128", ACCOUNT),
    ("x", "https://video.twimg.com/ext_tw_video/1/pu/vid/720x1280/a.mp4", None),
    ("x", "https://abs.twimg.com/emoji/v2/72x72/1f600.png", None),
    ("tiktok", "https://p16-sign-va.tiktokcdn.com/tos-maliva-avt-0068/ab~c5_720x720.jpeg?x-signature=S", ACCOUNT),
    ("tiktok", "https://p16-sign-sg.tiktokcdn.com/obj/tos-maliva-p-0068/ab?x-signature=S", POST),
    ("tiktok", "https://p16-sg.tiktokcdn.com/obj/musically-maliva-obj/92b4fa02fc5f0d54526d03dedf5dac1d", None),  # a hashtag's
    ("tiktok", "https://v16-webapp-prime.us.tiktok.com/video/tos/a/?mime_type=video_mp4", None),
    ("reddit", "https://b.thumbs.redditmedia.com/ThUmB.jpg", POST),
    ("reddit", "https://styles.redditmedia.com/t5_2abc/styles/profileIcon_x.jpg?width=256", ACCOUNT),
    ("reddit", "https://i.redd.it/award_images/t5_22cerq/5izbv4fn0md41_Wholesome.png", None),
    ("reddit", "https://www.redditstatic.com/gold/awards/icon/silver_512.png", None),
    ("reddit", "https://v.redd.it/abc/DASH_720.mp4", None),
    ("pinterest", "https://i.pinimg.com/236x/41/44/a5/4144a5430a201a1cf540fe425e385c4a.jpg", POST),
    ("pinterest", "https://i.pinimg.com/75x75_RS/0f/37/29/0f3729d419395593edda822d3185dd9d.jpg", ACCOUNT),
    ("pinterest", "https://i.pinimg.com/favicons/ab.png?c3", None),  # the icon of a site a pin links to
    ("pinterest", "https://s.pinimg.com/images/user/default_140.png", None),
    ("pinterest", "https://v1.pinimg.com/videos/mc/hls/ab/cd/ef/abc.m3u8", None),
    ("instagram", "https://example.org/a.jpg", None),
])
def test_each_address_is_a_post_s_image_an_account_s_picture_or_left_out(platform, url, kind):
    assert kind_of(platform, url) == kind


def test_two_sizes_of_one_image_are_one_image():
    body = json.dumps([IG, IG.replace("s640x640", "s1080x1080").replace("oh=S", "oh=T"),
                       "https://scontent.cdninstagram.com/v/t51.2885-19/461000001_1_n.jpg",
                       "https://scontent.cdninstagram.com/v/t50.2886-16/481_1_n.mp4"]).encode()
    counted = census("instagram", body)
    assert sorted(kind for kind, _ in counted.values()) == [ACCOUNT, POST]
    assert set(counted) == {"fbcdn:451000001_1_n", "fbcdn:461000001_1_n"}


def test_a_body_of_no_image_counts_none():
    assert census("x", b"") == {} and census("x", b"<html>no images</html>") == {}


def test_the_parents_guide_shows_the_figures_the_benchmark_measured():
    """docs/parents.md's "Who posted it" table is what `python -m benchmarks.feeds --docs`
    measured, row for row (benchmarks/results/feeds.md)."""
    doc = DOCS.read_text()
    start, end = doc.index(DOCS_TABLE[0]), doc.index(DOCS_TABLE[1])
    rows = [line for line in doc[start:end].splitlines() if line.startswith("| ")]
    assert len(rows) >= 3  # a header, and a row a platform
    results = (DOCS.parents[1] / "benchmarks" / "results" / "feeds.md").read_text().splitlines()
    assert all(row in results for row in rows)
