"""The API's event stream (`GET /api/events`, Server-Sent Events): what the extension's worker
keeps open to hear of each alert within a second, capped, with a heartbeat, and closed on
shutdown.
"""

from __future__ import annotations

import asyncio
import json

from aiohttp import web

from sentinelle.server.api.common import EVENTS, STREAMS, error, with_links

# A comment line this often keeps the stream open through idle periods and finds dead clients.
HEARTBEAT_SECONDS = 15.0
# Event streams open at once: one for each extension's worker and page, with room to spare.
# Each holds a queue of the events not yet written; more are refused (429).
MAX_STREAMS = 32
# How often a stream looks whether its client is still there: aiohttp does not stop a handler
# whose client went away, and a stream left waiting would count against MAX_STREAMS.
LIVENESS_SECONDS = 1.0


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


async def close_streams(app: web.Application) -> None:
    app[EVENTS].close()
    streams = app[STREAMS]  # read apart: inside list(), mypy would want the key to be an Iterable's
    for response in list(streams):
        response.force_close()


STREAM_ROUTES = [
    web.get("/api/events", event_stream),
]
