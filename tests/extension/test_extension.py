"""The extension in a real Chromium against a real `sentinelle run`: pairing, enrollment from the
options page, an alert arriving as badge + notification + popup entry, a status change saved from
the review page, alerts still arriving after the service worker was stopped, and French.

The module shares one server and one browser (see conftest.py), and its tests run in file order.
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import json
import time

from playwright.sync_api import expect

from tests.conftest import kodak
from tests.extension.bare import bare_chromium
from tests.extension.conftest import (
    CHILD,
    ENROLLED,
    EXTENSION,
    EXTENSION_ID,
    PAGE,
    Browser,
    Server,
    images_loaded,
    launch,
    screenshot,
)
from tests.support.watcher import free_port


def test_the_fixed_key_gives_the_documented_id(browser: Browser):
    assert browser.extension_id == EXTENSION_ID
    assert EXTENSION_ID in (EXTENSION / "README.md").read_text()


def test_pairing_says_what_is_wrong_then_connects(browser: Browser, server: Server):
    options = browser.open("options.html", 900, 1000)
    status = options.locator("#pairing-status")
    expect(status).to_contain_text("Not connected yet")
    assert options.locator("#server").input_value() == "http://127.0.0.1:8765"

    # Nothing listens there.
    options.fill("#server", f"http://127.0.0.1:{free_port()}")
    options.fill("#token", server.token)
    options.click("#connect")
    expect(status).to_contain_text("Nothing answers at")
    expect(status).to_have_attribute("data-tone", "error")
    assert "token" not in browser.storage()

    # The right address, the wrong token.
    options.fill("#server", server.address)
    options.fill("#token", "not-the-token")
    options.click("#connect")
    expect(status).to_contain_text("The token is wrong")
    assert "token" not in browser.storage()

    # A page's address that is not this computer is refused before any request.
    options.fill("#server", "http://192.0.2.1:8765")
    options.click("#connect")
    expect(status).to_contain_text("must start with http://127.0.0.1")

    options.fill("#server", server.address)
    options.fill("#token", server.token)
    options.click("#connect")
    expect(status).to_contain_text(f"Connected to Sentinelle 0.1.0 at {server.address}")
    expect(status).to_have_attribute("data-tone", "ok")
    assert browser.storage()["token"] == server.token
    # The worker opened the event stream with the new pairing.
    browser.wait_until(lambda: browser.storage("session").get("link", {}).get("state") == "open")
    options.close()

    # Nothing else reads the alerts: a web page's origin is refused even with the token,
    # and the extension's own origin without it.
    code, body = server.watcher.api("GET", "/api/alerts", headers={"Origin": "https://example.com"})
    assert code == 403
    code, body = server.watcher.api("GET", "/api/alerts", token="wrong",
                                    headers={"Origin": f"chrome-extension://{EXTENSION_ID}"})
    assert code == 401


def drop_files(page, selector: str, files) -> None:
    """Drop files on an element, as a parent dragging them from the file manager."""
    payload = [[path.name, base64.b64encode(path.read_bytes()).decode()] for path in files]
    data_transfer = page.evaluate_handle(
        """(files) => {
            const transfer = new DataTransfer();
            for (const [name, b64] of files) {
                const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
                transfer.items.add(new File([bytes], name, { type: "image/jpeg" }));
            }
            return transfer;
        }""", payload)
    page.dispatch_event(selector, "dragover", {"dataTransfer": data_transfer})
    page.dispatch_event(selector, "drop", {"dataTransfer": data_transfer})


def test_enrollment_from_the_options_page(paired: Browser, server: Server, tmp_path):
    options = paired.open("options.html", 900, 1400)
    photos = options.locator("#photos > li")
    expect(options.locator("#photos-count")).to_have_text("1 photo is protected.")
    note = tmp_path / "notes.txt"
    note.write_text("not a photo")

    # Several files at once from the file picker, one of which is no photo.
    options.fill("#child", "Bob")
    options.set_input_files("#files", [kodak(1), kodak(2), note])
    progress = options.locator("#progress-text")
    expect(progress).to_have_text("Done. Protected: 2 · already protected: 0 · skipped: 1", timeout=30_000)
    expect(options.locator("#progress")).to_have_attribute("max", "3")
    results = options.locator("#enroll-results > li")
    expect(results).to_have_count(3)
    expect(results.nth(2)).to_have_class("result skipped")
    expect(results.nth(2)).to_contain_text("notes.txt — skipped")

    # Dropped on the drop zone: one new, one already enrolled.
    drop_files(options, "#drop-zone", [kodak(3), kodak(1)])
    expect(progress).to_have_text("Done. Protected: 1 · already protected: 1 · skipped: 0", timeout=30_000)
    expect(photos).to_have_count(4)
    expect(options.locator("#photos-count")).to_have_text("4 photos are protected.")
    bob = options.locator("#photos > li", has_text="kodim02.jpg")
    expect(bob).to_contain_text("Bob")
    paired.wait_until(lambda: images_loaded(options, "#photos img"))

    # Removing takes two clicks, then the photo is gone from the server too.
    bob.get_by_role("button", name="Stop protecting").click()
    bob.get_by_role("button", name="Click again to confirm").click()
    expect(photos).to_have_count(3)
    code, enrolled = server.watcher.api("GET", "/api/photos")
    assert code == 200
    assert sorted(p["name"] for p in enrolled) == ["kodim01.jpg", "kodim03.jpg", f"kodim{ENROLLED:02d}.jpg"]
    assert {p["child"] for p in enrolled if p["name"] != f"kodim{ENROLLED:02d}.jpg"} == {"Bob"}
    screenshot(options, "options.png")
    options.close()


def test_an_alert_arrives_as_badge_notification_and_popup_entry(paired: Browser, server: Server):
    before = len(server.alerts("new"))
    assert paired.badge() == (str(before) if before else "")

    image_url = server.show_copy()
    shown = time.monotonic()
    # The badge counts it within 2 s of the match (the fetch above returns before the match).
    paired.wait_until(lambda: paired.badge() == str(before + 1), timeout=10)
    assert time.monotonic() - shown < 2.0
    alert = server.alert_for(image_url)
    paired.wait_until(lambda: f"alert-{alert['id']}" in paired.notifications())
    title = paired.worker().evaluate("chrome.action.getTitle({})")
    assert title == f"Sentinelle: {before + 1} alert{'s' if before else ''} to review"

    popup = paired.open("popup.html", 440, 600)
    card = popup.locator("#alerts > li").first
    expect(card).to_have_attribute("data-alert-id", str(alert["id"]))
    expect(card).to_contain_text(f"kodim{ENROLLED:02d}.jpg")
    expect(card).to_contain_text(f"of {CHILD}")
    expect(card).to_contain_text("Instagram")
    expect(card).to_contain_text("@fake.account.123")
    expect(card).to_contain_text("seen once")
    expect(card.locator(".last-seen")).to_have_text("now")
    expect(card.locator(".status-chip")).to_have_text("New")
    expect(popup.locator("#link")).to_have_text("Live")
    paired.wait_until(lambda: images_loaded(popup, "#alerts img"))
    assert popup.evaluate("document.querySelector('#alerts img.seen').naturalWidth") == 480
    screenshot(popup, "popup.png")

    # One click to the page where it was seen, one to the review page.
    with paired.context.expect_page() as opened:
        with paired.context.expect_event("request", lambda request: request.url == PAGE):
            card.get_by_role("button", name="Open the page").click()
    opened.value.close()
    assert popup.is_closed()  # the popup gets out of the way, as a popup should
    popup = paired.open("popup.html", 440, 600)
    with paired.context.expect_page() as opened:
        popup.locator("#alerts > li").first.get_by_role("button", name="Review").click()
    review = opened.value
    expect(review.locator("#detail")).to_have_attribute("data-alert-id", str(alert["id"]))
    review.close()


def test_a_status_change_is_saved_to_the_server(paired: Browser, server: Server):
    image_url = server.show_copy(page="https://www.instagram.com/someone.else/")
    alert = server.alert_for(image_url)
    paired.wait_until(lambda: paired.badge() == str(len(server.alerts("new"))))
    unreviewed = len(server.alerts("new"))

    review = paired.open(f"review.html?alert={alert['id']}", 1280, 1100)
    detail = review.locator("#detail")
    expect(detail).to_have_attribute("data-alert-id", str(alert["id"]))
    expect(review.locator("#detail-where")).to_have_text("Seen on Instagram: @someone.else")
    expect(review.locator("#detail-status")).to_have_text("New")
    paired.wait_until(lambda: images_loaded(review, "#detail img"))
    # The evidence at full size: the very bytes the browser received, not a thumbnail.
    assert review.evaluate("document.querySelector('#detail-evidence').naturalWidth") == 480
    assert review.evaluate("document.querySelector('#detail-evidence').width") == 480

    # The next steps for Instagram, and for the browser's country (en-US: the United States).
    platform_steps = review.locator("#platform-steps")
    expect(platform_steps).to_contain_text("impersonation")
    expect(platform_steps.get_by_role("link", name="Report an account of a child under 13"))\
        .to_have_attribute("href", "https://help.instagram.com/contact/723586364339719")
    expect(review.locator("#country")).to_have_value("US")
    expect(review.locator("#country-steps")).to_contain_text("NCMEC CyberTipline")
    review.select_option("#country", "GB")
    expect(review.locator("#country-steps")).to_contain_text("Report Harmful Content")
    review.select_option("#country", "FR")
    expect(review.locator("#country-steps")).to_contain_text("3018")
    expect(review.locator("#country-steps")).to_contain_text("Pharos")

    review.get_by_role("button", name="Reported", exact=True).click()
    expect(review.locator("#status-line")).to_have_text("Saved: Reported")
    code, saved = server.watcher.api("GET", f"/api/alerts/{alert['id']}")
    assert saved["status"] == "reported"
    paired.wait_until(lambda: paired.badge() == (str(unreviewed - 1) if unreviewed > 1 else ""))

    # Filters: status, child, platform, date.
    rows = review.locator("#alert-list .alert-row")
    total = len(server.alerts())
    expect(rows).to_have_count(total)
    # Other tests of the package's server may have reported alerts of their own.
    reported = sum(each["status"] == "reported" for each in server.alerts())
    review.select_option("#filter-status", "reported")
    expect(rows).to_have_count(reported)
    expect(review.locator(f'#alert-list .alert-row[data-alert-id="{alert["id"]}"]')).to_have_count(1)
    review.select_option("#filter-status", "new")
    expect(rows).to_have_count(sum(each["status"] == "new" for each in server.alerts()))
    review.select_option("#filter-status", "")
    review.select_option("#filter-child", CHILD)
    review.select_option("#filter-platform", "instagram")
    expect(rows).to_have_count(total)
    review.fill("#filter-from", "2999-01-01")
    expect(rows).to_have_count(0)
    expect(review.locator("#count")).to_have_text(f"0 of {total} alerts")
    review.click("#filter-reset")
    expect(rows).to_have_count(total)

    # Saved on the server, so still there after a reload; the country choice too.
    review.reload()
    expect(review.locator("#detail-status")).to_have_text("Reported")
    reported = review.get_by_role("button", name="Reported", exact=True)
    expect(reported).to_have_attribute("aria-pressed", "true")
    expect(review.locator("#country")).to_have_value("FR")
    paired.wait_until(lambda: images_loaded(review))
    screenshot(review, "review.png")
    review.close()


def test_alerts_still_arrive_after_the_service_worker_was_stopped(paired: Browser, server: Server):
    for page in paired.context.pages:
        if page.url.startswith(paired.url("")):
            page.close()
    paired.stop_worker()
    unreviewed = len(server.alerts("new"))

    image_url = server.show_copy(page="https://www.instagram.com/while.asleep/")
    alert = server.alert_for(image_url)
    # Nothing wakes the worker but its alarm (every 30 s): then it polls and reconnects.
    paired.wait_until(paired.worker_running, timeout=40, step=0.25)
    paired.wait_until(lambda: paired.badge() == str(unreviewed + 1), timeout=10)
    paired.wait_until(lambda: f"alert-{alert['id']}" in paired.notifications())

    # The restarted worker reopened the event stream: the next alert is live again.
    paired.wait_until(lambda: paired.storage("session").get("link", {}).get("state") == "open")
    server.show_copy(page="https://www.instagram.com/awake.again/")
    shown = time.monotonic()
    paired.wait_until(lambda: paired.badge() == str(unreviewed + 2), timeout=10)
    assert time.monotonic() - shown < 2.0


def test_the_whole_interface_in_french(playwright_instance, server: Server, tmp_path):
    french = launch(playwright_instance, tmp_path / "profile-fr", lang="fr")
    try:
        french.pair(server)
        newest = server.alerts()[0]
        popup = french.open("popup.html", 440, 600)
        expect(popup.locator("#open-log")).to_have_text("Ouvrir le journal")
        card = popup.locator("#alerts > li").first
        expect(card).to_have_attribute("data-alert-id", str(newest["id"]))
        expect(card).to_contain_text("vue une fois")
        expect(card).to_contain_text(f"d'{CHILD}")  # French elides: "de Alice" is "d'Alice"
        expect(card.get_by_role("button", name="Examiner")).to_be_visible()
        french.wait_until(lambda: images_loaded(popup, "#alerts img"))
        screenshot(popup, "popup-fr.png")

        review = french.open(f"review.html?alert={newest['id']}", 1280, 1100)
        expect(review.locator("h1")).to_have_text("Sentinelle — journal des correspondances")
        expect(review.locator("#country")).to_have_value("FR")
        expect(review.locator("#country-steps")).to_contain_text("3018")
        expect(review.locator("#platform-steps")).to_contain_text("usurpation d'identité")
        expect(review.get_by_role("button", name="Fausse alerte", exact=True)).to_be_visible()
        expect(review.locator("#watch-heading")).to_have_text("Comptes qui ressemblent à votre enfant")
        expect(review.locator("#look-heading")).to_have_text("La chercher")
        french.wait_until(lambda: images_loaded(review))
        screenshot(review, "review-fr.png")

        options = french.open("options.html", 900, 1000)
        expect(options.locator("#pairing-heading")).to_have_text("Se connecter à Sentinelle")
        expect(options.locator("#children-heading")).to_have_text("Les noms de vos enfants")
        expect(options.locator("#channels-heading")).to_have_text("Les alertes sur votre téléphone")
        expect(options.locator("#channel-syntax")).to_have_text("L'URL de chaque service, dans la documentation d'Apprise")
        expect(options.locator("#pairing-status")).to_contain_text("Connectée à Sentinelle")
        # No element was left with its message key instead of words.
        for page in (popup, review, options):
            untranslated = page.evaluate("""() => [...document.querySelectorAll('[data-i18n]')]
                .filter((e) => !e.closest('template') && e.textContent === e.dataset.i18n)
                .map((e) => e.dataset.i18n)""")
            assert untranslated == [], page.url
            assert page.evaluate("document.documentElement.lang") == "fr"
    finally:
        french.context.close()


def test_the_open_stream_keeps_the_worker_awake_in_a_browser_without_debugger(server: Server, tmp_path):
    """Chromium stops an idle worker after 30 s; while the event stream is open it must not, or
    alerts would wait for the next alarm. Only visible with no debugger on the worker."""

    async def scenario() -> float:
        async with bare_chromium(tmp_path / "profile", EXTENSION_ID) as chromium:
            for _ in range(100):
                if await chromium.worker_running():
                    break
                await asyncio.sleep(0.1)
            async with chromium.page("options.html") as page:
                pairing = json.dumps({"server": server.address, "token": server.token})
                await chromium.evaluate(page, f"chrome.storage.local.set({pairing})")
                for _ in range(100):
                    link = await chromium.evaluate(page, "chrome.storage.session.get('link')")
                    if link.get("link", {}).get("state") == "open":
                        break
                    await asyncio.sleep(0.1)
                assert link["link"]["state"] == "open"
            # Quiet, with no page open: past the 30 s a worker may stay idle.
            for _ in range(7):
                await asyncio.sleep(5)
                assert await chromium.worker_running()
            async with chromium.page("options.html") as page:
                before = len(server.alerts("new"))
                await asyncio.to_thread(server.show_copy, "https://www.instagram.com/after.quiet/")
                shown = time.monotonic()
                while await chromium.evaluate(page, "chrome.action.getBadgeText({})") != str(before + 1):
                    assert time.monotonic() - shown < 10
                    await asyncio.sleep(0.05)
                return time.monotonic() - shown

    with concurrent.futures.ThreadPoolExecutor(1) as thread:  # away from Playwright's own loop
        assert thread.submit(asyncio.run, scenario()).result() < 2.0
