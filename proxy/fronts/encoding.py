"""Undo a response's Content-Encoding (gzip, deflate, br, zstd), never past a size limit.

Every front hands the bodies as received; the watch's workers decode them here
(proxy/fronts/worker.py), never the proxy's event loop. Feeds come compressed almost always,
images almost never. The limit stops a small hostile body that inflates to gigabytes:
decoding ends at `limit` bytes (give or take one step's output, BROTLI_STEP) and says so.
"""

from __future__ import annotations

import io
import zlib

# Brotli (1.1, the newest mitmproxy 11 allows) has no output limit: it is fed this many bytes
# at a time, and stopped once past the limit. One step of a brotli bomb inflates to at most
# 16 MB (8-byte steps of 1 GB of zeros or of a repeated pattern at quality 11, measured);
# a 5 MB feed compressed to 480 KB decodes in about 50 ms this way, against 16 ms whole.
BROTLI_STEP = 8


class DecodeError(ValueError):
    """The body is not in the encoding it claims, or uses one not known here."""


class TooLarge(DecodeError):
    """The body would be larger than the limit once decoded."""


def decode(body: bytes, coding: str, limit: int) -> bytes:
    """`body` decoded from `coding` (a Content-Encoding value; a list is undone right to left)."""
    for name in reversed([c.strip().lower() for c in coding.split(",") if c.strip()]):
        body = _decode_one(body, name, limit)
    return body


def _decode_one(body: bytes, coding: str, limit: int) -> bytes:
    if coding in ("identity", ""):
        return body
    if coding in ("gzip", "x-gzip"):
        return _inflate(body, zlib.MAX_WBITS | 16, limit)
    if coding == "deflate":
        try:  # as the RFC says: zlib-wrapped; some servers send it raw
            return _inflate(body, zlib.MAX_WBITS, limit)
        except TooLarge:
            raise
        except DecodeError:
            return _inflate(body, -zlib.MAX_WBITS, limit)
    if coding == "br":
        return _brotli(body, limit)
    if coding == "zstd":
        return _zstd(body, limit)
    raise DecodeError(f"unknown content encoding {coding!r}")


def _inflate(body: bytes, wbits: int, limit: int) -> bytes:
    inflater = zlib.decompressobj(wbits)
    try:
        out = inflater.decompress(body, limit + 1)
    except zlib.error as e:
        raise DecodeError(str(e)) from None
    return _within(out, limit)


def _brotli(body: bytes, limit: int) -> bytes:
    try:
        import brotli  # mitmproxy's dependency, so installed with Sentinelle
    except ImportError:  # pragma: no cover
        raise DecodeError("brotli is not installed") from None
    decompressor, out = brotli.Decompressor(), bytearray()
    try:
        for at in range(0, len(body), BROTLI_STEP):
            out += decompressor.process(body[at:at + BROTLI_STEP])
            if len(out) > limit:
                raise TooLarge(f"larger than {limit} bytes once decoded")
        if not decompressor.is_finished():
            raise DecodeError("the brotli stream ends before its end")
    except brotli.error as e:
        raise DecodeError(str(e)) from None
    return bytes(out)


def _zstd(body: bytes, limit: int) -> bytes:
    try:
        import zstandard  # mitmproxy's dependency, so installed with Sentinelle
    except ImportError:  # pragma: no cover
        raise DecodeError("zstandard is not installed") from None
    try:
        out = bytearray()
        with zstandard.ZstdDecompressor().stream_reader(io.BytesIO(body)) as reader:
            while len(out) <= limit and (part := reader.read(limit + 1 - len(out))):
                out += part
        return _within(bytes(out), limit)
    except zstandard.ZstdError as e:
        raise DecodeError(str(e)) from None


def _within(out: bytes, limit: int) -> bytes:
    if len(out) > limit:
        raise TooLarge(f"larger than {limit} bytes once decoded")
    return out
