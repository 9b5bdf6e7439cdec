"""The Firefox build of the extension in a real Firefox ESR against the real `sentinelle run`:
the event page starts, pairing works, an alert reaches the badge and the popup, and a status
change is saved. (The Chromium tests cover every feature; this covers what differs.)"""

from __future__ import annotations

import asyncio
import json
import subprocess
import time

import pytest

from tests.extension.conftest import CHILD, EXTENSION, Server
from tests.extension.firefox import FIREFOX, firefox

pytestmark = pytest.mark.skipif(FIREFOX is None, reason="needs Firefox (Debian: apt-get install firefox-esr)")


async def test_the_firefox_build_pairs_and_shows_alerts(server: Server, tmp_path):
    build = tmp_path / "firefox-build"
    subprocess.run([str(EXTENSION / "make-firefox.sh"), str(build)], check=True, capture_output=True)
    async with firefox(tmp_path / "profile") as browser:
        await browser.install(build)
        tab = await browser.extension_tab()  # the options page the first run opens
        await browser.wait_for(tab, "document.querySelector('#pairing-status').dataset.tone === 'info'")
        assert await browser.evaluate(tab, "document.querySelector('#pairing-heading').textContent") \
            == "Connect to Sentinelle"

        await browser.evaluate(tab, f"""(() => {{
            document.querySelector('#server').value = {json.dumps(server.address)};
            document.querySelector('#token').value = {json.dumps(server.token)};
            document.querySelector('#connect').click();
        }})()""")
        status = await browser.wait_for(tab, """document.querySelector('#pairing-status').dataset.tone
            === 'ok' && document.querySelector('#pairing-status').textContent""")
        assert f"Connected to Sentinelle 0.1.0 at {server.address}" in status
        await browser.wait_for(tab, "chrome.storage.session.get('link')"
                                    ".then((s) => s.link?.state === 'open')")

        before = len(server.alerts("new"))
        await asyncio.to_thread(server.show_copy, "https://www.instagram.com/seen.in.firefox/")
        shown = time.monotonic()
        await browser.wait_for(tab, f"chrome.action.getBadgeText({{}}).then((t) => t === '{before + 1}')")
        assert time.monotonic() - shown < 2.0
        alert = server.alerts()[0]
        # Headless Firefox closes notifications at once (getAll() stays empty): that the alert
        # was notified without an error is what the worker records.
        await browser.wait_for(tab, f"chrome.storage.local.get('lastNotifiedId')"
                                    f".then((s) => s.lastNotifiedId === {alert['id']})")

        await browser.go(tab, "popup.html")
        card = await browser.wait_for(tab, "document.querySelector('#alerts > li')?.innerText")
        assert "@seen.in.firefox" in card and f"of {CHILD}" in card and "seen once" in card

        await browser.go(tab, f"review.html?alert={alert['id']}")
        await browser.wait_for(tab, "document.querySelector('#detail-evidence').naturalWidth === 480")
        await browser.evaluate(tab, "document.querySelector('[data-status=resolved]').click()")
        await browser.wait_for(tab, "document.querySelector('#status-line').textContent"
                                    " === 'Saved: Resolved'")
        code, saved = server.watcher.api("GET", f"/api/alerts/{alert['id']}")
        assert saved["status"] == "resolved"
