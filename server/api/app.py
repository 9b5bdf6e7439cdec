"""The HTTP API on 127.0.0.1: `create_app` wires the routes of each group to the guard, and answers
the process's own questions (health, the handshake's hello, stats). The routes: alerts and the
case file (server/api/alerts.py), photos (photos.py), the event stream (stream.py), the proxy's
settings and PAC (proxy_config.py), the children and the watch list (people.py), cases
(cases.py), the parent's channels (notify.py), the patrol (patrol.py).

It answers only on loopback, only to requests addressed to loopback (no DNS rebinding),
never to a web page (Origin, fetch metadata), and, but for `/api/health`, `/api/hello` and
`/proxy.pac`, only with the paired token or a session the extension opened with
`/api/hello` (server/api/handshake.py), whose answers Sentinelle signs (server/api/guard.py).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable

from aiohttp import web

from sentinelle.server.alerts.events import Events
from sentinelle.server.alerts.protected import LiveIndex
from sentinelle.server.api.alerts import ALERT_ROUTES
from sentinelle.server.api.cases import CASE_ROUTES
from sentinelle.server.api.common import EVENTS, PROTECTED, STORE, STREAMS, error, json_of
from sentinelle.server.api.guard import (
    CONTACTS,
    EXTENSION_ORIGINS,
    FETCH_SITES,
    PORT,
    SENTINELLE_EXTENSION,
    SESSIONS,
    TOKEN,
    addressed_to_loopback,
    guard,
    json_errors,
    sign_answer,
)
from sentinelle.server.api.handshake import HandshakeError, Sessions
from sentinelle.server.api.notify import NOTIFIER, NOTIFY_ROUTES
from sentinelle.server.api.patrol import PATROL_ROUTES
from sentinelle.server.api.people import PEOPLE_ROUTES
from sentinelle.server.api.photos import PHOTO_ROUTES
from sentinelle.server.api.proxy_config import PROXY, PROXY_ROUTES
from sentinelle.server.api.stream import STREAM_ROUTES, close_streams
from sentinelle.server.api.usage import process_usage
from sentinelle.server.contact import Contacts
from sentinelle.server.notify.sender import Notifier
from sentinelle.server.store.door import StoreDoor
from sentinelle.server.store.records import Store
from sentinelle.server.version import sentinelle_version

# What callers and tests import from here, wherever it lives.
__all__ = ["FETCH_SITES", "SENTINELLE_EXTENSION", "addressed_to_loopback", "create_app"]

COUNTS = web.AppKey[Callable[[], dict]]("counts")  # not a class: the type is given as a parameter


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
    app = web.Application(middlewares=[json_errors, guard])
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
    app.on_shutdown.append(close_streams)
    app.on_response_prepare.append(sign_answer)
    app.add_routes(
        [
            web.get("/api/health", health),
            web.post("/api/hello", hello),
            web.get("/api/stats", stats),
            *ALERT_ROUTES,
            *PHOTO_ROUTES,
            *STREAM_ROUTES,
            *PROXY_ROUTES,
            *PEOPLE_ROUTES,
            *CASE_ROUTES,
            *NOTIFY_ROUTES,
            *PATROL_ROUTES,
        ]
    )
    return app


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
