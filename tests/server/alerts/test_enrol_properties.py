"""Every photo a parent has can be enrolled: any size from a saved profile picture (150 px) to 12,000 px a
side, any aspect, in every format a phone, a camera or a site saves, EXIF-rotated or not, into a real store."""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from PIL import Image

from sentinelle.proxy.engine import avatar, keypoints
from sentinelle.proxy.engine.fingerprint import ENROL_DECODE_SIDE, Fingerprint
from sentinelle.server.alerts.enroll import ALREADY, ENROLLED, enroll_bytes
from sentinelle.server.store.records import Store
from tests.conftest import kodak
from tests.proxy.engine.test_fingerprint import VIEW_NAMES


def encode(img: Image.Image, fmt: str, exif: bytes, **options) -> bytes:
    out = io.BytesIO()
    img.save(out, fmt, exif=exif, **options) if exif else img.save(out, fmt, **options)
    return out.getvalue()


def png_16bit_rgb(img: Image.Image, exif: bytes) -> bytes:
    """A 16-bit RGB PNG (Pillow writes none): each 8-bit value v becomes v × 257; eXIf before the pixels."""
    rows = np.asarray(img.convert("RGB")).astype(">u2") * 257
    flat = rows.reshape(img.height, -1)
    data = zlib.compress(b"".join(b"\0" + row.tobytes() for row in flat), 1)

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = chunk(b"IHDR", struct.pack(">IIBBBBB", img.width, img.height, 16, 2, 0, 0, 0))
    return b"\x89PNG\r\n\x1a\n" + header + (chunk(b"eXIf", exif) if exif else b"") + chunk(b"IDAT", data) + chunk(b"IEND", b"")


@dataclass(frozen=True)
class Format:
    write: Callable[[Image.Image, bytes], bytes]
    max_pixels: int  # larger copies cost the test too long to write (12,000-px sides are still drawn)
    exif: bool = True  # whether the format carries an EXIF orientation


FORMATS = {
    "JPEG": Format(lambda img, exif: encode(img, "JPEG", exif, quality=85), 24_000_000),
    "progressive JPEG": Format(lambda img, exif: encode(img, "JPEG", exif, quality=85, progressive=True), 12_000_000),
    "CMYK JPEG": Format(lambda img, exif: encode(img.convert("CMYK"), "JPEG", exif, quality=85), 6_000_000),
    "PNG": Format(lambda img, exif: encode(img, "PNG", exif, compress_level=1), 24_000_000),
    "PNG with transparency": Format(lambda img, exif: encode(img.convert("RGBA"), "PNG", exif, compress_level=1), 6_000_000),
    "palette PNG": Format(lambda img, exif: encode(img.convert("P"), "PNG", exif, compress_level=1), 6_000_000),
    "16-bit grey PNG": Format(lambda img, exif: encode(
        Image.fromarray(np.asarray(img.convert("L")).astype(np.uint16) * 257), "PNG", exif, compress_level=1), 6_000_000),
    "16-bit RGB PNG": Format(png_16bit_rgb, 6_000_000),
    "WebP": Format(lambda img, exif: encode(img, "WEBP", exif, quality=80, method=0), 6_000_000),
    "GIF (first frame)": Format(lambda img, exif: encode(img, "GIF", b"", save_all=True, append_images=[img.rotate(180)]),
                                2_000_000, exif=False),
    "HEIF (as an iPhone saves it)": Format(lambda img, exif: encode(img, "HEIF", exif, quality=50), 2_000_000),
    "AVIF": Format(lambda img, exif: encode(img, "AVIF", exif, quality=50, speed=10), 2_000_000),
}


# Where enrolment changes how it treats a photo, on the picture it decodes (a short side of
# ENROL_DECODE_SIDE or more, once shrunk): where the local and avatar stages' working pictures
# stop being scaled (their sides, within SCALE_SLACK), and where the decoder's scale steps.
EDGES = sorted({round(side * (1 + slack)) for side in (keypoints.LOCAL_SIDE, keypoints.LOCAL_MAX_SIDE, avatar.AVATAR_SIDE, avatar.AVATAR_MAX_SIDE)
                for slack in (-keypoints.SCALE_SLACK, keypoints.SCALE_SLACK)} | {ENROL_DECODE_SIDE, 2 * ENROL_DECODE_SIDE})


def sides() -> st.SearchStrategy[int]:
    """A side from 150 to 12,000 px; half the time near one of the EDGES, at one of the decoder's
    scales (1/1 to 1/8: the photo is that many times larger than the picture enrolment sees)."""
    near = st.builds(lambda edge, off, scale, extra: min(12_000, max(150, (edge + off) * scale + extra)),
                     st.sampled_from(EDGES), st.integers(-32, 32), st.sampled_from([1, 2, 4, 8]), st.integers(0, 7))
    return st.one_of(st.integers(150, 12_000), near)


@st.composite
def photos(draw) -> tuple[str, int, int, int]:
    """A format, a width and a height (the long side drawn, the short one by an aspect, or both
    drawn; one shortened when the copy would cost too long to write), and an EXIF orientation (1: none)."""
    name = draw(st.sampled_from(sorted(FORMATS)))
    long = draw(sides())
    if draw(st.booleans()):
        short = max(150, round(long / draw(st.floats(1.0, 80.0))))
    else:
        short = draw(sides())
    width, height = (long, short) if draw(st.booleans()) else (short, long)
    cap = FORMATS[name].max_pixels
    if width * height > cap:
        if draw(st.booleans()):
            height = max(150, cap // width)
        else:
            width = max(150, cap // height)
    orientation = draw(st.sampled_from([1, 3, 6, 8])) if FORMATS[name].exif else 1
    return name, width, height, orientation


def picture(width: int, height: int) -> Image.Image:
    """Kodak photos tiled over the whole size: detail everywhere, made in milliseconds."""
    tile = Image.open(kodak(5)).convert("RGB")
    tile = tile.resize((min(width, tile.width), min(height, tile.height)))
    canvas = Image.new("RGB", (width, height))
    for top in range(0, height, tile.height):
        for left in range(0, width, tile.width):
            canvas.paste(tile, (left, top))
    return canvas


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    store = Store(tmp_path_factory.mktemp("enrol") / "data")
    yield store
    store.close()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(photo=photos())
@example(photo=("JPEG", 1045, 588, 1))  # the tester's photos, which crashed `sentinelle enroll`
@example(photo=("JPEG", 1048, 626, 1))
@example(photo=("PNG", 2090, 1176, 6))  # the same once halved, turned upright by its EXIF tag
@example(photo=("JPEG", 12_000, 150, 1))  # a panorama, and a saved profile picture
@example(photo=("PNG", 150, 150, 1))
def test_any_photo_is_enrolled_whole(store, photo):
    name, width, height, orientation = photo
    exif = Image.Exif()
    if orientation != 1:
        exif[0x0112] = orientation
    data = FORMATS[name].write(picture(width, height), exif.tobytes() if orientation != 1 else b"")
    outcome = enroll_bytes(store, data, f"{name}.img", "Alice")
    assert outcome.status in (ENROLLED, ALREADY), (outcome.reason, outcome.detail)
    upright = (height, width) if orientation in (6, 8) else (width, height)
    assert (outcome.photo["width"], outcome.photo["height"]) == upright
    rows = store._db.execute("SELECT view, data FROM fingerprints WHERE photo_id = ?", [outcome.photo["id"]]).fetchall()
    views = {view: Fingerprint.from_bytes(data) for view, data in rows}
    assert sorted(views) == sorted(VIEW_NAMES)
    if max(width, height) <= 8 * min(width, height):
        # Keypoints too (a panorama longer than that is described at most LOCAL_MAX_SIDE px
        # long: its short side is left too thin for them, and it is matched by its hashes).
        assert len(views["original"].features) > 0 and len(views[avatar.AVATAR_VIEW].features) > 0
