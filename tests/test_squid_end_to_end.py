"""A whole network, every part real: Squid configured by `sentinelle setup squid`, decrypting the
social networks with Sentinelle's CA, `sentinelle icap` behind it, curl as the device: alerts,
and a reported account seen taken down.

A fake Instagram (site and CDN) and a fake bank serve HTTPS on 127.0.0.1; Squid resolves
their names to it (tests/support/squid.py). The device trusts only Sentinelle's CA for the
social hosts, only the bank's own CA for the bank.
"""

from __future__ import annotations

import asyncio

import pytest
from PIL import Image

from tests.conftest import jpeg_bytes, kodak, square_crop_copy
from tests.support import squid as squid_support
from tests.support.certs import make_origin_certs
from tests.support.icap_process import SentinelleIcap
from tests.support.origin import serve_origin
from tests.support.scenario import BANK, CDN, wait_for
from tests.support.squid import Squid
from tests.support.watcher import sentinelle
from tests.test_attribution_end_to_end import SITE, feed

pytestmark = pytest.mark.skipif(squid_support.missing() is not None, reason=squid_support.missing() or "")

FEED_PATH = "/api/v1/feed/timeline/"
IMAGE_PATH = "/v/t51/111_n.jpg"


@pytest.fixture
async def network(tmp_path, data_dir):
    """The fake origin, `sentinelle icap`, and Squid in front of both; (squid, sentinelle, origin port)."""
    sentinelle(data_dir, "enroll", "--child", "Alice", str(kodak(5)))
    copy = square_crop_copy(kodak(5), width=640)
    files = {
        FEED_PATH: ("application/json; charset=utf-8", feed("fake.account.123", "C0dEfGhIjKl", IMAGE_PATH)),
        IMAGE_PATH: ("image/jpeg", copy),
        "/v/t51/222_n.jpg": ("image/jpeg", jpeg_bytes(Image.open(kodak(20)))),
        "/": ("text/html", b"<h1>Your bank</h1>"),
    }
    # One leaf for all three names, as a CDN's certificate names many: Squid must not copy them.
    certs = make_origin_certs(tmp_path / "origin", [CDN, SITE, BANK])
    async with serve_origin(certs, files) as origin:
        icap = await asyncio.to_thread(SentinelleIcap, data_dir, 1)
        proxy = None
        try:
            proxy = await asyncio.to_thread(Squid, data_dir, certs.ca_file, [CDN, SITE, BANK], [icap.port])
            yield proxy, icap, origin, certs, files
        finally:
            if proxy is not None:
                await asyncio.to_thread(proxy.stop)
            if icap.process.poll() is None:
                await asyncio.to_thread(icap.stop)


async def test_a_copy_fetched_through_squid_raises_one_alert_naming_the_account(network, data_dir):
    squid, icap, origin, _, files = network
    ca = data_dir / "mitmproxy" / "mitmproxy-ca-cert.pem"

    def images() -> dict:
        return icap.api("/api/stats")["images"]

    # The device loads the feed through Squid, then one of its images at another size.
    got = await asyncio.to_thread(squid.fetch, f"https://{SITE}:{origin.port}{FEED_PATH}", ca)
    assert (got.code, got.status, got.body) == (0, 200, files[FEED_PATH][1]), got.log
    assert "Sentinelle local CA" in got.issuer  # decrypted by Squid, with Sentinelle's CA
    await wait_for(lambda: images()["reading"] == 0)
    url = f"https://{CDN}:{origin.port}{IMAGE_PATH}?stp=dst-jpg_e35_p480x480&oh=00_A&oe=1"
    got = await asyncio.to_thread(squid.fetch, url, ca, {"Referer": f"https://{SITE}/"})
    assert (got.code, got.status, got.body) == (0, 200, files[IMAGE_PATH][1]), got.log  # passed on untouched
    await wait_for(lambda: icap.api("/api/stats")["alerts"] == 1)
    [alert] = await asyncio.to_thread(icap.api, "/api/alerts")
    assert (alert["photo_name"], alert["child"], alert["platform"]) == ("kodim05.jpg", "Alice", "instagram")
    assert alert["account"] == "fake.account.123"
    assert alert["post_url"] == "https://www.instagram.com/p/C0dEfGhIjKl/"
    assert alert["image_url"] == url and alert["page_url"] == f"https://{SITE}/"

    # An unrelated image: checked, and no alert.
    got = await asyncio.to_thread(squid.fetch, f"https://{CDN}:{origin.port}/v/t51/222_n.jpg", ca)
    assert got.body == files["/v/t51/222_n.jpg"][1]
    await wait_for(lambda: images()["checked"] == 2 and images()["waiting"] == 0)
    assert icap.api("/api/stats")["alerts"] == 1

    # The same store as `sentinelle run`: the log says it, with the account.
    code = await asyncio.to_thread(icap.stop)
    assert code == 0 and "Traceback" not in icap.output[1], icap.output[1]
    assert "posted by @fake.account.123" in sentinelle(data_dir, "log").stdout


async def test_a_reported_account_seen_gone_through_squid_is_taken_down_in_its_case(network, data_dir):
    squid, icap, origin, _, files = network
    ca = data_dir / "mitmproxy" / "mitmproxy-ca-cert.pem"
    # An account shows her photo (the feed names it, then the image): an alert.
    assert (await asyncio.to_thread(squid.fetch, f"https://{SITE}:{origin.port}{FEED_PATH}", ca)).status == 200
    await wait_for(lambda: icap.api("/api/stats")["images"]["reading"] == 0)
    got = await asyncio.to_thread(squid.fetch, f"https://{CDN}:{origin.port}{IMAGE_PATH}", ca, {"Referer": f"https://{SITE}/"})
    assert got.status == 200, got.log
    await wait_for(lambda: icap.api("/api/stats")["alerts"] == 1)

    # The parent reports it from the command line, while `sentinelle icap` runs.
    said = await asyncio.to_thread(sentinelle, data_dir, "reported", "@fake.account.123", "--ref", "IG-9")
    assert "Reported @fake.account.123" in said.stdout

    def case() -> dict:
        [found] = icap.api("/api/cases")
        return found

    # Its profile now answers 404 (the origin has no such page). The service follows the report
    # within a second: the parent looks until it has. Another account's page, gone too, is never read.
    unreported = "<html><title>Page not found • Instagram</title></html>".encode()
    origin.files["/chloe.bernard/"] = ("text/html; charset=utf-8", unreported)
    for _ in range(20):
        for path, status, body in (("/chloe.bernard/", 200, unreported), ("/fake.account.123/", 404, b"not found")):
            got = await asyncio.to_thread(squid.fetch, f"https://{SITE}:{origin.port}{path}", ca)
            assert (got.code, got.status, got.body) == (0, status, body), got.log  # passed on untouched
        await asyncio.sleep(0.3)
        if any(e["kind"] == "taken down" for e in case()["timeline"]):
            break
    found = case()
    assert [e["kind"] for e in found["timeline"]][-1] == "taken down", found["timeline"]
    [account] = found["accounts"]
    [report] = found["reports"]
    assert account["handle"] == "fake.account.123" and account["taken_down"]
    assert (report["ref"], report["answered"]) == ("IG-9", True)
    kept = sorted(p.read_bytes() for p in (data_dir / "evidence").iterdir())
    assert kept == sorted([files[IMAGE_PATH][1], b"not found"])  # the copy, the reported account's page, no other
    code = await asyncio.to_thread(icap.stop)
    assert code == 0 and "Traceback" not in icap.output[1], icap.output[1]
    assert "@fake.account.123, which you reported, is gone from instagram (HTTP 404)" in "".join(icap.output)


async def test_a_bank_is_spliced_with_its_own_certificate(network, data_dir):
    squid, _, origin, certs, _ = network
    url = f"https://{BANK}:{origin.port}/"
    got = await asyncio.to_thread(squid.fetch, url, certs.ca_file)
    assert (got.code, got.status, got.body) == (0, 200, b"<h1>Your bank</h1>"), got.log
    assert got.issuer == "CN=Fake Origin CA"  # the bank's own certificate: never decrypted
    # And Sentinelle's CA would not do for it: Squid never made a certificate for the bank.
    refused = await asyncio.to_thread(squid.fetch, url, data_dir / "mitmproxy" / "mitmproxy-ca-cert.pem")
    assert refused.code == 60 and refused.body == b""


async def test_with_sentinelle_stopped_pages_still_load_through_squid(network, data_dir):
    squid, icap, origin, _, files = network
    await asyncio.to_thread(icap.stop)
    ca = data_dir / "mitmproxy" / "mitmproxy-ca-cert.pem"
    for _ in range(3):  # bypass=on: each response passes on, unchecked, while the service is down
        got = await asyncio.to_thread(squid.fetch, f"https://{CDN}:{origin.port}{IMAGE_PATH}", ca)
        assert (got.code, got.status, got.body) == (0, 200, files[IMAGE_PATH][1]), got.log + squid.log()[-2000:]
