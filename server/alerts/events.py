"""New alerts, pushed to whoever listens (the Server-Sent Events stream of the API)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

# A listener that stops reading is dropped rather than letting its queue grow.
MAX_QUEUED = 100


class Events:
    """A fan-out of events to subscribers' queues, on one event loop."""

    def __init__(self) -> None:
        self._queues: set[asyncio.Queue[str | None]] = set()

    def publish(self, kind: str, data: dict) -> None:
        message = format_sse(kind, data)
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
    async def subscribe(self) -> AsyncIterator[asyncio.Queue[str | None]]:
        """A queue of formatted messages; None means the stream is over."""
        queue: asyncio.Queue[str | None] = asyncio.Queue()
        self._queues.add(queue)
        try:
            yield queue
        finally:
            self._queues.discard(queue)


def format_sse(kind: str, data: dict) -> str:
    """One Server-Sent Events message."""
    return f"event: {kind}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"
