"""server/api/pac.py and the routes that serve it: social hosts to the proxy, the rest DIRECT."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from sentinelle.proxy.hosts import all_domains
from sentinelle.server.alerts.events import Events
from sentinelle.server.api.app import create_app
from sentinelle.server.api.pac import pac_script
from sentinelle.server.contact import EXTENSION, PAC, Contacts, last_contact
from sentinelle.server.store.door import StoreDoor

TOKEN = "test-token-123"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
# dnsDomainIs as every browser's PAC engine defines it.
PAC_RUNTIME = ("function dnsDomainIs(h, d) { return h.length >= d.length && "
               "h.substring(h.length - d.length) == d; }\n")


def decide(script: str, hosts: list[str]) -> dict[str, str]:
    """Run the PAC script in Node, as a browser's PAC engine would."""
    program = PAC_RUNTIME + script + (
        f"\nconsole.log(JSON.stringify({json.dumps(hosts)}.map("
        "function (h) { return FindProxyForURL('https://' + h + '/', h); })));")
    out = subprocess.run(["node", "-e", program], capture_output=True, text=True, check=True)
    return dict(zip(hosts, json.loads(out.stdout)))


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node to run the PAC script")
def test_social_hosts_go_to_the_proxy_and_every_other_host_direct():
    hosts = ["scontent-cdg4-1.cdninstagram.com", "www.instagram.com", "INSTAGRAM.COM",
             "pbs.twimg.com", "www.my-bank.fr", "notinstagram.com", "instagram.com.evil.example",
             "localhost", "192.168.1.1"]
    got = decide(pac_script(all_domains(), 8080), hosts)
    proxied = "PROXY 127.0.0.1:8080"
    assert got == {
        "scontent-cdg4-1.cdninstagram.com": proxied, "www.instagram.com": proxied,
        "INSTAGRAM.COM": proxied, "pbs.twimg.com": proxied, "www.my-bank.fr": "DIRECT",
        "notinstagram.com": "DIRECT", "instagram.com.evil.example": "DIRECT",
        "localhost": "DIRECT", "192.168.1.1": "DIRECT",
    }


def test_the_script_holds_the_domains_and_the_port_and_nothing_else():
    script = pac_script(["instagram.com", "example-social.net"], 8123)
    assert '["instagram.com", "example-social.net"]' in script
    assert "PROXY 127.0.0.1:8123" in script and "function FindProxyForURL(url, host)" in script


@pytest.fixture
async def api(aiohttp_client, data_dir):
    data_dir.mkdir()
    db = StoreDoor(data_dir)
    proxy = {"pac": pac_script(["instagram.com"], 8080), "port": 8080, "domains": ["instagram.com"]}
    client = await aiohttp_client(create_app(db, Events(), TOKEN, proxy=proxy,
                                             contacts=Contacts(data_dir)))
    client.data_dir = data_dir
    yield client
    db.close()


async def test_the_pac_is_served_without_a_token_as_a_browser_fetches_it(api):
    assert last_contact(api.data_dir, PAC) is None
    response = await api.get("/proxy.pac")
    assert response.status == 200
    assert response.content_type == "application/x-ns-proxy-autoconfig"
    assert "PROXY 127.0.0.1:8080" in await response.text()
    assert last_contact(api.data_dir, PAC) is not None
    assert last_contact(api.data_dir, EXTENSION) is None  # fetching the PAC is not pairing


async def test_the_pac_is_still_refused_to_web_pages_and_rebinding_names(api):
    assert (await api.get("/proxy.pac", headers={"Origin": "https://evil.example"})).status == 403
    assert (await api.get("/proxy.pac", headers={"Host": "evil.example"})).status == 403
    # <script src="http://127.0.0.1:8765/proxy.pac"> on a web page: no Origin, but fetch metadata.
    script = {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "no-cors", "Sec-Fetch-Dest": "script"}
    assert (await api.get("/proxy.pac", headers=script)).status == 403
    assert (await api.get("/proxy.pac", headers={"Sec-Fetch-Site": "none"})).status == 200


async def test_proxy_settings_need_the_token_and_mark_the_extension_paired(api):
    assert (await api.get("/api/proxy")).status == 401
    assert last_contact(api.data_dir, EXTENSION) is None
    response = await api.get("/api/proxy", headers=AUTH)
    assert response.status == 200
    body = await response.json()
    assert body["host"] == "127.0.0.1" and body["port"] == 8080
    assert body["domains"] == ["instagram.com"] and body["pac_url"].endswith("/proxy.pac")
    assert body["pac"] == pac_script(["instagram.com"], 8080)
    assert last_contact(api.data_dir, EXTENSION) is not None


async def test_without_a_proxy_there_is_no_pac(aiohttp_client, data_dir):
    data_dir.mkdir()
    db = StoreDoor(data_dir)
    client = await aiohttp_client(create_app(db, Events(), TOKEN))
    assert (await client.get("/proxy.pac")).status == 404
    db.close()


def test_contacts_are_written_at_most_once_a_minute(tmp_path):
    now = [1_000_000.0]
    contacts = Contacts(tmp_path, clock=lambda: now[0])
    contacts.touch(EXTENSION)
    first = last_contact(tmp_path, EXTENSION)
    now[0] += 30
    contacts.touch(EXTENSION)
    assert last_contact(tmp_path, EXTENSION) == first
    now[0] += 31
    contacts.touch(EXTENSION)
    assert (last_contact(tmp_path, EXTENSION) - first).total_seconds() == 61
