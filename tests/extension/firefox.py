"""Test only: Firefox ESR with the extension's Firefox build, driven over WebDriver BiDi.

Playwright's Firefox is a patched build this machine cannot download, so this speaks BiDi
(built into Firefox) to Debian's `firefox-esr`: `webExtension.install` loads the build as a
temporary add-on, and pages of the extension are reached through the tab its first run opens
(BiDi may not navigate a tab to a moz-extension: address; the extension's own pages may).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import subprocess
import uuid
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp

from tests.server.nss import home_env
from tests.support.watcher import free_port

FIREFOX = shutil.which("firefox-esr") or shutil.which("firefox")
# The manifest's gecko id, and the moz-extension: host the profile gives it (a pref), so the
# tests know the extension's pages' addresses.
GECKO_ID = "{38169a0a-2369-4836-b732-65fe77be3d55}"
INTERNAL_UUID = str(uuid.UUID(int=0x5E471E11E))


class Firefox:
    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self._ws = ws
        self._ids = iter(range(1, 1_000_000))
        self.quitting = False

    async def call(self, method: str, params: dict) -> dict:
        message_id = next(self._ids)
        await self._ws.send_json({"id": message_id, "method": method, "params": params})
        while True:  # events in between are not ours
            answer = await self._ws.receive_json()
            if answer.get("id") == message_id:
                if answer.get("type") == "error":
                    raise RuntimeError(f"{method}: {answer.get('message')}")
                return answer["result"]

    def url(self, page: str) -> str:
        return f"moz-extension://{INTERNAL_UUID}/{page}"

    async def install(self, folder: Path, permanent: bool = False) -> None:
        """Install the build in `folder`: as a temporary add-on (gone when Firefox quits), or
        `permanent`, as an XPI made next to it, as a parent's install is."""
        if not permanent:
            await self.call("webExtension.install", {"extensionData": {"type": "path", "path": str(folder)}})
            return
        xpi = folder.with_suffix(".xpi")
        with zipfile.ZipFile(xpi, "w") as archive:
            for file in sorted(folder.rglob("*")):
                archive.write(file, file.relative_to(folder))
        await self.call("webExtension.install", {"extensionData": {"type": "archivePath", "path": str(xpi)},
                                                 "moz:permanent": True})

    async def quit(self) -> None:
        """Quit as a parent does: Firefox then saves what it keeps for the next start (leaving
        `firefox()` waits for it to be done)."""
        self.quitting = True
        await self.call("browser.close", {})

    async def extension_tab(self, page: str = "", timeout: float = 20.0) -> str:
        """The browsing context of the first tab that shows a page of the extension (`page`: that one)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            for context in (await self.call("browsingContext.getTree", {}))["contexts"]:
                if context["url"].startswith(self.url(page)):
                    return context["context"]
            await asyncio.sleep(0.1)
        raise TimeoutError("no tab shows a page of the extension")

    async def evaluate(self, context: str, expression: str):
        """The value of a JavaScript expression (awaited) in the tab, through JSON."""
        result = await self.call("script.evaluate", {
            "expression": f"(async () => JSON.stringify(await ({expression})))()",
            "target": {"context": context}, "awaitPromise": True, "resultOwnership": "none"})
        if result["type"] == "exception":
            raise RuntimeError(result["exceptionDetails"]["text"])
        value = result["result"].get("value")
        return None if value is None else json.loads(value)

    async def wait_for(self, context: str, expression: str, timeout: float = 10.0):
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            with contextlib.suppress(RuntimeError):  # the page may be between two documents
                if value := await self.evaluate(context, expression):
                    return value
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"still false: {expression}")
            await asyncio.sleep(0.05)

    async def certificate_issuer(self) -> str | None:
        """The common name of the issuer of the certificate the selected tab was shown, read in
        the browser's own window (needs `firefox(..., system_access=True)`)."""
        window = (await self.call("browsingContext.getTree", {"moz:scope": "chrome"}))["contexts"][0]
        return await self.evaluate(window["context"], "gBrowser.selectedBrowser.securityUI.secInfo"
                                                      "?.serverCert?.issuerCommonName ?? null")

    async def open_page(self, page: str) -> str:
        """Open a page of the extension in a new tab, as its toolbar button does, and return that
        tab (needs `firefox(..., system_access=True)`: after a restart no tab of the extension is
        left to reach it from)."""
        window = (await self.call("browsingContext.getTree", {"moz:scope": "chrome"}))["contexts"][0]
        await self.evaluate(window["context"], f"void gBrowser.addTab({json.dumps(self.url(page))}, "
                                               "{ triggeringPrincipal: Services.scriptSecurityManager.getSystemPrincipal() })")
        tab = await self.extension_tab(page)
        # The tab names the page before its document is the page's (the clean-clone CI once ran
        # a script in it while `chrome` was not there yet): wait for the page itself.
        await self.wait_for(tab, f"location.href === {json.dumps(self.url(page))} "
                                 "&& document.readyState === 'complete' && typeof chrome === 'object'")
        return tab

    async def go(self, context: str, page: str) -> None:
        """Open another page of the extension in the tab (as a link of the extension would)."""
        await self.evaluate(context, f"void (location.href = {json.dumps(self.url(page))})")
        await self.wait_for(context, f"location.href === {json.dumps(self.url(page))} "
                                     "&& document.readyState === 'complete'")


def first_run(home: Path, screenshot: Path) -> None:
    """Start Firefox once on a fresh `home` and let it close, as a parent opening it the first
    time: it makes its profiles there (where, is Firefox's choice)."""
    subprocess.run([FIREFOX, "--headless", "--screenshot", str(screenshot), "about:blank"],
                   env=home_env(home), capture_output=True, timeout=120, check=True)


@contextlib.asynccontextmanager
async def firefox(profile: Path, proxy_port: int = 9, home: Path | None = None,
                  system_access: bool = False, environ: dict[str, str] | None = None,
                  headless: bool = True) -> AsyncIterator[Firefox]:
    """Firefox ESR on `profile`; its own proxy, for every address but loopback, is
    127.0.0.1:`proxy_port` (by default a closed port). `home`: its HOME; `system_access`: BiDi
    may also script the browser's own window (to read what the address bar's padlock shows);
    `environ`: more of its environment (a desktop's session bus, for its notifications);
    `headless`: False to draw its windows (on the X display `environ` names)."""
    profile.mkdir(parents=True, exist_ok=True)
    prefs = {
        "extensions.webextensions.uuids": json.dumps({GECKO_ID: INTERNAL_UUID}),
        "intl.locale.requested": "en-US",
        # Nothing leaves loopback: every other address goes to a local port, and Firefox's
        # own background services stay off.
        "network.proxy.type": 1,
        "network.proxy.http": "127.0.0.1", "network.proxy.http_port": proxy_port,
        "network.proxy.ssl": "127.0.0.1", "network.proxy.ssl_port": proxy_port,
        "network.proxy.no_proxies_on": "127.0.0.1, localhost",
        "network.dns.disablePrefetch": True, "network.trr.mode": 5,
        "network.captive-portal-service.enabled": False,
        "network.connectivity-service.enabled": False,
        "dom.push.connection.enabled": False,
        "app.normandy.enabled": False,
        "browser.safebrowsing.malware.enabled": False, "browser.safebrowsing.phishing.enabled": False,
        "extensions.getAddons.cache.enabled": False,
        # The build is not signed: Firefox ESR keeps it installed across restarts only so.
        "xpinstall.signatures.required": False,
    }
    (profile / "user.js").write_text("".join(
        f"user_pref({json.dumps(name)}, {json.dumps(value)});\n" for name, value in prefs.items()))
    port = free_port()
    browser = None
    process = subprocess.Popen(
        [FIREFOX, *(["--headless"] if headless else []), f"--remote-debugging-port={port}", "--profile", str(profile),
         "--no-remote", *(["--remote-allow-system-access"] if system_access else []), "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env=(home_env(home) if home else dict(os.environ)) | (environ or {}),
    )
    try:
        async with aiohttp.ClientSession() as http:
            for _ in range(300):
                try:
                    ws = await http.ws_connect(f"ws://127.0.0.1:{port}/session", max_msg_size=0)
                    break
                except aiohttp.ClientError:
                    await asyncio.sleep(0.1)
            else:
                raise TimeoutError("Firefox did not open its WebDriver BiDi port")
            async with ws:
                browser = Firefox(ws)
                await browser.call("session.new", {"capabilities": {}})
                yield browser
    finally:
        if not (browser and browser.quitting):
            process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
