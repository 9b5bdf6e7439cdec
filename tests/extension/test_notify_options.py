"""The options page's channels in a real Chromium against a real `sentinelle run`, which sends
through Apprise to a real receiver on 127.0.0.1: a channel is added (its URL never shown back
whole), tested, failing with why, switched to details, the hours set, and removed in two clicks; a
channel the sender could not reach says since when, why, and what waits for it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect

from sentinelle.server.notify import channels
from sentinelle.server.notify.news import TEST
from sentinelle.server.notify.timing import retry_in
from sentinelle.server.store.records import Store
from tests.extension.conftest import Browser, Server, screenshot
from tests.support.receivers import HttpReceiver, InAThread

SECRET = "private-hook-7f3k"


@pytest.fixture
def receiver(server: Server):
    running = InAThread(HttpReceiver)
    yield running.receiver
    running.stop()
    for channel in server.watcher.api("GET", "/api/notify")[1]["channels"]:  # the next tests start without
        server.watcher.api("DELETE", f"/api/notify/channels/{channel['id']}")


def test_a_channel_is_added_tested_and_removed_from_the_options_page(paired: Browser, server: Server, receiver):
    options = paired.open("options.html", 900, 1600)
    channels = options.locator("#channels > li")
    status = options.locator("#channel-status")
    expect(options.locator("#channels-count")).to_have_text("No channel yet: alerts reach only this PC's browser.")
    assert options.locator("#channel-syntax").get_attribute("href") == "https://github.com/caronc/apprise/wiki"
    expect(options.locator(".channel-examples li")).to_have_count(3)

    options.fill("#channel-url", "bogus://nothing")
    options.click("#channel-add")
    expect(status).to_contain_text("bogus:// is no service Apprise knows")
    expect(status).to_have_attribute("data-tone", "error")

    options.fill("#channel-url", receiver.url("json", f"/hooks/{SECRET}"))
    options.fill("#channel-name", "phone")
    options.click("#channel-add")
    expect(status).to_have_text("Added phone. Send a test to check it reaches you.")
    expect(channels).to_have_count(1)
    phone = channels.first
    expect(phone.locator(".channel-shown")).to_have_text(f"json://127.0.0.1:{receiver.port}/h...s/p...k")
    expect(phone.locator(".channel-state")).to_have_text("Nothing sent yet.")
    assert options.locator("#channel-url").input_value() == ""  # the secret left the page
    assert SECRET not in options.content()

    phone.get_by_role("button", name="Send a test").click()
    expect(status).to_have_text("Sent to phone: look at your phone or mailbox.")
    assert [r.message()["title"] for r in receiver.received] == ["Sentinelle"]
    expect(phone.locator(".channel-state")).to_contain_text("Works: last sent")

    receiver.mode = "refuse"
    phone.get_by_role("button", name="Send a test").click()
    expect(status).to_contain_text("phone did not take the test: Failed to send JSON POST notification")
    assert SECRET not in options.content()

    phone.locator(".channel-details input").check()
    paired.wait_until(lambda: server.watcher.api("GET", "/api/notify")[1]["channels"][0]["details"])

    options.fill("#digest-at", "19:30")
    options.check("#quiet-on")
    options.fill("#quiet-from", "21:45")
    options.fill("#quiet-until", "06:30")
    options.click("#hours-save")
    expect(options.locator("#hours-status")).to_have_text(
        "Saved: the digest at 19:30; quiet hours from 21:45 to 06:30, then one message.")
    assert server.watcher.api("GET", "/api/notify")[1]["hours"] == {"digest": "19:30", "quiet": ["21:45", "06:30"]}
    screenshot(options, "options-channels.png")

    phone.get_by_role("button", name="Remove").click()
    phone.get_by_role("button", name="Yes, remove it").click()
    expect(status).to_have_text("Removed phone.")
    expect(channels).to_have_count(0)
    assert server.watcher.api("GET", "/api/notify")[1]["channels"] == []
    options.close()


def test_a_channel_that_fails_says_since_when_why_and_what_waits(paired: Browser, server: Server, receiver):
    """A copy seen while the parent's channel refuses: the options page names the failure as the
    sender kept it (Apprise's own reason, against this refusing receiver), and the alert that waits."""
    receiver.mode = "refuse"
    url = receiver.url("json", f"/hooks/{SECRET}")
    code, channel = server.watcher.api("POST", "/api/notify/channels", {"url": url, "name": "phone"})
    assert code == 201, channel
    server.alert_for(server.show_copy())
    paired.wait_until(lambda: server.watcher.api("GET", "/api/notify")[1]["channels"][0]["pending"] == 1)

    # The sender tries a minute after the copy was seen (its burst); rather than wait for it,
    # the test keeps what the sender keeps of a failure: Apprise's reason, and the next try.
    reason = channels.send(url, TEST)
    assert reason and SECRET not in reason
    since = datetime.now(UTC)
    store = Store(server.watcher.data_dir)
    try:
        store.sending_failed(channel["id"], since, reason, since + retry_in(1))
        store.sending_failed(channel["id"], since + retry_in(1), reason, since + retry_in(1) + retry_in(2))
    finally:
        store.close()

    options = paired.open("options.html", 900, 1600)
    state = options.locator("#channels > li").first.locator(".channel-state")
    expect(state).to_have_attribute("data-tone", "error")
    expect(state).to_contain_text("Failing since ")
    expect(state).to_contain_text(f": {reason}")
    expect(state).to_contain_text("Tries so far: 2; the next: ")
    expect(state).to_contain_text("1 alert waits for it.")
    assert SECRET not in options.content()
    screenshot(options, "options-channel-failing.png")
    options.close()
