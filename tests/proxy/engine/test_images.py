"""proxy/engine/images.py: untrusted bytes become an upright RGB image, or an ImageError with a reason a parent can read."""

from __future__ import annotations

import io
import random
import struct
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFile

from sentinelle.proxy.engine import images
from sentinelle.proxy.engine.images import (
    BOMB,
    CORRUPT,
    EMPTY,
    MAX_PIXELS,
    MIN_SIDE_SEEN,
    NOT_AN_IMAGE,
    PROTECTED,
    SUPPORTED_FORMATS,
    TOO_LARGE,
    TOO_SMALL,
    UNSUPPORTED,
    ImageError,
    is_image,
    open_image,
    thumbnail_jpeg,
    upright_size,
)
from tests.proxy.engine.test_png_bands import png_16bit_rgb

KODAK = Path(__file__).parents[2] / "fixtures" / "kodak"


def kodak_bytes(name: str = "kodim01.jpg") -> bytes:
    return (KODAK / name).read_bytes()


def encode(img: Image.Image, fmt: str, **options) -> bytes:
    out = io.BytesIO()
    img.save(out, format=fmt, **options)
    return out.getvalue()


def photo(size: tuple[int, int] = (160, 120)) -> Image.Image:
    return Image.open(KODAK / "kodim05.jpg").convert("RGB").resize(size)


def png_header_only(width: int, height: int, depth: int = 8) -> bytes:
    """An RGB PNG that declares width×height but holds a few bytes of pixels."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, depth, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def jpeg_declaring(width: int, height: int, progressive: bool = False) -> bytes:
    """A real JPEG whose frame header is rewritten to declare width×height."""
    data = bytearray(encode(photo(), "JPEG", progressive=progressive))
    sof = data.index(b"\xff\xc2" if progressive else b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


# --- what decodes -------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "GIF", "AVIF"])
def test_each_supported_format_decodes_to_rgb(fmt):
    img = open_image(encode(photo(), fmt))
    assert img.mode == "RGB"
    assert img.size == (160, 120)


def test_heif_is_supported_when_pillow_heif_is_installed():
    pillow_heif = pytest.importorskip("pillow_heif")
    assert "HEIF" in SUPPORTED_FORMATS
    try:
        data = encode(photo(), "HEIF", quality=80)
    except (OSError, KeyError, ValueError) as err:  # libheif built without an encoder
        pytest.skip(f"no HEIF encoder here: {err}")
    assert pillow_heif is not None
    assert open_image(data).size == (160, 120)


def test_kodak_fixture_decodes_at_full_size():
    img = open_image(kodak_bytes())
    assert img.size == (512, 341)
    assert img.mode == "RGB"


@pytest.mark.parametrize("reduce_to", [64, 100, 128, 170])
def test_reduce_to_decodes_jpeg_smaller_but_keeps_the_short_side(reduce_to):
    img = open_image(kodak_bytes(), reduce_to=reduce_to)
    assert min(img.size) >= reduce_to
    assert img.width < 512  # decoded at 1/2, 1/4 or 1/8 scale, not full size


def test_reduce_to_larger_than_the_image_decodes_full_size():
    assert open_image(kodak_bytes(), reduce_to=1000).size == (512, 341)


def test_exif_orientation_is_applied():
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display"
    data = encode(photo((160, 120)), "JPEG", exif=exif.tobytes())
    assert open_image(data).size == (120, 160)


def test_broken_exif_keeps_the_image_as_stored():
    exif = Image.Exif()
    exif[0x0112] = 6
    data = encode(photo((160, 120)), "JPEG", exif=exif.tobytes())
    start = data.index(b"Exif\x00\x00")
    broken = data[: start + 6] + b"\xff" * 16 + data[start + 22 :]  # TIFF header and IFD offset destroyed
    assert open_image(broken).size in {(160, 120), (120, 160)}


@pytest.mark.parametrize("fmt", ["GIF", "WEBP"])
def test_animations_give_their_first_frame(fmt):
    red, blue = Image.new("RGB", (100, 100), "red"), Image.new("RGB", (100, 100), "blue")
    data = encode(red, fmt, save_all=True, append_images=[blue], duration=100, loop=0)
    assert open_image(data).getpixel((50, 50))[0] > 200


def test_transparent_parts_become_white():
    clear = Image.new("RGBA", (100, 100), (0, 0, 0, 0))
    assert open_image(encode(clear, "PNG")).getpixel((10, 10)) == (255, 255, 255)


def test_16_bit_greyscale_is_scaled_not_clipped():
    ramp = Image.fromarray((np.arange(100 * 100).reshape(100, 100) * 6).astype(np.uint16))
    pixels = np.asarray(open_image(encode(ramp, "PNG")))[..., 0]
    assert 0 < pixels[50, 50] < 255
    assert len(np.unique(pixels)) > 100


def test_cmyk_jpeg_becomes_rgb():
    assert open_image(encode(photo().convert("CMYK"), "JPEG")).mode == "RGB"


def test_a_jpeg_carrying_more_pictures_decodes_as_its_first():
    # Phones' Ultra HDR and depth photos append pictures in the Multi-Picture Format: Pillow calls them MPO.
    data = encode(photo(), "MPO", save_all=True, append_images=[photo((80, 60))])
    assert Image.open(io.BytesIO(data)).format == "MPO"
    img = open_image(data, reduce_to=64)
    assert img.mode == "RGB" and img.size == (160, 120)


def test_a_png_s_orientation_is_applied_from_its_header_alone(monkeypatch):
    exif = Image.Exif()
    exif[0x0112] = 6
    data, plain = encode(photo((160, 120)), "PNG", exif=exif.tobytes()), encode(photo((160, 120)), "PNG")
    assert open_image(data).size == (120, 160)
    decoded = []
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: decoded.append(self))
    assert upright_size(data) == (120, 160) and upright_size(plain) == (160, 120)
    assert decoded == []  # Pillow looks for an orientation after the pixels by decoding them all


def test_min_side_is_the_caller_s_choice():
    data = encode(photo((100, 100)), "PNG")
    assert open_image(data).size == (100, 100)
    with pytest.raises(ImageError) as refused:
        open_image(data, min_side=128)
    assert refused.value.reason == TOO_SMALL


# --- what is refused, and why -----------------------------------------------------------


BAD_INPUTS = {
    "empty": (b"", EMPTY),
    "random bytes": (random.Random(7).randbytes(4096), NOT_AN_IMAGE),
    "text file": (b"Dear parents,\nthe school trip is on Friday.\n" * 20, NOT_AN_IMAGE),
    "html error page": (b"<!doctype html><html><body>403 Forbidden</body></html>", NOT_AN_IMAGE),
    "truncated JPEG": (kodak_bytes()[: len(kodak_bytes()) // 2], CORRUPT),
    "truncated PNG": (encode(photo(), "PNG")[:-400], CORRUPT),
    "JPEG header only": (kodak_bytes()[:600], CORRUPT),
    "PNG declaring 100,000 × 100,000 px": (png_header_only(100_000, 100_000), BOMB),
    "PNG declaring 10,000 × 10,000 px": (png_header_only(10_000, 10_000), BOMB),
    "PNG just over MAX_PIXELS": (png_header_only(MAX_PIXELS // 5000 + 1, 5000), BOMB),
    "JPEG declaring 65,000 × 65,000 px": (jpeg_declaring(65_000, 65_000), BOMB),
    "1×1 PNG": (encode(Image.new("RGB", (1, 1)), "PNG"), TOO_SMALL),
    "1×1 GIF": (encode(Image.new("RGB", (1, 1)), "GIF"), TOO_SMALL),
    "icon-sized JPEG": (encode(photo((MIN_SIDE_SEEN - 1, 200)), "JPEG"), TOO_SMALL),
    "BMP": (encode(photo(), "BMP"), UNSUPPORTED),
    "TIFF": (encode(photo(), "TIFF"), UNSUPPORTED),
    "SVG": (b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>', UNSUPPORTED),
}


@pytest.mark.parametrize("data, reason", BAD_INPUTS.values(), ids=BAD_INPUTS.keys())
def test_bad_input_is_refused_with_its_reason(data, reason):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Pillow's DecompressionBombWarning must not leak either
        with pytest.raises(ImageError) as refused:
            open_image(data, reduce_to=128)
    assert refused.value.reason == reason
    assert isinstance(refused.value, ValueError)


# --- what decoding may take: pixels, and memory ------------------------------------------


# What a photo to protect may be, against an image seen (MAX_PIXELS): decoded at 1/8 or in bands
# if it is a baseline JPEG or a PNG, whole otherwise. Each declares its size and holds almost no
# pixels: admitted, it decodes grey (a JPEG) or is found "truncated or corrupt" (a PNG).
PROTECTED_SIZES = {
    "JPEG 12,000 × 12,000": (jpeg_declaring(12_000, 12_000), None),
    "JPEG 16,320 × 12,240 (a 200-MP phone)": (jpeg_declaring(16_320, 12_240), BOMB),
    "progressive JPEG 9,000 × 6,000": (jpeg_declaring(9_000, 6_000, progressive=True), None),
    "progressive JPEG 12,000 × 12,000": (jpeg_declaring(12_000, 12_000, progressive=True), TOO_LARGE),
    "PNG 12,000 × 12,000": (png_header_only(12_000, 12_000), CORRUPT),
    "16-bit PNG 12,000 × 12,000": (png_header_only(12_000, 12_000, depth=16), TOO_LARGE),
}


@pytest.mark.parametrize("data, reason", PROTECTED_SIZES.values(), ids=PROTECTED_SIZES.keys())
def test_a_photo_to_protect_is_admitted_up_to_what_it_takes_to_decode(data, reason):
    try:
        open_image(data, reduce_to=512, limits=PROTECTED)
        refused = None
    except ImageError as err:
        refused = err.reason
    assert refused == reason
    with pytest.raises(ImageError) as seen:
        open_image(data, reduce_to=256)
    assert seen.value.reason == BOMB  # all above MAX_PIXELS


def test_a_webp_is_admitted_by_what_its_decoder_holds():
    # Pillow's WebP decoder holds the picture four times over: 13.9 MP take 211 MB.
    data = encode(Image.new("RGB", (4200, 3300), "teal"), "WEBP", quality=50)
    with pytest.raises(ImageError) as refused:
        open_image(data, reduce_to=256)
    assert refused.value.reason == TOO_LARGE and "4200×3300 WEBP takes about 211 MB" in str(refused.value)
    assert open_image(data, reduce_to=512, limits=PROTECTED).size == (700, 550)


def test_16_bit_rgb_png_is_decoded_whole_within_the_limits():
    assert open_image(png_16bit_rgb(1200, 900), reduce_to=256, limits=PROTECTED).size == (400, 300)


def test_a_bomb_is_refused_before_decoding(monkeypatch):
    decoded = []
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: decoded.append(self))
    with pytest.raises(ImageError) as refused:
        open_image(png_header_only(MAX_PIXELS // 5000 + 1, 5000))
    assert refused.value.reason == BOMB
    assert decoded == []


def test_mangled_images_raise_only_image_error():
    # A few hundred corruptions of real files of each format: flipped bytes, cuts, splices.
    rng = random.Random(2024)
    originals = [encode(photo((96, 80)), fmt) for fmt in ("JPEG", "PNG", "WEBP", "GIF")]
    decoded = refused = 0
    for original in originals:
        for _ in range(80):
            data = bytearray(original)
            for _ in range(rng.randint(1, 8)):
                data[rng.randrange(len(data))] = rng.randrange(256)
            if rng.random() < 0.3:
                cut = rng.randrange(len(data))
                data = data[:cut] + data[cut + rng.randint(1, 64) :]
            try:
                open_image(bytes(data), reduce_to=64)
                decoded += 1
            except ImageError as err:
                assert err.reason in {CORRUPT, NOT_AN_IMAGE, UNSUPPORTED, BOMB, TOO_LARGE, TOO_SMALL}
                refused += 1
    assert refused > 0 and decoded + refused == 4 * 80


def test_a_changed_truncation_setting_is_refused_loudly(monkeypatch):
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    with pytest.raises(RuntimeError):
        open_image(kodak_bytes())


def test_reasons_are_plain_words():
    for reason in (EMPTY, NOT_AN_IMAGE, UNSUPPORTED, CORRUPT, BOMB, TOO_LARGE, TOO_SMALL):
        assert reason == reason.lower() and len(reason) < 40
    assert str(ImageError(BOMB, "20000×20000")) == "decompression bomb: 20000×20000"


# --- the thumbnail ------------------------------------------------------------------


def test_thumbnail_is_a_small_jpeg():
    thumb = Image.open(io.BytesIO(thumbnail_jpeg(open_image(kodak_bytes()))))
    assert thumb.format == "JPEG"
    assert max(thumb.size) == 256
    assert thumb.size[0] > thumb.size[1]  # keeps the landscape shape


def test_thumbnail_size_is_adjustable():
    assert max(Image.open(io.BytesIO(thumbnail_jpeg(open_image(kodak_bytes()), size=96))).size) == 96


def test_supported_formats_are_the_web_ones():
    assert {"JPEG", "PNG", "WEBP", "GIF", "AVIF"} <= set(SUPPORTED_FORMATS)
    assert images.MIN_SIDE > MIN_SIDE_SEEN


@pytest.mark.parametrize("fmt", ["PNG", "WEBP", "AVIF"])
def test_reduce_to_shrinks_formats_without_draft_mode_too(fmt):
    img = open_image(encode(photo((640, 400)), fmt), reduce_to=128)
    assert img.size == (214, 134)  # 1/3 (rounded up): the largest whole factor keeping the short side ≥ 128


def test_upright_size_reads_the_header_and_applies_the_exif_rotation():
    image = Image.new("RGB", (300, 200), "navy")
    exif = Image.Exif()
    exif[0x0112] = 6  # rotated 90°: shown 200 wide, 300 high
    rotated, plain = io.BytesIO(), io.BytesIO()
    image.save(rotated, "JPEG", exif=exif)
    image.save(plain, "JPEG")
    assert upright_size(rotated.getvalue()) == (200, 300)
    assert upright_size(plain.getvalue()) == (300, 200)


def test_an_unlabelled_image_is_recognised_by_its_bytes():
    head = (KODAK / "kodim05.jpg").read_bytes()[:16]
    assert is_image("application/octet-stream", head)
    assert not is_image("application/octet-stream", b"<html>")
    assert not is_image("text/html", head)
