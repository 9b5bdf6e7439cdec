"""Test only: a program that hoards connections, as the probes of issue 30 did."""

from __future__ import annotations

import asyncio
import contextlib
import resource
import socket


def hoard(port: int, count: int, first_bytes: bytes = b"") -> list[socket.socket]:
    """`count` connections to 127.0.0.1:port that send `first_bytes` and nothing more (this
    process's limit on open files raised to its hard limit first: it needs them)."""
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    sockets = []
    for _ in range(count):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        if first_bytes:
            with contextlib.suppress(OSError):  # closed on arrival already
                s.sendall(first_bytes)
        sockets.append(s)
    return sockets


def closed_by_peer(s: socket.socket) -> bool:
    """Whether the other end has closed (or reset) the connection, by now."""
    s.settimeout(0.01)
    try:
        while s.recv(65536):
            pass  # an answer (a 408) before the close
        return True
    except TimeoutError:
        return False
    except OSError:
        return True  # reset


async def trickle(sockets: list[socket.socket], seconds: float, every: float = 2.0) -> None:
    """Send one byte on each of `sockets` every `every` seconds, for `seconds`: a head that
    keeps coming, and never ends."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while loop.time() < deadline:
        await asyncio.sleep(every)
        for s in sockets:
            with contextlib.suppress(OSError):  # closed already
                s.send(b"x")
