"""The whole path, every part real: enroll, browse through `sentinelle run`, get the alert.

A fake Instagram CDN and a fake bank serve HTTPS on 127.0.0.1 (the network's edge); the
client goes through the real proxy, trusting only Sentinelle's generated CA.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import os
import random
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
from pathlib import Path

import pytest
from PIL import Image

from tests.conftest import jpeg_bytes, kodak, png_bomb, square_crop_copy
from tests.support.certs import issuer_of
from tests.support.scenario import BANK, CDN, PAGE, read_events, wait_for, watching
from tests.support.watcher import sentinelle


def images(watcher) -> dict:
    """The watcher's image counts, from /api/stats."""
    return watcher.api("GET", "/api/stats")[1]["images"]


async def test_a_copy_of_an_enrolled_photo_raises_exactly_one_alert(tmp_path, data_dir):
    enrolled = sentinelle(data_dir, "enroll", "--child", "Alice", str(kodak(5)), str(kodak(15)))
    assert "Enrolled 2 photo(s)" in enrolled.stdout

    copy = square_crop_copy(kodak(5))
    stranger = jpeg_bytes(Image.open(kodak(20)))
    files = {"/v/copy.jpg": ("image/jpeg", copy), "/v/stranger.jpg": ("image/jpeg", stranger),
             "/": ("text/html", b"<h1>Your bank</h1>")}
    async with watching(tmp_path, data_dir, files) as (watcher, certs):
        events: list[tuple[str, dict]] = []
        connected = asyncio.Event()
        reader = asyncio.create_task(read_events(
            f"http://127.0.0.1:{watcher.api_port}/api/events", watcher.token, events, connected))
        try:
            await asyncio.wait_for(connected.wait(), 20)  # the stream is subscribed
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
            # Both images checked, none still waiting: a wrong second alert would be stored by
            # now (a match is stored as it is counted, on the proxy's event loop).
            await wait_for(lambda: images(watcher)["checked"] == 2 and images(watcher)["waiting"] == 0)
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
            # The stream keeps its order: no wrong alert event was on its way before this one.
            assert [kind for kind, _ in events] == ["alert", "sighting"]
        finally:
            reader.cancel()
            code = await asyncio.to_thread(watcher.stop)
    out, err = watcher.output
    assert code == 0, err
    assert "127.0.0.1:" + str(watcher.proxy_port) in out
    assert "mitmproxy-ca-cert.pem" in out
    assert "Traceback" not in err and "Task was destroyed" not in err, err


async def test_bad_images_reach_the_browser_unchanged_and_nothing_is_kept(tmp_path, data_dir):
    sentinelle(data_dir, "enroll", str(kodak(5)))
    noise = Image.frombytes("RGB", (2600, 2600), random.Random(1).randbytes(2600 * 2600 * 3))
    big = io.BytesIO()
    noise.save(big, "PNG", compress_level=0)
    bad = {
        "/truncated.jpg": ("image/jpeg", kodak(20).read_bytes()[:5000]),
        "/random.jpg": ("image/jpeg", random.Random(7).randbytes(50_000)),
        "/bomb.png": ("image/png", png_bomb()),
        "/huge.png": ("image/png", big.getvalue()),
        "/empty.jpg": ("image/jpeg", b""),
    }
    assert len(bad["/huge.png"][1]) > 20_000_000
    files = bad | {"/copy.jpg": ("image/jpeg", square_crop_copy(kodak(5)))}
    async with watching(tmp_path, data_dir, files) as (watcher, _):
        for path, (_, body) in bad.items():
            got = await asyncio.to_thread(watcher.fetch, CDN, path)
            assert (got.status, got.body) == (200, body), path

        # The proxy still serves, and the watcher still works, after all of them.
        copy = await asyncio.to_thread(watcher.fetch, CDN, "/copy.jpg")
        assert copy.status == 200
        await wait_for(lambda: watcher.api("GET", "/api/stats")[1]["alerts"] == 1)
        _, stats = await asyncio.to_thread(watcher.api, "GET", "/api/stats")
        assert stats["images"]["skipped"] == {
            "truncated or corrupt image": 1, "not an image": 1, "decompression bomb": 1,
            "too large": 1, "empty": 1,
        }
        assert stats["images"]["matched"] == 1
    counts = json.loads((data_dir / "watch-counts.json").read_text())  # what doctor reads
    assert counts["checked"] == 1 and sum(counts["skipped"].values()) == 5
    assert ("checked 1, matched 1, skipped 5 (decompression bomb: 1, empty: 1, "
            "not an image: 1, too large: 1, truncated or corrupt image: 1)") in watcher.output[0]
    # Only the match left anything on disk: one evidence file, the copy.
    assert [p.name for p in (data_dir / "evidence").iterdir()] == [
        hashlib.sha256(files["/copy.jpg"][1]).hexdigest() + ".jpg"]


async def test_stops_cleanly_with_browser_connections_open(tmp_path, data_dir):
    files = {"/a.jpg": ("image/jpeg", square_crop_copy(kodak(20)))}
    async with watching(tmp_path, data_dir, files) as (watcher, certs):
        await asyncio.to_thread(watcher.fetch, CDN, "/a.jpg")
        # A browser keeps connections open: an idle one, and a tunnel to the bank.
        idle = socket.create_connection(("127.0.0.1", watcher.proxy_port))
        tunnel = socket.create_connection(("127.0.0.1", watcher.proxy_port))
        tunnel.sendall(f"CONNECT {BANK}:443 HTTP/1.1\r\nHost: {BANK}:443\r\n\r\n".encode())
        assert tunnel.recv(100).startswith(b"HTTP/1.1 200")
        # Ctrl-C in a terminal: SIGINT to every process of the group, workers included.
        code = await asyncio.to_thread(watcher.stop, signal.SIGINT, 20.0, True)
        idle.close()
        tunnel.close()
    out, err = watcher.output
    assert code == 0 and "Sentinelle stopped." in out
    assert "Traceback" not in err and "Error" not in err, err


def listening_addresses(port: int) -> set[str]:
    """The local addresses on which something listens on `port` (from the kernel's tables)."""
    addresses = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, port_hex = local.split(":")
            if state == "0A" and int(port_hex, 16) == port:  # 0A: LISTEN
                addresses.add(address)
    return addresses


async def test_it_listens_on_loopback_only_and_keeps_its_secrets(tmp_path, data_dir):
    async with watching(tmp_path, data_dir, {}) as (watcher, _):
        for port in (watcher.proxy_port, watcher.api_port):
            assert listening_addresses(port) == {"0100007F"}, port  # 127.0.0.1, nothing else
        token = watcher.token
    out, err = watcher.output
    assert token not in out and token not in err
    assert "PRIVATE KEY" not in out and "PRIVATE KEY" not in err
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE((data_dir / "token").stat().st_mode) == 0o600


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("runuser"),
                    reason="needs root and runuser to act as another local user")
async def test_another_local_user_cannot_read_the_data_dir():
    base = Path(tempfile.mkdtemp())
    base.chmod(0o755)  # the way in is open: only the data dir's own mode stands guard
    data_dir = base / "data"
    try:
        sentinelle(data_dir, "enroll", str(kodak(5)))
        sentinelle(data_dir, "token")

        def nobody(*command: str) -> subprocess.CompletedProcess:
            return subprocess.run(["runuser", "-u", "nobody", "--", *command],
                                  capture_output=True, text=True)

        for command in (["ls", str(data_dir)], ["cat", str(data_dir / "token")],
                        ["cat", str(data_dir / "sentinelle.db")]):
            attempt = nobody(*command)
            assert attempt.returncode != 0 and "Permission denied" in attempt.stderr, command
        data_dir.chmod(0o755)  # control: with a careless mode, the same attempt would succeed
        assert nobody("ls", str(data_dir)).returncode == 0
    finally:
        shutil.rmtree(base)
