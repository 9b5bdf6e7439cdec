"""The HTTP API on 127.0.0.1: alerts, evidence, enrollment and a live event stream (the
children and the watch list: server/api/people.py; the parent's channels: server/api/notify.py).

It answers only on loopback, only to requests addressed to loopback (no DNS rebinding),
never to a web page (Origin, fetch metadata), and, but for `/api/health`, `/api/hello` and
`/proxy.pac`, only with the paired token or a session the extension opened with
`/api/hello` (server/api/handshake.py), whose answers Sentinelle signs.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import multiprocessing
import re
import weakref
from collections.abc import Callable, Iterable

from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import HttpProcessingError
from yarl import URL

from sentinelle.server.alerts.enroll import enroll_upload
from sentinelle.server.alerts.events import Events
from sentinelle.server.alerts.protected import LiveIndex
from sentinelle.server.api.cases import CASE_ROUTES
from sentinelle.server.api.common import (
    EVENTS,
    ID,
    PROTECTED,
    STORE,
    STREAMS,
    error,
    json_of,
    refresh_protected,
    status_of,
    too_large,
    with_links,
)
from sentinelle.server.api.handshake import (
    AUTH_SCHEME,
    NONCE_HEADER,
    PROOF_HEADER,
    HandshakeError,
    Session,
    Sessions,
    well_formed,
)
from sentinelle.server.api.notify import NOTIFIER, NOTIFY_ROUTES
from sentinelle.server.api.pac import CONTENT_TYPE as PAC_CONTENT_TYPE
from sentinelle.server.api.patrol import PATROL_ROUTES
from sentinelle.server.api.people import PEOPLE_ROUTES
from sentinelle.server.api.usage import process_usage
from sentinelle.server.casefile import case as casefile
from sentinelle.server.config import same_token
from sentinelle.server.contact import EXTENSION, PAC, Contacts
from sentinelle.server.notify.sender import Notifier
from sentinelle.server.store.door import StoreDoor
from sentinelle.server.store.records import STATUSES, Store, StoreError
from sentinelle.server.version import sentinelle_version

TOKEN = web.AppKey("token", str)
PORT = web.AppKey("port", int)
COUNTS = web.AppKey[Callable[[], dict]]("counts")  # not a class: the type is given as a parameter
PROXY = web.AppKey("proxy", dict)
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
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
MAX_FIELD_BYTES = 4096  # a form field of an upload: a child's name
# A comment line this often keeps the stream open through idle periods and finds dead clients.
HEARTBEAT_SECONDS = 15.0
# Event streams open at once: one for each extension's worker and page, with room to spare.
# Each holds a queue of the events not yet written; more are refused (429).
MAX_STREAMS = 32
# How often a stream looks whether its client is still there: aiohttp does not stop a handler
# whose client went away, and a stream left waiting would count against MAX_STREAMS.
LIVENESS_SECONDS = 1.0


def create_app(
    store: StoreDoor,
    events: Events,
    token: str,
    *,
    port: int | None = None,
    counts: Callable[[], dict] = dict,
    proxy: dict | None = None,
    contacts: Contacts | None = None,
    protected: LiveIndex | None = None,
    extension_origins: Iterable[str] = (),
    notifier: Notifier | None = None,
) -> web.Application:
    """The API application. `port` pins the Host header check to the port it listens on.

    `proxy` is `{"pac": script, "port": proxy port, "domains": [...]}`, served as `/proxy.pac`
    and `/api/proxy`; `contacts` records when the extension and the PAC were last fetched;
    `protected`, the running proxy's index, is refreshed after an upload or a deletion;
    `notifier`, the running notifier, looks at its outbox again when a channel or the hours change.
    Every call to the store goes through its door (`StoreDoor.read`, `StoreDoor.write`), in
    its threads, never on the loop.
    """
    app = web.Application(middlewares=[_json_errors, _guard])
    app[STORE] = store
    app[EVENTS] = events
    app[TOKEN] = token
    app[PORT] = port or 0
    app[COUNTS] = counts
    app[STREAMS] = weakref.WeakSet()
    app[PROXY] = proxy or {}
    app[EXTENSION_ORIGINS] = frozenset(o.rstrip("/") for o in extension_origins)
    if contacts is not None:
        app[CONTACTS] = contacts
    if protected is not None:
        app[PROTECTED] = protected
    if notifier is not None:
        app[NOTIFIER] = notifier
    app[SESSIONS] = Sessions(token)
    app.on_shutdown.append(_close_streams)
    app.on_response_prepare.append(_sign_answer)
    app.add_routes(
        [
            web.get("/api/health", health),
            web.post("/api/hello", hello),
            web.get("/api/stats", stats),
            web.get("/api/alerts", list_alerts),
            web.get(f"/api/alerts/{{id:{ID}}}", get_alert),
            web.patch(f"/api/alerts/{{id:{ID}}}", patch_alert),
            web.get(f"/api/alerts/{{id:{ID}}}/evidence", alert_evidence),
            web.get(f"/api/alerts/{{id:{ID}}}/photo", alert_photo),
            web.get("/api/casefile", case_file),
            web.get("/api/photos", list_photos),
            web.post("/api/photos", upload_photos),
            web.delete(f"/api/photos/{{id:{ID}}}", delete_photo),
            web.get(f"/api/photos/{{id:{ID}}}/thumbnail", photo_thumbnail),
            web.get("/api/events", event_stream),
            web.get("/api/proxy", proxy_settings),
            web.get("/proxy.pac", proxy_pac),
            *PEOPLE_ROUTES,
            *CASE_ROUTES,
            *NOTIFY_ROUTES,
            *PATROL_ROUTES,
        ]
    )
    return app


# -- middlewares ---------------------------------------------------------------------

@web.middleware
async def _json_errors(request: web.Request, handler):
    """aiohttp's own errors (404, 405, 413) as JSON, like ours."""
    try:
        return await handler(request)
    except web.HTTPException as e:
        if e.content_type == "application/json" or e.status < 400:
            raise
        kept = {k: v for k, v in e.headers.items() if k.lower() in ("allow", "www-authenticate")}
        return web.json_response({"error": e.reason}, status=e.status, headers=kept)


@web.middleware
async def _guard(request: web.Request, handler):
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
        _contact(request.app, EXTENSION)
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


async def _sign_answer(request: web.Request, response: web.StreamResponse) -> None:
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


# -- handlers ------------------------------------------------------------------------

async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok", "version": sentinelle_version()})


async def hello(request: web.Request) -> web.Response:
    """The handshake (server/api/handshake.py): proves Sentinelle holds the token the client
    holds, and opens a session, without either sending the token. 401 when the client's
    check shows another token; nothing else is told."""
    try:
        answer = request.app[SESSIONS].hello(request.host, await json_of(request))
    except HandshakeError as e:
        raise error(web.HTTPBadRequest, str(e)) from None
    if answer is None:
        raise error(web.HTTPUnauthorized, "missing or wrong token: run `sentinelle token`",
                    **{"WWW-Authenticate": "Bearer"})
    return web.json_response(answer, headers={"Cache-Control": "no-store"})


async def stats(request: web.Request) -> web.Response:
    db = request.app[STORE]
    counts = await db.read(Store.counts)
    return web.json_response(counts | {"images": request.app[COUNTS](), "process": process_usage()})


async def list_alerts(request: web.Request) -> web.Response:
    status = request.query.get("status")
    db = request.app[STORE]
    try:
        alerts = await db.read(Store.alerts, status)
    except StoreError as e:
        raise error(web.HTTPBadRequest, str(e)) from None
    return web.json_response([with_links(a) for a in alerts])


async def get_alert(request: web.Request) -> web.Response:
    db = request.app[STORE]
    alert = await _alert_or_404(request)
    sightings = [
        {k: v for k, v in s.items() if k != "evidence_file"} for s in await db.read(Store.sightings, alert["id"])
    ]
    return web.json_response(with_links(alert) | {"sightings": sightings})


async def patch_alert(request: web.Request) -> web.Response:
    await _alert_or_404(request)
    status = await status_of(request, STATUSES)
    db = request.app[STORE]
    alert = await db.write(Store.set_status, int(request.match_info["id"]), status)
    return web.json_response(with_links(alert))


async def alert_evidence(request: web.Request) -> web.StreamResponse:
    alert = await _alert_or_404(request)
    db = request.app[STORE]
    found = await db.read(Store.latest_evidence, alert["id"])
    if found is None or not await asyncio.to_thread(found[0].is_file):
        raise error(web.HTTPNotFound, "the evidence file is missing")
    path, content_type = found
    return web.FileResponse(path, headers={"Content-Type": content_type or "application/octet-stream",
                                           "Cache-Control": "no-store"})


async def alert_photo(request: web.Request) -> web.Response:
    alert = await _alert_or_404(request)
    return await _thumbnail(request, alert["photo_id"])


async def case_file(request: web.Request) -> web.Response:
    """The case file (a ZIP) of `?alert=ID` (repeatable), `?account=NAME` or a child's whole case
    (`?case=CHILD`), in `?lang=en|fr` with the help lines of `?country=FR|US|GB|BE|CA|OTHER`."""
    query = request.query
    if child := query.get("case"):
        try:
            case = await request.app[STORE].read(casefile.collect_case, child)
        except (casefile.CaseFileError, StoreError) as e:
            raise error(web.HTTPNotFound, str(e)) from None
        return await _zip(case, query)
    named = query.getall("alert", [])
    if not all(re.fullmatch(ID, i) for i in named):
        raise error(web.HTTPBadRequest, "alert must be an alert's number")
    ids = [int(i) for i in named]
    try:
        db = request.app[STORE]
        case = await db.read(casefile.collect, ids, query.get("account") or None)
    except casefile.CaseFileError as e:
        raise error(web.HTTPNotFound if ids or query.get("account") else web.HTTPBadRequest, str(e)) from None
    return await _zip(case, query)


async def _zip(case, query) -> web.Response:
    data = await build_away(case, query.get("lang", "en"), query.get("country", "OTHER"))
    return web.Response(body=data, content_type="application/zip", headers={
        "Content-Disposition": f'attachment; filename="{casefile.file_name(case)}"',
        "Cache-Control": "no-store"})


async def build_away(case, lang: str, country: str) -> bytes:
    """The case file, written in a process of its own: the PDF (reportlab, pure Python) would hold
    the interpreter's lock for a second or more, and with it the event loop that carries the
    browser's traffic, were it written in a thread here. Spawned, as the checkers are (a
    forked copy of a running loop and its threads is not safe); an export is rare enough to
    pay for the process's start. Started from a thread, not the loop: starting a process writes
    its preparation to the new interpreter through a pipe, which waits for it to read."""
    return await asyncio.to_thread(_build_in_a_process, case, lang, country)


def _build_in_a_process(case, lang: str, country: str) -> bytes:
    with concurrent.futures.ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(casefile.build, case, lang, country).result()


async def list_photos(request: web.Request) -> web.Response:
    db = request.app[STORE]
    return web.json_response(await db.read(Store.photos))


async def upload_photos(request: web.Request) -> web.Response:
    """Multipart: any number of `photo` files, and an optional `child` field (before them): the
    name of the child it means (server/store/child_names.py) is the one each photo gets."""
    if not request.content_type.startswith("multipart/"):
        raise error(web.HTTPBadRequest, "send the photos as multipart/form-data")
    db = request.app[STORE]
    child: str | None = None
    outcomes = []
    try:
        reader = await request.multipart()
        async for part in reader:
            if not isinstance(part, BodyPartReader):  # a multipart nested in the form: neither field
                continue
            if part.name == "child" and (typed := await _field_text(part)):
                try:
                    child = (await db.read(Store.meant_child, typed)).name
                except StoreError as e:  # a first name several children's full names start with
                    raise error(web.HTTPBadRequest, str(e)) from None
            elif part.filename:
                data = await _read_limited(part, MAX_UPLOAD_BYTES)
                outcomes.append(await enroll_upload(db, data, part.filename, child))
    except (ValueError, HttpProcessingError) as e:  # what aiohttp's reader raises for bad bodies
        raise error(web.HTTPBadRequest, f"malformed multipart body: {e}") from None
    if not outcomes:
        raise error(web.HTTPBadRequest, "no photo in the upload")
    await refresh_protected(request.app)
    return web.json_response([o.as_dict() for o in outcomes])


async def delete_photo(request: web.Request) -> web.Response:
    db = request.app[STORE]
    photo_id = int(request.match_info["id"])
    if await db.read(Store.photo, photo_id) is None:
        raise error(web.HTTPNotFound, f"no photo {photo_id}")
    await db.write(Store.forget_photo, photo_id)
    await refresh_protected(request.app)
    return web.json_response({"forgotten": photo_id})


async def photo_thumbnail(request: web.Request) -> web.Response:
    return await _thumbnail(request, int(request.match_info["id"]))


async def event_stream(request: web.Request) -> web.StreamResponse:
    """Server-Sent Events: an `alert` event for each new alert, `sighting` for a repeat, `watch`
    for a new account on the watch list, `patrol` when the parent asks the extension to look for
    her now (server/api/patrol.py)."""
    streams = request.app[STREAMS]
    if len(streams) >= MAX_STREAMS:
        raise error(web.HTTPTooManyRequests, f"{MAX_STREAMS} event streams are open already: close one")
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store"}
    )
    await response.prepare(request)
    streams.add(response)
    try:
        await response.write(b"retry: 2000\n: connected\n\n")
        async with request.app[EVENTS].subscribe() as queue:
            quiet = 0.0
            while True:
                try:
                    message = await asyncio.wait_for(queue.get(), LIVENESS_SECONDS)
                except TimeoutError:
                    if request.transport is None:
                        break  # the client went away
                    quiet += LIVENESS_SECONDS
                    if quiet >= HEARTBEAT_SECONDS:
                        quiet = 0.0
                        await response.write(b": keep-alive\n\n")
                    continue
                if message is None:
                    break
                await response.write(server_sent_event(*message))
    except (ConnectionResetError, ConnectionError):
        pass  # the extension went away; it reconnects by itself
    finally:
        streams.discard(response)  # now, not when the collector gets to it: the cap counts them
    return response


def server_sent_event(kind: str, data: dict) -> bytes:
    """One Server-Sent Events message; an alert goes with the API's links to its images."""
    if kind in ("alert", "sighting"):
        data = with_links(data)
    return f"event: {kind}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


async def proxy_pac(request: web.Request) -> web.Response:
    """The PAC script: social hosts through the proxy, every other host DIRECT.

    A browser's proxy resolver fetches it without fetch metadata; a web page including it
    as a `<script>` sends no Origin but `Sec-Fetch-Site: cross-site`, and the guard refuses
    it: a site must not learn that Sentinelle runs on this PC."""
    pac = request.app[PROXY].get("pac")
    if pac is None:
        raise error(web.HTTPNotFound, "no proxy is running with this API")
    _contact(request.app, PAC)
    return web.Response(text=pac, content_type=PAC_CONTENT_TYPE, headers={"Cache-Control": "no-store"})


async def proxy_settings(request: web.Request) -> web.Response:
    """What the extension needs to send only the social hosts to the proxy: the PAC script
    itself (Chrome's `chrome.proxy`, `pacScript.data`), or the domains and the proxy's port
    (Firefox's `proxy.onRequest`)."""
    proxy = request.app[PROXY]
    if "port" not in proxy:
        raise error(web.HTTPNotFound, "no proxy is running with this API")
    _contact(request.app, PAC)
    return web.json_response({"host": "127.0.0.1", "port": proxy["port"],
                              "domains": proxy["domains"], "pac": proxy["pac"],
                              "pac_url": f"http://127.0.0.1:{request.app[PORT]}/proxy.pac"})


# -- helpers -------------------------------------------------------------------------

def _contact(app: web.Application, kind: str) -> None:
    if (contacts := app.get(CONTACTS)) is not None:
        contacts.touch(kind)


async def _alert_or_404(request: web.Request) -> dict:
    alert_id = int(request.match_info["id"])
    db = request.app[STORE]
    alert = await db.read(Store.alert, alert_id)
    if alert is None:
        raise error(web.HTTPNotFound, f"no alert {alert_id}")
    return alert


async def _thumbnail(request: web.Request, photo_id: int) -> web.Response:
    db = request.app[STORE]
    thumbnail = await db.read(Store.photo_thumbnail, photo_id)
    if thumbnail is None:
        raise error(web.HTTPNotFound, "this photo is no longer enrolled")
    return web.Response(body=thumbnail, content_type="image/jpeg",
                        headers={"Cache-Control": "no-store"})


async def _read_limited(part: BodyPartReader, limit: int) -> bytes:
    """A multipart part, read as it comes; 413 past `limit` bytes (before they are all held)."""
    chunks, size = [], 0
    while chunk := await part.read_chunk():
        size += len(chunk)
        if size > limit:
            raise too_large(f"{part.filename or part.name}: larger than {_size(limit)}", limit, size)
        chunks.append(chunk)
    return b"".join(chunks)


def _size(limit: int) -> str:
    return f"{limit // 2**20} MB" if limit >= 2**20 else f"{limit:,} bytes"


async def _field_text(part: BodyPartReader) -> str:
    """A form field's text (a child's name), stripped; 413 past MAX_FIELD_BYTES."""
    return (await _read_limited(part, MAX_FIELD_BYTES)).decode(part.get_charset("utf-8"), "replace").strip()[:100]


async def _close_streams(app: web.Application) -> None:
    app[EVENTS].close()
    streams = app[STREAMS]  # read apart: inside list(), mypy would want the key to be an Iterable's
    for response in list(streams):
        response.force_close()
