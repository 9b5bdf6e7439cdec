"""The proxy's connections, bounded: mitmproxy has no setting for it, so an add-on counts them,
closes one past the proxy's share of open files (server/run/connections.py), and closes a
connection whose first request head has not come in time."""

from __future__ import annotations

import asyncio
import logging

from mitmproxy import connection, ctx, http

logger = logging.getLogger("sentinelle")

# A client must send its first head (CONNECT, or a plain-HTTP request) within this. A browser
# sends it at once; a socket it opened ahead and left unused, it opens again when it finds it
# closed.
HEAD_SECONDS = 10.0


class ProxyConnections:
    """mitmproxy add-on: at most `most` client connections (one more is closed unserved), each
    closed if its first head has not come within `head_seconds`."""

    def __init__(self, most: int, head_seconds: float = HEAD_SECONDS) -> None:
        self.most = most
        self._head_seconds = head_seconds
        self._open: dict[str, asyncio.TimerHandle | None] = {}  # client id → its head's deadline
        self.refused = self.timed_out = 0
        self._told = False

    def client_connected(self, client: connection.Client) -> None:
        if len(self._open) >= self.most:
            self.refused += 1
            if not self._told:  # once: a browser never comes near it, a hoarder would fill the log
                self._told = True
                logger.warning("Sentinelle's proxy has %d connections open, its most: it closes "
                               "new ones until some end", len(self._open))
            client.error = "too many connections"
            return
        self._open[client.id] = asyncio.get_running_loop().call_later(
            self._head_seconds, self._close_if_silent, client.id)

    def http_connect(self, flow: http.HTTPFlow) -> None:
        self._heard(flow.client_conn)

    def requestheaders(self, flow: http.HTTPFlow) -> None:
        self._heard(flow.client_conn)

    def client_disconnected(self, client: connection.Client) -> None:
        if timer := self._open.pop(client.id, None):
            timer.cancel()

    def _heard(self, client: connection.Client) -> None:
        if timer := self._open.get(client.id):
            timer.cancel()
            self._open[client.id] = None

    def _close_if_silent(self, client_id: str) -> None:
        if self._open.get(client_id) is None:
            return  # gone, or heard from
        self._open[client_id] = None
        handler = ctx.master.addons.get("proxyserver").connections.get(client_id)
        if handler is not None and (io := handler.transports.get(handler.client)) and io.handler:
            self.timed_out += 1
            io.handler.cancel("no request head in time")
