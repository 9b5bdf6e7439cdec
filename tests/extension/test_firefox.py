"""The Firefox build of the extension in a real Firefox ESR against the real `sentinelle run`:
the event page starts, pairing works, an alert reaches the badge and the popup, a status
change is saved, and a channel to the parent's phone is added and tested. (The Chromium tests cover every feature; this covers what differs.)"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import subprocess
import time
from collections.abc import AsyncIterator

import pytest
from PIL import Image

from sentinelle.server.setup.ca import COMMON_NAME
from tests.conftest import jpeg_bytes, kodak
from tests.extension.conftest import CDN, CHILD, EXTENSION, Server
from tests.extension.firefox import FIREFOX, firefox
from tests.support.receivers import HttpReceiver
from tests.support.watcher import free_port

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

        # A channel to the parent's phone, added and tested from Firefox's options page.
        receiver = await HttpReceiver().start()
        try:
            await browser.go(tab, "options.html")
            await browser.wait_for(tab, "document.querySelector('#pairing-status').dataset.tone === 'ok'")
            await browser.evaluate(tab, f"""(() => {{
                document.querySelector('#channel-url').value = {json.dumps(receiver.url("form"))};
                document.querySelector('#channel-name').value = 'firefox';
                document.querySelector('#channel-add').click();
            }})()""")
            # An element goes through JSON as {}, which is false: ask whether it is there.
            await browser.wait_for(tab, "document.querySelector('#channels .channel-test') !== null")
            await browser.evaluate(tab, "document.querySelector('#channels .channel-test').click()")
            said = await browser.wait_for(tab, """document.querySelector('#channel-status').dataset.tone === 'ok'
                && document.querySelector('#channel-status').textContent""")
            assert said == "Sent to firefox: look at your phone or mailbox."
            assert [r.message()["title"] for r in receiver.received] == ["Sentinelle"]
        finally:
            for channel in server.watcher.api("GET", "/api/notify")[1]["channels"]:
                server.watcher.api("DELETE", f"/api/notify/channels/{channel['id']}")
            await receiver.stop()


@contextlib.asynccontextmanager
async def canary_proxy() -> AsyncIterator[tuple[int, list[str]]]:
    """A proxy that notes the first line of each request (`CONNECT host:443`) and answers 502."""
    asked: list[str] = []

    async def note(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError):
            asked.append((await reader.readline()).decode(errors="replace").strip())
            writer.write(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            await writer.drain()
        writer.close()

    proxy = await asyncio.start_server(note, "127.0.0.1", 0)
    async with proxy:
        yield proxy.sockets[0].getsockname()[1], asked


async def test_the_firefox_build_sends_social_networks_through_sentinelle(server: Server, tmp_path):
    """proxy.onRequest: switched on from the options page, a social host goes to Sentinelle's
    proxy, and never to the profile's own proxy (a canary), even when Sentinelle's does not
    answer; switched off, it goes where the profile's settings say."""
    build = tmp_path / "firefox-build"
    subprocess.run([str(EXTENSION / "make-firefox.sh"), str(build)], check=True, capture_output=True)
    profile = tmp_path / "profile"
    profile.mkdir()
    # Sentinelle's CA trusted in the profile, as `sentinelle setup` does for Firefox.
    for args in (["-N", "--empty-password"],
                 ["-A", "-n", COMMON_NAME, "-t", "C,,", "-i", str(server.watcher.ca_file)]):
        subprocess.run(["certutil", *args, "-d", f"sql:{profile}"], check=True, capture_output=True)
    image = jpeg_bytes(Image.open(kodak(22)))  # a stranger's photo: seen, no alert
    server.origin.files["/v/t51/firefox.jpg"] = ("image/jpeg", image)
    social = f"https://{CDN}/v/t51/firefox.jpg"

    async with canary_proxy() as (canary, asked), firefox(profile, proxy_port=canary) as browser:
        await browser.install(build)
        tab = await browser.extension_tab()
        await browser.wait_for(tab, "document.querySelector('#pairing-status').dataset.tone === 'info'")
        await browser.evaluate(tab, f"""(() => {{
            document.querySelector('#server').value = {json.dumps(server.address)};
            document.querySelector('#token').value = {json.dumps(server.token)};
            document.querySelector('#connect').click();
        }})()""")
        await browser.wait_for(tab, "document.querySelector('#pairing-status').dataset.tone === 'ok'")

        await browser.evaluate(tab, "document.querySelector('#proxy-switch').click()")
        status = await browser.wait_for(tab, """document.querySelector('#proxy-status').dataset.tone
            === 'ok' && document.querySelector('#proxy-status').textContent""")
        assert f"(127.0.0.1:{server.watcher.proxy_port})" in status
        stored = await browser.evaluate(tab, "chrome.storage.local.get(['proxyOn', 'proxyRoute'])")
        assert stored["proxyOn"] is True and "cdninstagram.com" in stored["proxyRoute"]["domains"]

        seen = server.images_seen()
        other = (await browser.call("browsingContext.create", {"type": "tab"}))["context"]
        await browser.call("browsingContext.navigate", {"context": other, "url": social, "wait": "complete"})
        assert await browser.evaluate(other, "document.contentType") == "image/jpeg"
        assert server.images_seen() == seen + 1

        # The route's proxy host is always 127.0.0.1, whatever the stored route says.
        await browser.evaluate(tab, """chrome.storage.local.get('proxyRoute').then(({ proxyRoute }) =>
            chrome.storage.local.set({ proxyRoute: { ...proxyRoute, host: '192.0.2.1' } }))""")
        await browser.call("browsingContext.navigate",
                           {"context": other, "url": social + "?host", "wait": "complete"})
        assert await browser.evaluate(other, "document.contentType") == "image/jpeg"
        assert server.images_seen() == seen + 2

        # Sentinelle's proxy does not answer: the social host fails, and never fails over.
        await browser.evaluate(tab, f"""chrome.storage.local.get('proxyRoute').then(({{ proxyRoute }}) =>
            chrome.storage.local.set({{ proxyRoute: {{ ...proxyRoute, port: {free_port()} }} }}))""")
        with pytest.raises(RuntimeError, match="NS_ERROR_PROXY_CONNECTION_REFUSED"):
            await browser.call("browsingContext.navigate",
                               {"context": other, "url": social + "?stopped", "wait": "complete"})
        assert not [line for line in asked if CDN in line]

        await browser.evaluate(tab, "document.querySelector('#proxy-switch').click()")
        await browser.wait_for(tab, "document.querySelector('#proxy-status').dataset.tone === 'info'"
                                    " && !document.querySelector('#proxy-switch').checked")
        with pytest.raises(RuntimeError, match="NS_ERROR_PROXY_BAD_GATEWAY"):  # the canary's 502
            await browser.call("browsingContext.navigate",
                               {"context": other, "url": social + "?off", "wait": "complete"})
        assert {line for line in asked if CDN in line} == {f"CONNECT {CDN}:443 HTTP/1.1"}
        assert server.images_seen() == seen + 2


async def test_the_firefox_build_sends_an_impostor_no_token(tmp_path):
    """Paired, and another program on the API port: Firefox's extension sends it only the
    hello, and says Sentinelle is not answering. Its requests carry the fetch metadata the
    API accepts (Firefox: `same-origin`, the extension having the host permission)."""
    from aiohttp import web

    from sentinelle.server.api.app import FETCH_SITES
    from tests.extension.impostor import impostor

    build = tmp_path / "firefox-build"
    subprocess.run([str(EXTENSION / "make-firefox.sh"), str(build)], check=True, capture_output=True)
    token = "firefox-impostor-test-token-" + "y" * 16
    received: list[dict] = []
    runner = web.AppRunner(impostor(received)())
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        async with firefox(tmp_path / "profile") as browser:
            await browser.install(build)
            tab = await browser.extension_tab()
            await browser.wait_for(tab, "document.querySelector('#pairing-status').dataset.tone === 'info'")
            await browser.evaluate(tab, f"chrome.storage.local.set({{ server: 'http://127.0.0.1:{port}', "
                                        f"token: {json.dumps(token)} }})")
            await browser.go(tab, "popup.html")  # then the options page again, as the parent would
            await browser.go(tab, "options.html")
            status = await browser.wait_for(tab, """document.querySelector('#pairing-status').dataset.tone
                === 'error' && document.querySelector('#pairing-status').textContent""")
            assert "Sentinelle is not answering" in status
    finally:
        await runner.cleanup()
    assert received and {r["path"] for r in received} == {"/api/hello"}
    assert token not in json.dumps(received)
    assert {r["headers"].get("Sec-Fetch-Site") for r in received} <= FETCH_SITES


async def test_nothing_of_hers_reaches_an_impostor_from_firefox(tmp_path):
    """Issue 30 in Firefox: paired with Sentinelle, which then stops; a logger answers every
    request on its port with an unsigned 401. Enrolling a photo (dropped on the options page),
    saving her child and marking an alert, twice each, send it nothing of hers, never a body,
    and its first answer forgets the session."""
    from tests.extension import impostor as on_the_port

    build = tmp_path / "firefox-build"
    subprocess.run([str(EXTENSION / "make-firefox.sh"), str(build)], check=True, capture_output=True)
    token = "firefox-impostor-test-token-" + "z" * 16
    port = free_port()
    alert = on_the_port.store_with_an_alert(tmp_path / "data")
    hers = kodak(7).read_bytes()
    received: list[dict] = []
    async with firefox(tmp_path / "profile") as browser:
        await browser.install(build)
        options = await browser.extension_tab("options.html")
        await browser.wait_for(options, "document.querySelector('#pairing-status').dataset.tone === 'info'")
        with on_the_port.AppThread(on_the_port.sentinelle_api(tmp_path / "data", token, port, free_port()), port):
            await browser.evaluate(options, f"""(() => {{
                document.querySelector('#server').value = 'http://127.0.0.1:{port}';
                document.querySelector('#token').value = {json.dumps(token)};
                document.querySelector('#connect').click();
            }})()""")
            await browser.wait_for(options, "document.querySelector('#pairing-status').dataset.tone === 'ok'")
            await browser.wait_for(options, "chrome.storage.local.get('token').then((s) => Boolean(s.token))")
            await browser.evaluate(options, f"void window.open('review.html?alert={alert}')")
            review = await browser.extension_tab("review.html")
            await browser.wait_for(review, "document.querySelector('#status-line').textContent.includes('New')")

        with on_the_port.AppThread(on_the_port.impostor(received, refuse=True), port):
            for attempt in range(2):
                name = f"lea-birthday-{attempt}.jpg"
                await browser.evaluate(options, f"""(() => {{
                    const bytes = Uint8Array.from(atob({json.dumps(base64.b64encode(hers).decode())}),
                                                  (c) => c.charCodeAt(0));
                    const dropped = new DataTransfer();
                    dropped.items.add(new File([bytes], {json.dumps(name)}, {{ type: 'image/jpeg' }}));
                    document.querySelector('#drop-zone').dispatchEvent(
                        new DragEvent('drop', {{ dataTransfer: dropped, bubbles: true, cancelable: true }}));
                }})()""")
                await browser.wait_for(options, f"""document.querySelector('#enroll-results li[data-file="{name}"]')
                                                     ?.classList.contains('skipped')""")

                await browser.evaluate(options, f"""(() => {{
                    document.querySelector('#child-status').removeAttribute('data-tone');
                    document.querySelector('#child-name').value = {json.dumps(on_the_port.HER_NAME)};
                    document.querySelector('#child-aliases').value = {json.dumps(", ".join(on_the_port.HER_ALIASES))};
                    const row = document.querySelector('#child-handles li:last-child');
                    row.querySelector('select').value = 'instagram';
                    row.querySelector('input').value = {json.dumps(on_the_port.HER_HANDLE)};
                    document.querySelector('#child-save').click();
                }})()""")
                await browser.wait_for(options, "document.querySelector('#child-status').dataset.tone === 'error'")

                await browser.evaluate(review, """(() => {
                    document.querySelector('#status-line').textContent = '';
                    document.querySelector('[data-status=reported]').click();
                })()""")
                line = await browser.wait_for(review, """(() => {
                    const text = document.querySelector('#status-line').textContent;
                    return text && !text.startsWith('Saving') && text; })()""")
                assert "Saved" not in line
            await browser.wait_for(options, "chrome.storage.session.get('apiSession').then((s) => !s.apiSession)")

    assert received and on_the_port.traces_of_her(received, hers) == []
    assert on_the_port.methods_beyond_hello(received) == {"GET"}
    assert len({r["headers"]["Authorization"] for r in received if "Authorization" in r["headers"]}) <= 1
    assert token not in json.dumps(received)
