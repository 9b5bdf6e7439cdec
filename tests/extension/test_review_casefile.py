"""The review page's case file button, in a real Chromium: it downloads the ZIP that
`sentinelle export` would write, says who posted the photo, and the ZIP verifies."""

from __future__ import annotations

import zipfile
from datetime import UTC, datetime

from playwright.sync_api import expect

from sentinelle.proxy.engine.matcher import Match
from sentinelle.proxy.feeds.attribution import Attribution
from sentinelle.proxy.fronts.sighting import Sighting
from sentinelle.server.casefile import case as casefile
from sentinelle.server.store.records import Store
from tests.conftest import kodak, square_crop_copy
from tests.extension.conftest import screenshot


def test_the_review_page_downloads_a_case_file_that_verifies(paired, server, tmp_path):
    image_url = server.show_copy(page="https://www.instagram.com/someone.else/")
    alert = server.alert_for(image_url)
    review = paired.open(f"review.html?alert={alert['id']}", 1280, 1400)
    expect(review.locator("#detail")).to_have_attribute("data-alert-id", str(alert["id"]))
    expect(review.locator("#fact-post")).to_have_text("not named by the network's feed")
    with review.expect_download() as info:
        review.get_by_role("button", name="Download the case file").click()
    path = tmp_path / info.value.suggested_filename
    info.value.save_as(path)
    expect(review.locator("#case-file-line")).to_contain_text("Downloaded: sentinelle-case-")
    assert casefile.verify(path).ok
    with zipfile.ZipFile(path) as case:
        assert {"report.html", "report.pdf", "manifest.json"} <= set(case.namelist())


def test_the_review_page_says_who_posted_it(paired, server, tmp_path):
    attribution = Attribution(
        "instagram", "fake.account.123", "https://www.instagram.com/fake.account.123/",
        "https://www.instagram.com/p/C0dEfGhIjKl/", "hi", "https://www.instagram.com/api/v1/feed/timeline/", "{}")
    store = Store(server.watcher.data_dir)
    photo_id = store.photos()[0]["id"]
    alert, _ = store.record_sighting(Sighting(
        datetime.now(UTC), "https://scontent.cdninstagram.com/v/zz.jpg", None, "scontent.cdninstagram.com",
        "instagram", "image/jpeg", square_crop_copy(kodak(5)), Match(photo_id, "crop 1:1", 0, 1.0), {},
        attribution))
    store.close()
    review = paired.open(f"review.html?alert={alert['id']}", 1280, 1400)
    expect(review.locator("#detail-where")).to_have_text("Posted by @fake.account.123 on Instagram")
    expect(review.locator("#fact-post")).to_have_text("https://www.instagram.com/p/C0dEfGhIjKl/")
    with review.expect_download() as info:
        review.get_by_role("button", name="Download the case file").click()
    path = tmp_path / "case.zip"
    info.value.save_as(path)
    with zipfile.ZipFile(path) as case:
        assert "posted by @fake.account.123 on Instagram" in case.read("report.html").decode()
    screenshot(review, "review-posted-by.png")


def test_the_review_page_and_the_case_file_outline_where_the_photo_lies(paired, server, tmp_path):
    copy = square_crop_copy(kodak(5))  # 480 × 480
    region = ((40.0, 30.0), (440.0, 30.0), (440.0, 450.0), (40.0, 450.0))
    store = Store(server.watcher.data_dir)
    photo_id = store.photos()[0]["id"]
    alert, _ = store.record_sighting(Sighting(
        datetime.now(UTC), "https://scontent.cdninstagram.com/v/outlined.jpg", None, "scontent.cdninstagram.com",
        "instagram", "image/jpeg", copy, Match(photo_id, "crop 1:1", 0, 1.0, region=region), {}))
    store.close()
    review = paired.open(f"review.html?alert={alert['id']}", 1280, 1400)
    outline = review.locator("#detail-outline")
    expect(outline).to_be_visible()
    expect(outline.locator(".stroke")).to_have_attribute("points", "40,30 440,30 440,450 40,450")
    expect(outline).to_have_attribute("viewBox", "0 0 480 480")
    expect(review.locator("#outline-note")).to_have_text(
        "Outlined in red: where the protected photo lies in what was seen.")
    box, image = outline.bounding_box(), review.locator("#detail-evidence").bounding_box()
    assert (box["x"], box["y"], box["width"], box["height"]) == (image["x"], image["y"], image["width"], image["height"])
    screenshot(review, "review-outline.png")
    with review.expect_download() as info:
        review.get_by_role("button", name="Download the case file").click()
    path = tmp_path / "case.zip"
    info.value.save_as(path)
    with zipfile.ZipFile(path) as case:
        report = case.read("report.html").decode()
    assert '<svg viewBox="0 0 480 480"' in report and '<polygon points="40,30 440,30 440,450 40,450"/>' in report


def test_the_review_page_and_popup_say_who_re_posted_it_and_whose_profile_picture_it_is(paired, server):
    store = Store(server.watcher.data_dir)
    photo_id = store.photos()[0]["id"]
    retweet = Attribution(
        "x", "the_retweeter", "https://x.com/the_retweeter", "https://x.com/the_retweeter/status/2", "RT",
        "https://x.com/i/api/graphql/q/HomeTimeline", "{}", repost="retweet", first_account="first_poster",
        first_account_url="https://x.com/first_poster", first_post_url="https://x.com/first_poster/status/1")
    reposted, _ = store.record_sighting(Sighting(
        datetime.now(UTC), "https://pbs.twimg.com/media/GeRePoSt.jpg", None, "pbs.twimg.com", "x", "image/jpeg",
        square_crop_copy(kodak(5)), Match(photo_id, "crop 1:1", 0, 1.0), {}, retweet))
    picture = Attribution(
        "instagram", "alice.fan.page", "https://www.instagram.com/alice.fan.page/",
        "https://www.instagram.com/alice.fan.page/", None, "https://www.instagram.com/api/v1/web/search/topsearch/",
        "{}", shown_as="profile_picture")
    worn, _ = store.record_sighting(Sighting(
        datetime.now(UTC), "https://scontent.cdninstagram.com/v/t51.2885-19/77_n.jpg", None, "scontent.cdninstagram.com",
        "instagram", "image/jpeg", square_crop_copy(kodak(5), 150), Match(photo_id, "crop 1:1", 0, 1.0), {}, picture))
    store.close()
    child = worn["child"] or "your child"
    review = paired.open(f"review.html?alert={reposted['id']}", 1280, 1400)
    expect(review.locator("#detail-where")).to_have_text(
        "Re-posted by @the_retweeter, first posted by @first_poster on X (Twitter)")
    expect(review.locator("#fact-first-posted")).to_have_text("@first_poster · https://x.com/first_poster/status/1")
    expect(review.locator("#fact-first-posted a")).to_have_attribute("href", "https://x.com/first_poster/status/1")
    review = paired.open(f"review.html?alert={worn['id']}", 1280, 1400)
    expect(review.locator("#detail-where")).to_have_text(
        f"@alice.fan.page uses a photo of {child} as its profile picture on Instagram")
    expect(review.locator("#fact-first-posted")).to_be_hidden()
    popup = paired.open("popup.html", 440, 600)
    places = popup.locator("#alerts .place")
    expect(places.filter(has_text="first posted by")).to_have_text("@the_retweeter, first posted by @first_poster")
    expect(places.filter(has_text="profile picture")).to_have_text("@alice.fan.page (profile picture)")


def test_the_review_page_says_a_story_disappears_and_names_an_account_by_id_until_a_feed_names_it(paired, server):
    store = Store(server.watcher.data_dir)
    photo_id = store.photos()[0]["id"]
    story = Attribution(
        "instagram", "story.fake.alice", "https://www.instagram.com/story.fake.alice/",
        "https://www.instagram.com/stories/story.fake.alice/3300000000000000051/", None,
        "https://www.instagram.com/graphql/query", "{}", shown_as="story", account_id="4300000050",
        posted_at="2025-11-24T16:00:00+00:00", expires_at="2025-11-25T16:00:00+00:00")
    shown, _ = store.record_sighting(Sighting(
        datetime.now(UTC), "https://scontent.cdninstagram.com/v/t51.12442-15/51_n.jpg", None, "scontent.cdninstagram.com",
        "instagram", "image/jpeg", square_crop_copy(kodak(5)), Match(photo_id, "crop 1:1", 0, 1.0), {}, story))
    by_id = Attribution("instagram", None, None, "https://www.instagram.com/p/CHaShTaG061/", None,
                        "https://www.instagram.com/graphql/query", "{}", account_id="4300000061")
    unnamed, _ = store.record_sighting(Sighting(
        datetime.now(UTC), "https://scontent.cdninstagram.com/v/t51.2885-15/61_n.jpg", None, "scontent.cdninstagram.com",
        "instagram", "image/jpeg", square_crop_copy(kodak(5), 400), Match(photo_id, "crop 1:1", 0, 1.0), {}, by_id))
    store.close()
    review = paired.open(f"review.html?alert={shown['id']}", 1280, 1400)
    expect(review.locator("#detail-where")).to_have_text("Shown by @story.fake.alice in a story on Instagram")
    expect(review.locator("#detail-story")).to_contain_text("A story disappears from the network a day after it is posted")
    expect(review.locator("#detail-story")).to_contain_text("The evidence is what Sentinelle kept.")
    expect(review.locator(".row-where").filter(has_text="story")).to_have_text("Instagram · @story.fake.alice (story)")
    review = paired.open(f"review.html?alert={unnamed['id']}", 1280, 1400)
    expect(review.locator("#detail-where")).to_have_text(
        "Posted on Instagram by account id 4300000061: the network's feed has not named its handle yet")
    expect(review.locator("#detail-story")).to_be_hidden()
    expect(review.locator("#fact-post a")).to_have_attribute("href", "https://www.instagram.com/p/CHaShTaG061/")
    popup = paired.open("popup.html", 440, 600)
    places = popup.locator("#alerts .place")
    expect(places.filter(has_text="(story)")).to_have_text("@story.fake.alice (story)")
    expect(places.filter(has_text="account id")).to_have_text("account id 4300000061")
