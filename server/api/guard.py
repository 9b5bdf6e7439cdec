"""Who may ask the API: requests addressed to loopback only (no DNS rebinding), never from a web
page (Origin, fetch metadata), and, but for the public paths, only with the paired token or a
session the extension opened with `/api/hello` (server/api/handshake.py), whose answers
Sentinelle signs. And aiohttp's own errors as JSON, like the API's.
"""

from __future__ import annotations

from aiohttp import web
from yarl import URL

from sentinelle.server.api.common import error
from sentinelle.server.api.handshake import AUTH_SCHEME, NONCE_HEADER, PROOF_HEADER, Session, Sessions, well_formed
from sentinelle.server.config import same_token
from sentinelle.server.contact import EXTENSION, Contacts

TOKEN = web.AppKey("token", str)
PORT = web.AppKey("port", int)
CONTACTS = web.AppKey("contacts", Contacts)
SESSIONS = web.AppKey("sessions", Sessions)
# Answered without the token: the browser's network stack fetches a PAC file without headers,
# and it holds only the public list of social domains and the proxy's loopback port; the
# extension shakes hands (`/api/hello`) before it sends anything that depends on the token.
PUBLIC_PATHS = frozenset({"/api/health", "/api/hello", "/proxy.pac"})
# `Sec-Fetch-Site` of the requests Sentinelle answers: absent (a program, a browser's PAC
# fetcher), `none` (Chromium's extension pages and worker, checked in Chromium 156) and
# `same-origin` (Firefox's extension pages, which have the host permission, checked in Firefox
# ESR 140; no web page is same-origin with the API, which serves no page). A web page's request
# (`same-site`, `cross-site`) is refused on every route, with or without an Origin.
FETCH_SITES = frozenset({"none", "same-origin"})
# Where the guard leaves the session a request came with, for its answer to be signed.
_SESSION = web.RequestKey("session", Session)

LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})
# Sentinelle's own extension is the only browser origin allowed to call the API: in Chromium
# its id is fixed by the key in extension/manifest.json; Firefox gives each install a random
# moz-extension:// id, so any is accepted there (the token still has to match). A build with
# another id (a store's) is added with `sentinelle run --extension-origin`.
SENTINELLE_EXTENSION = "chrome-extension://pfhelnnocloeaoipenmhoeaoeggfalgo"
FIREFOX_EXTENSIONS = "moz-extension://"
EXTENSION_ORIGINS = web.AppKey("extension_origins", frozenset)


@web.middleware
async def json_errors(request: web.Request, handler):
    """aiohttp's own errors (404, 405, 413) as JSON, like ours."""
    try:
        return await handler(request)
    except web.HTTPException as e:
        if e.content_type == "application/json" or e.status < 400:
            raise
        kept = {k: v for k, v in e.headers.items() if k.lower() in ("allow", "www-authenticate")}
        return web.json_response({"error": e.reason}, status=e.status, headers=kept)


@web.middleware
async def guard(request: web.Request, handler):
    if not addressed_to_loopback(request.host, request.app[PORT]):
        raise error(web.HTTPForbidden, "requests must be addressed to 127.0.0.1 or localhost")
    origin = request.headers.get("Origin")
    if origin is not None and not _is_our_extension(origin, request.app[EXTENSION_ORIGINS]):
        raise error(web.HTTPForbidden, "only Sentinelle's extension may use Sentinelle's API")
    if request.headers.get("Sec-Fetch-Site", "none") not in FETCH_SITES:
        raise error(web.HTTPForbidden, "web pages may not use Sentinelle's API")
    authorised = _authorised(request)  # on a public route too: its answer is signed for a session
    if request.path not in PUBLIC_PATHS:
        if not authorised:
            raise error(web.HTTPUnauthorized, "missing or wrong token: run `sentinelle token`",
                        **{"WWW-Authenticate": "Bearer"})
        contact(request.app, EXTENSION)
    return await handler(request)


def _authorised(request: web.Request) -> bool:
    """The paired token (`Bearer`, for programs), or a session of this instance (`Sentinelle`,
    the extension's) with a check of this request that was never played before; the guard leaves
    the session on the request for the answer to be signed."""
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    given = given.strip()
    if scheme.lower() == "bearer":
        return same_token(given, request.app[TOKEN])
    if scheme.lower() == AUTH_SCHEME and (session := request.app[SESSIONS].admit(
            given, request.method, request.raw_path, request.headers)):
        request[_SESSION] = session
        return True
    return False


async def sign_answer(request: web.Request, response: web.StreamResponse) -> None:
    """Sign each answer to a session's request over its nonce, streams and errors included:
    the extension believes no answer without this (server/api/handshake.py)."""
    session: Session | None = request.get(_SESSION)
    nonce = request.headers.get(NONCE_HEADER)
    if session is not None and well_formed(nonce):
        response.headers[PROOF_HEADER] = session.sign(nonce)


def _is_our_extension(origin: str, extra: frozenset[str]) -> bool:
    return origin == SENTINELLE_EXTENSION or origin.startswith(FIREFOX_EXTENSIONS) or origin in extra


def addressed_to_loopback(host_header: str, port: int) -> bool:
    """Whether a Host header names this server on loopback: a page of a rebinding
    domain that resolves to 127.0.0.1 still sends its own name, and is refused."""
    try:
        url = URL(f"http://{host_header}")
    except ValueError:
        return False
    return (url.host or "").lower() in LOOPBACK_NAMES and (not port or url.explicit_port == port)


def contact(app: web.Application, kind: str) -> None:
    if (contacts := app.get(CONTACTS)) is not None:
        contacts.touch(kind)

