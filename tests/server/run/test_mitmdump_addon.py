"""server/run/mitmdump_addon.py: Sentinelle loaded into a plain `mitmdump -s`, every part real."""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import kodak, square_crop_copy
from tests.support.certs import issuer_of, make_origin_certs
from tests.support.origin import serve_origin
from tests.support.scenario import wait_for
from tests.support.watcher import LOOPBACK_DNS, ROOT, free_port, sentinelle

CDN = "scontent-test.cdninstagram.com"
BANK = "www.example-bank.test"
MITMDUMP = Path(sys.executable).with_name("mitmdump")


def fetch(proxy_port: int, host: str, path: str, cafile: Path) -> tuple[int, bytes, bytes]:
    context = ssl.create_default_context(cafile=str(cafile))
    conn = http.client.HTTPSConnection("127.0.0.1", proxy_port, context=context, timeout=30)
    conn.set_tunnel(host, 443)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read(), conn.sock.getpeercert(binary_form=True)
    finally:
        conn.close()


def wait_listening(process: subprocess.Popen, port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(process.communicate())
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(port)


@pytest.mark.skipif(not MITMDUMP.exists(), reason="needs mitmdump in the venv")
async def test_mitmdump_with_the_script_raises_an_alert_and_serves_the_api(tmp_path, data_dir):
    sentinelle(data_dir, "enroll", "--child", "Alice", str(kodak(5)))
    copy = square_crop_copy(kodak(5))
    certs = make_origin_certs(tmp_path / "origin", [CDN, BANK])
    confdir = tmp_path / "mitmproxy-conf"
    async with serve_origin(certs, {"/copy.jpg": ("image/jpeg", copy),
                                    "/": ("text/html", b"bank")}) as origin:
        proxy_port, api_port = free_port(), free_port()
        env = os.environ | {"SENTINELLE_HOME": str(data_dir), "PYTHONUNBUFFERED": "1",
                            "SENTINELLE_TEST_HOSTS": f"{CDN}={origin.port},{BANK}={origin.port}"}
        process = subprocess.Popen(
            [str(MITMDUMP), "-q", "--listen-host", "127.0.0.1", "--listen-port", str(proxy_port),
             "-s", str(ROOT / "server" / "run" / "mitmdump_addon.py"), "-s", str(LOOPBACK_DNS),
             "--set", f"confdir={confdir}", "--set", f"ssl_verify_upstream_trusted_ca={certs.ca_file}",
             "--set", f"sentinelle_api_port={api_port}"],
            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            await asyncio.to_thread(wait_listening, process, proxy_port)
            await asyncio.to_thread(wait_listening, process, api_port)
            ca = confdir / "mitmproxy-ca-cert.pem"
            status, body, _ = await asyncio.to_thread(fetch, proxy_port, CDN, "/copy.jpg", ca)
            assert (status, body) == (200, copy)
            status, body, cert = await asyncio.to_thread(fetch, proxy_port, BANK, "/", certs.ca_file)
            assert (status, body) == (200, b"bank") and issuer_of(cert) == "Fake Origin CA"

            token = (data_dir / "token").read_text().strip()

            def api(path: str):
                request = urllib.request.Request(f"http://127.0.0.1:{api_port}{path}",
                                                 headers={"Authorization": f"Bearer {token}"})
                with urllib.request.urlopen(request, timeout=5) as response:
                    return json.loads(response.read())

            # The copy checked, nothing waiting and nothing left to write: its alert, and a wrong
            # second one, are stored by now (the recorder writes after the count, off the loop).
            await wait_for(lambda: (images := api("/api/stats")["images"])["checked"] == 1
                           and images["waiting"] == 0 and images["unsaved"] == 0, interval=0.1)
            alerts = api("/api/alerts")
            assert len(alerts) == 1 and alerts[0]["photo_name"] == "kodim05.jpg"
            assert alerts[0]["image_url"] == f"https://{CDN}/copy.jpg"
            with urllib.request.urlopen(f"http://127.0.0.1:{api_port}/proxy.pac", timeout=5) as r:
                assert f"PROXY 127.0.0.1:{proxy_port}" in r.read().decode()
        finally:
            process.send_signal(signal.SIGTERM)
            out, err = process.communicate(timeout=20)
    assert "Traceback" not in err + out, err + out
    log = sentinelle(data_dir, "log", "--json").stdout.splitlines()
    assert len(log) == 1 and json.loads(log[0])["child"] == "Alice"
    # The guest keeps the counts `sentinelle doctor` reads, as `sentinelle run` does.
    counts = json.loads((data_dir / "watch-counts.json").read_text())
    assert counts["checked"] == 1 and counts["matched"] == 1
    assert "images checked: 1 of 1" in sentinelle(data_dir, "doctor", check=False).stdout
