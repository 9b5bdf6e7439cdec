"""Accounts that pretend to be the child, in a real Chromium against a real `sentinelle run`:
her names and accounts set from the options page; an impersonation alert notified as such
(and a copy that becomes one notified once more), a watch-list account never notified; the
review page's labels, report forms, watch list and "Look for her" links.

Feeds go through the proxy as a browser's would (conftest.py's fake Instagram site), so the
events the worker hears are the server's own. Notifications are read by wrapping
`chrome.notifications.create` in the worker (Chromium's getAll() gives only their ids).
"""

from __future__ import annotations

import time

from playwright.sync_api import expect

from tests.extension.conftest import Browser, Server

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

    # An account whose handle dresses hers: on the watch list, and nothing more.
    server.show_feed("alice_dupont.2014", "/v/t51/9101_n.jpg", display_name="Alice D.")
    paired.wait_until(lambda: watch_entry(server, "alice_dupont.2014"))
    time.sleep(1.5)  # the worker heard the "watch" event well within this
    assert notified(paired) == [] and paired.badge() == badge

    # Then its post of her photo: an impersonation alert, notified as one.
    image_url = server.show_image("/v/t51/9101_n.jpg", server.copy)
    alert = server.alert_for(image_url)
    assert alert["kind"] == "impersonation"
    paired.wait_until(lambda: notified_of(paired, alert["id"]))
    assert notified_of(paired, alert["id"]) == [(
        "An account pretends to be Alice",
        "@alice_dupont.2014 on Instagram posted her photo (kodim05.jpg)",
        "Its handle looks like one of Alice's own accounts",
    )]


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
        "An account pretends to be Alice",
        "@lili.rose.2012 on Instagram posted her photo (kodim05.jpg)",
        "Its handle looks like one of Alice's own accounts",
    )
    # Once: another sync (a page opening, the alarm) does not tell it again.
    paired.wait_until(lambda: alert["id"] in paired.storage().get("impersonationsNotified", []))
    popup = paired.open("popup.html", 440, 600)
    expect(popup.locator("#alerts > li").first).to_be_visible()
    time.sleep(1)
    assert len(notified_of(paired, alert["id"])) == 2
    popup.close()
