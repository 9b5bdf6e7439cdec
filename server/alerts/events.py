"""What happened, pushed to whoever listens: new alerts, sightings, watch-list accounts, reported
accounts taken down, and returns (a new account that came back after a takedown).

Events are (kind, record) pairs, as the store returns records; how they go over the wire
(Server-Sent Events, with the API's links) is the API's business (server/api/stream.py). A
subscriber that stops reading is dropped; a listener (the notifier, server/notify/sender.py)
is called with every event and must return at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

Event = tuple[str, dict]
logger = logging.getLogger("sentinelle")

# A listener that stops reading is dropped rather than letting its queue grow.
MAX_QUEUED = 100
# The kinds of event about a case's accounts (server/store/cases.py).
TAKEDOWN, RETURN = "takedown", "return"


class Events:
    """A fan-out of events to subscribers' queues, on one event loop."""

    def __init__(self) -> None:
        self._queues: set[asyncio.Queue[Event | None]] = set()
        self._listeners: list[Callable[[str, dict], None]] = []

    def listen(self, listener: Callable[[str, dict], None]) -> None:
        """Call `listener(kind, record)` with every event from now on, on the loop: for what must
        miss none, where a subscriber that falls behind is dropped."""
        self._listeners.append(listener)

    def publish(self, kind: str, data: dict) -> None:
        message = (kind, data)
        for listener in self._listeners:
            try:
                listener(kind, data)
            except Exception:  # a listener's bug must not keep the event from the extension
                logger.exception("Sentinelle: a listener failed on a %s event", kind)
        for queue in list(self._queues):
            if queue.qsize() >= MAX_QUEUED:
                self._queues.discard(queue)
                queue.put_nowait(None)
            else:
                queue.put_nowait(message)

    def close(self) -> None:
        """Tell every subscriber to stop (on shutdown)."""
        for queue in self._queues:
            queue.put_nowait(None)
        self._queues.clear()

    @asynccontextmanager
    async def subscribe(self) -> AsyncIterator[asyncio.Queue[Event | None]]:
        """A queue of events; None means the stream is over."""
        queue: asyncio.Queue[Event | None] = asyncio.Queue()
        self._queues.add(queue)
        try:
            yield queue
        finally:
            self._queues.discard(queue)

