"""Reading an ICAP request off Squid's connection, within bounds (the ICAP front,
proxy/fronts/icap_service.py): a line or a head up to its limit, a body's chunks in slices
whatever size they announce, and a body kept up to a limit. What the bytes mean is icap.py's.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from sentinelle.proxy.fronts import icap

# A body is read this much at a time at most, whatever size its chunks announce (up to 4 GiB).
SLICE_BYTES = 64 * 1024


class Body:
    """A body as it comes, kept up to `limit` bytes and one more (which says it was larger)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.data = bytearray()
        self.over = False

    def add(self, data: bytes) -> None:
        room = self.limit + 1 - len(self.data)
        if room > 0:
            self.data += data[:room]
        if len(self.data) > self.limit:
            self.over = True


def drop(data: bytes) -> None:
    """A sink that keeps nothing: for a body read only to reach its end."""


async def read_chunks(reader: asyncio.StreamReader, sink: Callable[[bytes], Awaitable[None] | None]) -> bool:
    """Read chunks up to the last one, giving each to `sink` (a function, or a coroutine
    function) in slices of SLICE_BYTES at most; whether the last chunk said ieof."""
    while True:
        size, ieof = icap.parse_chunk_line(await read_line(reader))
        if size == 0:
            trailers = 0
            while (line := await read_line(reader)) != b"\r\n":  # trailer lines, until the empty one
                trailers += len(line)
                if trailers > icap.MAX_HEAD_BYTES:
                    raise icap.IcapError(413, "trailers too large")
            return ieof
        while size:
            data = await reader.read(min(size, SLICE_BYTES))
            if not data:
                raise asyncio.IncompleteReadError(b"", size)
            size -= len(data)
            result = sink(data)
            if asyncio.iscoroutine(result):
                await result
        if await reader.readexactly(2) != b"\r\n":
            raise icap.IcapError(400, "a chunk does not end with CRLF")


async def read_line(reader: asyncio.StreamReader, end: bytes = b"\r\n", too_long: int = 400) -> bytes:
    """Up to and with `end`; IcapError(`too_long`) past the reader's limit (MAX_HEAD_BYTES and a bit)."""
    try:
        return await reader.readuntil(end)
    except asyncio.LimitOverrunError:
        raise icap.IcapError(too_long, f"a {'head' if too_long == 413 else 'line'} longer than "
                                       f"{icap.MAX_HEAD_BYTES // 1024} KB") from None
