"""server/run/proxy_connections.py: the proxy's connections counted, one past the most refused,
and the deadline for a first head. (Against a real `sentinelle run`, with sockets hoarded and
heads that never end: tests/test_hostile_proxy.py.)"""

from __future__ import annotations

import asyncio

from mitmproxy.addons import proxyserver
from mitmproxy.test import taddons, tflow

from sentinelle.server.run.proxy_connections import ProxyConnections


async def test_a_connection_past_the_most_is_refused_and_one_ending_makes_room():
    connections = ProxyConnections(most=2, head_seconds=60)
    with taddons.context(proxyserver.Proxyserver(), connections):
        clients = [tflow.tclient_conn() for _ in range(3)]
        for client in clients:
            client.error = None
            connections.client_connected(client)
        assert [c.error for c in clients] == [None, None, "too many connections"]
        assert connections.refused == 1
        connections.client_disconnected(clients[2])  # the refused one ends: nothing to count
        connections.client_disconnected(clients[0])
        late = tflow.tclient_conn()
        late.error = None
        connections.client_connected(late)
        assert late.error is None
        for client in (clients[1], late):
            connections.client_disconnected(client)


async def test_a_client_that_sends_its_head_in_time_is_left_alone():
    connections = ProxyConnections(most=10, head_seconds=0.05)
    with taddons.context(proxyserver.Proxyserver(), connections):
        flow = tflow.tflow()
        flow.client_conn.error = None
        connections.client_connected(flow.client_conn)
        connections.requestheaders(flow)  # its head came
        silent = tflow.tclient_conn()
        silent.error = None
        connections.client_connected(silent)  # no handler to cancel here: only counted when there is one
        await asyncio.sleep(0.15)
        assert connections.timed_out == 0 and connections._open[flow.client_conn.id] is None
        connections.client_disconnected(flow.client_conn)
        connections.client_disconnected(silent)
        assert connections._open == {}
