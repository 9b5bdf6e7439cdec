"""The handshake (server/api/handshake.py) over the wire: Sentinelle proves it holds the token
without the token ever being sent, opens a session, signs its answers; and the fetch-metadata
guard refuses web pages on every route."""

from __future__ import annotations

import asyncio
import re
import secrets

import pytest
from sentinelle.server.alerts.events import Events
from sentinelle.server.store.door import StoreDoor
from sentinelle.server.api.app import create_app
from sentinelle.server.api.handshake import (
    CLIENT_CHECK,
    MAX_SESSIONS,
    NONCE_HEADER,
    PROOF_HEADER,
    RESPONSE,
    RESPONSE_KEY,
    SERVER_PROOF,
    SESSION,
    b64,
    mac,
)
from sentinelle.server.api.pac import pac_script

TOKEN = "test-token-123"


class Extension:
    """What extension/js/api.js does, in Python: shake hands, then sign-checked requests."""

    def __init__(self, client, token: str = TOKEN) -> None:
        self.client, self.token = client, token
        self.host = f"127.0.0.1:{client.port}"
        self.sent: list[str] = []  # every header value and body this client sent

    async def hello(self, nonce: str | None = None, host: str | None = None):
        nonce = nonce or b64(secrets.token_bytes(32))
        body = {"nonce": nonce, "check": b64(mac(self.token, CLIENT_CHECK, self.host, nonce))}
        self.sent += list(body.values())
        response = await self.client.post("/api/hello", json=body, headers={"Host": host or self.host})
        return nonce, response

    async def session(self) -> tuple[str, bytes]:
        nonce, response = await self.hello()
        assert response.status == 200
        answer = await response.json()
        parts = (self.host, answer["instance"], nonce, answer["nonce"])
        assert answer["proof"] == b64(mac(self.token, SERVER_PROOF, *parts))
        return b64(mac(self.token, SESSION, *parts)), mac(self.token, RESPONSE_KEY, *parts)

    async def request(self, method: str, path: str, session: tuple[str, bytes], **kwargs):
        credential, key = session
        nonce = b64(secrets.token_bytes(24))
        headers = {"Authorization": f"Sentinelle {credential}", NONCE_HEADER: nonce}
        self.sent += list(headers.values())
        response = await self.client.request(method, path, headers=headers, **kwargs)
        signed = response.headers.get(PROOF_HEADER) == b64(mac(key, RESPONSE, nonce))
        return response, signed


@pytest.fixture
async def api(aiohttp_client, data_dir):
    data_dir.mkdir()
    store = StoreDoor(data_dir)
    proxy = {"pac": pac_script(["instagram.com"], 8080), "port": 8080, "domains": ["instagram.com"]}
    client = await aiohttp_client(create_app(store, Events(), TOKEN, proxy=proxy))
    yield client
    store.close()


async def test_sentinelle_proves_it_holds_the_token_and_signs_its_answers(api):
    extension = Extension(api)
    session = await extension.session()
    response, signed = await extension.request("GET", "/api/alerts", session)
    assert response.status == 200 and signed
    assert await response.json() == []
    # Its errors and its public routes are signed too: the extension believes nothing unsigned.
    response, signed = await extension.request("GET", "/api/alerts/999", session)
    assert response.status == 404 and signed
    response, signed = await extension.request("GET", "/api/health", session)
    assert response.status == 200 and signed
    # And the event stream, whose headers come before any event.
    response, signed = await extension.request("GET", "/api/events", session)
    assert response.status == 200 and signed
    assert (await response.content.readuntil(b"\n\n")).startswith(b"retry:")
    response.close()
    # The token itself never went over the wire.
    assert not [value for value in extension.sent if TOKEN in value]


async def test_the_hello_answers_without_a_token_and_tells_nothing(api):
    nonce, response = await Extension(api).hello()
    assert response.status == 200
    answer = await response.json()
    assert set(answer) == {"service", "instance", "nonce", "proof"}
    assert answer["service"] == "sentinelle" and answer["nonce"] != nonce
    assert all(re.fullmatch(r"[A-Za-z0-9_-]+", answer[k]) for k in ("instance", "nonce", "proof"))
    assert TOKEN not in await response.text()
    assert response.headers["Cache-Control"] == "no-store"


async def test_a_client_with_another_token_gets_401_and_no_proof(api):
    _, response = await Extension(api, token="not-the-token").hello()
    assert response.status == 401
    body = await response.json()
    assert set(body) == {"error"} and "token" in body["error"]


@pytest.mark.parametrize("body", [None, [], {}, {"nonce": "short", "check": "x" * 43},
                                  {"nonce": "a" * 43}, {"nonce": "a" * 43, "check": "!" * 43},
                                  {"nonce": "a" * 200, "check": "a" * 43}])
async def test_a_malformed_hello_gets_400(api, body):
    response = await api.post("/api/hello", json=body)
    assert response.status == 400 and "nonce" in (await response.json())["error"]


async def test_a_proof_is_worth_nothing_at_another_address(api):
    """The proof covers the Host the client addressed: relayed from another port, it fails."""
    extension = Extension(api)
    nonce, response = await extension.hello(host=f"localhost:{api.port}")
    answer = await response.json()
    assert response.status == 401  # the client's check was made for 127.0.0.1:port
    elsewhere = Extension(api)
    elsewhere.host = f"localhost:{api.port}"
    nonce, response = await elsewhere.hello()
    answer = await response.json()
    parts = (answer["instance"], nonce, answer["nonce"])
    assert answer["proof"] == b64(mac(TOKEN, SERVER_PROOF, f"localhost:{api.port}", *parts))
    assert answer["proof"] != b64(mac(TOKEN, SERVER_PROOF, f"127.0.0.1:{api.port}", *parts))


async def test_the_hello_answers_only_on_loopback_and_never_to_a_web_page(api):
    extension = Extension(api)
    _, response = await extension.hello(host="attacker.example")
    assert response.status == 403
    body = {"nonce": "a" * 43, "check": "a" * 43}
    response = await api.post("/api/hello", json=body, headers={"Origin": "https://evil.example"})
    assert response.status == 403
    response = await api.post("/api/hello", json=body, headers={"Sec-Fetch-Site": "cross-site"})
    assert response.status == 403


async def test_a_session_or_an_unsigned_credential_is_no_token(api):
    extension = Extension(api)
    credential, key = await extension.session()
    # Its last character changed (to another: a session ending in "A" must not stay itself).
    tampered = credential[:-1] + ("B" if credential.endswith("A") else "A")
    for wrong in (f"Sentinelle {tampered}", f"Bearer {credential}", "Sentinelle ",
                  f"Sentinelle {b64(key)}", f"Sentinelle {TOKEN}"):
        response = await api.get("/api/alerts", headers={"Authorization": wrong})
        assert response.status == 401, wrong
        assert PROOF_HEADER not in response.headers


async def test_a_session_of_another_instance_is_refused(aiohttp_client, api, data_dir):
    """A restarted Sentinelle (same token) knows none of the sessions of the one before."""
    session = await Extension(api).session()
    store = StoreDoor(data_dir)
    other = await aiohttp_client(create_app(store, Events(), TOKEN))
    response, signed = await Extension(other).request("GET", "/api/alerts", session)
    assert response.status == 401 and not signed
    store.close()


async def test_only_the_newest_sessions_are_kept(api):
    extension = Extension(api)
    oldest = await extension.session()
    newest = await asyncio.gather(*(extension.session() for _ in range(MAX_SESSIONS)))
    assert (await extension.request("GET", "/api/stats", oldest))[0].status == 401
    assert (await extension.request("GET", "/api/stats", newest[0]))[0].status == 200


async def test_the_bearer_token_still_opens_the_api_for_programs_unsigned(api):
    response = await api.get("/api/alerts", headers={"Authorization": f"Bearer {TOKEN}",
                                                     NONCE_HEADER: "a" * 43})
    assert response.status == 200 and PROOF_HEADER not in response.headers


def every_route(app) -> list[tuple[str, str]]:
    routes = []
    for route in app.router.routes():
        if route.method == "HEAD":
            continue
        info = route.resource.get_info()
        path = info.get("path") or info["formatter"].replace("{id}", "1")
        routes.append((route.method, path))
    return routes


async def test_every_route_refuses_a_web_pages_request(api):
    """Fetch metadata: a page's request (`same-site`: another port of 127.0.0.1; `cross-site`)
    is refused on every route, with the token and without an Origin (an <img>, a <script>)."""
    routes = every_route(api.app)
    assert len(routes) == 25 and ("POST", "/api/hello") in routes and ("POST", "/api/patrol/now") in routes
    for method, path in routes:
        assert "{" not in path, path
        for site in ("same-site", "cross-site"):
            response = await api.request(method, path, headers={
                "Authorization": f"Bearer {TOKEN}", "Sec-Fetch-Site": site,
                "Sec-Fetch-Mode": "no-cors", "Sec-Fetch-Dest": "image"})
            assert response.status == 403, (method, path, site)
            assert "web pages" in (await response.json())["error"]


@pytest.mark.parametrize("site", [None, "none", "same-origin"])
async def test_the_extensions_fetch_metadata_is_accepted_on_every_route(api, site):
    """What Chromium (`none`) and Firefox (`same-origin`) send from the extension, and a
    program (nothing): never refused for it."""
    headers = {"Authorization": f"Bearer {TOKEN}"} | ({"Sec-Fetch-Site": site} if site else {})
    for method, path in every_route(api.app):
        if path == "/api/events":
            continue  # a stream: its headers are checked above
        response = await api.request(method, path, headers=headers)
        assert response.status != 403, (method, path, site)
