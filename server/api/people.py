"""The API's children and watch list: who is protected, by which names and handles, and the
accounts whose names look like hers.

    GET   /api/children             every child: id, name, nicknames, own handles, photos
    PUT   /api/children             {"name", "aliases": [...], "handles": [[platform, handle], ...]}
                                    (with "id": that child, renamed to "name")
    DELETE /api/children/{id}       stop watching for her: {"name", "photos", "alerts"}
    GET   /api/watchlist[?status=]  accounts whose names look like a child's (open, dismissed, impersonation)
    PATCH /api/watchlist/{id}       {"status": "dismissed" | "impersonation" | "open"}

A name means the child it names however it is typed (server/store/child_names.py): the
answer to a PUT says, in "was", the name she had when the one sent became hers. A change to a
child's names reaches the proxy's next feed: the protected set is refreshed.
"""

from __future__ import annotations

from aiohttp import web

from sentinelle.proxy.hosts import SOCIAL_DOMAINS
from sentinelle.server.api.common import ID, STORE, error, json_of, refresh_protected, status_of
from sentinelle.server.store.records import Store
from sentinelle.server.store.schema import StoreError
from sentinelle.server.store.watchlist import WATCH_STATUSES

MAX_NAME = 100
MAX_NAMES = 20  # nicknames, or handles, of one child


async def list_children(request: web.Request) -> web.Response:
    db = request.app[STORE]
    return web.json_response(await db.read(Store.children))


async def set_child(request: web.Request) -> web.Response:
    if (body := await json_of(request)) is None:
        raise error(web.HTTPBadRequest, "the body must be JSON like {\"name\": \"Léa Martin\"}")
    try:
        name, aliases, handles = child_fields(body)
    except ValueError as e:
        raise error(web.HTTPBadRequest, str(e)) from None
    assert isinstance(body, dict)  # child_fields took it
    db = request.app[STORE]
    was = None
    if (child_id := body.get("id")) is not None:  # the options page's form, editing this child
        if type(child_id) is not int or not 0 < child_id < 2**63:
            raise error(web.HTTPBadRequest, "id: the number of the child to rename")
        if (before := await db.read(Store.child, child_id)) is None:
            raise error(web.HTTPNotFound, f"no child {child_id}")
        was = before["name"]
        await db.write(Store.rename_child, child_id, name)
    try:
        child, meant = await db.write(Store.set_child, name, aliases, handles)
    except StoreError as e:  # a first name several children's full names start with
        raise error(web.HTTPBadRequest, str(e)) from None
    await refresh_protected(request.app)
    was = meant.known if meant.renamed else was
    return web.json_response(child | {"was": was if was != child["name"] else None})


async def remove_child(request: web.Request) -> web.Response:
    db = request.app[STORE]
    try:
        removed = await db.write(Store.remove_child, int(request.match_info["id"]))
    except StoreError as e:
        raise error(web.HTTPNotFound, str(e)) from None
    await refresh_protected(request.app)
    return web.json_response(removed)


def child_fields(body: object) -> tuple[str, list[str] | None, list[tuple[str, str]] | None]:
    """(name, nicknames, handles) from a request body; ValueError says what is wrong."""
    if not isinstance(body, dict) or not isinstance(body.get("name"), str) or not body["name"].strip():
        raise ValueError("give the child's full name: {\"name\": \"Léa Martin\"}")
    name = body["name"].strip()[:MAX_NAME]
    aliases = body.get("aliases")
    if aliases is not None:
        if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases) or len(aliases) > MAX_NAMES:
            raise ValueError(f"aliases: a list of at most {MAX_NAMES} names")
        aliases = [a.strip()[:MAX_NAME] for a in aliases if a.strip()]
    handles = body.get("handles")
    if handles is not None:
        if not isinstance(handles, list) or len(handles) > MAX_NAMES:
            raise ValueError(f"handles: a list of at most {MAX_NAMES} [platform, handle] pairs")
        pairs = []
        for pair in handles:
            if (not isinstance(pair, list) or len(pair) != 2 or not all(isinstance(p, str) for p in pair)
                    or pair[0] not in SOCIAL_DOMAINS or not pair[1].strip().lstrip("@")):
                raise ValueError(f"handles: each one [platform, handle], the platform one of {', '.join(SOCIAL_DOMAINS)}")
            pairs.append((pair[0], pair[1].strip().lstrip("@")[:MAX_NAME]))
        handles = pairs
    return name, aliases, handles


async def list_watchlist(request: web.Request) -> web.Response:
    status = request.query.get("status")
    db = request.app[STORE]
    try:
        return web.json_response(await db.read(Store.watchlist, status))
    except StoreError as e:
        raise error(web.HTTPBadRequest, str(e)) from None


async def patch_watch_entry(request: web.Request) -> web.Response:
    status = await status_of(request, WATCH_STATUSES)
    db = request.app[STORE]
    try:
        return web.json_response(await db.write(Store.set_watch_status, int(request.match_info["id"]), status))
    except StoreError as e:
        raise error(web.HTTPNotFound, str(e)) from None


PEOPLE_ROUTES = [
    web.get("/api/children", list_children),
    web.put("/api/children", set_child),
    web.delete(f"/api/children/{{id:{ID}}}", remove_child),
    web.get("/api/watchlist", list_watchlist),
    web.patch(f"/api/watchlist/{{id:{ID}}}", patch_watch_entry),
]
