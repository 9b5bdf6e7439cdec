"""Test only: Chromium with the extension and no debugger attached to its service worker.

Playwright attaches to every service worker, and Chromium never stops a worker that a debugger
is attached to: under Playwright, a worker that would die when idle lives on. To see what a
parent's browser does, this starts Chromium by hand and speaks the DevTools protocol to the
browser target only, opening an extension page when it needs to read something.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp

from tests.extension.conftest import CHROMIUM, CHROMIUM_ARGS, RESOLVER_RULES
from tests.support.watcher import free_port


class BareChromium:
    def __init__(self, ws: aiohttp.ClientWebSocketResponse, extension_id: str) -> None:
        self._ws = ws
        self._ids = iter(range(1, 1_000_000))
        self.extension_id = extension_id

    async def call(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        message_id = next(self._ids)
        message = {"id": message_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        await self._ws.send_json(message)
        while True:  # events and other answers in between are not ours
            answer = await self._ws.receive_json()
            if answer.get("id") == message_id:
                if "error" in answer:
                    raise RuntimeError(f"{method}: {answer['error']}")
                return answer["result"]

    async def worker_running(self) -> bool:
        targets = (await self.call("Target.getTargets"))["targetInfos"]
        return any(t["type"] == "service_worker" and self.extension_id in t["url"] for t in targets)

    @contextlib.asynccontextmanager
    async def page(self, path: str) -> AsyncIterator[str]:
        """An extension page, open while the block runs; yields its DevTools session."""
        target = (await self.call("Target.createTarget",
                                  {"url": f"chrome-extension://{self.extension_id}/{path}"}))["targetId"]
        try:
            session = (await self.call("Target.attachToTarget",
                                       {"targetId": target, "flatten": True}))["sessionId"]
            for _ in range(100):  # until the extension page, not the blank one before it, is there
                if await self.evaluate(session, "location.protocol === 'chrome-extension:' "
                                                "&& document.readyState === 'complete'"):
                    break
                await asyncio.sleep(0.05)
            yield session
        finally:
            await self.call("Target.closeTarget", {"targetId": target})

    async def evaluate(self, session: str, expression: str):
        result = await self.call("Runtime.evaluate", {"expression": expression, "awaitPromise": True,
                                                      "returnByValue": True}, session)
        if "exceptionDetails" in result:
            raise RuntimeError(result["exceptionDetails"])
        return result["result"].get("value")


@contextlib.asynccontextmanager
async def bare_chromium(profile: Path, extension_id: str) -> AsyncIterator[BareChromium]:
    port = free_port()
    process = subprocess.Popen(
        [str(CHROMIUM), "--headless", f"--remote-debugging-port={port}", f"--user-data-dir={profile}",
         *CHROMIUM_ARGS, f"--host-resolver-rules={RESOLVER_RULES}", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(300):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/version", timeout=1) as r:
                    endpoint = json.load(r)["webSocketDebuggerUrl"]
                break
            except OSError:
                await asyncio.sleep(0.1)
        else:
            raise TimeoutError("Chromium did not open its DevTools port")
        async with aiohttp.ClientSession() as http, http.ws_connect(endpoint, max_msg_size=0) as ws:
            yield BareChromium(ws, extension_id)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
