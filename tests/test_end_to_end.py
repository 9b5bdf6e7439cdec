"""The whole path, every part real: enroll, browse through `sentinelle run`, get the alert.

A fake Instagram CDN and a fake bank serve HTTPS on 127.0.0.1 (the network's edge); the
client goes through the real proxy, trusting only Sentinelle's generated CA.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import signal

import aiohttp
import pytest
from PIL import Image

from tests.conftest import jpeg_bytes, kodak, square_crop_copy
from tests.support.certs import issuer_of, make_origin_certs
from tests.support.origin import serve_origin
from tests.support.watcher import Watcher, sentinelle

CDN = "scontent-test.cdninstagram.com"
BANK = "www.example-bank.test"
PAGE = "https://www.instagram.com/fake.account.123/"


async def read_events(url: str, token: str, into: list[tuple[str, dict]]) -> None:
    """Collect the SSE stream's events as the extension would read them."""
    async with aiohttp.ClientSession() as session:
        async with session.get(url, headers={"Authorization": f"Bearer {token}"}) as response:
            kind = None
            async for raw in response.content:
                line = raw.decode().rstrip("\n")
                if line.startswith("event: "):
                    kind = line[7:]
                elif line.startswith("data: ") and kind:
                    into.append((kind, json.loads(line[6:])))


async def wait_for(condition, timeout: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError("condition not met in time")
        await asyncio.sleep(0.05)


async def test_a_copy_of_an_enrolled_photo_raises_exactly_one_alert(tmp_path, data_dir):
    enrolled = sentinelle(data_dir, "enroll", "--child", "Alice", str(kodak(5)), str(kodak(15)))
    assert "Enrolled 2 photo(s)" in enrolled.stdout

    copy = square_crop_copy(kodak(5))
    stranger = jpeg_bytes(Image.open(kodak(20)))
    certs = make_origin_certs(tmp_path / "origin", [CDN, BANK])
    files = {"/v/copy.jpg": ("image/jpeg", copy), "/v/stranger.jpg": ("image/jpeg", stranger),
             "/": ("text/html", b"<h1>Your bank</h1>")}
    async with serve_origin(certs, files) as origin:
        watcher = await asyncio.to_thread(
            Watcher, data_dir, {CDN: origin.port, BANK: origin.port}, certs.ca_file)
        events: list[tuple[str, dict]] = []
        reader = asyncio.create_task(read_events(
            f"http://127.0.0.1:{watcher.api_port}/api/events", watcher.token, events))
        try:
            await asyncio.sleep(0.3)  # let the stream subscribe
            seen = await asyncio.to_thread(watcher.fetch, CDN, "/v/copy.jpg?sig=abc",
                                           headers={"Referer": PAGE})
            other = await asyncio.to_thread(watcher.fetch, CDN, "/v/stranger.jpg")
            bank = await asyncio.to_thread(watcher.fetch, BANK, "/", certs.ca_file)

            # The browser got every response unchanged, the social one under Sentinelle's CA,
            # the bank's under its own certificate: it was tunnelled untouched.
            assert (seen.status, seen.body) == (200, copy)
            assert (other.status, other.body) == (200, stranger)
            assert issuer_of(seen.peer_cert) != "Fake Origin CA"
            assert (bank.status, bank.body) == (200, b"<h1>Your bank</h1>")
            assert issuer_of(bank.peer_cert) == "Fake Origin CA"

            await wait_for(lambda: any(kind == "alert" for kind, _ in events))
            await asyncio.sleep(1.0)  # time for a wrong second alert to show up
            status, alerts = await asyncio.to_thread(watcher.api, "GET", "/api/alerts")
            assert status == 200 and len(alerts) == 1
            alert = alerts[0]
            assert alert["photo_name"] == "kodim05.jpg" and alert["child"] == "Alice"
            assert alert["platform"] == "instagram" and alert["host"] == CDN
            assert alert["image_url"] == f"https://{CDN}/v/copy.jpg?sig=abc"
            assert alert["page_url"] == PAGE and alert["status"] == "new"
            assert [kind for kind, _ in events] == ["alert"]
            assert events[0][1]["id"] == alert["id"]

            status, evidence = await asyncio.to_thread(watcher.api, "GET", alert["evidence_url"])
            assert status == 200
            assert hashlib.sha256(evidence).hexdigest() == hashlib.sha256(seen.body).hexdigest()
            status, detail = await asyncio.to_thread(watcher.api, "GET", f"/api/alerts/{alert['id']}")
            assert detail["sightings"][0]["evidence_sha256"] == hashlib.sha256(copy).hexdigest()

            # Scrolling past the same image again is the same alert, counted twice.
            await asyncio.to_thread(watcher.fetch, CDN, "/v/copy.jpg?sig=def")
            await wait_for(lambda: any(kind == "sighting" for kind, _ in events))
            status, alerts = await asyncio.to_thread(watcher.api, "GET", "/api/alerts")
            assert len(alerts) == 1 and alerts[0]["count"] == 2
        finally:
            reader.cancel()
            code = await asyncio.to_thread(watcher.stop)
    out, err = watcher.output
    assert code == 0, err
    assert "127.0.0.1:" + str(watcher.proxy_port) in out
    assert "mitmproxy-ca-cert.pem" in out
    assert "Traceback" not in err and "Task was destroyed" not in err, err
