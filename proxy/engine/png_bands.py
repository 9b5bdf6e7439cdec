"""Reads a large PNG a band of rows at a time, so that the whole picture is never in memory.

Pillow decodes a PNG whole, at 4 bytes a pixel for colour: a 7,000 × 7,000 px file of 143 KB
(flat colours compress well) becomes 196 MB before anything else happens, although enrolment
only ever looks at it a few hundred pixels wide. A PNG's rows are one zlib stream, each row
filtered against the row above it alone. So the stream is inflated a band at a time, and each
band is handed to Pillow's own decoder as a small PNG of its own, whose first row is the last
row of the band before, as it was before filtering, so that the band's filters see the row they
were made against. The caller shrinks each band and drops it before the next is inflated.

Only layouts whose rows Pillow gives back byte for byte can be chained this way (`readable`):
16-bit colour is read to 8 bits, and interlaced files (Adam7: seven passes over the whole
picture) have no bands. The caller decodes those whole.
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Iterator

from PIL import Image

_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# (bit depth, colour type) that Pillow decodes without loss, and its raw mode that gives a
# decoded row back as the bytes it was before filtering (Pillow's names: PIL.PngImagePlugin._MODES).
_LOSSLESS_ROWS = {
    (1, 0): "1", (8, 0): "L", (16, 0): "I;16B", (8, 2): "RGB",
    (1, 3): "P;1", (2, 3): "P;2", (4, 3): "P;4", (8, 3): "P",
    (8, 4): "LA", (8, 6): "RGBA",
}
_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
# The chunks before the pixels that decoding them needs: the palette, and which colour is transparent.
_KEPT = (b"PLTE", b"tRNS")


def readable(data: bytes) -> bool:
    """Whether `data`, a PNG, can be read in bands (from its header alone)."""
    if len(data) < 33 or not data.startswith(_SIGNATURE) or data[12:16] != b"IHDR":
        return False
    depth, colour, interlace = data[24], data[25], data[28]
    return (depth, colour) in _LOSSLESS_ROWS and interlace == 0


def bands(data: bytes, rows: int) -> Iterator[Image.Image]:
    """The picture of a `readable` PNG, `rows` rows at a time (the last band may be shorter), top
    to bottom. ValueError (or zlib.error) when the file's structure or its pixel data are broken."""
    width, height, depth, colour = struct.unpack(">IIBB", data[16:26])
    kept, stream = _chunks(data)
    raw_mode = _LOSSLESS_ROWS[(depth, colour)]
    line = 1 + (width * depth * _CHANNELS[colour] + 7) // 8  # a filter byte, then the row
    inflater = zlib.decompressobj()
    pieces = iter(stream)
    pending: bytes | memoryview | None = b""
    above = b""  # the last row of the band before, as it was before filtering
    for top in range(0, height, rows):
        count = min(rows, height - top)
        want = count * line
        filtered = bytearray()
        while len(filtered) < want:
            if not pending:
                pending = next(pieces, None)
                if pending is None:
                    filtered += inflater.flush()
                    if len(filtered) < want:
                        raise ValueError(f"the pixel data ends at row {top + len(filtered) // line} of {height}")
                    break
            filtered += inflater.decompress(pending, want - len(filtered))
            pending = inflater.unconsumed_tail
        band = _decode(width, count, depth, colour, kept, above, bytes(filtered[:want]))
        above = band.crop((0, count - 1, width, count)).tobytes("raw", raw_mode)
        yield band


def _decode(width: int, count: int, depth: int, colour: int, kept: bytes, above: bytes, filtered: bytes) -> Image.Image:
    """One band, decoded by Pillow from a PNG of its own: `above` (unfiltered, filter 0) then its rows."""
    rows = count + (1 if above else 0)
    header = struct.pack(">IIBBBBB", width, rows, depth, colour, 0, 0, 0)
    body = (b"\0" + above if above else b"") + filtered
    png = _SIGNATURE + _chunk(b"IHDR", header) + kept + _chunk(b"IDAT", zlib.compress(body, 0)) + _chunk(b"IEND", b"")
    band = Image.open(io.BytesIO(png), formats=["PNG"])
    band.load()
    return band.crop((0, 1, width, rows)) if above else band


def _chunks(data: bytes) -> tuple[bytes, list[memoryview]]:
    """The chunks to keep (whole, as they are in the file), and the pieces of the pixel data's zlib stream."""
    view = memoryview(data)
    kept, stream = b"", []
    offset = len(_SIGNATURE)
    while offset + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[offset : offset + 8])
        end = offset + 12 + length
        if end > len(data):
            raise ValueError(f"the {kind!r} chunk runs past the end of the file")
        if kind == b"IDAT":
            stream.append(view[offset + 8 : end - 4])
        elif stream or kind == b"IEND":
            break  # the pixel data is one run of IDAT chunks: what follows is not needed
        elif kind in _KEPT:
            kept += data[offset:end]
        offset = end
    if not stream:
        raise ValueError("no pixel data")
    return kept, stream


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
