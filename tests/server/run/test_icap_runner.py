"""server/run/icap_runner.py: a real `sentinelle icap`, fed as Squid feeds it; the alert in the same
store and API as `sentinelle run`'s."""

from __future__ import annotations

import asyncio
import socket

from PIL import Image

from sentinelle.proxy.fronts.icap_service import PREVIEW_BYTES
from sentinelle.server.run.icap_runner import serve_icap
from sentinelle.server.settings import Settings
from tests.conftest import jpeg_bytes, kodak, square_crop_copy
from tests.support.icap_client import Client, http_request, http_response
from tests.support.icap_process import SentinelleIcap
from tests.support.scenario import wait_for
from tests.support.watcher import free_port, sentinelle

IMAGE = "https://scontent-cdg4-1.cdninstagram.com/v/t51.29350-15/431000001_1_n.jpg?stp=dst-jpg_p640x640"


async def test_a_copy_sent_over_icap_raises_one_alert_in_the_store_and_the_api(data_dir):
    sentinelle(data_dir, "enroll", "--child", "Alice", str(kodak(5)))
    service = await asyncio.to_thread(SentinelleIcap, data_dir)
    try:
        client = await Client.connect(service.port, service.key)
        copy = square_crop_copy(kodak(5))
        stranger = jpeg_bytes(Image.open(kodak(20)))
        for body in (copy, stranger):
            answer = await client.respmod(http_request(IMAGE, Referer="https://www.instagram.com/"),
                                          http_response(length=len(body)), body, allow_204=False)
            # Whole in the preview: 204; larger: given back unchanged.
            assert answer.status == 204 if len(body) < PREVIEW_BYTES else answer.echoed.endswith(body)
        await client.close()

        def stats() -> dict:
            return service.api("/api/stats")
        await wait_for(lambda: stats()["images"]["checked"] == 2 and stats()["images"]["waiting"] == 0)
        [alert] = await asyncio.to_thread(service.api, "/api/alerts")
        assert alert["photo_name"] == "kodim05.jpg" and alert["platform"] == "instagram"
        assert alert["image_url"] == IMAGE and alert["page_url"] == "https://www.instagram.com/"
        assert sum(stats()["images"]["icap"].values()) == 2
    finally:
        code = await asyncio.to_thread(service.stop)
    out, err = service.output
    assert code == 0 and "Traceback" not in err, err
    assert "icap://127.0.0.1:" in out and "checked 2, matched 1" in out
    assert "#1" in sentinelle(data_dir, "log").stdout  # the same store as `sentinelle run`


def test_a_port_in_use_is_said_plainly(data_dir):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = sentinelle(data_dir, "icap", "--port", str(port), "--api-port", str(free_port()), check=False)
    assert result.returncode == 1 and f"cannot listen on 127.0.0.1:{port} for ICAP" in result.stderr


async def test_a_service_other_machines_reach_says_so_loudly(data_dir):
    said: list[str] = []
    stop = asyncio.Event()
    settings = Settings(data_dir, icap_host="0.0.0.0", icap_port=0, api_port=0, workers=1)
    running = asyncio.create_task(serve_icap(settings, said.append, stop))
    try:
        await wait_for(lambda: any("Press Ctrl-C" in s for s in said), timeout=60)
    finally:
        stop.set()
        await running
    assert said[0].startswith("WARNING: the ICAP service listens on 0.0.0.0, where other machines reach it.")
    assert "It answers only 127.0.0.0/8, ::1/128 (--allow)" in said[0] and "--allow ADDRESS" in said[0]


def test_an_allowed_peer_must_be_an_address(data_dir):
    result = sentinelle(data_dir, "icap", "--allow", "squid.lan", "--port", str(free_port()), "--api-port", "0",
                        check=False)
    assert result.returncode == 1 and "--allow: 'squid.lan' is not an address or a network" in result.stderr


def test_the_icap_service_never_loads_mitmproxy():
    import subprocess
    import sys

    from tests.support.watcher import ROOT

    code = ("import sys; from sentinelle.server.cli import main; from sentinelle.server.run import icap_runner; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'mitmproxy'))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
