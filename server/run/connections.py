"""What a client that hoards connections can take: a share of the process's, never all of them.

The API and the proxy share one process, hence one table of open files: a program on the PC
that opened a thousand idle sockets to the API would leave the proxy none to accept the
browser's, or to reach a social network. So, at start, the soft limit on open files is raised
to the hard one (`raise_open_files_limit`); each listener takes a bounded share of it
(`API_CONNECTIONS`, `proxy_connections`), past which a new connection is closed as soon as it
is accepted; and a connection that has not sent its first request head within `HEAD_SECONDS`
is closed, whether it sends nothing or a byte at a time. (The ICAP service bounds its own
connections the same way: proxy/fronts/icap_service.py.)

The API is aiohttp's (`CappedSite`: aiohttp closes an idle connection, and one whose head is
still unfinished, at its keep-alive timeout, which `API_KEEPALIVE` sets); the proxy is
mitmproxy's, which has no such settings: an add-on counts and closes
(server/run/proxy_connections.py). No mitmproxy here: `sentinelle icap` runs without it.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from typing import cast

if sys.platform != "win32":  # the platforms that have resource, as mypy reads them
    import resource
else:  # Windows: no such limit to raise
    resource = None

from aiohttp import web

logger = logging.getLogger("sentinelle")

# The extension opens a few connections (its worker's event stream, its pages' calls); the
# event streams are capped lower (server/api/stream.py MAX_STREAMS).
API_CONNECTIONS = 64
# aiohttp's keep-alive timeout: it closes a connection that waits for a request's head (a new
# one, or one between requests) longer than this. A request being answered is not cut.
API_KEEPALIVE = 10.0
# The proxy's connections at most: a browser opens 32 at most to a proxy (Chromium's and
# Firefox's defaults), and each costs two open files (the browser's, the site's).
MOST_PROXY_CONNECTIONS = 2048
# Open files kept for the rest: the API's connections, the checkers' pipes, the store's files.
RESERVED_FILES = 256


def raise_open_files_limit() -> int | None:
    """Raise this process's soft limit on open files to its hard limit (Linux: often 1,024 of
    524,288): the sockets a client hoards must not be the ones the proxy needs. Returns the
    limit now in force (None where there is none)."""
    if resource is None:
        return None
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError) as e:  # a sandbox that refuses: the caps below still hold
            logger.info("Sentinelle could not raise its limit on open files (%d): %s", soft, e)
    return None if soft == resource.RLIM_INFINITY else soft


def proxy_connections(open_files: int | None) -> int:
    """The proxy's share of `open_files`: two files a connection, the reserve kept aside."""
    if open_files is None:
        return MOST_PROXY_CONNECTIONS
    return max(16, min(MOST_PROXY_CONNECTIONS, (open_files - RESERVED_FILES) // 2))


class CappedSite(web.TCPSite):
    """aiohttp's TCPSite, closing each connection past `most` as soon as it is accepted."""

    def __init__(self, runner: web.AppRunner, host: str, port: int, most: int = API_CONNECTIONS) -> None:
        super().__init__(runner, host, port)
        self._most = most
        self.refused = 0

    async def start(self) -> None:
        await web.BaseSite.start(self)
        server = self._runner.server
        assert server is not None  # set up by the runner before any site starts (aiohttp asserts it too)

        def protocol() -> asyncio.Protocol:
            if len(server.connections) >= self._most:
                self.refused += 1
                return _Refused()
            return server()

        self._server = await asyncio.get_running_loop().create_server(
            protocol, self._host, self._port, backlog=self._backlog)
        self._bound_port = self._server.sockets[0].getsockname()[1]


class _Refused(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A TCP server's transport: asyncio's Protocol types it as the base class, which has no abort.
        cast(asyncio.Transport, transport).abort()
