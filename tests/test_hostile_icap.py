"""What a hostile program that reaches the ICAP port can do to a real `sentinelle icap`: raise no
alert, hold no more memory than a bounded slice, and keep no connection open past its time.

The probes of issue 30, each against the real service (tests/support/icap_process.py), its
resident memory sampled while the probe runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time

from sentinelle.proxy.fronts.icap import KEY_HEADER
from sentinelle.proxy.fronts.icap_service import MAX_CONNECTIONS
from sentinelle.proxy.fronts.watch import KEEP_FOR_REUSE
from tests.conftest import kodak, square_crop_copy
from tests.support.icap_client import Client, http_request, http_response
from tests.support.icap_process import SentinelleIcap
from tests.support.memory import Sampled
from tests.support.scenario import wait_for
from tests.support.sockets import closed_by_peer, hoard, trickle
from tests.support.watcher import sentinelle

IMAGE = "https://scontent-cdg4-1.cdninstagram.com/v/t51.29350-15/431000001_1_n.jpg?stp=dst-jpg_p640x640"
BIG = 384 * 2**20
# The image limit it keeps of a body (16 MB), and the memory the process keeps for its next
# backlog of images (proxy/fronts/memory.py).
SLACK = KEEP_FOR_REUSE + 32 * 2**20


async def test_a_program_without_squid_s_key_raises_nothing(data_dir):
    sentinelle(data_dir, "enroll", "--child", "Alice", str(kodak(5)))
    service = await asyncio.to_thread(SentinelleIcap, data_dir)
    try:
        copy = square_crop_copy(kodak(5))
        for key in (None, "x" * 43):  # the probe's RESPMOD, then with a guessed key
            client = await Client.connect(service.port, key)
            answer = await client.respmod(http_request(IMAGE, Referer="https://www.instagram.com/"),
                                          http_response(length=len(copy)), copy)
            assert answer.status == 403
            await client.close()
        # Squid's, with the key its configuration holds: the same image is an alert.
        client = await Client.connect(service.port, service.key)
        assert (await client.respmod(http_request(IMAGE), http_response(length=len(copy)), copy)).status == 204
        await client.close()
        await wait_for(lambda: service.api("/api/stats")["alerts"] == 1, timeout=60)
        assert service.api("/api/stats")["images"]["seen"] == 1
    finally:
        code = await asyncio.to_thread(service.stop)
    out, err = service.output
    assert code == 0 and "Traceback" not in err, err
    assert err.count(f"no {KEY_HEADER}") == 1  # said loudly once, what to do with it
    assert sentinelle(data_dir, "log").stdout.count("#") == 1


def send_big_chunk(port: int, key: str, size: int) -> bytes:
    """The probe: one chunk that announces ffffffff bytes, then `size` bytes of it, then the
    connection closed."""
    req, res = http_request(IMAGE), http_response(length=2**32 - 1)
    head = (f"RESPMOD icap://127.0.0.1/respmod ICAP/1.0\r\nHost: 127.0.0.1\r\n{KEY_HEADER}: {key}\r\n"
            f"Allow: 204\r\nEncapsulated: req-hdr=0, res-hdr={len(req)}, res-body={len(req) + len(res)}\r\n\r\n")
    block = b"\xff\xd8\xff\xe0" + bytes(2**20 - 4)
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(head.encode() + req + res + b"ffffffff\r\n")
        for _ in range(size // len(block)):
            s.sendall(block)
        s.shutdown(socket.SHUT_WR)
        return s.recv(100)


def announce_heads(port: int, key: str, size: int) -> tuple[bytes, float]:
    """The probe: encapsulated heads of `size` bytes announced; (the answer, seconds to it)."""
    head = (f"RESPMOD icap://127.0.0.1/respmod ICAP/1.0\r\nHost: 127.0.0.1\r\n{KEY_HEADER}: {key}\r\n"
            f"Encapsulated: res-hdr=0, res-body={size}\r\n\r\n")
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        started = time.monotonic()
        s.sendall(head.encode() + b"HTTP/1.1 200 OK\r\n")
        return s.recv(100), time.monotonic() - started


async def test_what_a_request_announces_costs_a_bounded_slice(data_dir):
    service = await asyncio.to_thread(SentinelleIcap, data_dir, api=False)
    try:
        with Sampled(service.process.pid) as memory:
            answer = await asyncio.to_thread(send_big_chunk, service.port, service.key, BIG)
        assert memory.rise < SLACK, memory.rise
        assert answer == b""  # the body ended mid-chunk: nothing to answer, and nothing kept
        with Sampled(service.process.pid) as memory:
            answer, took = await asyncio.to_thread(announce_heads, service.port, service.key, 512 * 2**20)
        assert answer.startswith(b"ICAP/1.0 413 ") and took < 1 and memory.rise < 8 * 2**20
        assert service.listening()
    finally:
        code = await asyncio.to_thread(service.stop)
    assert code == 0 and "Traceback" not in service.output[1], service.output[1]


async def test_unfinished_heads_are_closed_and_the_connections_capped(data_dir):
    service = await asyncio.to_thread(SentinelleIcap, data_dir, api=False)
    try:
        # The probe: 1,500 connections that start a head and never finish it.
        hoarded = await asyncio.to_thread(hoard, service.port, 1500, b"RESPMOD icap://127.0.0.1/respmod ICAP/1.0\r\nHo")
        try:
            await wait_for(lambda: sum(not closed_by_peer(s) for s in hoarded) <= MAX_CONNECTIONS, timeout=10)
            await trickle(hoarded, 11)  # past the time a head has to arrive whole, a byte at a time
            assert sum(not closed_by_peer(s) for s in hoarded) == 0
            # Squid, connecting now, is served.
            client = await Client.connect(service.port, service.key)
            assert (await client.options()).startswith(b"ICAP/1.0 200")
            await client.close()
        finally:
            for s in hoarded:
                with contextlib.suppress(OSError):
                    s.close()
    finally:
        code = await asyncio.to_thread(service.stop)
    out, err = service.output
    assert code == 0 and "Traceback" not in err, err
    assert err.count("connections open, its most") == 1
