"""The switch "Send only social networks through Sentinelle" across restarts (issue 23), in
Chromium and in Firefox, with a real `sentinelle run`: switched on, the browser quits, Sentinelle
stops, the browser starts again with the same profile: the social networks do not load, every
other site does; Sentinelle starts again on its ports: they load through it and are checked,
with nothing for the parent to click.

Here every host can also be reached directly: the browser's own way out (Chromium's resolver,
Firefox's own proxy settings) leads the fake Instagram CDN and the bank alike to one origin,
whose CA the browser trusts as it would a public one. So a social network reached directly
loads, under that CA and unwatched, as the tester saw; through Sentinelle, under Sentinelle's
CA, and its proxy counts the image.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
from PIL import Image

from sentinelle.server.setup.ca import COMMON_NAME
from tests.conftest import jpeg_bytes, kodak
from tests.extension.conftest import CDN, EXTENSION, EXTENSION_ID, OriginThread, launch
from tests.extension.firefox import FIREFOX, firefox
from tests.extension.test_proxy_switch import BANK, BANK_PAGE, proxy_setting, visit
from tests.server.nss import CHROMIUM_DB, home_env
from tests.support.certs import OriginCerts, make_origin_certs
from tests.support.watcher import Watcher, sentinelle

IMAGE = jpeg_bytes(Image.open(kodak(23)))  # a stranger's photo: seen and checked, no alert
ORIGIN_CA = "Fake Origin CA"


@pytest.fixture(scope="module")
def sites(tmp_path_factory) -> Iterator[tuple[object, OriginCerts]]:
    """The fake Instagram CDN and the bank, on one origin with one CA."""
    certs = make_origin_certs(tmp_path_factory.mktemp("sites"), [CDN, BANK])
    thread = OriginThread(certs, {
        "/v/t51/photo.jpg": ("image/jpeg", IMAGE),
        # Never from the browser's cache: a tab the session reopens must ask the network for it.
        "/v/t51/uncached.jpg": ("image/jpeg", IMAGE, {"Cache-Control": "no-store"}),
        "/": ("text/html", BANK_PAGE)})
    origin = thread.start()
    try:
        yield origin, certs
    finally:
        thread.stop()


@pytest.fixture
def playwright_here():
    """Playwright for one test only: the module's Firefox test runs an event loop of its own,
    which Playwright's, kept for a whole module, would still hold."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        yield playwright


def social(visit_name: str, path: str = "/v/t51/photo.jpg") -> str:
    return f"https://{CDN}{path}?{visit_name}"


def images_seen(watcher: Watcher) -> int:
    code, stats = watcher.api("GET", "/api/stats")
    assert code == 200, stats
    return stats["images"]["seen"]


def stopped(watcher: Watcher) -> None:
    """Stop Sentinelle as the system would, and check it stopped cleanly."""
    assert watcher.stop() == 0, watcher.output[1]
    assert "Traceback" not in watcher.output[1], watcher.output[1]


def edit_preferences(profile: Path, edit: Callable[[dict], object]) -> None:
    """Change the profile's Preferences while Chromium is closed."""
    preferences = profile / "Default" / "Preferences"
    prefs = json.loads(preferences.read_text())
    edit(prefs)
    preferences.write_text(json.dumps(prefs))


def restore_last_session(prefs: dict) -> None:
    """As a parent who chose "Continue where you left off": Chromium reopens the tabs left open."""
    prefs.setdefault("session", {})["restore_on_startup"] = 1


def as_loaded_unpacked(prefs: dict) -> None:
    """The extension as chrome://extensions' "Load unpacked" records it (a parent's install:
    location 4, developer mode on), not as `--load-extension` does (location 8)."""
    prefs["extensions"]["settings"][EXTENSION_ID]["location"] = 4
    prefs["extensions"].setdefault("ui", {})["developer_mode"] = True


@pytest.mark.parametrize("install", ["load-extension", "load-unpacked"])
def test_chromium_keeps_them_closed_while_sentinelle_is_stopped(playwright_here, sites, tmp_path, install):
    """`load-extension`, as the tester ran it: Chromium installs an extension given with
    `--load-extension` anew at every start (its `onInstalled` says "install" each time) and drops
    its proxy setting then; the worker applies the route it kept, without waiting for Sentinelle.
    `load-unpacked`, as a parent installs it: Chromium keeps the setting from one start to the
    next, in force before any tab loads, so even a tab the session reopens cannot go direct.
    (With `--load-extension` such a tab may load before Chromium has loaded the extension at
    all: Chromium's order, not tested.)"""
    origin, certs = sites
    data_dir = tmp_path / "data"
    watcher = Watcher(data_dir, {CDN: origin.port}, certs.ca_file)
    ports = (watcher.proxy_port, watcher.api_port)
    home = tmp_path / "home"
    done = sentinelle(data_dir, "setup", "--no-system-store", check=False, env=home_env(home))
    assert f"✓ Chromium/Chrome ({home / CHROMIUM_DB}): done" in done.stdout, done.stdout
    subprocess.run(["certutil", "-A", "-n", ORIGIN_CA, "-t", "C,,", "-i", str(certs.ca_file),
                    "-d", f"sql:{home / CHROMIUM_DB}"], check=True, capture_output=True)
    profile = tmp_path / "chromium-profile"
    hosts = {CDN: origin.port, BANK: origin.port}
    unpacked = install == "load-unpacked"

    try:
        browser = launch(playwright_here, profile, home=home, hosts=hosts)
        try:
            browser.pair_with(f"http://127.0.0.1:{watcher.api_port}", watcher.token)
            options = browser.open("options.html")
            options.locator("#proxy-switch").check()
            options.locator("#proxy-status[data-tone=ok]").wait_for()
            assert visit(browser, social("on")) == (200, IMAGE, COMMON_NAME)
            if unpacked:
                left_open = social("left-open", "/v/t51/uncached.jpg")
                assert browser.context.new_page().goto(left_open).status == 200  # the session reopens it
        finally:
            browser.context.close()
        if unpacked:
            edit_preferences(profile, as_loaded_unpacked)
            edit_preferences(profile, restore_last_session)
        stopped(watcher)
        hits = len(origin.hits)

        browser = launch(playwright_here, profile, home=home, hosts=hosts, installed=unpacked)
        try:
            # Loaded with --load-extension, the rules are back once the worker has started.
            setting = browser.wait_until(lambda: (found := proxy_setting(browser))["levelOfControl"]
                                         == "controlled_by_this_extension" and found)
            assert f'return "PROXY 127.0.0.1:{ports[0]}";' in setting["value"]["pacScript"]["data"]
            with pytest.raises(Exception, match="ERR_PROXY_CONNECTION_FAILED"):
                visit(browser, social("stopped"))
            assert visit(browser, f"https://{BANK}/") == (200, BANK_PAGE, ORIGIN_CA)
            # The bank's page, and never the CDN directly: not that tab, nor one reopened.
            since = origin.hits[hits:]
            assert "/" in since and not [hit for hit in since if hit.startswith("/v/")], since
            if unpacked:  # the tab the session reopened shows an error, as Chromium shows it
                assert [page for page in browser.context.pages if page.url.startswith("chrome-error:")]

            watcher = Watcher(data_dir, {CDN: origin.port}, certs.ca_file, ports=ports)
            assert visit(browser, social("back")) == (200, IMAGE, COMMON_NAME)
            assert images_seen(watcher) == 1
        finally:
            browser.context.close()
    finally:
        stopped(watcher)


@contextlib.asynccontextmanager
async def own_proxy(routes: dict[str, int]) -> AsyncIterator[tuple[int, list[str]]]:
    """The profile's own proxy, as a family's network may have one: it notes the first line of
    each request (`CONNECT host:443 …`) and tunnels the hosts of `routes` to those ports of
    127.0.0.1 (every other one: 502)."""
    asked: list[str] = []

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()

    async def tunnel(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        line = (await reader.readline()).decode(errors="replace").strip()
        asked.append(line)
        while (await reader.readline()).strip():
            pass  # the request's headers
        host = line.split(" ")[1].rpartition(":")[0] if line.startswith("CONNECT ") else ""
        if host not in routes:
            writer.write(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            await writer.drain()
            writer.close()
            return
        upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", routes[host])
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer))

    proxy = await asyncio.start_server(tunnel, "127.0.0.1", 0)
    async with proxy:
        yield proxy.sockets[0].getsockname()[1], asked


@pytest.mark.skipif(FIREFOX is None, reason="needs Firefox (Debian: apt-get install firefox-esr)")
async def test_firefox_keeps_them_closed_while_sentinelle_is_stopped(sites, tmp_path):
    """Firefox keeps the extension's `proxy.onRequest` listener across its restart and holds the
    first requests until the extension's page has started; the listener reads the route kept in
    storage. (The extension is installed for good, as a parent's is: a temporary add-on is gone
    when Firefox quits.)"""
    origin, certs = sites
    data_dir = tmp_path / "data"
    watcher = Watcher(data_dir, {CDN: origin.port}, certs.ca_file)
    ports = (watcher.proxy_port, watcher.api_port)
    build = tmp_path / "firefox-build"
    subprocess.run([str(EXTENSION / "make-firefox.sh"), str(build)], check=True, capture_output=True)
    profile = tmp_path / "profile"
    profile.mkdir()
    # Sentinelle's CA trusted in the profile, as `sentinelle setup` does; the origin's stands for a public CA.
    for args in (["-N", "--empty-password"],
                 ["-A", "-n", COMMON_NAME, "-t", "C,,", "-i", str(watcher.ca_file)],
                 ["-A", "-n", ORIGIN_CA, "-t", "C,,", "-i", str(certs.ca_file)]):
        subprocess.run(["certutil", *args, "-d", f"sql:{profile}"], check=True, capture_output=True)

    async def load(browser, url: str) -> str:
        """What the tab shows once `url` loaded: its content type."""
        tab = (await browser.call("browsingContext.create", {"type": "tab"}))["context"]
        await browser.call("browsingContext.navigate", {"context": tab, "url": url, "wait": "complete"})
        return await browser.evaluate(tab, "document.contentType")

    try:
        async with own_proxy({CDN: origin.port, BANK: origin.port}) as (proxy_port, asked):
            async with firefox(profile, proxy_port=proxy_port) as browser:
                await browser.install(build, permanent=True)
                options = await browser.extension_tab("options.html")
                await browser.wait_for(options, "document.querySelector('#pairing-status').dataset.tone === 'info'")
                await browser.evaluate(options, f"""(() => {{
                    document.querySelector('#server').value = 'http://127.0.0.1:{watcher.api_port}';
                    document.querySelector('#token').value = {json.dumps(watcher.token)};
                    document.querySelector('#connect').click();
                }})()""")
                await browser.wait_for(options, "chrome.storage.local.get('token').then((s) => Boolean(s.token))")
                await browser.evaluate(options, "document.querySelector('#proxy-switch').click()")
                await browser.wait_for(options, "document.querySelector('#proxy-status').dataset.tone === 'ok'")
                assert await load(browser, social("on")) == "image/jpeg"
                assert images_seen(watcher) == 1
                await browser.quit()
            stopped(watcher)

            async with firefox(profile, proxy_port=proxy_port) as browser:
                with pytest.raises(RuntimeError, match="NS_ERROR_PROXY_CONNECTION_REFUSED"):
                    await load(browser, social("stopped"))
                assert await load(browser, f"https://{BANK}/") == "text/html"
                assert not [line for line in asked if CDN in line]  # never the profile's own way
                assert [line for line in asked if BANK in line]

                watcher = Watcher(data_dir, {CDN: origin.port}, certs.ca_file, ports=ports)
                assert await load(browser, social("back")) == "image/jpeg"
                assert images_seen(watcher) == 1
                assert not [line for line in asked if CDN in line]
                await browser.quit()
    finally:
        stopped(watcher)
