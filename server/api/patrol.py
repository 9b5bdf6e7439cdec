"""The API of the patrol, the extension looking for her on each network (server/store/patrol.py).

    GET   /api/patrol              each network's last look: when, what, what stopped it, what was found
    POST  /api/patrol              the extension starts a look: {"run", "platform", "what", "term", "url", "child"}
    PATCH /api/patrol/{id}         it ends it: {"outcome", "scrolls", "requests"}
    POST  /api/patrol/now          the parent asks the paired extension to look at once (`sentinelle
                                   patrol now`): a `patrol` event on the stream; 409 when no stream is open

The server never tells the extension what to look for: the searches are the extension's own
reviewed list (extension/data/search.json); the event carries only when it was asked.
"""

from __future__ import annotations

from datetime import UTC, datetime

from aiohttp import web

from sentinelle.proxy.hosts import SOCIAL_DOMAINS
from sentinelle.server.api.common import EVENTS, STORE, STREAMS, error
from sentinelle.server.store.patrol import look_fields
from sentinelle.server.store.records import Store
from sentinelle.server.store.schema import StoreError

# What one look may say it did: far above the extension's own bounds (patrol.js), so a count
# beyond them is a bug to refuse rather than a figure to show.
MAX_COUNT = 10_000


async def patrol_summary(request: web.Request) -> web.Response:
    db = request.app[STORE]
    return web.json_response({"networks": await db.read(Store.patrol),
                              "extension_connected": len(request.app[STREAMS]) > 0})


async def start_look(request: web.Request) -> web.Response:
    try:
        fields = look_fields(await request.json(), SOCIAL_DOMAINS)
    except ValueError as e:
        raise error(web.HTTPBadRequest, str(e)) from None
    db = request.app[STORE]
    return web.json_response(await db.write(Store.start_look, fields), status=201)


async def end_look(request: web.Request) -> web.Response:
    try:
        body = await request.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise error(web.HTTPBadRequest, 'send {"outcome", "scrolls", "requests"}')
    counts = [body.get("scrolls", 0), body.get("requests", 0)]
    if not all(type(n) is int and 0 <= n <= MAX_COUNT for n in counts):
        raise error(web.HTTPBadRequest, f"scrolls, requests: whole numbers up to {MAX_COUNT}")
    db = request.app[STORE]
    try:
        look = await db.write(Store.end_look, int(request.match_info["id"]), body.get("outcome"), *counts)
    except StoreError as e:
        raise error(web.HTTPBadRequest, str(e)) from None
    return web.json_response(look)


async def patrol_now(request: web.Request) -> web.Response:
    """Ask whoever listens on the event stream (the paired extension) to look for her now."""
    listening = len(request.app[STREAMS])
    if not listening:
        raise error(web.HTTPConflict, "no extension is connected: open the browser where Sentinelle's "
                                      "extension is paired, and try again")
    asked_at = datetime.now(UTC).isoformat(timespec="milliseconds")
    request.app[EVENTS].publish("patrol", {"asked_at": asked_at})
    return web.json_response({"asked_at": asked_at, "listening": listening}, status=202)


PATROL_ROUTES = [
    web.get("/api/patrol", patrol_summary),
    web.post("/api/patrol", start_look),
    web.patch("/api/patrol/{id:\\d{1,18}}", end_look),
    web.post("/api/patrol/now", patrol_now),
]
