"""Test only: a mitmproxy script that resolves chosen host names to loopback ports.

With a proxy, the proxy resolves names; this stands in for DNS so that a fake social
origin on 127.0.0.1 is reached under its real hostname (`scontent-test.cdninstagram.com`)
and the flow keeps that name. mitmproxy 11 opens upstream TCP with
`asyncio.open_connection`, so wrapping it is enough. The map comes from the environment:
SENTINELLE_TEST_HOSTS="name=port,name=port".
"""

import asyncio
import os

_real_open_connection = asyncio.open_connection


def _hosts() -> dict[str, int]:
    pairs = (item.split("=", 1) for item in os.environ.get("SENTINELLE_TEST_HOSTS", "").split(",") if item)
    return {name: int(port) for name, port in pairs}


_MAP = _hosts()


async def _open_connection(host=None, port=None, **kwargs):
    if host in _MAP:
        host, port = "127.0.0.1", _MAP[host]
    return await _real_open_connection(host, port, **kwargs)


asyncio.open_connection = _open_connection
