"""The switch "Send only social networks through Sentinelle" in a real Chromium with the extension.

Switched on from the options page, the extension applies the server's PAC script
(`chrome.proxy`, `pacScript.data`). Each host can be reached by one route only: the fake
Instagram CDN through Sentinelle's proxy (the proxy's test resolver knows it, Chromium's does
not), the fake bank directly (Chromium's `--host-resolver-rules` knows it, the proxy does not).
So a page that loads proves the route the PAC chose, and the certificate's issuer says who
served it: Sentinelle's CA for the CDN, the bank's own for the bank. Switched off, the setting
is cleared and the CDN no longer loads.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest
from PIL import Image

from sentinelle.server.setup.ca import COMMON_NAME
from tests.conftest import jpeg_bytes, kodak
from tests.extension.conftest import (
    CDN,
    Browser,
    OriginThread,
    Server,
    launch,
    screenshot,
)
from tests.server.nss import CHROMIUM_DB, home_env
from tests.support.certs import make_origin_certs
from tests.support.watcher import sentinelle

BANK = "www.example-bank.test"
BANK_PAGE = b"<!doctype html><title>Bank</title><h1>Your bank</h1>"


@pytest.fixture(scope="module")
def bank(tmp_path_factory) -> Iterator[tuple[OriginThread, object]]:
    """A site that is not a social network, with its own CA (as a public CA would be)."""
    certs = make_origin_certs(tmp_path_factory.mktemp("bank"), [BANK])
    thread = OriginThread(certs, {"/": ("text/html", BANK_PAGE)})
    origin = thread.start()
    try:
        yield origin, certs
    finally:
        thread.stop()


@pytest.fixture(scope="module")
def proxied(playwright_instance, server: Server, bank, tmp_path_factory) -> Iterator[Browser]:
    """Chromium with the extension, on a fresh HOME where `sentinelle setup` made it trust
    Sentinelle's CA (as on a parent's PC); it resolves the bank's name only."""
    origin, certs = bank
    home = tmp_path_factory.mktemp("home")
    # Firefox is installed here but was never opened in this HOME: setup says so and fails.
    done = sentinelle(server.watcher.data_dir, "setup", "--no-system-store", check=False,
                      env=home_env(home))
    assert f"✓ Chromium/Chrome ({home / CHROMIUM_DB}): done" in done.stdout, done.stdout
    # The bank's CA stands for a public one, which Chromium trusts without anyone's help.
    subprocess.run(["certutil", "-A", "-n", "Fake Origin CA", "-t", "C,,", "-i", str(certs.ca_file),
                    "-d", f"sql:{home / CHROMIUM_DB}"], check=True, capture_output=True)
    browser = launch(playwright_instance, tmp_path_factory.mktemp("chromium-proxy"),
                     home=home, hosts={BANK: origin.port})
    try:
        browser.pair(server)
        yield browser
    finally:
        browser.context.close()


def proxy_setting(browser: Browser) -> dict:
    return browser.worker().evaluate("chrome.proxy.settings.get({ incognito: false })")


def visit(browser: Browser, url: str):
    """Load `url` in a new tab; (status, body, issuer of its certificate)."""
    tab = browser.context.new_page()
    try:
        response = tab.goto(url)
        return response.status, response.body(), response.security_details()["issuer"]
    finally:
        tab.close()


def test_the_switch_sends_social_networks_through_sentinelle_and_the_rest_direct(
        proxied: Browser, server: Server, bank):
    image = jpeg_bytes(Image.open(kodak(21)))  # a stranger's photo: seen and checked, no alert
    server.origin.files["/v/t51/through-pac.jpg"] = ("image/jpeg", image)
    server.origin.files["/v/t51/after-off.jpg"] = ("image/jpeg", image)
    social = f"https://{CDN}/v/t51/through-pac.jpg"

    # Off by default: the browser cannot reach the CDN by itself, and its proxy is its own.
    with pytest.raises(Exception, match="ERR_NAME_NOT_RESOLVED"):
        visit(proxied, social)
    assert proxy_setting(proxied)["levelOfControl"] == "controllable_by_this_extension"

    options = proxied.open("options.html")
    switch = options.locator("#proxy-switch")
    assert options.locator("#proxy-heading").inner_text() == "Send only social networks through Sentinelle"
    assert not switch.is_checked()
    switch.check()
    status = options.locator("#proxy-status[data-tone=ok]")
    status.wait_for()
    assert f"(127.0.0.1:{server.watcher.proxy_port})" in status.inner_text()
    screenshot(options, "options-proxy.png")

    setting = proxied.worker().evaluate("chrome.proxy.settings.get({ incognito: false })")
    assert setting["levelOfControl"] == "controlled_by_this_extension"
    assert setting["value"]["mode"] == "pac_script"
    assert "cdninstagram.com" in setting["value"]["pacScript"]["data"]
    # The extension's own script (its list, written without the server's spaces), to 127.0.0.1.
    assert '"instagram.com","cdninstagram.com",' in setting["value"]["pacScript"]["data"]
    assert f'return "PROXY 127.0.0.1:{server.watcher.proxy_port}";' in setting["value"]["pacScript"]["data"]
    assert "url" not in setting["value"]["pacScript"]  # embedded: no fetch that could fail open
    stored = proxied.storage()
    assert stored["proxyOn"] is True and stored["proxyRoute"]["port"] == server.watcher.proxy_port

    # The social host goes through Sentinelle: served under its CA, and the watcher sees the image.
    seen = server.images_seen()
    assert visit(proxied, social) == (200, image, COMMON_NAME)
    proxied.wait_until(lambda: server.images_seen() == seen + 1)

    # Another host goes direct: the proxy could not even resolve it; its own CA served it.
    origin, _ = bank
    assert visit(proxied, f"https://{BANK}/") == (200, BANK_PAGE, "Fake Origin CA")
    assert origin.hits.count("/") == 1

    # Rules whose proxy does not answer (Sentinelle stopped): the social host fails, never direct.
    pac = setting["value"]["pacScript"]["data"]
    stale = pac.replace(f"127.0.0.1:{server.watcher.proxy_port}", "127.0.0.1:9")
    assert "127.0.0.1:9" in stale
    proxied.worker().evaluate("""(pac) => Promise.all([
        chrome.storage.local.set({ proxyRoute: { host: "127.0.0.1", port: 9, domains: [] } }),
        chrome.proxy.settings.set({ value: { mode: "pac_script", pacScript: { data: pac, mandatory: true } },
                                    scope: "regular" })])""", stale)
    with pytest.raises(Exception, match="ERR_PROXY_CONNECTION_FAILED"):
        visit(proxied, f"https://{CDN}/v/t51/through-pac.jpg?stopped")

    # Each start of the worker asks the server for the rules again (a new port or domain).
    proxied.stop_worker()
    proxied.open("popup.html").close()  # a page asks the worker to sync: that starts it
    proxied.wait_until(lambda: proxied.storage()["proxyRoute"]["port"] == server.watcher.proxy_port)
    assert visit(proxied, f"https://{CDN}/v/t51/through-pac.jpg?again")[::2] == (200, COMMON_NAME)

    # The switch survives the page: opened again, it shows on.
    options.reload()
    options.locator("#proxy-status[data-tone=ok]").wait_for()
    assert switch.is_checked()

    # Rules the browser dropped (as Chromium does when it installs the extension anew): the
    # options page gives them back itself, rather than ask the parent to switch off and on.
    proxied.worker().evaluate("chrome.proxy.settings.clear({ scope: 'regular' })")
    assert proxy_setting(proxied)["levelOfControl"] == "controllable_by_this_extension"
    options.reload()
    options.locator("#proxy-status[data-tone=ok]").wait_for()
    assert proxy_setting(proxied)["levelOfControl"] == "controlled_by_this_extension"
    assert visit(proxied, f"https://{CDN}/v/t51/through-pac.jpg?given-back")[::2] == (200, COMMON_NAME)

    # Off: the setting is cleared, the CDN is out of reach again, the bank still loads.
    switch.uncheck()
    options.locator("#proxy-status[data-tone=info]:not(:empty)").wait_for()
    assert not switch.is_checked()
    setting = proxy_setting(proxied)
    assert setting["levelOfControl"] == "controllable_by_this_extension"
    assert setting["value"]["mode"] != "pac_script"
    assert proxied.storage()["proxyOn"] is False and "proxyRoute" not in proxied.storage()
    with pytest.raises(Exception, match="ERR_NAME_NOT_RESOLVED"):
        visit(proxied, f"https://{CDN}/v/t51/after-off.jpg")
    assert visit(proxied, f"https://{BANK}/") == (200, BANK_PAGE, "Fake Origin CA")
    assert server.images_seen() == seen + 3  # the image, and its two visits since
    options.close()
