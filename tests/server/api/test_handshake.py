"""The handshake (server/api/handshake.py) over the wire: Sentinelle proves it holds the token
without the token ever being sent, opens a session, signs its answers, refuses a hello or a
request played again or out of its time; and the fetch-metadata guard refuses web pages on
every route."""

from __future__ import annotations

import asyncio
import re
import secrets
import time

import pytest

from sentinelle.server.alerts.events import Events
from sentinelle.server.api.app import create_app
from sentinelle.server.api.handshake import (
    CHECK_HEADER,
    CLIENT_CHECK,
    MAX_SESSIONS,
    NONCE_HEADER,
    PROOF_HEADER,
    REQUEST_CHECK,
    REQUEST_KEY,
    RESPONSE,
    RESPONSE_KEY,
    SERVER_PROOF,
    SESSION,
    TIME_HEADER,
    WINDOW_SECONDS,
    Nonces,
    b64,
    mac,
)
from sentinelle.server.api.pac import pac_script
from sentinelle.server.store.door import StoreDoor

TOKEN = "test-token-123"


def now_ms(shift: float = 0.0) -> str:
    """A check's time, as the extension writes it (Date.now()), `shift` seconds from now."""
    return str(int((time.time() + shift) * 1000))


class Extension:
    """What extension/js/api.js does, in Python: shake hands, then checked requests whose
    answers must be signed."""

    def __init__(self, client, token: str = TOKEN) -> None:
        self.client, self.token = client, token
        self.host = f"127.0.0.1:{client.port}"
        self.sent: list[str] = []  # every header value and body this client sent

    def hello_body(self, nonce: str | None = None, at: str | None = None) -> dict:
        nonce, at = nonce or b64(secrets.token_bytes(32)), at or now_ms()
        return {"nonce": nonce, "time": at, "check": b64(mac(self.token, CLIENT_CHECK, self.host, nonce, at))}

    async def hello(self, nonce: str | None = None, host: str | None = None, body: dict | None = None):
        body = body or self.hello_body(nonce)
        self.sent += list(body.values())
        response = await self.client.post("/api/hello", json=body, headers={"Host": host or self.host})
        return body["nonce"], response

    async def session(self) -> tuple[str, bytes, bytes]:
        nonce, response = await self.hello()
        assert response.status == 200
        answer = await response.json()
        parts = (self.host, answer["instance"], nonce, answer["nonce"])
        assert answer["proof"] == b64(mac(self.token, SERVER_PROOF, *parts))
        return (b64(mac(self.token, SESSION, *parts)), mac(self.token, RESPONSE_KEY, *parts),
                mac(self.token, REQUEST_KEY, *parts))

    def headers(self, method: str, path: str, session: tuple[str, bytes, bytes], at: str | None = None) -> dict:
        credential, _, request_key = session
        nonce, at = b64(secrets.token_bytes(24)), at or now_ms()
        return {"Authorization": f"Sentinelle {credential}", NONCE_HEADER: nonce, TIME_HEADER: at,
                CHECK_HEADER: b64(mac(request_key, REQUEST_CHECK, method, path, at, nonce))}

    async def request(self, method: str, path: str, session: tuple[str, bytes, bytes],
                      headers: dict | None = None, **kwargs):
        headers = headers or self.headers(method, path, session)
        self.sent += list(headers.values())
        response = await self.client.request(method, path, headers=headers, **kwargs)
        signed = response.headers.get(PROOF_HEADER) == b64(mac(session[1], RESPONSE, headers[NONCE_HEADER]))
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


@pytest.mark.parametrize("body", [None, [], {}, {"nonce": "short", "time": "1", "check": "x" * 43},
                                  {"nonce": "a" * 43, "time": "1"}, {"nonce": "a" * 43, "check": "a" * 43},
                                  {"nonce": "a" * 43, "time": "1", "check": "!" * 43},
                                  {"nonce": "a" * 43, "time": 1, "check": "a" * 43},
                                  {"nonce": "a" * 43, "time": "-1", "check": "a" * 43},
                                  {"nonce": "a" * 200, "time": "1", "check": "a" * 43}])
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
    session = await extension.session()
    credential, key, _ = session
    # Its last character changed (to another: a session ending in "A" must not stay itself).
    tampered = credential[:-1] + ("B" if credential.endswith("A") else "A")
    for wrong in (f"Sentinelle {tampered}", f"Bearer {credential}", "Sentinelle ",
                  f"Sentinelle {b64(key)}", f"Sentinelle {TOKEN}"):
        headers = extension.headers("GET", "/api/alerts", session) | {"Authorization": wrong}
        response = await api.get("/api/alerts", headers=headers)
        assert response.status == 401, wrong
        assert PROOF_HEADER not in response.headers


async def test_a_credential_without_the_extensions_check_opens_nothing(api):
    """What an impostor receives (the credential, a nonce, a time, a check of another request)
    opens nothing: the check covers the method, the path and query, the time and the nonce."""
    extension = Extension(api)
    session = await extension.session()
    good = extension.headers("GET", "/api/alerts", session)
    for name in (NONCE_HEADER, TIME_HEADER, CHECK_HEADER):
        headers = {k: v for k, v in good.items() if k != name}
        assert (await api.get("/api/alerts", headers=headers)).status == 401, name
    for method, path in (("GET", "/api/alerts?status=new"), ("DELETE", "/api/photos/1"),
                         ("GET", "/api/stats")):
        response = await api.request(method, path, headers=good)
        assert response.status == 401 and PROOF_HEADER not in response.headers, (method, path)
    other_nonce = good | {NONCE_HEADER: b64(secrets.token_bytes(24))}
    assert (await api.get("/api/alerts", headers=other_nonce)).status == 401
    # Checked for what it is, it works, once.
    response, signed = await extension.request("GET", "/api/alerts", session, headers=good)
    assert response.status == 200 and signed


async def test_a_request_played_again_is_refused(api):
    """A request captured on its way (all its headers, its body) and played again: refused,
    unsigned, and it changes nothing; each first play of a fresh request is served."""
    extension = Extension(api)
    session = await extension.session()
    path = "/api/children"
    captured = extension.headers("PUT", path, session)
    first = {"name": "Léa Martin", "aliases": ["Lili"], "handles": [["instagram", "lea.martin.2013"]]}
    response, signed = await extension.request("PUT", path, session, headers=captured, json=first)
    assert response.status == 200 and signed
    # The parent changes her nicknames; the captured request, played again, would undo it.
    response, _ = await extension.request("PUT", path, session, json=first | {"aliases": ["Léa"]})
    assert response.status == 200
    response, signed = await extension.request("PUT", path, session, headers=captured, json=first)
    assert response.status == 401 and not signed
    response, _ = await extension.request("GET", path, session)
    assert [child["aliases"] for child in await response.json()] == [["Léa"]]
    # A public route answers a replay too, but unsigned: the extension believes none of it.
    headers = extension.headers("GET", "/api/health", session)
    assert (await extension.request("GET", "/api/health", session, headers=headers))[1]
    response, signed = await extension.request("GET", "/api/health", session, headers=headers)
    assert response.status == 200 and not signed
    # Fresh requests of the same session go on being served.
    response, signed = await extension.request("GET", "/api/children", session)
    assert response.status == 200 and signed


@pytest.mark.parametrize("shift", [-WINDOW_SECONDS - 5, WINDOW_SECONDS + 5])
async def test_a_request_out_of_its_time_is_refused(api, shift):
    extension = Extension(api)
    session = await extension.session()
    headers = extension.headers("GET", "/api/alerts", session, at=now_ms(shift))
    response, signed = await extension.request("GET", "/api/alerts", session, headers=headers)
    assert response.status == 401 and not signed


async def test_a_hello_played_again_or_out_of_its_time_opens_no_session(api):
    """A captured hello played again is refused as a wrong check would be: it cannot push the
    extension's sessions out (only the newest are kept) nor make Sentinelle answer it twice."""
    extension = Extension(api)
    body = extension.hello_body()
    assert (await extension.hello(body=body))[1].status == 200
    _, response = await extension.hello(body=body)
    assert response.status == 401 and "proof" not in await response.json()
    for shift in (-WINDOW_SECONDS - 5, WINDOW_SECONDS + 5):
        _, response = await extension.hello(body=extension.hello_body(at=now_ms(shift)))
        assert response.status == 401, shift


def test_the_nonces_remembered_are_bounded_and_none_forgotten_is_accepted_again():
    """Past its limit the memory forgets its oldest nonce, and refuses from then on any check
    made at or before that nonce's time: a nonce forgotten is still refused, for its time."""
    clock = [1_000_000.0]
    nonces = Nonces(window=60, limit=3, clock=lambda: clock[0])
    at = [str(int(clock[0] * 1000) + i) for i in range(5)]
    assert [nonces.first(f"n{i}", at[i]) for i in range(4)] == [True] * 4
    assert len(nonces) == 3
    assert not nonces.first("n0", at[0])  # forgotten, and refused for its time
    assert not nonces.first("n3", at[3])  # remembered
    assert nonces.first("n4", at[4])
    # Past the window they go, and their times are refused anyway.
    clock[0] += 61
    assert not nonces.first("n5", at[4])
    assert nonces.first("n6", str(int(clock[0] * 1000)))
    assert len(nonces) == 1


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
    assert len(routes) == 33 and ("POST", "/api/hello") in routes and ("DELETE", "/api/children/1") in routes
    assert ("GET", "/api/cases") in routes and ("POST", "/api/reports") in routes
    assert ("POST", "/api/patrol/now") in routes
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
