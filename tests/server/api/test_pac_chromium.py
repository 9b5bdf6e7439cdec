"""The PAC in a real Chromium: a social host goes through Sentinelle's proxy, a bank goes direct.

Chromium gets only `--proxy-pac-url=http://127.0.0.1:API/proxy.pac` (what the extension's
switch applies) and trusts Sentinelle's CA because `sentinelle setup` put it in the NSS
database of its temporary HOME (which setup made, where Chromium reads it). The proxy alone can reach the fake CDN (test resolver in
the proxy); Chromium alone can reach the fake bank (`--host-resolver-rules`): each page
loads only by the route the PAC chose.
"""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import pytest

from sentinelle.server.setup.ca import COMMON_NAME
from tests.conftest import kodak, square_crop_copy
from tests.server.nss import CHROMIUM_DB, home_env, trusted_pem
from tests.support.certs import make_origin_certs
from tests.support.origin import serve_origin
from tests.support.watcher import Watcher, sentinelle

CHROMIUM = Path("/usr/bin/chromium")
CDN = "scontent-test.cdninstagram.com"
BANK = "www.example-bank.test"

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium")


async def test_chromium_sends_social_hosts_to_the_proxy_and_the_rest_direct(tmp_path, data_dir):
    from playwright.async_api import async_playwright

    home = tmp_path / "home"
    nssdb = home / CHROMIUM_DB  # made by setup, where Chromium reads it
    env = home_env(home)
    # Firefox, if installed here, was never opened in this HOME: setup says so and fails.
    await asyncio.to_thread(sentinelle, data_dir, "setup", "--no-system-store", env=env, check=False)
    assert trusted_pem(nssdb) is not None

    certs = make_origin_certs(tmp_path / "origin", [CDN, BANK])
    # The bank's own CA, as a public CA would be: trusted by the browser, not by Sentinelle.
    subprocess.run(["certutil", "-A", "-d", f"sql:{nssdb}", "-n", "Fake Origin CA", "-t", "C,,",
                    "-i", str(certs.ca_file)], check=True)
    copy = square_crop_copy(kodak(5))
    files = {"/v/copy.jpg": ("image/jpeg", copy), "/": ("text/html", b"<h1>Your bank</h1>")}
    async with serve_origin(certs, files) as origin:
        watcher = await asyncio.to_thread(Watcher, data_dir, {CDN: origin.port}, certs.ca_file)
        try:
            async with async_playwright() as p:
                browser = await p.chromium.launch(
                    executable_path=str(CHROMIUM), headless=True, env=env,
                    args=["--no-sandbox", "--disable-gpu", "--no-first-run",
                          "--disable-background-networking",
                          f"--proxy-pac-url=http://127.0.0.1:{watcher.api_port}/proxy.pac",
                          f"--host-resolver-rules=MAP {BANK} 127.0.0.1:{origin.port}"])
                try:
                    page = await browser.new_page()
                    social = await page.goto(f"https://{CDN}/v/copy.jpg")
                    assert social.status == 200 and await social.body() == copy
                    assert (await social.security_details())["issuer"] == COMMON_NAME

                    bank = await page.goto(f"https://{BANK}/")
                    assert bank.status == 200 and "Your bank" in await page.content()
                    assert (await bank.security_details())["issuer"] == "Fake Origin CA"
                finally:
                    await browser.close()
            # The copy went through the proxy and was checked there; the bank did not.
            for _ in range(200):
                _, stats = await asyncio.to_thread(watcher.api, "GET", "/api/stats")
                if stats["images"]["checked"]:
                    break
                await asyncio.sleep(0.1)
            assert stats["images"]["checked"] == 1
        finally:
            code = await asyncio.to_thread(watcher.stop)
    assert code == 0, watcher.output[1]
    assert origin.hits.count("/") == 1 and origin.hits.count("/v/copy.jpg") == 1
