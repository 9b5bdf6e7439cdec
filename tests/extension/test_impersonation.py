"""Accounts that pretend to be the child, in a real Chromium against a real `sentinelle run`:
her names and accounts set from the options page; an impersonation alert notified as such
(and a copy that becomes one notified once more), a watch-list account never notified; the
review page's labels, report forms, watch list and "Look for her" links.

Feeds go through the proxy as a browser's would (conftest.py's fake Instagram site), so the
events the worker hears are the server's own. Notifications are read by wrapping
`chrome.notifications.create` in the worker (Chromium's getAll() gives only their ids).
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime

from playwright.sync_api import expect

from sentinelle.proxy.engine.matcher import Match
from sentinelle.proxy.feeds.attribution import Attribution
from sentinelle.proxy.feeds.lookalikes import Lookalike
from sentinelle.proxy.feeds.names import Resemblance
from sentinelle.proxy.fronts.sighting import Sighting
from sentinelle.server.store.records import Store
from tests.conftest import kodak, square_crop_copy
from tests.extension.conftest import Browser, Server, images_loaded, screenshot

SPY = """() => {
    if (!self.notified) {
        self.notified = [];
        const create = chrome.notifications.create;
        chrome.notifications.create = (id, options) => {
            self.notified.push({ id, ...options, imageUrl: undefined, iconUrl: undefined });
            return create.call(chrome.notifications, id, options);
        };
    }
}"""


def notified(browser: Browser) -> list[dict]:
    """Every notification the worker created since the spy was set, in order (each attempt)."""
    return browser.worker().evaluate("self.notified")


def notified_of(browser: Browser, alert_id: int) -> list[tuple[str, str, str]]:
    """(title, message, context) of each notification of an alert, once per notification."""
    seen = []
    for n in notified(browser):
        said = (n["title"], n["message"], n.get("contextMessage"))
        if n["id"] == f"alert-{alert_id}" and (not seen or seen[-1] != said):
            seen.append(said)
    return seen


def name_child(server: Server, name: str, aliases=None, handles=None) -> dict:
    code, child = server.watcher.api("PUT", "/api/children", {"name": name, "aliases": aliases, "handles": handles})
    assert code == 200, child
    return child


def watch_entry(server: Server, handle: str) -> dict | None:
    code, entries = server.watcher.api("GET", "/api/watchlist")
    assert code == 200
    return next((e for e in entries if e["handle"] == handle), None)


def test_a_watch_list_account_is_quiet_and_an_impersonation_alert_says_so(paired: Browser, server: Server):
    paired.worker().evaluate(SPY)
    name_child(server, "Alice", handles=[["instagram", "alice_dupont"]])
    badge = paired.badge()

    review = paired.open("review.html", 1280, 1000)
    expect(review.locator("#watch-count")).not_to_be_empty()

    # An account whose handle dresses hers: on the watch list (live, from the worker's "watch"
    # event, no reload), and nothing more: no notification, the badge as it was.
    server.show_feed("alice_dupont.2014", "/v/t51/9101_n.jpg", display_name="Alice D.")
    entry = review.locator("#watch-open > li", has_text="@alice_dupont.2014")
    expect(entry.locator(".watch-why")).to_have_text("Its handle looks like one of Alice's own accounts")
    expect(entry.locator(".watch-display")).to_have_text("shown as “Alice D.”")
    time.sleep(0.5)
    assert notified(paired) == [] and paired.badge() == badge

    # Then its post of her photo: an impersonation alert, notified as one.
    image_url = server.show_image("/v/t51/9101_n.jpg", server.copy)
    alert = server.alert_for(image_url)
    assert alert["kind"] == "impersonation"
    paired.wait_until(lambda: notified_of(paired, alert["id"]))
    assert notified_of(paired, alert["id"]) == [(
        "@alice_dupont.2014 pretends to be Alice",
        "On Instagram, it posted her photo (kodim05.jpg)",
        "Its handle looks like one of Alice's own accounts",
    )]
    # On the review page, the account left the watch list for the alerts: it pretends to be her.
    expect(review.locator(f'.alert-row[data-alert-id="{alert["id"]}"] .kind-chip')).to_have_text("Impersonation")
    expect(entry).to_have_count(0)
    expect(review.locator("#watch-marked > li", has_text="@alice_dupont.2014")).to_be_visible()
    review.close()


def test_a_copy_that_becomes_an_impersonation_alert_is_notified_once_more(paired: Browser, server: Server):
    paired.worker().evaluate(SPY)
    name_child(server, "Alice", handles=[["instagram", "alice_dupont"]])
    server.show_feed("lili.rose.2012", "/v/t51/9102_n.jpg")
    image_url = server.show_image("/v/t51/9102_n.jpg", server.copy)
    alert = server.alert_for(image_url)
    assert alert["kind"] == "copy"
    paired.wait_until(lambda: notified_of(paired, alert["id"]))
    assert notified_of(paired, alert["id"])[0][0] == "A photo of Alice was seen"

    # Her other account is named; the same account is seen again: its copy is an impersonation.
    name_child(server, "Alice", handles=[["instagram", "alice_dupont"], ["tiktok", "lili.rose"]])
    server.show_feed("lili.rose.2012", "/v/t51/9102_n.jpg")
    paired.wait_until(lambda: len(notified_of(paired, alert["id"])) == 2)
    assert notified_of(paired, alert["id"])[1] == (
        "@lili.rose.2012 pretends to be Alice",
        "On Instagram, it posted her photo (kodim05.jpg)",
        "Its handle looks like one of Alice's own accounts",
    )
    # Once: another sync (a page opening, the alarm) does not tell it again.
    paired.wait_until(lambda: alert["id"] in paired.storage().get("impersonationsNotified", []))
    popup = paired.open("popup.html", 440, 600)
    expect(popup.locator("#alerts > li").first).to_be_visible()
    time.sleep(1)
    assert len(notified_of(paired, alert["id"])) == 2
    popup.close()


def lookalike(handle: str, child: str, what: str, display_name: str | None = None) -> Lookalike:
    """An account a feed showed whose handle looks like a child's (as proxy/feeds/lookalikes.py makes them)."""
    return Lookalike(
        platform="instagram", handle=handle, display_name=display_name,
        profile_url=f"https://www.instagram.com/{handle}/", resemblance=Resemblance(child, "handle", what),
        feed_url="https://www.instagram.com/api/v1/web/search/topsearch/?query=x", record=f'{{"username":"{handle}"}}',
        seen_at=datetime.now(UTC),
    )


def test_the_review_page_and_popup_label_an_impersonation_alert_and_lead_with_its_form(paired: Browser, server: Server):
    store = Store(server.watcher.data_dir)
    try:
        photo_id = store.photos()[0]["id"]
        store.record_lookalike(lookalike("alice_dupont_officiel", "Alice", "own handle", "Alice ♥"))
        worn = Attribution(
            "instagram", "alice_dupont_officiel", "https://www.instagram.com/alice_dupont_officiel/",
            "https://www.instagram.com/alice_dupont_officiel/", None,
            "https://www.instagram.com/api/v1/web/search/topsearch/", "{}", shown_as="profile_picture")
        alert, _ = store.record_sighting(Sighting(
            datetime.now(UTC), "https://scontent.cdninstagram.com/v/t51.2885-19/9201_n.jpg", None,
            "scontent.cdninstagram.com", "instagram", "image/jpeg", square_crop_copy(kodak(5), 150),
            Match(photo_id, "crop 1:1", 0, 1.0), {}, worn))
    finally:
        store.close()
    assert alert["kind"] == "impersonation"

    review = paired.open(f"review.html?alert={alert['id']}", 1280, 1400)
    expect(review.locator("#detail-kind")).to_have_text("Impersonation")
    expect(review.locator("#detail-kind")).to_be_visible()
    expect(review.locator("#detail-impersonation")).to_have_text(
        "@alice_dupont_officiel pretends to be Alice: its handle looks like one of Alice's own accounts.")
    expect(review.locator("#detail-where")).to_have_text(
        "@alice_dupont_officiel uses a photo of Alice as its profile picture on Instagram")
    expect(review.locator("#platform-steps-heading")).to_have_text("Report the account to Instagram")
    first = review.locator("#platform-steps li").first.get_by_role("link")
    expect(first).to_have_text("Report an account pretending to be your child (impersonation)")
    expect(first).to_have_attribute("href", "https://help.instagram.com/contact/636276399721841")
    row = review.locator(f'.alert-row[data-alert-id="{alert["id"]}"]')
    expect(row.locator(".kind-chip")).to_have_text("Impersonation")
    paired.wait_until(lambda: images_loaded(review))
    screenshot(review, "review-impersonation.png")
    review.select_option("#filter-kind", "impersonation")
    expect(review.locator("#alert-list .alert-row .kind-chip:visible")).to_have_count(
        review.locator("#alert-list .alert-row").count())
    review.select_option("#filter-kind", "copy")
    expect(row).to_have_count(0)

    # A copy's next steps keep the platform's order (the photo's forms first).
    copy = server.alert_for(server.show_copy(page="https://www.instagram.com/just.a.copy/"))
    review.select_option("#filter-kind", "")
    review.click("#refresh")
    review.locator(f'.alert-row[data-alert-id="{copy["id"]}"]').click()
    expect(review.locator("#detail-kind")).to_be_hidden()
    expect(review.locator("#detail-impersonation")).to_be_hidden()
    expect(review.locator("#platform-steps-heading")).to_have_text("Report it to Instagram")
    expect(review.locator("#platform-steps li").first).to_contain_text("violates your child's privacy")
    review.close()

    popup = paired.open("popup.html", 440, 600)
    card = popup.locator(f'#alerts > li[data-alert-id="{alert["id"]}"]')
    expect(card.locator(".kind-chip")).to_have_text("Impersonation")
    expect(card.locator(".pretends")).to_have_text("@alice_dupont_officiel pretends to be Alice")
    expect(card.locator(".photo-name")).to_have_text("kodim05.jpg")  # the account pretends, not the photo
    expect(card).to_have_class(re.compile(r"\bimpersonation\b"))
    popup.close()


def test_the_options_page_names_a_child_and_her_own_accounts(paired: Browser, server: Server):
    options = paired.open("options.html", 900, 1600)
    expect(options.locator("#pairing-status")).to_have_attribute("data-tone", "ok")
    expect(options.locator("#children > li", has_text="Alice")).to_be_visible()
    options.fill("#child-name", "  Léa   Martin ")
    options.fill("#child-aliases", "Lélé, Lea ,")
    rows = options.locator("#child-handles > li")
    expect(rows).to_have_count(1)
    rows.nth(0).locator("select").select_option("instagram")
    rows.nth(0).locator("input").fill("@lea_mrtn")
    options.get_by_role("button", name="Add an account").click()
    rows.nth(1).get_by_label("Network", exact=True).select_option(label="TikTok")
    rows.nth(1).get_by_label("Her name on the network").fill("lea.mrtn")
    options.get_by_role("button", name="Add an account").click()  # left empty: not sent
    options.get_by_role("button", name="Save", exact=True).click()
    expect(options.locator("#child-status")).to_have_text("Saved: Léa Martin.")
    lea = options.locator('#children > li[data-child="Léa Martin"]')
    expect(lea).to_contain_text("also Lélé, Lea")
    expect(lea).to_contain_text("her accounts: Instagram @lea_mrtn, TikTok @lea.mrtn")
    expect(lea).to_contain_text("0 photos protected")
    code, children = server.watcher.api("GET", "/api/children")
    assert code == 200
    [saved] = [c for c in children if c["name"] == "Léa Martin"]
    assert saved["aliases"] == ["Lélé", "Lea"]
    assert saved["handles"] == [["instagram", "lea_mrtn"], ["tiktok", "lea.mrtn"]]
    screenshot(options, "options-children.png")

    # Edited from the list: one account removed, the rest as they were.
    options.get_by_role("button", name="Another child").click()
    expect(options.locator("#child-name")).to_have_value("")
    lea.get_by_role("button", name="Edit").click()
    expect(options.locator("#child-name")).to_have_value("Léa Martin")
    expect(options.locator("#child-aliases")).to_have_value("Lélé, Lea")
    expect(rows).to_have_count(2)
    rows.nth(1).get_by_role("button", name="Remove").click()
    options.get_by_role("button", name="Save", exact=True).click()
    expect(lea).not_to_contain_text("TikTok")
    [saved] = [c for c in server.watcher.api("GET", "/api/children")[1] if c["name"] == "Léa Martin"]
    assert saved["handles"] == [["instagram", "lea_mrtn"]] and saved["aliases"] == ["Lélé", "Lea"]

    # A first name alone is saved, with a word on what it cannot do; no name at all is refused.
    options.get_by_role("button", name="Another child").click()
    options.fill("#child-name", "Zoé")
    options.get_by_role("button", name="Save", exact=True).click()
    expect(options.locator("#child-status")).to_contain_text("With a first name alone")
    options.get_by_role("button", name="Another child").click()
    options.get_by_role("button", name="Save", exact=True).click()
    expect(options.locator("#child-status")).to_have_text("Give her full name.")
    expect(options.locator("#child-status")).to_have_attribute("data-tone", "error")
    # Her names are offered as whose photos to protect.
    assert "Léa Martin" in options.locator("#children-names option").evaluate_all("(os) => os.map((o) => o.value)")
    options.close()


def test_the_options_page_keeps_one_child_per_name_and_removes_one(paired: Browser, server: Server):
    name_child(server, "Inès Roy")
    options = paired.open("options.html", 900, 1600)
    children = options.locator("#children > li")
    ines = options.locator("#children > li", has_text="Inès")
    expect(ines).to_have_count(1)
    status = options.locator("#child-status")

    # Her first name, without its accent: the child Sentinelle knows, said so.
    options.fill("#child-name", "ines")
    options.get_by_role("button", name="Save", exact=True).click()
    expect(status).to_have_text("ines: that is Inès Roy. Saved: Inès Roy.")
    expect(ines).to_have_count(1)

    # Edited, her name mended: the same child, renamed, not a second one.
    count = children.count()
    ines.get_by_role("button", name="Edit").click()
    options.fill("#child-name", "Inès Royer")
    options.get_by_role("button", name="Save", exact=True).click()
    expect(status).to_have_text("Inès Roy is now Inès Royer: the same child. Saved: Inès Royer.")
    expect(ines.locator(".child-name")).to_have_text("Inès Royer")
    expect(children).to_have_count(count)

    # Her photos, enrolled under her first name, are hers.
    options.fill("#child", "Ines")
    options.set_input_files("#files", [kodak(15)])
    expect(options.locator("#progress-text")).to_have_text(
        "Done. Protected: 1 · already protected: 0 · skipped: 0", timeout=30_000)
    expect(options.locator("#enroll-chosen")).to_have_text("Ines: the photos go to Inès Royer.")
    expect(options.locator("#child")).to_have_value("Inès Royer")
    expect(ines).to_contain_text("1 photo protected")
    photo = options.locator("#photos > li", has_text="kodim15.jpg")
    expect(photo).to_contain_text("Inès Royer")

    # Removed in two clicks, the first saying what becomes of her photos and alerts.
    ines.get_by_role("button", name="Remove").click()
    expect(ines.locator(".child-remove-what")).to_have_text(
        "Her photo will no longer be protected; her alerts and their evidence stay in the log.")
    screenshot(options, "options-child-remove.png")
    ines.get_by_role("button", name="Yes, remove her").click()
    expect(status).to_have_text("Removed: Inès Royer. Her photos are no longer protected; her alerts stay in the log.")
    expect(ines).to_have_count(0)
    expect(photo).to_have_count(0)
    assert [c for c in server.watcher.api("GET", "/api/children")[1] if c["name"].startswith("Inès")] == []
    assert [p for p in server.watcher.api("GET", "/api/photos")[1] if p["name"] == "kodim15.jpg"] == []
    options.close()


def test_the_review_page_shows_the_watch_list_and_the_parent_decides(paired: Browser, server: Server):
    store = Store(server.watcher.data_dir)
    try:
        lea, _, _ = store.record_lookalike(lookalike("lea.martin.2013", "Léa Martin", "full name", "Léa Martin"))
        lele, _, _ = store.record_lookalike(lookalike("lele_martin", "Léa Martin", "nickname and last name"))
    finally:
        store.close()
    review = paired.open("review.html", 1280, 1400)
    entry = review.locator(f'#watch-open > li[data-watch-id="{lea["id"]}"]')
    expect(entry.locator(".watch-platform")).to_have_text("Instagram")
    expect(entry.locator(".watch-handle")).to_have_text("@lea.martin.2013")
    expect(entry.locator(".watch-handle")).to_have_attribute("href", "https://www.instagram.com/lea.martin.2013/")
    expect(entry.locator(".watch-display")).to_have_text("shown as “Léa Martin”")
    expect(entry.locator(".watch-why")).to_have_text("Its handle looks like Léa Martin's full name")
    expect(entry.locator(".watch-when")).to_contain_text("First seen")
    expect(entry.locator(".watch-when")).to_contain_text("seen once")
    with paired.context.expect_page() as opened:
        entry.get_by_role("button", name="Open the profile").click()
    opened.value.close()
    screenshot(review, "review-watchlist.png")

    # Not her: gone from the list, and the server says so.
    entry.get_by_role("button", name="Not her: dismiss").click()
    expect(entry).to_have_count(0)
    expect(review.locator("#watch-line")).to_have_text("Dismissed: @lea.martin.2013 will not be flagged again.")
    assert watch_entry(server, "lea.martin.2013")["status"] == "dismissed"

    # It pretends to be her: below, with Instagram's impersonation form.
    other = review.locator(f'#watch-open > li[data-watch-id="{lele["id"]}"]')
    expect(other.locator(".watch-why")).to_have_text("Its handle looks like a nickname and the last name of Léa Martin")
    other.get_by_role("button", name="It pretends to be her").click()
    expect(other).to_have_count(0)
    marked = review.locator(f'#watch-marked > li[data-watch-id="{lele["id"]}"]')
    expect(marked.get_by_role("link", name="Report it to Instagram")).to_have_attribute(
        "href", "https://help.instagram.com/contact/636276399721841")
    expect(marked.get_by_role("button", name="It pretends to be her")).to_be_hidden()
    assert watch_entry(server, "lele_martin")["status"] == "impersonation"
    review.close()


def test_look_for_her_links_to_each_network_s_own_search(paired: Browser, server: Server):
    name_child(server, "Léa Martin", aliases=["Lélé"], handles=[["instagram", "lea_mrtn"]])
    review = paired.open("review.html", 1280, 1400)
    lea = review.locator('#look-children > li[data-child="Léa Martin"]')
    expect(lea.locator("h3")).to_have_text("Léa Martin")

    def href(platform: str, term: str) -> str | None:
        return lea.locator(f'li[data-platform="{platform}"] a[data-term="{term}"]').get_attribute("href")

    expect(lea.locator('li[data-platform="instagram"] a')).to_have_count(3)
    assert href("instagram", "Léa Martin") == "https://www.instagram.com/explore/search/keyword/?q=L%C3%A9a%20Martin"
    assert href("tiktok", "Léa Martin") == "https://www.tiktok.com/search/user?q=L%C3%A9a%20Martin"
    assert href("x", "Léa Martin") == "https://x.com/search?q=L%C3%A9a%20Martin&f=user"
    assert href("facebook", "Lélé") == "https://www.facebook.com/search/people/?q=L%C3%A9l%C3%A9"
    assert href("reddit", "lea_mrtn") == "https://www.reddit.com/search/?q=lea_mrtn&type=user"
    assert href("pinterest", "lea_mrtn") == "https://www.pinterest.com/search/users/?q=lea_mrtn"
    assert href("instagram", "lea_mrtn") == "https://www.instagram.com/explore/search/keyword/?q=lea_mrtn"
    link = lea.locator('li[data-platform="x"] a[data-term="lea_mrtn"]')
    expect(link).to_have_attribute("target", "_blank")
    expect(link).to_have_attribute("rel", "noopener noreferrer")
    expect(link).to_have_attribute("title", "Search X (Twitter) for lea_mrtn")
    expect(lea.locator(".no-web-search")).to_have_text(["Snapchat has no search on the web: look in its app."])
    # A click opens the search in a new tab (which the test browser cannot load: loopback only).
    with paired.context.expect_page() as opened:
        with paired.context.expect_event("request", lambda r: r.url.startswith("https://www.tiktok.com/")) as request:
            lea.locator('li[data-platform="tiktok"] a[data-term="Lélé"]').click()
    assert request.value.url == "https://www.tiktok.com/search/user?q=L%C3%A9l%C3%A9"
    assert review.url.startswith(paired.url("review.html"))
    opened.value.close()
    screenshot(review, "review-look-for-her.png")
    review.close()
