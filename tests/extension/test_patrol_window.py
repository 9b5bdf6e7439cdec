"""Where Look for me looks (issue 26), on a desktop: a virtual screen (Xvfb) with a window
manager, as a parent's screen has. Headless browsers draw every window and have no focus to
take, so only a drawn browser shows what the patrol's window does: whether its pages are drawn
(a list that loads its next results once its end is drawn, an IntersectionObserver as the
networks' lists do, loads only then), and whether it takes the focus from the parent's window.
extension/README.md ("Where the patrol looks") has what each kind of window does in Chromium
and Firefox, as measured.

Chromium opens the patrol's window inactive: drawn, behind the parent's, which keeps the focus;
the patrol sees Pinterest's drawn list past its first screenful, up to its bound. Firefox looks
in a tab of the parent's window that it never selects, drawn before each scroll: the focus stays,
the drawn list loads there too.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import subprocess
import time
from collections.abc import Iterator

import pytest

from tests.extension.firefox import firefox
from tests.extension.patrol_sites import PatrolSites, patrol_sites
from tests.extension.test_patrol import (
    SCROLLS_PER_PAGE,
    firefox_build_and_profile,
    idle_screen,
    in_own_loop,
    pair_firefox,
    unwatched_chromium,
)
from tests.support.watcher import sentinelle


@pytest.fixture(scope="module")
def sites(tmp_path_factory) -> Iterator[PatrolSites]:
    with patrol_sites(tmp_path_factory.mktemp("patrol-window")) as sites:
        yield sites


@contextlib.contextmanager
def desktop_screen() -> Iterator[str]:
    """A virtual screen with a window manager (Openbox, a small one that keeps the freedesktop
    rules a parent's desktop keeps: a window that does not get the focus opens behind the one
    that has it, and a window can be minimized): its X display."""
    openbox = shutil.which("openbox")
    if openbox is None:
        pytest.fail("the patrol's window test needs a window manager: apt-get install openbox", pytrace=False)
    with idle_screen() as display:
        manager = subprocess.Popen([openbox, "--sm-disable"], env={"DISPLAY": display, "PATH": "/usr/bin:/bin"},
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            for _ in range(100):  # it manages the screen once it names itself on the root window
                named = subprocess.run(["xprop", "-root", "-display", display, "_NET_SUPPORTING_WM_CHECK"],
                                       capture_output=True, text=True).stdout
                if "window id" in named:
                    break
                time.sleep(0.1)
            else:
                raise TimeoutError("Openbox did not take the screen")
            yield display
        finally:
            manager.terminate()
            manager.wait(20)


def drawn_loads(sites: PatrolSites, since: int) -> list[str]:
    """The loads of Pinterest's drawn list since the `since`th request, each named by whether its
    page was visible or hidden."""
    return [hit for hit in sites.origin.hits[since:] if hit.startswith("/svc/drawn/")]


def test_chromium_draws_the_patrols_lists_and_leaves_the_parent_the_focus(sites: PatrolSites, tmp_path):
    in_own_loop(chromium_on_a_desktop(sites, tmp_path))


async def chromium_on_a_desktop(sites: PatrolSites, tmp_path) -> None:
    """The parent's window shows a page (what they are reading) and has the focus; then
    `sentinelle patrol now`. Chromium runs without Playwright, which would make every page it
    drives visible and focused (test_patrol.Worker)."""
    watcher = sites.watcher
    parent_page = f"http://127.0.0.1:{watcher.api_port}/what-the-parent-reads"
    with desktop_screen() as display:
        async with unwatched_chromium(tmp_path / "profile", {}, display=display, page=parent_page) as worker:
            await worker.evaluate(f"chrome.storage.local.set({{ server: 'http://127.0.0.1:{watcher.api_port}', "
                                  f"token: '{watcher.token}' }})")
            await until(worker, "chrome.storage.session.get('link').then((s) => s.link?.state === 'open')")
            # The switch on, from the options page the first run opened (test_proxy_switch.py proves it).
            options = await worker.attach("page", "chrome-extension://")
            route = await worker.evaluate("import('./js/proxy.js').then((m) => m.applyProxy())", options)
            assert route["port"] == watcher.proxy_port
            await worker.evaluate("chrome.tabs.query({}).then((tabs) => Promise.all(tabs"
                                  ".filter((tab) => tab.url.startsWith(chrome.runtime.getURL(''))).map((tab) => chrome.tabs.remove(tab.id))))")
            [parent] = await worker.evaluate("chrome.windows.getAll({ populate: true })"
                                             ".then((all) => all.map((w) => ({ id: w.id, tab: w.tabs[0].id })))")
            await until(worker, f"chrome.windows.getLastFocused().then((w) => w.id === {parent['id']} && w.focused)")
            in_parent_page = f"chrome.scripting.executeScript({{ target: {{ tabId: {parent['tab']} }}, func: %s }})" \
                             ".then(([done]) => done.result)"
            # Every time the parent's page loses the focus, however briefly, is counted.
            await worker.evaluate(in_parent_page % "() => { globalThis.blurs = 0; addEventListener('blur', () => blurs++); }")
            assert await worker.evaluate(in_parent_page % "() => document.hasFocus()")

            since = len(sites.origin.hits)
            done = await asyncio.to_thread(sentinelle, watcher.data_dir, "patrol", "now", "--api-port", str(watcher.api_port))
            assert "Asked the extension to look for her (1 connected)" in done.stdout
            # While it looks: its window, as the extension sees it, every half second.
            seen = []
            deadline = time.monotonic() + 240
            while (await worker.evaluate("chrome.storage.local.get('patrolNote').then((s) => s.patrolNote?.key)")
                   != "patrolNoteDone"):
                assert time.monotonic() < deadline, f"the patrol did not end: {sites.patrol()}"
                seen += await worker.evaluate(f"chrome.windows.getAll().then((all) => all.filter((w) => w.id !== "
                                              f"{parent['id']}).map((w) => [w.state, w.focused]))")
                await asyncio.sleep(0.5)

            assert seen and set(map(tuple, seen)) == {("normal", False)}, seen  # drawn, never focused
            # The parent's window kept the focus all along: not one blur, and it is still the focused window.
            assert await worker.evaluate(in_parent_page % "() => [document.hasFocus(), blurs]") == [True, 0]
            assert await worker.evaluate(f"chrome.windows.getLastFocused().then((w) => w.id === {parent['id']} && w.focused)")
            # Pinterest's list loaded past its first screenful, in a page that was drawn, and no
            # more than the bound allows: each look stops at it.
            loads = drawn_loads(sites, since)
            assert set(loads) == {"/svc/drawn/visible"}, loads
            assert 2 < len(loads) <= 2 * (1 + SCROLLS_PER_PAGE), loads
            looks = sites.patrol()["pinterest"]["looks"]
            assert [(look["outcome"], look["scrolls"]) for look in looks] == [("bound", SCROLLS_PER_PAGE)] * 2
            assert await worker.evaluate("chrome.windows.getAll().then((all) => all.length)") == 1  # its window closed


async def until(worker, expression: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not await worker.evaluate(expression):
        assert time.monotonic() < deadline, f"still false: {expression}"
        await asyncio.sleep(0.1)


def test_firefox_looks_in_a_tab_it_never_selects(sites: PatrolSites, tmp_path):
    in_own_loop(firefox_on_a_desktop(sites, tmp_path))


async def firefox_on_a_desktop(sites: PatrolSites, tmp_path) -> None:
    """Firefox opens every window with the focus, even minimized (for an instant): the patrol
    looks in a tab of the parent's window that it never selects. The parent's page keeps the
    focus all along; the tab's page is hidden, but drawn before each scroll (tabs.warmup), so
    Pinterest's drawn list loads up to its bound, and so does Reddit's, which loads on the
    scroll event."""
    watcher = sites.watcher
    build, profile = firefox_build_and_profile(tmp_path, watcher)
    with desktop_screen() as display:
        async with firefox(profile, environ={"DISPLAY": display}, headless=False) as browser:
            tab = await pair_firefox(browser, build, watcher)
            # The parent reads a page in a tab of their own, selected, with the focus.
            parent = (await browser.call("browsingContext.create", {"type": "tab"}))["context"]
            await browser.call("browsingContext.navigate", {"context": parent, "wait": "complete",
                                                            "url": f"http://127.0.0.1:{watcher.api_port}/what-the-parent-reads"})
            await browser.call("browsingContext.activate", {"context": parent})
            await browser.wait_for(parent, "document.hasFocus()")
            await browser.evaluate(parent, "(globalThis.blurs = 0, addEventListener('blur', () => blurs++), 0)")
            [window] = await browser.evaluate(tab, "chrome.windows.getAll().then((all) => all.map((w) => w.id))")

            since = len(sites.origin.hits)
            done = await asyncio.to_thread(sentinelle, watcher.data_dir, "patrol", "now", "--api-port", str(watcher.api_port))
            assert "Asked the extension to look for her (1 connected)" in done.stdout
            seen = []  # the windows, and which of their tabs is selected, every half second
            deadline = time.monotonic() + 240
            while (await browser.evaluate(tab, "chrome.storage.local.get('patrolNote').then((s) => s.patrolNote?.key)")
                   != "patrolNoteDone"):
                assert time.monotonic() < deadline, f"the patrol did not end: {sites.patrol()}"
                seen.append(await browser.evaluate(tab, "chrome.windows.getAll({ populate: true }).then((all) => "
                                                        "all.map((w) => [w.id, w.tabs.find((t) => t.active).url, w.tabs.length]))"))
                await asyncio.sleep(0.5)

            parent_url = f"http://127.0.0.1:{watcher.api_port}/what-the-parent-reads"
            assert {(w, url) for sample in seen for w, url, _ in sample} == {(window, parent_url)}, seen
            assert max(tabs for sample in seen for _, _, tabs in sample) == 3  # the patrol's tab, unselected
            assert await browser.evaluate(parent, "[document.hasFocus(), blurs]") == [True, 0]
            # The tab, never selected, is drawn before each scroll (its page may then say it is
            # visible): Pinterest's list loaded past its first screenful, and no more than the bound allows.
            loads = drawn_loads(sites, since)
            assert 2 < len(loads) <= 2 * (1 + SCROLLS_PER_PAGE), loads
            pinterest = sites.patrol()["pinterest"]["looks"]
            assert [(look["outcome"], look["scrolls"]) for look in pinterest] == [("bound", SCROLLS_PER_PAGE)] * 2
            reddit = sites.patrol()["reddit"]["looks"]
            assert [(look["outcome"], look["scrolls"]) for look in reddit] == [("bound", SCROLLS_PER_PAGE)] * 2
            tabs = await browser.evaluate(tab, "chrome.tabs.query({}).then((all) => all.length)")
            assert tabs == 2  # its tab closed
