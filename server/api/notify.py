"""The API's channels: where alerts reach the parent away from the PC (their phone, their
mailbox), and when, as `sentinelle notify` sets them.

    GET    /api/notify                       {"channels": [...], "hours": {"digest", "quiet"}}
    POST   /api/notify/channels              {"url", "name"?, "details"?: bool} → 201, the channel
    PATCH  /api/notify/channels/{id}         {"details": bool}
    DELETE /api/notify/channels/{id}         the channel removed, with the notes it had waiting
    POST   /api/notify/channels/{id}/test    a test message, now: {"sent": true}, or 502 and why not
    PUT    /api/notify/hours                 {"digest": "HH:MM", "quiet": ["HH:MM", "HH:MM"] | null}

A channel is an Apprise URL (server/notify/channels.py). Its URL holds secrets: it goes in,
never out. A channel is answered as `{id, name, shown (the URL, masked), details, added_at,
last_sent_at, pending, failures, failing_since, last_error, last_error_at, next_try_at}`.
A URL Apprise cannot use is refused (400) with Apprise's word on it. Checking and sending
run in threads: Apprise waits on the network, the proxy's loop must not.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from aiohttp import web

from sentinelle.server.api.common import ID, STORE, error, json_body
from sentinelle.server.notify import channels
from sentinelle.server.notify.news import TEST
from sentinelle.server.notify.sender import Notifier
from sentinelle.server.notify.timing import hours_given
from sentinelle.server.store.records import Store
from sentinelle.server.store.schema import StoreError

NOTIFIER = web.AppKey("notifier", Notifier)
MAX_URL = 2000
MAX_NAME = 40


async def notify_settings(request: web.Request) -> web.Response:
    db = request.app[STORE]
    return web.json_response({"channels": await db.read(Store.channels), "hours": await db.read(Store.notify_hours)})


async def add_channel(request: web.Request) -> web.Response:
    body = await json_body(request, '{"url": "ntfy://my-own-topic", "name": "phone"}')
    url, name, details = body.get("url"), body.get("name"), body.get("details", False)
    if not isinstance(url, str) or not url.strip() or len(url) > MAX_URL:
        raise error(web.HTTPBadRequest, "url: the channel's Apprise URL, e.g. ntfy://my-own-topic")
    if name is not None and (not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME):
        raise error(web.HTTPBadRequest, f"name: at most {MAX_NAME} characters")
    if not isinstance(details, bool):
        raise error(web.HTTPBadRequest, "details: true or false")
    try:
        shown = await asyncio.to_thread(channels.check, url)
    except channels.ChannelError as e:
        raise error(web.HTTPBadRequest, str(e)) from None
    db = request.app[STORE]
    if name is None:
        name = channels.default_name(url, {c["name"] for c in await db.read(Store.channels)})
    try:
        channel = await db.write(Store.add_channel, " ".join(name.split()), url.strip(), shown, details,
                                 datetime.now(UTC))
    except StoreError as e:
        raise error(web.HTTPBadRequest, str(e)) from None
    return web.json_response(channel, status=201)


async def patch_channel(request: web.Request) -> web.Response:
    body = await json_body(request, '{"details": true}')
    if not isinstance(body.get("details"), bool):
        raise error(web.HTTPBadRequest, "details: true or false")
    db = request.app[STORE]
    try:
        return web.json_response(await db.write(Store.set_channel_details, _channel_id(request), body["details"]))
    except StoreError as e:
        raise error(web.HTTPNotFound, str(e)) from None


async def remove_channel(request: web.Request) -> web.Response:
    db = request.app[STORE]
    try:
        return web.json_response(await db.write(Store.remove_channel, _channel_id(request)))
    except StoreError as e:
        raise error(web.HTTPNotFound, str(e)) from None


async def try_channel(request: web.Request) -> web.Response:
    """Send the test message now. When it goes, what the channel had waiting is tried at once."""
    db = request.app[STORE]
    channel_id = _channel_id(request)
    try:
        url = await db.read(Store.channel_url, channel_id)
    except StoreError as e:
        raise error(web.HTTPNotFound, str(e)) from None
    reason = await asyncio.to_thread(channels.send, url, TEST)
    if reason is not None:
        raise error(web.HTTPBadGateway, reason)
    await db.write(Store.test_reached, channel_id, datetime.now(UTC))
    _poke(request)
    return web.json_response({"sent": True})


async def set_hours(request: web.Request) -> web.Response:
    body = await json_body(request, '{"digest": "18:00", "quiet": ["22:00", "07:00"]}')
    try:
        hours = hours_given(body)
    except ValueError as e:
        raise error(web.HTTPBadRequest, str(e)) from None
    db = request.app[STORE]
    kept = await db.write(Store.set_notify_hours, hours)
    _poke(request)
    return web.json_response(kept)


def _channel_id(request: web.Request) -> int:
    return int(request.match_info["id"])


def _poke(request: web.Request) -> None:
    if (notifier := request.app.get(NOTIFIER)) is not None:
        notifier.poke()


NOTIFY_ROUTES = [
    web.get("/api/notify", notify_settings),
    web.post("/api/notify/channels", add_channel),
    web.patch(f"/api/notify/channels/{{id:{ID}}}", patch_channel),
    web.delete(f"/api/notify/channels/{{id:{ID}}}", remove_channel),
    web.post(f"/api/notify/channels/{{id:{ID}}}/test", try_channel),
    web.put("/api/notify/hours", set_hours),
]
