"""proxy/fronts/encoding.py: a body as sent, decoded, never past its limit."""

from __future__ import annotations

import gzip
import zlib

import brotli
import pytest
import zstandard

from sentinelle.proxy.fronts.encoding import DecodeError, decode

BODY = b'{"feed": "' + b"x" * 5000 + b'"}'


@pytest.mark.parametrize(("coding", "encoded"), [
    ("gzip", gzip.compress(BODY)),
    ("GZIP", gzip.compress(BODY)),
    ("deflate", zlib.compress(BODY)),
    ("deflate", zlib.compress(BODY)[2:-4]),  # raw deflate, as some servers send it
    ("br", brotli.compress(BODY)),
    ("zstd", zstandard.ZstdCompressor().compress(BODY)),
    ("identity", BODY),
    ("gzip, br", brotli.compress(gzip.compress(BODY))),  # undone right to left
])
def test_each_encoding_is_undone(coding, encoded):
    assert decode(encoded, coding, limit=10_000) == BODY


@pytest.mark.parametrize("coding", ["gzip", "br", "zstd", "deflate"])
def test_a_body_that_inflates_past_the_limit_is_refused(coding):
    big = b"\0" * 1_000_000
    encoded = {"gzip": gzip.compress, "br": brotli.compress, "deflate": zlib.compress,
               "zstd": zstandard.ZstdCompressor().compress}[coding](big)
    with pytest.raises(DecodeError, match="larger than"):
        decode(encoded, coding, limit=10_000)


@pytest.mark.parametrize(("coding", "encoded"), [("gzip", b"not gzip"), ("br", b"nope"), ("zstd", b"nope"),
                                                 ("compress", b"x")])
def test_bytes_not_in_their_encoding_are_refused(coding, encoded):
    with pytest.raises(DecodeError):
        decode(encoded, coding, limit=10_000)
