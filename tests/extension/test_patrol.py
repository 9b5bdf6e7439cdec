"""Looking for her every day (issue 26), in a real Chromium with the extension, against the fake
social networks of tests/extension/patrol_sites.py through a real `sentinelle run`.

`sentinelle patrol now` asks the paired extension, over the event stream, to look at once: with
no page opened by the test, it opens each network's own search for her names in a window of
its own, and a look-alike wearing a crop of her photo as its profile picture becomes an
impersonation alert found while looking for her; X's login wall stops X, and the popup says so;
Reddit's endless results stop at their bound. Remind me's notification opens her searches, and
both modes' alarms survive a restart of the browser. (Where the patrol looks, and that it never
takes the parent's focus, is test_patrol_window.py's, on a desktop.)
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sentinelle.server.setup.ca import COMMON_NAME
from tests.extension.conftest import CHROMIUM, CHROMIUM_ARGS, EXTENSION, EXTENSION_ID, Browser, launch, resolver_rules
from tests.extension.firefox import FIREFOX, firefox
from tests.extension.notification_daemon import Desktop, desktop
from tests.extension.patrol_sites import CHILD, HANDLE, LOOK_ALIKE, PatrolSites, patrol_sites
from tests.extension.test_switch_restarts import as_loaded_unpacked, edit_preferences
from tests.support.watcher import sentinelle

# The bound as the extension declares it (extension/js/patrol.js).
SCROLLS_PER_PAGE = int(re.search(r"SCROLLS_PER_PAGE = (\d+);", (EXTENSION / "js" / "patrol.js").read_text())[1])


@pytest.fixture(scope="module")
def sites(tmp_path_factory) -> Iterator[PatrolSites]:
    with patrol_sites(tmp_path_factory.mktemp("patrol")) as sites:
        yield sites


@pytest.fixture(scope="module")
def notifications(tmp_path_factory) -> Iterator[Desktop]:
    with desktop(tmp_path_factory.mktemp("desktop")) as shown:
        yield shown


@pytest.fixture(scope="module")
def chromium(playwright_instance, sites: PatrolSites, notifications: Desktop,
             tmp_path_factory) -> Iterator[tuple[Browser, object]]:
    """Chromium paired with the sites' Sentinelle, the switch on, on a desktop that shows its
    notifications. The test is about the patrol, not about trust: the proxy's certificates are
    accepted (test_proxy_switch.py proves the trust)."""
    profile = tmp_path_factory.mktemp("chromium-patrol")
    browser = launch(playwright_instance, profile, args=("--ignore-certificate-errors",),
                     environ={"DBUS_SESSION_BUS_ADDRESS": notifications.bus_address})
    try:
        yield browser, profile
    finally:
        browser.context.close()


def pair_and_switch_on(browser: Browser, sites: PatrolSites) -> None:
    watcher = sites.watcher
    # The worker's first connection, unpaired, ends first: a pairing stored while it runs waits
    # for the next poll alarm (watch.js takes one stream at a time).
    browser.wait_until(lambda: browser.storage("session").get("link"), timeout=20)
    browser.worker().evaluate("([server, token]) => chrome.storage.local.set({server, token})",
                              [f"http://127.0.0.1:{watcher.api_port}", watcher.token])
    try:
        browser.wait_until(lambda: browser.storage("session").get("link", {}).get("state") == "open", timeout=20)
    except TimeoutError:
        raise AssertionError(f"not paired: {browser.storage('session')}, {browser.storage()}") from None
    options = browser.open("options.html")
    try:
        route = options.evaluate("import('./js/proxy.js').then((m) => m.applyProxy())")
        assert route["port"] == watcher.proxy_port
    finally:
        options.close()


def test_patrol_now_finds_a_look_alike_wearing_her_photo_and_stops_where_it_must(chromium, sites: PatrolSites):
    browser, _ = chromium
    pair_and_switch_on(browser, sites)
    pages_before = len(browser.context.pages)
    windows_before = browser.worker().evaluate("chrome.windows.getAll().then((w) => w.map((x) => x.id))")
    done = sentinelle(sites.watcher.data_dir, "patrol", "now", "--api-port", str(sites.watcher.api_port))
    assert "Asked the extension to look for her (1 connected)" in done.stdout

    # The impersonation alert, with nothing opened by the test.
    deadline = time.monotonic() + 120
    while True:
        code, alerts = sites.api("GET", "/api/alerts")
        found = [a for a in alerts if a["account"] == LOOK_ALIKE and a["kind"] == "impersonation"]
        if found:
            break
        assert time.monotonic() < deadline, f"no alert; patrol so far: {sites.patrol()}"
        time.sleep(0.5)
    [alert] = found
    assert (alert["kind"], alert["shown_as"], alert["child"]) == ("impersonation", "profile_picture", CHILD)
    code, detail = sites.api("GET", f"/api/alerts/{alert['id']}")
    found_while = detail["sightings"][0]["found_while"]
    assert found_while["what"] == "search" and found_while["term"] in (CHILD, HANDLE)

    # The run ends: the window is closed, and each network's last look is on record.
    browser.wait_until(lambda: browser.storage().get("patrolNote", {}).get("key") == "patrolNoteDone", timeout=180)
    networks = sites.patrol()
    assert set(networks) == {"instagram", "facebook", "tiktok", "x", "reddit", "pinterest"}
    instagram = networks["instagram"]
    assert [(lk["what"], lk["term"]) for lk in instagram["looks"]] == [("search", CHILD), ("search", HANDLE)]
    assert instagram["stopped"] is None and alert["id"] in [a["id"] for a in instagram["found"]["alerts"]]
    assert LOOK_ALIKE in instagram["found"]["watch"]
    # The login wall stops X at its first search: the second is never opened.
    assert networks["x"]["stopped"] == "login" and len(networks["x"]["looks"]) == 1
    # Reddit's results never end: each of its looks stops at the bound.
    reddit = networks["reddit"]["looks"]
    assert [(lk["outcome"], lk["scrolls"]) for lk in reddit] == [("bound", SCROLLS_PER_PAGE)] * 2
    # Its scrolls did load more (each load fetches one page of results), and no more than the bound
    # allows. (Firefox looks in a hidden tab: the hidden page is the next test's.)
    loads = [hit for hit in sites.origin.hits if hit.startswith("/svc/more/")]
    assert 2 < len(loads) <= 2 * (1 + SCROLLS_PER_PAGE)
    # Pinterest's load when the end of the list is drawn: they stop at the bound too.
    assert [(lk["outcome"], lk["scrolls"]) for lk in networks["pinterest"]["looks"]] == [("bound", SCROLLS_PER_PAGE)] * 2
    drawn = [hit for hit in sites.origin.hits if hit.startswith("/svc/drawn/")]
    assert 2 < len(drawn) <= 2 * (1 + SCROLLS_PER_PAGE)
    assert networks["facebook"]["stopped"] is None
    assert len(browser.context.pages) == pages_before  # the patrol's window is closed
    # The parent's windows are all still there, and the patrol's is gone.
    assert browser.worker().evaluate("chrome.windows.getAll().then((w) => w.map((x) => x.id))") == windows_before

    # The popup says when each network was looked at, for what, what was found and what stopped it.
    popup = browser.open("popup.html")
    try:
        x_line = popup.locator("#patrol-networks li[data-platform=x]")
        x_line.wait_for()
        assert "Stopped at a login page" in x_line.inner_text()
        instagram_line = popup.locator("#patrol-networks li[data-platform=instagram]").inner_text()
        assert f'"{CHILD}"' in instagram_line and f"alert #{alert['id']}" in instagram_line
        assert f"@{LOOK_ALIKE} on the watch list" in instagram_line
    finally:
        popup.close()
    out = sentinelle(sites.watcher.data_dir, "patrol").stdout
    assert "stopped at a login page" in out and f"alert #{alert['id']} (@{LOOK_ALIKE} pretends to be her)" in out


class Worker:
    """The extension's service worker in a Chromium that no Playwright drives: Playwright makes
    every page it drives visible, so a hidden page is seen only without it (raw DevTools protocol,
    attached to the worker alone)."""

    def __init__(self, ws) -> None:
        self._ws, self._ids, self.session = ws, iter(range(1, 1_000_000)), None

    async def call(self, method: str, params: dict, session: str | None = None) -> dict:
        message_id = next(self._ids)
        await self._ws.send_json({"id": message_id, "method": method, "params": params,
                                  **({"sessionId": session} if session else {})})
        while True:  # events in between are not ours
            answer = await self._ws.receive_json()
            if answer.get("id") == message_id:
                assert "error" not in answer, answer
                return answer["result"]

    async def evaluate(self, expression: str, session: str | None = None):
        """The value of `expression`, awaited, in the worker (or in the target of `session`)."""
        result = await self.call("Runtime.evaluate", {"expression": expression, "awaitPromise": True,
                                                      "returnByValue": True}, session or self.session)
        assert "exceptionDetails" not in result, result
        return result["result"].get("value")

    async def attach(self, kind: str, url: str) -> str:
        """A session on the first target of `kind` ("service_worker", "page") whose address
        begins with `url`, once there is one. (Attaching changes nothing of what the page shows.)"""
        for _ in range(300):
            targets = (await self.call("Target.getTargets", {}))["targetInfos"]
            found = [t for t in targets if t["type"] == kind and t["url"].startswith(url)]
            if found:
                return (await self.call("Target.attachToTarget", {"targetId": found[0]["targetId"],
                                                                  "flatten": True}))["sessionId"]
            await asyncio.sleep(0.1)
        raise TimeoutError(f"no {kind} at {url}")


@contextlib.asynccontextmanager
async def unwatched_chromium(profile, hosts: dict[str, int], display: str | None = None, page: str = "about:blank"):
    """Chromium with the extension, started without Playwright; its worker. Headless, or drawn
    on the X `display` (a desktop), with its first window on `page`."""
    import aiohttp

    process = subprocess.Popen(
        [str(CHROMIUM), *([] if display else ["--headless"]), f"--user-data-dir={profile}",
         "--remote-debugging-port=0", *CHROMIUM_ARGS, resolver_rules(hosts), "--ignore-certificate-errors", page],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=os.environ | ({"DISPLAY": display} if display else {}))
    try:
        port_file = profile / "DevToolsActivePort"
        for _ in range(300):
            if port_file.exists() and len(port_file.read_text().split()) == 2:
                break
            await asyncio.sleep(0.1)
        port, path = port_file.read_text().split()
        async with aiohttp.ClientSession() as http, http.ws_connect(f"ws://127.0.0.1:{port}{path}",
                                                                     max_msg_size=0) as ws:
            worker = Worker(ws)
            worker.session = await worker.attach("service_worker", f"chrome-extension://{EXTENSION_ID}/")
            for _ in range(100):  # its bindings come with its script
                if await worker.evaluate("typeof chrome === 'object' && Boolean(chrome.windows)"):
                    break
                await asyncio.sleep(0.1)
            yield worker
    finally:
        process.terminate()
        process.wait(20)


def in_own_loop(coroutine):
    """Run an async test body on an event loop of its own thread: Playwright's sync API holds this
    thread's loop for the module."""
    with concurrent.futures.ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, coroutine).result()


def test_the_patrols_scroll_sets_off_loading_in_a_hidden_page(sites: PatrolSites, tmp_path):
    in_own_loop(hidden_page(sites, tmp_path))


async def hidden_tab(worker: Worker, url: str):
    """A tab in the background (its page hidden) opened on `url`; a function that injects
    `files: [...]` or `func: ...` into it and gives the value."""
    tab = (await worker.evaluate(f"chrome.tabs.create({{ url: {json.dumps(url)}, active: false }})"))["id"]

    async def run(injected: str):
        return await worker.evaluate(f"chrome.scripting.executeScript({{ target: {{ tabId: {tab} }}, "
                                     f"{injected} }}).then(([done]) => done.result)")

    async def loaded() -> bool:
        return await worker.evaluate(f"chrome.tabs.get({tab}).then((t) => t.status)") == "complete"

    return run, loaded


async def hidden_page(sites: PatrolSites, tmp_path) -> None:
    """Firefox's patrol looks in a tab it never selects, whose page is hidden, and a browser
    sends a hidden page no scroll event: an endless list would not load more on a bare scroll.
    The patrol's scroll (js/patrol-scroll.js) sets it off. Here in Chromium's tab in the
    background, hidden too. (The page is served straight to this browser: the proxy is not what
    is tested here.)"""
    async with unwatched_chromium(tmp_path / "profile", {"www.reddit.com": sites.origin.port}) as worker:
        def hidden_loads() -> int:
            return sites.origin.hits.count("/svc/more/hidden")

        before = hidden_loads()
        run, loaded = await hidden_tab(worker, "https://www.reddit.com/search/?q=hidden")
        for _ in range(200):
            if await loaded() and hidden_loads() == before + 1:  # its first results, fetched as it loads
                break
            await asyncio.sleep(0.1)
        assert await run("func: () => document.visibilityState") == "hidden"
        assert hidden_loads() == before + 1
        for _ in range(2):  # a bare scroll: the page is not told, and loads nothing more
            await run("func: () => scrollBy(0, innerHeight * 2)")
            await asyncio.sleep(1)
        assert hidden_loads() == before + 1
        await run("files: ['js/patrol-scroll.js']")  # the patrol's own scroll
        for _ in range(100):
            if hidden_loads() == before + 2:
                break
            await asyncio.sleep(0.1)
        assert hidden_loads() == before + 2


def test_a_list_that_loads_once_its_end_is_drawn_shows_nothing_in_a_hidden_page(sites: PatrolSites, tmp_path):
    in_own_loop(drawn_end(sites, tmp_path))


async def drawn_end(sites: PatrolSites, tmp_path) -> None:
    """What the patrol's scroll cannot do: a list that loads its results only once the end of
    the list is drawn (an IntersectionObserver) waits in a hidden page, its first results too,
    since a browser draws no hidden page; no script of the page's own can draw it. So a patrol in
    a hidden page (a minimized window's, a tab in the background) sees that page at its end at the
    first scroll, with nothing loaded: why Chromium's patrol looks in a normal window, drawn, and
    Firefox's has its tab drawn before each scroll (test_patrol_window.py)."""
    earlier = len(sites.origin.hits)  # the module's other tests drew this list in a visible window
    async with unwatched_chromium(tmp_path / "profile", {"www.pinterest.com": sites.origin.port}) as worker:
        run, loaded = await hidden_tab(worker, "https://www.pinterest.com/search/users/?q=hidden")
        for _ in range(200):
            if await loaded():
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(2)  # time for its first results, had it asked for them
        assert await run("func: () => document.visibilityState") == "hidden"
        for _ in range(2):
            await run("files: ['js/patrol-scroll.js']")
            await asyncio.sleep(1.5)  # the patrol's pause after a scroll
        page = await run("files: ['js/patrol-page.js']")
        assert page["bottom"]  # at its end already: the patrol's look would end "done" here
        assert not [hit for hit in sites.origin.hits[earlier:] if hit.startswith("/svc/drawn/")]


def test_the_patrol_looks_at_nothing_with_the_switch_off(chromium, sites: PatrolSites):
    browser, _ = chromium
    pair_and_switch_on(browser, sites)
    options = browser.open("options.html")
    try:
        options.evaluate("import('./js/proxy.js').then((m) => m.clearProxy())")
    finally:
        options.close()
    looks = sum(len(n["looks"]) for n in sites.patrol().values())
    sentinelle(sites.watcher.data_dir, "patrol", "now", "--api-port", str(sites.watcher.api_port))
    browser.wait_until(lambda: browser.storage().get("patrolNote", {}).get("key") == "patrolNoteSwitchOff", timeout=20)
    assert sum(len(n["looks"]) for n in sites.patrol().values()) == looks


def test_remind_me_notifies_and_its_click_opens_her_searches(chromium, sites: PatrolSites, notifications: Desktop):
    browser, _ = chromium
    pair_and_switch_on(browser, sites)
    worker = browser.worker()
    worker.evaluate("chrome.storage.local.set({ patrolMode: 'remind', patrolHour: 9 })")
    browser.wait_until(lambda: worker.evaluate("chrome.alarms.get('remind').then((a) => Boolean(a))"))
    assert worker.evaluate("chrome.alarms.get('patrol').then((a) => a ?? null)") is None
    # Its hour has come. A scheduling the mode change set off may still be on its way and put the
    # alarm back to tomorrow's 9:00 after this one (a worker that started meanwhile schedules
    # too): then the hour is brought again.
    for attempt in range(3):
        worker.evaluate("chrome.alarms.create('remind', { when: Date.now() + 100 })")
        try:
            notification = notifications.wait_for("Look for Alice (2 minutes)", timeout=10)  # on the parent's desktop
            break
        except TimeoutError:
            if attempt == 2:
                raise
    assert browser.notifications().get("remind")

    windows = worker.evaluate("chrome.windows.getAll().then((w) => w.length)")
    notifications.click(notification)  # the parent clicks it, as the desktop tells Chromium
    browser.wait_until(lambda: worker.evaluate("chrome.windows.getAll().then((w) => w.length)") == windows + 1,
                       timeout=20)
    urls = worker.evaluate("""chrome.windows.getAll({ populate: true }).then((all) =>
        all.at(-1).tabs.map((tab) => tab.pendingUrl || tab.url))""")
    assert "https://www.instagram.com/explore/search/keyword/?q=Alice%20Martin" in urls
    assert f"https://x.com/search?q={HANDLE}&f=user" in urls
    assert browser.notifications().get("remind") is None


def test_look_for_me_when_idle_waits_for_the_computer_not_an_hour(chromium):
    """"When the computer is idle": no daily alarm, the browser's idle state decides, once a day.
    (Headless Chromium has no user input to stop: the state change itself is the browser's, so
    the decision it feeds is checked here on the extension's own module.)"""
    browser, _ = chromium
    worker = browser.worker()
    worker.evaluate("chrome.storage.local.set({ patrolMode: 'look', patrolIdle: true })")
    browser.wait_until(lambda: worker.evaluate(
        "chrome.alarms.getAll().then((all) => !all.some((a) => ['patrol', 'remind'].includes(a.name)))"))
    assert worker.evaluate("chrome.idle.queryState(600)") in ("active", "idle", "locked")
    options = browser.open("options.html")
    try:
        assert options.locator("#patrol-hour").input_value() == "idle"
        turns = options.evaluate("""import('./js/patrol.js').then(({ idleTurn }) => {
            const now = new Date(2026, 11, 7, 14).getTime(), hour = 3600_000;
            const look = { mode: 'look', hour: 18, idle: true };
            return [idleTurn('idle', look, undefined, now), idleTurn('locked', look, now - 30 * hour, now),
                    idleTurn('active', look, undefined, now), idleTurn('idle', look, now - 2 * hour, now),
                    idleTurn('idle', { ...look, idle: false }, undefined, now),
                    idleTurn('idle', { ...look, mode: 'remind' }, undefined, now)];
        })""")
        assert turns == [True, True, False, False, False, False]
        options.select_option("#patrol-hour", "9")  # the parent picks an hour again: the daily alarm
        browser.wait_until(lambda: worker.evaluate("chrome.alarms.get('patrol').then((a) => Boolean(a))"))
        assert browser.storage()["patrolIdle"] is False
    finally:
        options.close()


def runs(sites: PatrolSites) -> set[str]:
    """The patrols the server has a record of (each network's last)."""
    return {network["run"] for network in sites.patrol().values()}


def set_alarm_from(page, name: str, seconds: float) -> None:
    """The daily alarm `name` set, by the extension's own function, to come `seconds` from now:
    its hour coming while the browser is closed."""
    page.evaluate(f"import('./js/patrol-run.js').then((m) => m.setAlarm({json.dumps(name)}, Date.now() + {seconds * 1000}))")


@contextlib.contextmanager
def idle_screen() -> Iterator[str]:
    """A virtual screen (Xvfb) whose keyboard and mouse nobody touches, as a computer its parent
    has stepped away from: its X display. (Headless Chromium has no screen to be idle on.)"""
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        pytest.fail("the idle test needs Xvfb: apt-get install xvfb", pytrace=False)
    read, write = os.pipe()
    process = subprocess.Popen([xvfb, "-displayfd", str(write), "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
                               pass_fds=(write,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write)
    try:
        with os.fdopen(read) as numbers:
            yield f":{numbers.readline().strip()}"
    finally:
        process.terminate()
        process.wait(20)


def test_look_for_me_when_idle_looks_once_the_computer_is_idle(playwright_instance, sites: PatrolSites, tmp_path):
    """The browser itself says the computer is idle (chrome.idle), on a screen nobody touches:
    Look for me looks then, with no alarm and no hour. The parent's 10 minutes are shortened to
    the browser's least, 15 s, by the same call the extension makes."""
    with idle_screen() as display:
        browser = launch(playwright_instance, tmp_path / "profile", args=("--ignore-certificate-errors",),
                         environ={"DISPLAY": display}, headless=False)
        try:
            pair_and_switch_on(browser, sites)
            worker = browser.worker()
            before = runs(sites)
            worker.evaluate("chrome.storage.local.set({ patrolMode: 'look', patrolIdle: true })")
            browser.wait_until(lambda: worker.evaluate(
                "chrome.alarms.getAll().then((all) => !all.some((a) => ['patrol', 'remind'].includes(a.name)))"))
            worker.evaluate("chrome.idle.setDetectionInterval(15)")
            browser.wait_until(lambda: runs(sites) - before, timeout=90)
            assert browser.storage()["patrolNote"]["reason"] == "idle"
            assert worker.evaluate("chrome.idle.queryState(15)") in ("idle", "locked")
        finally:
            browser.context.close()


def test_both_modes_survive_a_browser_restart(playwright_instance, chromium, sites: PatrolSites,
                                              notifications: Desktop, tmp_path):
    """The same profile, the browser quit and started again, as a parent's: the extension as
    "Load unpacked" records it (test_switch_restarts.py), not given anew at each start. The
    mode's alarm is still there, and an hour that came while the browser was closed is taken
    when it starts: Look for me looks, Remind me notifies."""
    profile = tmp_path / "profile"
    environ = {"DBUS_SESSION_BUS_ADDRESS": notifications.bus_address}

    def start(installed: bool) -> Browser:
        return launch(playwright_instance, profile, installed=installed, args=("--ignore-certificate-errors",),
                      environ=environ)

    browser = start(installed=False)
    try:
        pair_and_switch_on(browser, sites)
        browser.worker().evaluate("chrome.storage.local.set({ patrolMode: 'look', patrolHour: 7 })")
        browser.wait_until(lambda: browser.worker().evaluate("chrome.alarms.get('patrol').then((a) => Boolean(a))"))
        scheduled = browser.worker().evaluate("chrome.alarms.get('patrol')")
        assert scheduled["periodInMinutes"] == 24 * 60
        assert time.localtime(scheduled["scheduledTime"] / 1000).tm_hour == 7
        before = runs(sites)
        set_alarm_from(browser.open("options.html"), "patrol", 4)
    finally:
        browser.context.close()
    edit_preferences(profile, as_loaded_unpacked)
    time.sleep(5)  # the hour comes while the browser is closed

    again = start(installed=True)
    try:
        # Look for me looks, on its own (the daily turn), through the switch kept on.
        again.wait_until(lambda: runs(sites) - before, timeout=60)
        assert again.storage()["patrolNote"]["reason"] == "daily"
        alarm = again.wait_until(lambda: again.worker().evaluate("chrome.alarms.get('patrol').then((a) => a ?? null)"))
        assert alarm["periodInMinutes"] == 24 * 60
        assert again.worker().evaluate("chrome.alarms.get('remind').then((a) => a ?? null)") is None
        again.worker().evaluate("chrome.storage.local.set({ patrolMode: 'remind' })")
        again.wait_until(lambda: again.worker().evaluate("chrome.alarms.get('remind').then((a) => Boolean(a))"))
        assert again.worker().evaluate("chrome.alarms.get('patrol').then((a) => a ?? null)") is None
        set_alarm_from(again.open("options.html"), "remind", 4)
    finally:
        again.context.close()
    time.sleep(5)

    third = start(installed=True)
    try:
        # Remind me's notification, on the parent's desktop, from the turn missed while closed.
        notifications.shown.clear()
        notifications.wait_for("Look for Alice (2 minutes)", timeout=30)
        assert third.wait_until(lambda: third.worker().evaluate("chrome.alarms.get('remind').then((a) => Boolean(a))"))
        assert third.worker().evaluate("chrome.alarms.get('patrol').then((a) => a ?? null)") is None
        # The look the last quit cut short is not said to go on.
        note = third.wait_until(lambda: third.storage()["patrolNote"]["key"] != "patrolNoteRunning" and third.storage()["patrolNote"])
        assert note["key"] == "patrolNoteInterrupted", note
    finally:
        third.context.close()


def firefox_build_and_profile(tmp_path, watcher) -> tuple[Path, Path]:
    """The extension's Firefox build, and a Firefox profile that trusts Sentinelle's CA, as
    `sentinelle setup` does for Firefox."""
    if FIREFOX is None:
        pytest.fail("the Firefox test needs Debian's firefox-esr: apt-get install firefox-esr", pytrace=False)
    build = tmp_path / "firefox-build"
    subprocess.run([str(EXTENSION / "make-firefox.sh"), str(build)], check=True, capture_output=True)
    profile = tmp_path / "profile"
    profile.mkdir()
    for args in (["-N", "--empty-password"],
                 ["-A", "-n", COMMON_NAME, "-t", "C,,", "-i", str(watcher.ca_file)]):
        subprocess.run(["certutil", *args, "-d", f"sql:{profile}"], check=True, capture_output=True)
    return build, profile


async def pair_firefox(browser, build: Path, watcher) -> str:
    """The build installed for good, as a parent's is, paired with `watcher`'s Sentinelle and the
    switch on (test_firefox.py proves the switch itself): the tab of the extension's page."""
    await browser.install(build, permanent=True)
    tab = await browser.extension_tab()
    await browser.evaluate(tab, f"chrome.storage.local.set({{ server: 'http://127.0.0.1:"
                                f"{watcher.api_port}', token: {json.dumps(watcher.token)} }})")
    await browser.wait_for(tab, "chrome.storage.session.get('link').then((s) => s.link?.state === 'open')",
                           timeout=20)
    route = await browser.evaluate(tab, "import('./js/proxy.js').then((m) => m.applyProxy())")
    assert route["port"] == watcher.proxy_port
    return tab


def test_firefox_patrols_and_survives_a_restart(tmp_path):
    in_own_loop(firefox_patrols(tmp_path))


async def firefox_patrols(tmp_path) -> None:
    """The Firefox build, in Firefox ESR, installed for good as a parent's is (a temporary add-on
    is gone when Firefox quits), on its own Sentinelle and fake networks: `sentinelle patrol now`
    finds the look-alike, X's login wall stops X, Reddit stops at its bound, and the patrol's
    tab is closed. Then Firefox quits and starts again on the same profile, twice: Firefox
    drops its alarms when it quits, and the turn that came while it was closed is taken when it
    starts (Look for me looks, Remind me notifies); the mode's alarm is there again."""
    with patrol_sites(tmp_path / "sites") as sites:
        build, profile = firefox_build_and_profile(tmp_path, sites.watcher)
        async with firefox(profile, system_access=True) as browser:
            tab = await pair_firefox(browser, build, sites.watcher)
            done = await asyncio.to_thread(sentinelle, sites.watcher.data_dir, "patrol", "now",
                                           "--api-port", str(sites.watcher.api_port))
            assert "Asked the extension to look for her (1 connected)" in done.stdout
            await browser.wait_for(tab, "chrome.storage.local.get('patrolNote')"
                                        ".then((s) => s.patrolNote?.key === 'patrolNoteDone')", timeout=240)
            code, alerts = sites.api("GET", "/api/alerts")
            found = [a for a in alerts if a["account"] == LOOK_ALIKE and a["kind"] == "impersonation"]
            assert found, f"no alert; patrol: {sites.patrol()}"
            networks = sites.patrol()
            assert [(lk["what"], lk["term"]) for lk in networks["instagram"]["looks"]] \
                == [("search", CHILD), ("search", HANDLE)]
            assert networks["x"]["stopped"] == "login" and len(networks["x"]["looks"]) == 1
            assert [(lk["outcome"], lk["scrolls"]) for lk in networks["reddit"]["looks"]] \
                == [("bound", SCROLLS_PER_PAGE)] * 2
            # Only the extension's tab is left: the patrol's tab is closed.
            contexts = (await browser.call("browsingContext.getTree", {}))["contexts"]
            assert [c["url"] for c in contexts if not c["url"].startswith(browser.url(""))] in ([], ["about:blank"])

            # Look for me at 07:00; then its hour comes while Firefox is closed.
            await browser.evaluate(tab, "chrome.storage.local.set({ patrolMode: 'look', patrolHour: 7 })")
            await browser.wait_for(tab, "chrome.alarms.get('patrol').then((a) => a?.periodInMinutes === 24 * 60)")
            before = runs(sites)
            await browser.evaluate(tab, "import('./js/patrol-run.js').then((m) => m.setAlarm('patrol', Date.now() + 4000))")
            await browser.quit()
        await asyncio.sleep(5)

        async with firefox(profile, system_access=True) as browser:
            for _ in range(600):  # Look for me looks, on its own, through the switch kept on
                if runs(sites) - before:
                    break
                await asyncio.sleep(0.1)
            assert runs(sites) - before, "no patrol after the restart"
            tab = await browser.open_page("popup.html")
            assert (await browser.evaluate(tab, "chrome.storage.local.get('patrolNote')"))["patrolNote"]["reason"] == "daily"
            alarm = await browser.wait_for(tab, "chrome.alarms.get('patrol')")
            assert alarm["periodInMinutes"] == 24 * 60 and time.localtime(alarm["scheduledTime"] / 1000).tm_hour == 7
            # Remind me; its hour comes while Firefox is closed.
            await browser.evaluate(tab, "chrome.storage.local.set({ patrolMode: 'remind' })")
            await browser.wait_for(tab, "chrome.alarms.get('remind').then((a) => Boolean(a))")
            reminded = (await browser.evaluate(tab, "chrome.storage.local.get('patrolReminded')")).get("patrolReminded", 0)
            await browser.evaluate(tab, "import('./js/patrol-run.js').then((m) => m.setAlarm('remind', Date.now() + 4000))")
            await browser.quit()
        await asyncio.sleep(5)

        async with firefox(profile, system_access=True) as browser:
            # Remind me's turn, missed while closed, notifies once Firefox is back. Headless Firefox
            # closes its notifications at once and shows none on the desktop (test_firefox.py):
            # that it notified without an error is what the worker records.
            tab = await browser.open_page("popup.html")
            await browser.wait_for(tab, f"chrome.storage.local.get('patrolReminded')"
                                        f".then((s) => (s.patrolReminded ?? 0) > {reminded})", timeout=30)
            assert await browser.evaluate(tab, "chrome.alarms.get('remind').then((a) => Boolean(a))")
            assert await browser.evaluate(tab, "chrome.alarms.get('patrol').then((a) => a ?? null)") is None
            await browser.quit()
