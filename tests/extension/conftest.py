"""Fixtures for the extension tests: one real `sentinelle run`, one Chromium with the unpacked
extension, shared by the module's tests (starting either takes seconds on a 2-core machine).

A fake Instagram CDN serves copies of an enrolled photo over HTTPS on 127.0.0.1, and a fake
Instagram site the feeds that name who posted them; a Python client fetches them through the
proxy, as the browser would, and the extension must show the alert.
Chromium itself does not browse through the proxy: the extension only talks to the API.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from PIL import Image

from tests.conftest import jpeg_bytes, kodak, square_crop_copy
from tests.server.nss import home_env
from tests.support.certs import make_origin_certs
from tests.support.origin import Origin, serve_origin
from tests.support.watcher import ROOT, Watcher, sentinelle

EXTENSION = ROOT / "extension"
EXTENSION_ID = "pfhelnnocloeaoipenmhoeaoeggfalgo"  # from the fixed key in extension/manifest.json
ARTIFACTS = ROOT / "artifacts" / "extension"
CHROMIUM = Path("/usr/bin/chromium")
CDN = "scontent-test.cdninstagram.com"
SITE = "www.instagram.com"  # its feeds name the accounts (tests/fixtures/feeds/instagram_timeline.json)
FEEDS = ROOT / "tests" / "fixtures" / "feeds"
RECORDED_CDN = "scontent-cdg4-1.cdninstagram.com"
PAGE = "https://www.instagram.com/fake.account.123/"
ENROLLED = 5  # kodim05: enrolled before the watcher starts; its copies raise the alerts
CHILD = "Alice"

BROWSER_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
CHROMIUM_ARGS = [f"--disable-extensions-except={EXTENSION}", f"--load-extension={EXTENSION}", *BROWSER_ARGS]
# The browser under test reaches nothing but loopback: every other name fails to resolve,
# without a DNS query (the pages it opens for the parent, like Instagram's, stay unloaded).
RESOLVER_RULES = "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost"

# -- the fake CDN, on its own event loop in a thread (the tests themselves are sync) ---------

class OriginThread:
    """`serve_origin` running in a background thread until `stop()`."""

    def __init__(self, certs, files: dict[str, tuple[str, bytes]]) -> None:
        self._certs, self._files = certs, files
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fake-cdn", daemon=True)
        self.origin: Origin | None = None
        self.error: BaseException | None = None

    def start(self) -> Origin:
        self._thread.start()
        if not self._ready.wait(30) or self.origin is None:
            raise RuntimeError(f"the fake CDN did not start: {self.error!r}")
        return self.origin

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._done.set)
        self._thread.join(30)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._serve())
        except BaseException as e:  # noqa: BLE001 — reported by start()
            self.error = e
            self._ready.set()
        finally:
            self._loop.close()

    async def _serve(self) -> None:
        self._done = asyncio.Event()
        async with serve_origin(self._certs, self._files) as origin:
            self.origin = origin
            self._ready.set()
            await self._done.wait()


@dataclass
class Server:
    """The running `sentinelle run`, and a way to make a protected photo pass through its proxy."""

    watcher: Watcher
    origin: Origin
    copy: bytes
    _paths: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def address(self) -> str:
        return f"http://127.0.0.1:{self.watcher.api_port}"

    @property
    def token(self) -> str:
        return self.watcher.token

    def show_copy(self, page: str = PAGE) -> str:
        """Fetch a new copy of the enrolled photo through the proxy (a new image: a new alert)."""
        path = f"/v/t51/copy-{next(self._paths)}.jpg"
        self.origin.files[path] = ("image/jpeg", self.copy)
        fetched = self.watcher.fetch(CDN, path + "?sig=test", headers={"Referer": page})
        assert fetched.status == 200 and fetched.body == self.copy
        return f"https://{CDN}{path}?sig=test"

    def show_feed(self, account: str, image_path: str, display_name: str = "Not Alice") -> None:
        """Fetch, through the proxy, an Instagram timeline in which `account` posted the image at
        `image_path` of the CDN; return once Sentinelle has read it (as a browser renders a feed
        before fetching its images)."""
        text = (FEEDS / "instagram_timeline.json").read_text()
        text = text.replace("fake.account.123", account).replace('"Not Alice"', json.dumps(display_name))
        text = text.replace(f"{RECORDED_CDN}/v/t51.29350-15/431000001_1_n.jpg", f"{CDN}{image_path}")
        path = f"/api/v1/feed/timeline/{next(self._paths)}/"
        self.origin.files[path] = ("application/json; charset=utf-8", text.encode())
        assert self.watcher.fetch(SITE, path).status == 200
        deadline = time.monotonic() + 20
        while self.watcher.api("GET", "/api/stats")[1]["images"]["reading"]:
            assert time.monotonic() < deadline, "the feed was not read"
            time.sleep(0.05)

    def show_image(self, path: str, image: bytes, page: str = f"https://{SITE}/") -> str:
        """Fetch `image` from the CDN at `path` through the proxy; its full address."""
        self.origin.files[path] = ("image/jpeg", image)
        fetched = self.watcher.fetch(CDN, path + "?oh=00_A", headers={"Referer": page})
        assert fetched.status == 200 and fetched.body == image
        return f"https://{CDN}{path}?oh=00_A"

    def alerts(self, status: str | None = None) -> list[dict]:
        code, alerts = self.watcher.api("GET", "/api/alerts" + (f"?status={status}" if status else ""))
        assert code == 200, alerts
        return alerts

    def images_seen(self) -> int:
        """How many images of social hosts the proxy has seen (`/api/stats`)."""
        code, stats = self.watcher.api("GET", "/api/stats")
        assert code == 200, stats
        return stats["images"]["seen"]

    def alert_for(self, image_url: str, timeout: float = 20.0) -> dict:
        """The alert the server made for `image_url` (the matcher works in a process pool)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [a for a in self.alerts() if a["image_url"] == image_url]
            if found:
                return found[0]
            time.sleep(0.05)
        raise TimeoutError(f"no alert for {image_url}")


@pytest.fixture(scope="package")
def server(tmp_path_factory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("sentinelle")
    data_dir = folder / "data"
    sentinelle(data_dir, "enroll", "--child", CHILD, str(kodak(ENROLLED)))
    certs = make_origin_certs(folder / "origin", [CDN, SITE])
    stranger = jpeg_bytes(Image.open(kodak(20)))
    cdn = OriginThread(certs, {"/v/stranger.jpg": ("image/jpeg", stranger)})
    origin = cdn.start()
    watcher = Watcher(data_dir, {CDN: origin.port, SITE: origin.port}, certs.ca_file)
    try:
        # Warm the matcher's process pool up, so a match takes what it takes in use.
        assert watcher.fetch(CDN, "/v/stranger.jpg").status == 200
        yield Server(watcher, origin, square_crop_copy(kodak(ENROLLED)))
    finally:
        code = watcher.stop()
        cdn.stop()
    out, err = watcher.output
    assert code == 0, err
    assert "Traceback" not in err, err


# -- the browser ---------------------------------------------------------------------------

@dataclass
class Browser:
    """Chromium with the unpacked extension, and what the tests do with it."""

    context: object  # playwright BrowserContext
    extension_id: str

    def url(self, page: str) -> str:
        return f"chrome-extension://{self.extension_id}/{page}"

    def worker(self):
        """The extension's service worker (Playwright follows it across restarts)."""
        for worker in self.context.service_workers:
            if worker.url.startswith(self.url("")):
                return worker
        return self.context.wait_for_event(
            "serviceworker", predicate=lambda w: w.url.startswith(self.url("")), timeout=35_000)

    def open(self, page: str, width: int = 1280, height: int = 900):
        tab = self.context.new_page()
        tab.set_viewport_size({"width": width, "height": height})
        tab.goto(self.url(page))
        return tab

    def badge(self) -> str:
        return self.worker().evaluate("chrome.action.getBadgeText({})")

    def notifications(self) -> dict:
        return self.worker().evaluate("chrome.notifications.getAll()")

    def storage(self, area: str = "local") -> dict:
        return self.worker().evaluate(f"chrome.storage.{area}.get(null)")

    def pair(self, server: Server) -> None:
        """Pair through storage, as the options page does (its own test goes through the form)."""
        self.pair_with(server.address, server.token)

    def pair_with(self, address: str, token: str) -> None:
        stored = self.storage()
        if stored.get("server") == address and stored.get("token") == token:
            return
        self.worker().evaluate("([server, token]) => chrome.storage.local.set({server, token})", [address, token])

    def wait_until(self, condition: Callable[[], object], timeout: float = 10.0, step: float = 0.05):
        deadline = time.monotonic() + timeout
        while True:
            value = condition()
            if value:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError(f"{condition} still false after {timeout} s")
            time.sleep(step)

    def worker_running(self) -> bool:
        """Whether the extension's service worker runs now, asked without waking it."""
        session = self.context.browser.new_browser_cdp_session()
        try:
            targets = session.send("Target.getTargets")["targetInfos"]
        finally:
            session.detach()
        return any(t["type"] == "service_worker" and t["url"].startswith(self.url(""))
                   for t in targets)

    def stop_worker(self) -> None:
        """Stop the service worker as Chromium does when it is idle (chrome://serviceworker-internals)."""
        tab = self.context.new_page()
        try:
            tab.goto("chrome://serviceworker-internals/")
            registration = tab.locator(".serviceworker-registration",
                                       has_text=f"chrome-extension://{self.extension_id}/")
            registration.get_by_role("button", name="Stop").click()
            self.wait_until(lambda: "STOPPED" in registration.inner_text())
        finally:
            tab.close()
        self.wait_until(lambda: not self.worker_running())


def resolver_rules(hosts: dict[str, int] | None = None) -> str:
    """Chromium's flag that resolves `hosts`, each to a port on 127.0.0.1, and no other name."""
    mapped = "".join(f"MAP {host} 127.0.0.1:{port}, " for host, port in (hosts or {}).items())
    return f"--host-resolver-rules={mapped}{RESOLVER_RULES}"


def launch(playwright, profile: Path, *, lang: str | None = None, home: Path | None = None,
           hosts: dict[str, int] | None = None, installed: bool = False, args: tuple[str, ...] = (),
           environ: dict[str, str] | None = None, headless: bool = True) -> Browser:
    """Chromium with the extension. `home`: a HOME (with its XDG folders under it: its NSS
    database is the one Chromium trusts); `hosts`: names the browser itself resolves, each to
    a port on 127.0.0.1; `installed`: the extension as the profile holds it installed, rather
    than given with `--load-extension` (which Chromium installs anew at each start); `args`:
    more of Chromium's flags; `environ`: more of its environment; `headless`: False to draw its
    windows (on the X display `environ` names)."""
    if not CHROMIUM.exists():
        pytest.fail("the extension tests need Debian's Chromium: apt-get install chromium", pytrace=False)
    args = [*(BROWSER_ARGS if installed else CHROMIUM_ARGS), resolver_rules(hosts), *args]
    env = (home_env(home) if home else dict(os.environ)) | (environ or {})
    if lang:
        args.append(f"--lang={lang}")
        env |= {"LANGUAGE": lang, "LANG": f"{lang}_FR.UTF-8" if lang == "fr" else env.get("LANG", "C")}
    context = playwright.chromium.launch_persistent_context(
        profile, executable_path=str(CHROMIUM), headless=headless, args=args, env=env,
        locale=lang or "en-US", ignore_default_args=["--disable-extensions"] if installed else None,
    )
    worker = (context.service_workers or [None])[0] or context.wait_for_event("serviceworker")
    browser = Browser(context, worker.url.split("/")[2])
    # The first run may open the options page to pair: the tests open their own pages.
    for page in context.pages:
        if page.url.startswith(browser.url("")):
            page.close()
    return browser


@pytest.fixture(scope="module")
def playwright_instance():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="module")
def browser(playwright_instance, tmp_path_factory) -> Iterator[Browser]:
    browser = launch(playwright_instance, tmp_path_factory.mktemp("chromium-profile"))
    try:
        yield browser
    finally:
        browser.context.close()


@pytest.fixture
def paired(browser: Browser, server: Server) -> Browser:
    browser.pair(server)
    browser.wait_until(lambda: browser.storage("session").get("link", {}).get("state") == "open")
    return browser


def screenshot(page, name: str) -> Path:
    """Save a screenshot of the page's content as an artifact of the run (artifacts/ is git-ignored)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    page.locator("body").screenshot(path=str(path), animations="disabled")
    return path


def images_loaded(page, selector: str = "img") -> bool:
    """Whether every image matched has been fetched and decoded (they come from the API as blobs)."""
    return page.evaluate(
        """(selector) => [...document.querySelectorAll(selector)]
             .every((img) => img.complete && (img.naturalWidth > 0 || img.classList.contains('missing')))""",
        selector)
