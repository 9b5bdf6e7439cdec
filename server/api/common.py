"""What the API's handlers share: where the store, the protected set, the events and the open
streams hang on the app, and errors as JSON."""

from __future__ import annotations

import weakref

from aiohttp import web
from sentinelle.server.alerts.events import Events
from sentinelle.server.alerts.protected import LiveIndex
from sentinelle.server.store.door import StoreDoor

STORE = web.AppKey("store", StoreDoor)
PROTECTED = web.AppKey("protected", LiveIndex)
EVENTS = web.AppKey("events", Events)
# The event streams open now: whether an extension is listening.
STREAMS = web.AppKey("streams", weakref.WeakSet)


def with_links(alert: dict) -> dict:
    """An alert as the API and the event stream show it: with where its images are."""
    base = f"/api/alerts/{alert['id']}"
    return alert | {"evidence_url": base + "/evidence", "photo_url": base + "/photo"}


def error(status: type[web.HTTPException], message: str, **headers: str) -> web.HTTPException:
    return status(
        text=web.json_response({"error": message}).text,
        content_type="application/json",
        headers=headers or None,
    )


async def refresh_protected(app: web.Application) -> None:
    """The proxy sees the photos and the children's names as they are now, from its next
    image or feed on."""
    if (protected := app.get(PROTECTED)) is not None:
        await protected.refresh()


async def status_of(request: web.Request, statuses: tuple[str, ...]) -> str:
    """The `status` a PATCH body asks for, one of `statuses`; 400 with what to send otherwise."""
    try:
        body = await request.json()
    except ValueError:
        raise error(web.HTTPBadRequest, f'the body must be JSON like {{"status": "{statuses[1]}"}}') from None
    status = body.get("status") if isinstance(body, dict) else None
    if status not in statuses:
        raise error(web.HTTPBadRequest, f"status must be one of {', '.join(statuses)}")
    return status
