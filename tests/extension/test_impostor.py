"""An impostor on Sentinelle's API port, in a real Chromium with the extension.

The extension is paired with a Sentinelle on a port of its own (its API, in a thread: nothing
here needs the proxy) and has switched the social networks through it. Then Sentinelle stops,
and another program takes the port: it mimics Sentinelle's routes, answers everything with
success (or, as the probe of issue 30 did, with an unsigned 401), offers its own proxy and PAC,
and notes every header and body it receives. It learns no token, the browser's proxy rules
stay the extension's, the options page says Sentinelle is not answering, and nothing the parent
does then (enrolling a photo, saving a child, marking an alert) sends it anything of hers.
Sentinelle started again on the port, the extension is connected again, and nothing the
impostor received opens Sentinelle's API.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from aiohttp import web
from playwright.sync_api import expect

from sentinelle.proxy.hosts import all_domains
from sentinelle.server.api.app import FETCH_SITES
from tests.conftest import kodak
from tests.extension.conftest import Browser, launch
from tests.extension.impostor import (
    HER_ALIASES,
    HER_HANDLE,
    HER_NAME,
    AppThread,
    impostor,
    methods_beyond_hello,
    sentinelle_api,
    store_with_an_alert,
    traces_of_her,
)
from tests.support.watcher import free_port

TOKEN = "impostor-test-token-" + "x" * 24
EXTRA = "example-social.net"  # `sentinelle_extra_hosts`: a domain Sentinelle adds to the list


def sentinelle(data_dir: Path, port: int, proxy_port: int) -> Callable[[], web.Application]:
    """Sentinelle's API as `sentinelle run` makes it, with an extra host."""
    return sentinelle_api(data_dir, TOKEN, port, proxy_port, extra=(EXTRA,))


@pytest.fixture
def chromium(playwright_instance, tmp_path) -> Iterator[Browser]:
    browser = launch(playwright_instance, tmp_path / "profile")
    try:
        yield browser
    finally:
        browser.context.close()


def proxy_setting(browser: Browser) -> dict:
    return browser.worker().evaluate("chrome.proxy.settings.get({ incognito: false })")


def test_an_impostor_on_the_api_port_learns_no_token_and_changes_no_proxy(chromium: Browser, tmp_path):
    port, proxy_port = free_port(), free_port()
    address = f"http://127.0.0.1:{port}"
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    options = chromium.open("options.html", 900, 1000)
    status = options.locator("#pairing-status")

    # Paired with Sentinelle, and the social networks switched through it.
    with AppThread(sentinelle(data_dir, port, proxy_port), port):
        # `localhost` is kept as 127.0.0.1, where Sentinelle listens (the name may lead to ::1).
        options.fill("#server", f"http://localhost:{port}")
        options.fill("#token", TOKEN)
        options.click("#connect")
        expect(status).to_contain_text(f"Connected to Sentinelle 0.1.0 at {address}")
        assert chromium.storage()["server"] == address
        options.locator("#proxy-switch").check()
        expect(options.locator("#proxy-status")).to_contain_text(f"(127.0.0.1:{proxy_port})")
        chromium.wait_until(lambda: chromium.storage("session").get("link", {}).get("state") == "open")
    applied = proxy_setting(chromium)
    route = chromium.storage()["proxyRoute"]
    assert applied["levelOfControl"] == "controlled_by_this_extension"
    pac = applied["value"]["pacScript"]["data"]
    # The extension's own script: its own list, then the extra host Sentinelle proved it names.
    assert f'var SOCIAL = {json.dumps(all_domains([EXTRA]), separators=(",", ":"))};' in pac
    assert f'return "PROXY 127.0.0.1:{proxy_port}";' in pac
    assert route == {"host": "127.0.0.1", "port": proxy_port, "domains": all_domains([EXTRA])}

    # Sentinelle stopped; another program took its port.
    received: list[dict] = []
    with AppThread(impostor(received), port):
        options.reload()
        expect(status).to_contain_text("Sentinelle is not answering", timeout=15_000)
        expect(status).to_have_attribute("data-tone", "error")
        assert "Connected" not in status.inner_text()

        # The worker, restarted, reconnects and asks for the proxy's port: from the impostor.
        chromium.stop_worker()
        chromium.open("popup.html").close()  # a page asks the worker to sync: that starts it
        chromium.wait_until(lambda: chromium.storage("session").get("link", {}).get("error") == "not_sentinelle",
                            timeout=20)
        chromium.wait_until(lambda: any(r["path"] == "/api/events" or r["path"] == "/api/hello"
                                        for r in received))
        # Switching on again while the impostor answers: refused, the rules stay.
        assert options.evaluate("import('./js/proxy.js').then((m) => m.refreshProxy())") == "not_sentinelle"
        assert options.evaluate("import('./js/proxy.js').then((m) => m.applyProxy()).catch((e) => e.kind)") \
            == "not_sentinelle"
        badge_title = chromium.worker().evaluate("chrome.action.getTitle({})")
        assert "Sentinelle is not answering" in badge_title

    # It learned no token, and never was sent the token's place in a header.
    assert received, "the extension never spoke to the impostor"
    everything = json.dumps(received)
    assert TOKEN not in everything
    assert not [r for r in received if "bearer" in r["headers"].get("Authorization", "").lower()]
    # Nothing it offered was applied: the proxy setting and the route are the extension's.
    assert proxy_setting(chromium) == applied
    assert chromium.storage()["proxyRoute"] == route and chromium.storage()["proxyOn"] is True
    assert "evil.example" not in json.dumps(chromium.storage())
    # What Chromium's extension sends (pages and worker) is what the API accepts (FETCH_SITES).
    assert {r["headers"].get("Sec-Fetch-Site") for r in received} <= FETCH_SITES

    # Sentinelle back on its port (a new instance): connected again, and nothing the impostor
    # received opens its API.
    with AppThread(sentinelle(data_dir, port, proxy_port), port):
        options.reload()
        expect(status).to_contain_text(f"Connected to Sentinelle 0.1.0 at {address}", timeout=15_000)
        credentials = {r["headers"]["Authorization"] for r in received if "Authorization" in r["headers"]}
        assert credentials  # the session kept from before the stop: worth nothing now
        for credential in credentials:
            code = options.evaluate("""([url, credential]) => fetch(url, { headers: { Authorization: credential } })
                                         .then((r) => r.status)""", [f"{address}/api/alerts", credential])
            assert code == 401, credential
    options.close()


def test_the_options_page_says_so_in_french(playwright_instance, tmp_path):
    """Paired, then an impostor on the port from the start: the French words, and still no token."""
    port = free_port()
    french = launch(playwright_instance, tmp_path / "profile-fr", lang="fr")
    received: list[dict] = []
    try:
        with AppThread(impostor(received), port):
            french.worker().evaluate("([server, token]) => chrome.storage.local.set({ server, token })",
                                     [f"http://127.0.0.1:{port}", TOKEN])
            options = french.open("options.html")
            status = options.locator("#pairing-status[data-tone=error]")
            expect(status).to_contain_text("Sentinelle ne répond pas", timeout=15_000)
            assert "n'a pas pu prouver qu'il est Sentinelle" in status.inner_text()
    finally:
        french.context.close()
    assert received and {r["path"] for r in received} == {"/api/hello"}
    assert TOKEN not in json.dumps(received)


@pytest.mark.parametrize("refuse", [True, False], ids=["unsigned-401", "says-yes"])
def test_nothing_of_hers_reaches_an_impostor(chromium: Browser, tmp_path, refuse: bool):
    """Issue 30: paired, Sentinelle stopped, a logger on its port. The parent enrols a photo,
    saves her child's names and accounts and marks an alert, twice each, in pages opened while
    Sentinelle ran: the logger gets the hellos and requests that carry nothing, never a body;
    the first unsigned answer forgets the session."""
    port = free_port()
    data_dir = tmp_path / "data"
    alert = store_with_an_alert(data_dir)
    hers = kodak(7).read_bytes()  # the photo the parent enrols (a Kodak fixture)

    with AppThread(sentinelle(data_dir, port, free_port()), port):
        chromium.pair_with(f"http://127.0.0.1:{port}", TOKEN)
        options = chromium.open("options.html", 900, 1200)
        expect(options.locator("#pairing-status")).to_contain_text("Connected to Sentinelle")
        review = chromium.open(f"review.html?alert={alert}")
        expect(review.locator("#status-line")).to_contain_text("New")
        assert chromium.storage("session").get("apiSession")

    received: list[dict] = []
    with AppThread(impostor(received, refuse=refuse), port):
        for attempt in range(2):
            name = f"lea-birthday-{attempt}.jpg"
            options.set_input_files("#files", files=[{"name": name, "mimeType": "image/jpeg", "buffer": hers}])
            expect(options.locator(f'#enroll-results li[data-file="{name}"]')).to_have_class("result skipped")

            options.evaluate("document.querySelector('#child-status').removeAttribute('data-tone')")
            options.fill("#child-name", HER_NAME)
            options.fill("#child-aliases", ", ".join(HER_ALIASES))
            row = options.locator("#child-handles li").last
            row.locator("select").select_option("instagram")
            row.locator("input").fill(HER_HANDLE)
            options.click("#child-save")
            expect(options.locator("#child-status")).to_have_attribute("data-tone", "error")

            line = review.locator("#status-line")
            review.evaluate("document.querySelector('#status-line').textContent = ''")
            review.click("[data-status=reported]")
            expect(line).to_have_text(re.compile(r"^(?!Saving).+"))
            assert "Saved" not in line.inner_text()
        chromium.wait_until(lambda: "apiSession" not in chromium.storage("session"))

    assert received and traces_of_her(received, hers) == []
    assert methods_beyond_hello(received) == {"GET"}
    # The session the pages had goes at most once to it: after its first unsigned answer, hellos only.
    credentials = [r["headers"]["Authorization"] for r in received if "Authorization" in r["headers"]]
    assert len(set(credentials)) <= 1
    assert TOKEN not in json.dumps(received)
    options.close()
    review.close()
