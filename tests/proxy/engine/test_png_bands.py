"""proxy/engine/png_bands.py: a large PNG read a band at a time gives, pixel for pixel, what decoding it whole gives."""

from __future__ import annotations

import io
import random
import struct
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from sentinelle.proxy.engine import images, png_bands
from sentinelle.proxy.engine.images import CORRUPT, ImageError, open_image
from tests.conftest import kodak


def png(img: Image.Image, **options) -> bytes:
    out = io.BytesIO()
    img.save(out, "PNG", **options)
    return out.getvalue()


def picture(size: tuple[int, int]) -> Image.Image:
    return Image.open(kodak(5)).convert("RGB").resize(size)


def palette(img: Image.Image, colours: int) -> Image.Image:
    return img.convert("P", palette=Image.Palette.ADAPTIVE, colors=colours)


def with_transparency(img: Image.Image) -> Image.Image:
    img = palette(img, 256)
    img.info["transparency"] = 3
    return img


# Every layout read in bands, as Pillow writes it: (bit depth, colour type) in the file.
LAYOUTS = {
    "1-bit grey": lambda img: png(img.convert("1")),
    "8-bit grey": lambda img: png(img.convert("L")),
    "16-bit grey": lambda img: png(Image.fromarray(np.asarray(img.convert("L")).astype(np.uint16) * 257)),
    "RGB": lambda img: png(img),
    "1-bit palette": lambda img: png(palette(img, 2), bits=1),
    "2-bit palette": lambda img: png(palette(img, 4), bits=2),
    "4-bit palette": lambda img: png(palette(img, 16), bits=4),
    "8-bit palette": lambda img: png(palette(img, 256)),
    "palette with a transparent colour": lambda img: png(with_transparency(img), transparency=3),
    "grey and alpha": lambda img: png(img.convert("LA")),
    "RGBA": lambda img: png(img.convert("RGBA")),
}


def decoded(data: bytes, reduce_to: int, band_bytes: int, monkeypatch) -> np.ndarray:
    monkeypatch.setattr(images, "BAND_BYTES", band_bytes)
    return np.asarray(open_image(data, reduce_to=reduce_to, min_side=1))


@pytest.mark.parametrize("layout", LAYOUTS.values(), ids=LAYOUTS.keys())
def test_every_layout_read_in_bands_is_the_picture_decoded_whole(layout, monkeypatch):
    data = layout(picture((701, 523)))
    assert png_bands.readable(data)
    whole = decoded(data, 128, 10**12, monkeypatch)
    banded = decoded(data, 128, 3000, monkeypatch)  # bands of 4 rows, shrunk by 4
    assert whole.shape == banded.shape == (131, 176, 3)
    assert np.array_equal(whole, banded)


@settings(max_examples=40, deadline=None)
@given(width=st.integers(1, 400), height=st.integers(1, 400), reduce_to=st.integers(1, 130),
       band_bytes=st.integers(1, 20_000), layout=st.sampled_from(sorted(LAYOUTS)))
def test_bands_of_any_height_make_the_same_picture(width, height, reduce_to, band_bytes, layout):
    data = LAYOUTS[layout](picture((width, height)))
    with pytest.MonkeyPatch.context() as monkeypatch:
        whole = decoded(data, reduce_to, 10**12, monkeypatch)
        banded = decoded(data, reduce_to, band_bytes, monkeypatch)
    assert np.array_equal(whole, banded)


def test_band_by_band_the_rows_chain_through_every_filter():
    # Pillow's writer picks each row's filter by content: a photo gets rows filtered against the
    # row above (Up, Paeth), and a band starting on one decodes right only if that row was
    # carried over from the band before.
    data = png(picture((300, 200)))
    assert {2, 4} <= _filter_types(data, 300 * 3, 200)
    bands = list(png_bands.bands(data, 7))
    assert [band.height for band in bands] == [7] * 28 + [4]
    stacked = np.concatenate([np.asarray(band) for band in bands])
    assert np.array_equal(stacked, np.asarray(Image.open(io.BytesIO(data))))


def _filter_types(data: bytes, row_bytes: int, rows: int) -> set[int]:
    raw = zlib.decompress(b"".join(png_bands._chunks(data)[1]))
    return {raw[row * (row_bytes + 1)] for row in range(rows)}


def png_16bit_rgb(width: int, height: int) -> bytes:
    """A 16-bit RGB PNG (Pillow writes none), rows unfiltered."""
    values = (np.arange(width * height * 3, dtype=np.uint32).reshape(height, width * 3) * 37 % 65536).astype(">u2")
    rows = b"".join(b"\0" + row.tobytes() for row in values)
    return _png(struct.pack(">IIBBBBB", width, height, 16, 2, 0, 0, 0), zlib.compress(rows))


def _png(header: bytes, pixels: bytes) -> bytes:
    return b"\x89PNG\r\n\x1a\n" + png_bands._chunk(b"IHDR", header) + png_bands._chunk(b"IDAT", pixels) + png_bands._chunk(b"IEND", b"")


def test_interlaced_and_16_bit_colour_files_are_decoded_whole():
    assert not png_bands.readable(png_16bit_rgb(64, 64))
    header = bytearray(png(picture((64, 64))))
    header[28] = 1  # Adam7
    assert not png_bands.readable(bytes(header))
    assert not png_bands.readable(b"GIF89a" + bytes(64))


def test_16_bit_rgb_decodes():
    img = open_image(png_16bit_rgb(300, 200), reduce_to=128)
    assert img.mode == "RGB" and img.size == (300, 200)


BROKEN = {
    "pixel data cut short": lambda data: data[: len(data) // 2] + data[-12:],
    "no pixel data": lambda data: data[:33] + png_bands._chunk(b"IEND", b""),
    "a chunk longer than the file": lambda data: data[:33] + struct.pack(">I", 10**6) + b"IDAT" + data[41:200],
    "garbage for a zlib stream": lambda data: data[:33] + png_bands._chunk(b"IDAT", b"\x78\x9c" + bytes(range(256)) * 8),
}


@pytest.mark.parametrize("damage", BROKEN.values(), ids=BROKEN.keys())
def test_a_broken_file_read_in_bands_is_refused_as_corrupt(damage, monkeypatch):
    monkeypatch.setattr(images, "BAND_BYTES", 3000)
    with pytest.raises(ImageError) as refused:
        open_image(damage(png(picture((400, 300)))), reduce_to=64)
    assert refused.value.reason == CORRUPT


def test_mangled_files_read_in_bands_raise_only_image_error(monkeypatch):
    monkeypatch.setattr(images, "BAND_BYTES", 3000)
    rng = random.Random(23)
    originals = [layout(picture((200, 160))) for layout in LAYOUTS.values()]
    refused = 0
    for original in originals:
        for _ in range(30):
            data = bytearray(original)
            for _ in range(rng.randint(1, 6)):
                data[rng.randrange(33, len(data))] = rng.randrange(256)
            try:
                open_image(bytes(data), reduce_to=64)
            except ImageError:
                refused += 1
    assert refused > 0
