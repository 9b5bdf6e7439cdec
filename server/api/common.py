"""What the API's handlers share: where the store, the protected set, the events and the open
streams hang on the app, what an id looks like, bodies read within bounds, and errors as JSON."""

from __future__ import annotations

import json
import weakref

from aiohttp import web

from sentinelle.server.alerts.events import Events
from sentinelle.server.alerts.protected import LiveIndex
from sentinelle.server.store.door import StoreDoor

STORE = web.AppKey("store", StoreDoor)
PROTECTED = web.AppKey("protected", LiveIndex)
# A number in a route (an alert's, a photo's, a child's) or a query: ASCII digits only (a
# route's `\d` takes `٣` too, which int() reads as 3).
ID = "[0-9]{1,18}"
EVENTS = web.AppKey("events", Events)
# The event streams open now: whether an extension is listening.
STREAMS = web.AppKey[weakref.WeakSet[web.StreamResponse]]("streams")


def with_links(alert: dict) -> dict:
    """An alert as the API and the event stream show it: with where its images are."""
    base = f"/api/alerts/{alert['id']}"
    return alert | {"evidence_url": base + "/evidence", "photo_url": base + "/photo"}


def error(status: type[web.HTTPException], message: str, **headers: str) -> web.HTTPException:
    return status(**as_json(message), headers=headers or None)


def too_large(message: str, limit: int, size: int) -> web.HTTPRequestEntityTooLarge:
    """413, as JSON (aiohttp's own wants the sizes too)."""
    return web.HTTPRequestEntityTooLarge(limit, size, **as_json(message))


def as_json(message: str) -> dict[str, str]:
    """An error's body, as every answer of the API's: {"error": message}."""
    return {"text": json.dumps({"error": message}), "content_type": "application/json"}  # as json_response writes it


async def json_of(request: web.Request) -> object:
    """The request's body as JSON, or None when it is not JSON: malformed, or nested deeper than
    Python's parser goes (`[` a hundred thousand times raises RecursionError, not ValueError)."""
    try:
        return await request.json()
    except (ValueError, RecursionError):
        return None


async def refresh_protected(app: web.Application) -> None:
    """The proxy sees the photos and the children's names as they are now, from its next
    image or feed on."""
    if (protected := app.get(PROTECTED)) is not None:
        await protected.refresh()


async def json_body(request: web.Request, example: str) -> dict:
    """A request's JSON object; 400 that shows `example` otherwise."""
    if not isinstance(body := await json_of(request), dict):
        raise error(web.HTTPBadRequest, f"the body must be JSON like {example}")
    return body


async def status_of(request: web.Request, statuses: tuple[str, ...]) -> str:
    """The `status` a PATCH body asks for, one of `statuses`; 400 with what to send otherwise."""
    body = await json_body(request, f'{{"status": "{statuses[1]}"}}')
    status = body.get("status")
    if status not in statuses:
        raise error(web.HTTPBadRequest, f"status must be one of {', '.join(statuses)}")
    return status
