"""Test only: a whole scene for end-to-end tests — fake origins, `sentinelle run` in front, an SSE reader."""

from __future__ import annotations

import asyncio
import json
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp

from tests.support.certs import make_origin_certs
from tests.support.origin import serve_origin
from tests.support.watcher import Watcher

CDN = "scontent-test.cdninstagram.com"
BANK = "www.example-bank.test"
PAGE = "https://www.instagram.com/fake.account.123/"


@asynccontextmanager
async def watching(tmp_path: Path, data_dir: Path, files: dict[str, tuple[str, bytes]],
                   extra_set: tuple[str, ...] = ()):
    """A fake Instagram CDN and bank serving `files`, and `sentinelle run` in front of them
    (`extra_set`: more `--set OPTION=VALUE` arguments for it)."""
    certs = make_origin_certs(tmp_path / "origin", [CDN, BANK])
    async with serve_origin(certs, files) as origin:
        watcher = await asyncio.to_thread(
            Watcher, data_dir, {CDN: origin.port, BANK: origin.port}, certs.ca_file, extra_set)
        try:
            yield watcher, certs
        finally:
            if watcher.process.poll() is None:
                await asyncio.to_thread(watcher.stop)


async def read_events(url: str, token: str, into: list[tuple[str, dict]],
                      connected: asyncio.Event | None = None) -> None:
    """Collect the SSE stream's events as the extension would read them.

    `connected` is set at the stream's `: connected` comment: the server subscribes to new
    alerts in the same step of its event loop as it writes that line (server/api/stream.py),
    so no alert published after the client reads it is missed."""
    async with aiohttp.ClientSession() as session:
        async with session.get(url, headers={"Authorization": f"Bearer {token}"}) as response:
            kind = None
            async for raw in response.content:
                line = raw.decode().rstrip("\n")
                if line == ": connected" and connected is not None:
                    connected.set()
                elif line.startswith("event: "):
                    kind = line[7:]
                elif line.startswith("data: ") and kind:
                    into.append((kind, json.loads(line[6:])))


async def wait_for(condition, timeout: float = 20.0, interval: float = 0.05) -> None:
    """Until `condition()` is true, looked at every `interval`; TimeoutError past `timeout`."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError("condition not met in time")
        await asyncio.sleep(interval)
