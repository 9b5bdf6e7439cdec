"""Turns untrusted image bytes into a decoded RGB picture, or refuses them with a reason a parent can read.

Every image Sentinelle looks at comes from somewhere it does not control: a social
network's CDN, or a file a parent picked. So the size is checked from the header before
anything is decoded (a decompression bomb is refused without being allocated), and so is
what decoding it would take in memory (`Limits`); a large picture is decoded already
shrunk where the format allows (a JPEG at 1/2 to 1/8 scale, a PNG a band of rows at a time:
`proxy.engine.png_bands`), and converted a band at a time otherwise. Truncated files are refused
rather than half-decoded, and whatever goes wrong inside a decoder comes out as one
exception type, `ImageError`, whose `reason` can be shown as it is.
"""

from __future__ import annotations

import io
import math
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from PIL import Image, ImageFile

from sentinelle.proxy.engine import png_bands

try:  # HEIC/HEIF (iPhone photos) needs pillow-heif; without it they are "unsupported format".
    import pillow_heif
except ImportError:  # pragma: no cover - pillow-heif is a dependency, but optional at run time
    _HEIF = False
else:
    pillow_heif.register_heif_opener()
    _HEIF = True


class ImageError(ValueError):
    """The bytes are not an image Sentinelle can use; `reason` says why, in a few plain words."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


# The reasons, as shown to a parent. Tests and callers compare against these.
EMPTY = "empty"
NOT_AN_IMAGE = "not an image"
UNSUPPORTED = "unsupported format"
CORRUPT = "truncated or corrupt image"
BOMB = "decompression bomb"
TOO_LARGE = "too large to decode safely"
TOO_SMALL = "too small"

# What browsers are sent by social networks, and what phones save photos as.
# Pillow's names for them; no other Pillow plugin ever sees untrusted bytes.
SUPPORTED_FORMATS: tuple[str, ...] = ("JPEG", "PNG", "WEBP", "GIF", "AVIF") + (
    ("HEIF",) if _HEIF else ()
)
# A JPEG that carries more pictures after its own (a phone's depth map, the gain map of an
# Ultra HDR or iPhone HDR photo: the Multi-Picture Format) opens as "MPO"; its first picture
# is the photo, and it decodes as any JPEG.
_JPEG = ("JPEG", "MPO")


@dataclass(frozen=True)
class Limits:
    """How large an image may be: `pixels`, from its header, and `decode_bytes`, the memory
    decoding it may take at its peak (estimated from its header: `_decode_bytes`)."""

    pixels: int
    decode_bytes: int


# The largest picture seen on the wire, counted from the header before decoding: no social
# network serves more than about 2048 px a side (4 MP), and phones' 48-MP modes save
# 8064×6048 = 48.8 MP. Decoded whole, 50 MP of colour is 200 MB (Pillow keeps RGB in 4 bytes
# a pixel): the most an image seen may take, whatever its format (a WebP, whose decoder holds
# it four times over, is then limited to 12 MP).
MAX_PIXELS = 50_000_000
SEEN = Limits(pixels=MAX_PIXELS, decode_bytes=200 * 2**20)
# A photo to protect may be a panorama or a medium-format camera's (up to 12,000 px a side:
# 144 MP; Pillow refuses more than 179 MP itself). A JPEG is decoded at 1/8 scale and a PNG in
# bands, at a few MB whatever their size; a 48-MP iPhone photo in HEIF, which pillow-heif
# decodes whole, takes about 390 MB: the most one photo's decoding may take.
PROTECTED = Limits(pixels=150_000_000, decode_bytes=400 * 2**20)
# Bytes a pixel that Pillow keeps a decoded picture in, by mode (4 for the others: RGB is
# stored as RGBX).
_PIXEL_BYTES = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16B": 2, "I;16L": 2}
# How many times over a decoder holds the whole picture at its peak, counting Pillow's own
# copy (measured at 15 MP by tests/test_enrol_memory.py): Pillow's WebP decoder (its canvas,
# its output and the bytes it is copied through), pillow-heif (libheif's planes and their RGB),
# the AVIF decoder likewise, and Pillow's GIF decoder (the frame, and the one it disposes to).
_DECODER_COPIES: dict[str | None, float] = {"WEBP": 4.0, "HEIF": 2.0, "AVIF": 2.5, "GIF": 2.0}
# Large pictures are converted (and PNGs read) about this many bytes at a time.
BAND_BYTES = 8 * 2**20

# A photo to protect must have enough detail for its crops to be told from other photos:
# its 1.91:1 and 9:16 crops keep about half the short side, still above the hash's 64 px.
MIN_SIDE = 128
# Images seen on the wire smaller than this are icons, emoji and avatars' blurred
# placeholders: the hash works on a 64-px square, so below that there is nothing to compare.
MIN_SIDE_SEEN = 64

# First bytes of image formats that are not supported, so that a parent who picks a
# TIFF or a BMP is told "unsupported format", not "not an image". Only looked at after
# the supported decoders have all refused the bytes: nothing here is ever decoded.
_OTHER_IMAGE_SIGNATURES: tuple[bytes, ...] = (
    b"BM",  # BMP
    b"II*\x00",  # TIFF, little-endian (also most camera RAW files)
    b"MM\x00*",  # TIFF, big-endian
    b"8BPS",  # Photoshop
    b"\x00\x00\x01\x00",  # Windows icon
    b"\xff\x0a",  # JPEG XL codestream
    b"\x00\x00\x00\x0cJXL ",  # JPEG XL container
    b"\x00\x00\x00\x0cjP  ",  # JPEG 2000
    b"qoif",  # QOI
)
# First bytes of the supported formats: bytes that start like one of them but that no
# decoder would open are a broken image, not something else.
_SUPPORTED_SIGNATURES: tuple[bytes, ...] = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a")
# Brands in the "ftyp" box at the start of AVIF and HEIF files (HEIC is HEIF with HEVC inside).
_AVIF_BRANDS = (b"avif", b"avis")
_HEIF_BRANDS = (b"heic", b"heix", b"hevc", b"heim", b"heis", b"mif1", b"msf1")


# Content types of image responses; some CDNs label images as octet-stream instead, and
# `is_image` then recognises them by their first bytes.
IMAGE_TYPES = frozenset(
    {"image/jpeg", "image/pjpeg", "image/png", "image/webp", "image/gif",
     "image/avif", "image/heic", "image/heif"}
)
_UNLABELLED = ("", "application/octet-stream", "binary/octet-stream")


def is_image(content_type: str, head: bytes) -> bool:
    """Whether a response is an image by its label, or by its first bytes (`head`, 16 are
    enough) when unlabelled."""
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type in IMAGE_TYPES:
        return True
    if media_type not in _UNLABELLED:
        return False
    return (head.startswith(_SUPPORTED_SIGNATURES) or head.startswith(b"RIFF")
            or head[4:8] == b"ftyp" and head[8:12] in _AVIF_BRANDS + _HEIF_BRANDS)


def open_image(data: bytes, *, reduce_to: int | None = None, min_side: int = MIN_SIDE_SEEN, grey: bool = False,
               limits: Limits = SEEN) -> Image.Image:
    """Decode `data` into an upright RGB image (grey levels, mode "L", with `grey`), or raise `ImageError`.

    `reduce_to`: when given, the image comes back smaller, its short side still at least
    this long. A JPEG is decoded at a reduced scale (1/2, 1/4 or 1/8, inside the decoder,
    so much faster); other formats are shrunk by an integer factor, a band at a time (a
    large PNG is read a band at a time too: `proxy.engine.png_bands`).
    `min_side`: images whose short side is smaller are refused as "too small".
    `grey`: a JPEG is then decoded to its luma alone (no chroma upsampling or colour
    conversion: a third cheaper), which is what fingerprints look at anyway.
    `limits`: larger images are refused, as a "decompression bomb" (pixels) or "too large to
    decode safely" (memory), before anything is decoded.
    Animated images give their first frame. Raises RuntimeError, whatever the bytes, if
    something in the process set PIL.ImageFile.LOAD_TRUNCATED_IMAGES.
    """
    if ImageFile.LOAD_TRUNCATED_IMAGES:
        # Pillow's default is False; something in this process changed it. A truncated file
        # would then decode half grey and get a fingerprint of its own: refuse to go on.
        raise RuntimeError("PIL.ImageFile.LOAD_TRUNCATED_IMAGES must stay False")
    if not data:
        raise ImageError(EMPTY)
    try:
        # Pillow warns above its own pixel limit (89 MP) and raises above twice that; the
        # limits checked here, right after the header is read, are the ones that hold.
        # (catch_warnings changes process-wide state: call this from one thread per process,
        # as the process pool does.)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = _open_header(data)
            _check_size(img.size, min_side, limits.pixels)
            orientation = _orientation(img)
            stored = img.size
            if reduce_to is not None and img.format in _JPEG:
                img.draft("L" if grey else "RGB", (reduce_to, reduce_to))
            factor = max(1, min(img.size) // reduce_to) if reduce_to is not None else 1
            banded = factor >= 2 and img.format == "PNG" and _whole_bytes(img) > BAND_BYTES and png_bands.readable(data)
            if (cost := _decode_bytes(img, data, stored, factor, banded)) > limits.decode_bytes:
                raise ImageError(TOO_LARGE, f"a {stored[0]}×{stored[1]} {img.format} takes about {cost // 2**20} MB "
                                            f"to decode, more than {limits.decode_bytes // 2**20} MB")
            if banded:
                parts = png_bands.bands(data, _band_rows(img.width, factor))
            else:
                img.load()  # decodes the first frame; a truncated file raises here
                parts = _bands_of(img, factor)
            return _upright(_shrunk(parts, img.size, factor, grey), orientation)
    except (ImageError, MemoryError):  # MemoryError: the machine's state, not the file's
        raise
    except Image.DecompressionBombError as err:
        raise ImageError(BOMB, str(err)) from None
    except Exception as err:  # noqa: BLE001 (why below)
        # Decoders fed hostile bytes raise OSError, SyntaxError, struct.error, IndexError,
        # ValueError, EOFError, zlib.error ... depending on the format and where it breaks. At
        # this boundary every one of them means the same thing to a parent.
        raise ImageError(CORRUPT, f"{type(err).__name__}: {err}") from None


def upright_size(data: bytes) -> tuple[int, int]:
    """Width and height of the image as it is shown (EXIF rotation applied), from its header only."""
    img = _open_header(data)
    return img.size[::-1] if _orientation(img) in (5, 6, 7, 8) else img.size


def thumbnail_jpeg(img: Image.Image, size: int = 256) -> bytes:
    """A small JPEG of `img` (longest side at most `size` px) for the review page."""
    thumb = img.convert("RGB")
    thumb.thumbnail((size, size), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    thumb.save(out, format="JPEG", quality=80, optimize=True)
    return out.getvalue()


def _open_header(data: bytes) -> Image.Image:
    """Read only the header, with the supported decoders alone."""
    try:
        img = Image.open(io.BytesIO(data), formats=SUPPORTED_FORMATS)
    except Image.UnidentifiedImageError:
        raise ImageError(_why_unidentified(data)) from None
    if img.format not in SUPPORTED_FORMATS + _JPEG:  # a plugin registered under another name
        raise ImageError(UNSUPPORTED, str(img.format))
    return img


def _why_unidentified(data: bytes) -> str:
    """After the supported decoders refused `data`: a broken image, another image format, or not an image at all?"""
    if data.startswith(_SUPPORTED_SIGNATURES) or (data[:4] == b"RIFF" and data[8:12] == b"WEBP"):
        return CORRUPT
    if data.startswith(_OTHER_IMAGE_SIGNATURES):
        return UNSUPPORTED
    head = data[:512].lstrip().lower()
    if head.startswith(b"<svg") or (head.startswith(b"<?xml") and b"<svg" in head):
        return UNSUPPORTED
    if data[4:8] == b"ftyp" and data[8:12] in _AVIF_BRANDS:
        return CORRUPT
    if data[4:8] == b"ftyp" and data[8:12] in _HEIF_BRANDS:
        return CORRUPT if "HEIF" in SUPPORTED_FORMATS else UNSUPPORTED
    return NOT_AN_IMAGE


def _check_size(size: tuple[int, int], min_side: int, max_pixels: int) -> None:
    width, height = size
    if width * height > max_pixels:
        raise ImageError(BOMB, f"{width}×{height} is more than {max_pixels:,} pixels")
    if min(width, height) < min_side:
        raise ImageError(TOO_SMALL, f"{width}×{height}, the short side must be at least {min_side} px")


def _orientation(img: Image.Image) -> int:
    """The EXIF orientation (1 to 8; 1, as stored, when there is none or it cannot be read), from the header."""
    if img.format == "PNG" and "exif" not in img.info:
        # Pillow looks for an eXIf chunk after the pixels by decoding them all: a PNG's
        # orientation is read only where it belongs, before them.
        return 1
    try:
        orientation = img.getexif().get(0x0112, 1)
    except Exception:  # noqa: BLE001 - a broken EXIF block: the image is shown as stored
        return 1
    return orientation if orientation in _TRANSPOSE else 1


# What turns a picture stored with each EXIF orientation upright (as PIL.ImageOps.exif_transpose).
_TRANSPOSE = {
    1: None,
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def _upright(img: Image.Image, orientation: int) -> Image.Image:
    method = _TRANSPOSE[orientation]
    return img if method is None else img.transpose(method)


def _whole_bytes(img: Image.Image) -> int:
    """What Pillow keeps `img` in once decoded."""
    return img.width * img.height * _PIXEL_BYTES.get(img.mode, 4)


def _decode_bytes(img: Image.Image, data: bytes, stored: tuple[int, int], factor: int, banded: bool) -> int:
    """About how much memory decoding `img` takes at its peak, from its header (the scale of a
    JPEG already chosen): `stored` is its size in the file, `factor` how much it is then shrunk."""
    shrunk = math.ceil(img.width / factor) * math.ceil(img.height / factor) * 4
    if banded:
        # A band inflated, the same band decoded and cropped, and the picture they make.
        return 3 * _band_rows(img.width, factor) * img.width * 4 + shrunk
    cost = _whole_bytes(img) * _DECODER_COPIES.get(img.format, 1.0) + (shrunk if factor >= 2 else 0)
    if img.format in _JPEG and _jpeg_scans(data) > 1:
        # A progressive JPEG (or one whose colours come in separate scans) is refined scan after
        # scan: libjpeg keeps every coefficient of the stored picture, 2 bytes each, whatever
        # the scale it then decodes at.
        cost += 2 * _jpeg_samples(stored, getattr(img, "layer", []))
    return int(cost)


def _jpeg_scans(data: bytes) -> int:
    """How many scans (SOS markers) follow a JPEG's frame header: counted in the rest of the file
    (pictures appended after it, as an MPO's, count too: the estimate errs on the high side)."""
    offset = 2
    while offset + 4 <= len(data) and data[offset] == 0xFF:
        marker = data[offset + 1]
        if marker == 0xFF:  # a fill byte before the marker
            offset += 1
            continue
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):  # a frame header (SOFn)
            return data.count(b"\xff\xda", offset)
        offset += 2 + int.from_bytes(data[offset + 2 : offset + 4], "big")
    return data.count(b"\xff\xda")


def _jpeg_samples(size: tuple[int, int], layers: list[tuple]) -> int:
    """Samples of all a JPEG's components, each at its own resolution (chroma subsampling)."""
    width, height = size
    if not layers:
        return 4 * width * height
    h_max, v_max = max(layer[1] for layer in layers), max(layer[2] for layer in layers)
    return sum(math.ceil(width * h / h_max) * math.ceil(height * v / v_max) for _, h, v, *_ in layers)


def _band_rows(width: int, factor: int) -> int:
    """Rows of a band of about BAND_BYTES, a whole number of `factor` (so that bands shrink as the whole would)."""
    return max(factor, BAND_BYTES // (width * 4) // factor * factor)


def _bands_of(img: Image.Image, factor: int) -> Iterator[Image.Image]:
    """A decoded picture in bands (itself when it is not larger than one)."""
    rows = _band_rows(img.width, factor)
    if rows >= img.height:
        yield img
        return
    for top in range(0, img.height, rows):
        yield img.crop((0, top, img.width, min(img.height, top + rows)))


def _shrunk(bands: Iterable[Image.Image], size: tuple[int, int], factor: int, grey: bool) -> Image.Image:
    """The picture the bands make (top to bottom, `size` together), each flattened (`_flat`) and
    shrunk by `factor` (the mean of each factor × factor square) before the next is looked at.

    Averaging whole blocks of pixels is cheap and, for a caller that only needs a small
    picture (the hash looks at 64 px), cuts the cost of every later resize: what JPEG
    draft mode does inside the decoder, for the formats that have no draft mode.
    """
    width, height = math.ceil(size[0] / factor), math.ceil(size[1] / factor)
    whole, top = None, 0
    for band in bands:
        band = _flat(band, grey)
        if factor >= 2:
            band = band.reduce(factor)
        if whole is None:
            if band.height == height:
                return band
            whole = Image.new(band.mode, (width, height))
        whole.paste(band, (0, top))
        top += band.height
    if whole is None or top != height:
        raise ValueError(f"the picture's bands make {top} rows, not {height}")
    return whole


def _flat(img: Image.Image, grey: bool) -> Image.Image:
    """RGB (grey levels with `grey`): transparent parts become white, 16-bit grey is scaled to 8 bits."""
    if img.mode == ("L" if grey else "RGB"):
        return img
    if img.mode.startswith("I") or img.mode == "F":
        # 16-bit greyscale PNGs: Pillow's convert() would clip everything above 255 to white.
        img = img.convert("F").point(lambda v: v / 256).convert("L")
    if img.mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = img.convert("RGBA")
        img = Image.new("RGB", rgba.size, (255, 255, 255))
        img.paste(rgba, mask=rgba.getchannel("A"))
    return img.convert("L" if grey else "RGB") if img.mode != ("L" if grey else "RGB") else img
