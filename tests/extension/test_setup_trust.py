"""`sentinelle setup` on a home where Debian's Chromium and Firefox ESR made their own profiles,
as a parent's would be: afterwards each browser loads a watched network's page through the real
`sentinelle run` with no certificate error, under Sentinelle's CA. Nothing here makes a
certificate database: the browsers make theirs, and setup makes the one Chromium reads where
Chromium has not yet. `sentinelle doctor` then finds every profile trusted, and `sentinelle
uninstall` takes the CA out of each database and leaves the databases.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from PIL import Image

from sentinelle.server.setup.ca import COMMON_NAME
from tests.conftest import jpeg_bytes, kodak
from tests.extension.conftest import BROWSER_ARGS, CDN, CHROMIUM, Server, resolver_rules
from tests.extension.firefox import FIREFOX, firefox, first_run
from tests.server.nss import CHROMIUM_DB, home_env, trusted_pem
from tests.support.watcher import sentinelle

pytestmark = pytest.mark.skipif(FIREFOX is None, reason="needs Firefox (Debian: apt-get install firefox-esr)")


def visit_in_chromium(playwright, home: Path, url: str, *args: str) -> tuple[int, bytes, str]:
    """Load `url` in Chromium on `home` (its profile in ~/.config/chromium, where Chromium puts
    it); (status, body, issuer of the certificate it was shown)."""
    context = playwright.chromium.launch_persistent_context(
        home / ".config" / "chromium", executable_path=str(CHROMIUM), headless=True,
        args=[*BROWSER_ARGS, *args], env=home_env(home))
    try:
        response = context.new_page().goto(url)
        return response.status, response.body(), response.security_details()["issuer"]
    finally:
        context.close()


async def visit_in_firefox(profile: Path, home: Path, proxy_port: int, url: str) -> tuple[str, str, str]:
    """Load `url` in Firefox through the proxy; (address of the document shown, its type, issuer)."""
    async with firefox(profile, proxy_port=proxy_port, home=home, system_access=True) as browser:
        tab = (await browser.call("browsingContext.getTree", {}))["contexts"][0]["context"]
        await browser.call("browsingContext.navigate", {"context": tab, "url": url, "wait": "complete"})
        shown = await browser.evaluate(tab, "[document.documentURI, document.contentType]")
        return (*shown, await browser.certificate_issuer())


def test_setup_makes_the_browsers_of_a_fresh_home_trust_sentinelle(playwright_instance, server: Server,
                                                                   tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    image = jpeg_bytes(Image.open(kodak(21)))  # a stranger's photo: checked, no alert
    server.origin.files["/v/t51/first-visit.jpg"] = ("image/jpeg", image)
    server.origin.files["/v/t51/setup-trust.jpg"] = ("image/jpeg", image)
    page = f"https://{CDN}/v/t51/setup-trust.jpg"

    # Each browser starts once. Chromium, reaching the CDN directly, is shown a certificate no
    # one vouched for; that first secure page is when it makes its certificate database.
    with pytest.raises(Exception, match="ERR_CERT_AUTHORITY_INVALID"):
        visit_in_chromium(playwright_instance, home, f"https://{CDN}/v/t51/first-visit.jpg",
                          resolver_rules({CDN: server.origin.port}))
    first_run(home, tmp_path / "first-run.png")
    assert (home / CHROMIUM_DB / "cert9.db").is_file() and not (home / ".pki").exists()
    firefox_dbs = sorted(db.parent for db in (home / ".config/mozilla/firefox").glob("*/cert9.db"))
    [esr] = [db for db in firefox_dbs if db.name.endswith(".default-esr")]
    assert all(trusted_pem(db) is None for db in (home / CHROMIUM_DB, esr))

    done = sentinelle(server.watcher.data_dir, "setup", "--no-system-store", env=home_env(home))
    assert f"✓ Chromium/Chrome ({home / CHROMIUM_DB}): done." in done.stdout
    assert f"✓ Firefox profile {esr.name} ({esr}): done." in done.stdout
    assert "!" not in done.stdout.split("Trust:")[1].split("Next:")[0], done.stdout
    dbs = sorted(db.parent for db in home.rglob("cert9.db"))
    assert len(dbs) == 3 and all(trusted_pem(db) for db in dbs)  # Chromium's, both Firefox profiles'

    seen = server.images_seen()
    # Chromium, through Sentinelle's proxy and with no flag about certificates: it trusts the CA.
    assert visit_in_chromium(playwright_instance, home, page, resolver_rules(),
                             f"--proxy-server=127.0.0.1:{server.watcher.proxy_port}") == (200, image, COMMON_NAME)
    # Firefox ESR, in the profile it uses, through the same proxy.
    with ThreadPoolExecutor(1) as thread:  # Playwright's own loop runs in this one
        shown = thread.submit(asyncio.run, visit_in_firefox(esr, home, server.watcher.proxy_port, page))
        shown = shown.result()
    assert shown == (page, "image/jpeg", COMMON_NAME)
    assert server.images_seen() == seen + 2

    doctor = sentinelle(server.watcher.data_dir, "doctor", "--proxy-port", str(server.watcher.proxy_port),
                        "--api-port", str(server.watcher.api_port), check=False, env=home_env(home))
    trusted = [line for line in doctor.stdout.splitlines() if "CA trusted by" in line]
    assert len(trusted) == 3 and all(line.startswith("✓") for line in trusted), doctor.stdout

    gone = sentinelle(server.watcher.data_dir, "uninstall", input="n\n", env=home_env(home))
    # Firefox's spare profile, never opened, got its database from setup; it stays, as Firefox's own.
    [spare] = [db for db in dbs if db.name.endswith(".default")]
    lines = gone.stdout.splitlines()
    said = next(i for i, line in enumerate(lines) if f"({spare})" in line)
    assert lines[said].endswith(": done.") and "database setup made stays" in lines[said + 1]
    assert all(trusted_pem(db) is None and (db / "cert9.db").is_file() for db in dbs)
