"""proxy/fronts/icap_reading.py: a body's chunks read in bounded slices whatever they announce, a
body kept up to its limit, lines and trailers refused past theirs."""

from __future__ import annotations

import asyncio

import pytest

from sentinelle.proxy.fronts import icap
from sentinelle.proxy.fronts.icap_reading import SLICE_BYTES, Body, drop, read_chunks, read_line


def stream(data: bytes, *, ended: bool = True) -> asyncio.StreamReader:
    """What Squid sent, as the service's connection reads it (its limit: serve's)."""
    reader = asyncio.StreamReader(limit=icap.MAX_HEAD_BYTES + 1024)
    reader.feed_data(data)
    if ended:
        reader.feed_eof()
    return reader


async def test_a_chunk_is_handed_on_in_slices_whatever_size_it_announces_and_ieof_is_told():
    big = bytes(range(256)) * (3 * SLICE_BYTES // 256 + 7)
    reader = stream(icap.chunk(b"head") + icap.chunk(big) + b"0; ieof\r\n\r\n" + b"NEXT")
    slices: list[bytes] = []
    assert await read_chunks(reader, slices.append) is True
    assert b"".join(slices) == b"head" + big and max(map(len, slices)) <= SLICE_BYTES
    assert await reader.read() == b"NEXT"  # the next request is left where it begins


async def test_a_coroutine_sink_is_awaited_and_a_last_chunk_without_ieof_says_so():
    taken: list[bytes] = []

    async def sink(data: bytes) -> None:
        await asyncio.sleep(0)
        taken.append(data)

    assert await read_chunks(stream(icap.chunk(b"abc") + b"0\r\nX-Trailer: 1\r\n\r\n"), sink) is False
    assert taken == [b"abc"]
    assert await read_chunks(stream(icap.chunk(b"abc") + icap.LAST_CHUNK), drop) is False


async def test_a_body_is_kept_up_to_its_limit_and_one_byte_more_which_says_it_was_larger():
    body = Body(10)
    await read_chunks(stream(icap.chunk(b"0123456789") + icap.LAST_CHUNK), body.add)
    assert (bytes(body.data), body.over) == (b"0123456789", False)
    for piece in (b"abc", b"def"):
        body.add(piece)
    assert (bytes(body.data), body.over) == (b"0123456789a", True)


@pytest.mark.parametrize(("sent", "status"), [
    (b"5\r\nabcdeXY", 400),  # a chunk that does not end with CRLF
    (b"zz\r\n", 400),  # no size
    (b"0\r\n" + b"X-Pad: " + b"p" * 1000 + b"\r\n" + (b"X-Pad: " + b"p" * 1000 + b"\r\n") * 70, 413),
    (b"1" * (icap.MAX_HEAD_BYTES + 2048), 400),  # a size line past the reader's limit
])
async def test_what_breaks_the_chunked_form_or_its_bounds_is_refused_with_its_status(sent, status):
    with pytest.raises(icap.IcapError) as refused:
        await read_chunks(stream(sent, ended=False), drop)
    assert refused.value.status == status


async def test_a_body_cut_short_is_an_incomplete_read():
    with pytest.raises(asyncio.IncompleteReadError):
        await read_chunks(stream(b"10\r\nshort"), drop)


async def test_a_head_past_its_limit_is_refused_as_too_large():
    assert await read_line(stream(b"RESPMOD x ICAP/1.0\r\n\r\n"), b"\r\n\r\n", 413) == b"RESPMOD x ICAP/1.0\r\n\r\n"
    with pytest.raises(icap.IcapError) as refused:
        await read_line(stream(b"X-Long: " + b"x" * (icap.MAX_HEAD_BYTES + 2048), ended=False), b"\r\n\r\n", 413)
    assert refused.value.status == 413 and "head longer than 64 KB" in str(refused.value)
