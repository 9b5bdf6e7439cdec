"""Turns untrusted image bytes into a decoded RGB picture, or refuses them with a reason a parent can read.

Every image Sentinelle looks at comes from somewhere it does not control: a social
network's CDN, or a file a parent picked. So the size is checked from the header before
anything is decoded (a decompression bomb is refused without being allocated), truncated
files are refused rather than half-decoded, and whatever goes wrong inside a decoder
comes out as one exception type, `ImageError`, whose `reason` can be shown as it is.
"""

from __future__ import annotations

import io
import warnings

from PIL import Image, ImageFile, ImageOps

try:  # HEIC/HEIF (iPhone photos) needs pillow-heif; without it they are "unsupported format".
    import pillow_heif
except ImportError:  # pragma: no cover - pillow-heif is a dependency, but optional at run time
    pillow_heif = None
else:
    pillow_heif.register_heif_opener()


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
TOO_SMALL = "too small"

# What browsers are sent by social networks, and what phones save photos as.
# Pillow's names for them; no other Pillow plugin ever sees untrusted bytes.
SUPPORTED_FORMATS: tuple[str, ...] = ("JPEG", "PNG", "WEBP", "GIF", "AVIF") + (
    ("HEIF",) if pillow_heif is not None else ()
)

# The largest picture decoded, counted from the header before decoding. Phones' 48-MP
# modes save 8064×6048 = 48.8 MP, so 50 MP admits any phone photo a parent may enrol
# (200-MP modes excepted), while no social network serves more than about 2048 px a side
# (4 MP). An RGB buffer at this size is 150 MB: the most one hostile header can cost.
MAX_PIXELS = 50_000_000

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


def open_image(data: bytes, *, reduce_to: int | None = None, min_side: int = MIN_SIDE_SEEN, grey: bool = False) -> Image.Image:
    """Decode `data` into an upright RGB image (grey levels, mode "L", with `grey`), or raise `ImageError`.

    `reduce_to`: when given, the image comes back smaller, its short side still at least
    this long. A JPEG is decoded at a reduced scale (1/2, 1/4 or 1/8, inside the decoder,
    so much faster); other formats are decoded whole, then shrunk by an integer factor.
    `min_side`: images whose short side is smaller are refused as "too small".
    `grey`: a JPEG is then decoded to its luma alone (no chroma upsampling or colour
    conversion: a third cheaper), which is what fingerprints look at anyway.
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
        # Pillow warns above its own pixel limit and raises above twice that; turn the
        # warning into an error so that neither escapes as anything but ImageError.
        # (catch_warnings changes process-wide state: call this from one thread per process,
        # as the process pool does.)
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = _open_header(data)
            _check_size(img.size, min_side)
            if reduce_to is not None and img.format == "JPEG":
                img.draft("L" if grey else "RGB", (reduce_to, reduce_to))
            img.load()  # decodes the first frame; a truncated file raises here
            img = _upright_rgb(img, keep_grey=grey)
            if grey and img.mode != "L":
                img = img.convert("L")
            return img if reduce_to is None else _reduced(img, reduce_to)
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        raise ImageError(BOMB, str(err)) from None
    except Exception as err:
        # Decoders fed hostile bytes raise OSError, SyntaxError, struct.error, IndexError,
        # ValueError, EOFError, ... depending on the format and where it breaks. At this
        # boundary every one of them means the same thing to a parent.
        raise ImageError(CORRUPT, f"{type(err).__name__}: {err}") from None


def upright_size(data: bytes) -> tuple[int, int]:
    """Width and height of the image as it is shown (EXIF rotation applied), from its header only."""
    img = _open_header(data)
    try:
        orientation = img.getexif().get(0x0112, 1)
    except Exception:  # noqa: BLE001 - a broken EXIF block: the image is shown as stored
        orientation = 1
    return img.size[::-1] if orientation in (5, 6, 7, 8) else img.size


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
    if img.format not in SUPPORTED_FORMATS:  # a plugin registered under another name
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


def _check_size(size: tuple[int, int], min_side: int) -> None:
    width, height = size
    if width * height > MAX_PIXELS:
        raise ImageError(BOMB, f"{width}×{height} is more than {MAX_PIXELS:,} pixels")
    if min(width, height) < min_side:
        raise ImageError(TOO_SMALL, f"{width}×{height}, the short side must be at least {min_side} px")


def _reduced(img: Image.Image, reduce_to: int) -> Image.Image:
    """Shrink by the largest whole factor that keeps the short side at least `reduce_to`.

    Averaging whole blocks of pixels is cheap and, for a caller that only needs a small
    picture (the hash looks at 64 px), cuts the cost of every later resize: what JPEG
    draft mode does inside the decoder, for the formats that have no draft mode.
    """
    factor = min(img.size) // reduce_to
    return img.reduce(factor) if factor >= 2 else img


def _upright_rgb(img: Image.Image, keep_grey: bool = False) -> Image.Image:
    """Apply the EXIF orientation and flatten to RGB (transparent parts become white); an
    8-bit grey image stays grey with `keep_grey`."""
    try:
        img = ImageOps.exif_transpose(img)
    except Exception:  # noqa: BLE001 - any failure here means a broken EXIF block
        # The pixels decoded fine; only the orientation tag is unreadable. Keep the image
        # as stored rather than refuse it: a broken EXIF block must not hide a copy.
        pass
    if img.mode == "RGB" or (keep_grey and img.mode == "L"):
        return img
    if img.mode.startswith("I") or img.mode == "F":
        # 16-bit greyscale PNGs: Pillow's convert() would clip everything above 255 to white.
        img = img.convert("F").point(lambda v: v / 256).convert("L")
    if img.mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = img.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return img.convert("RGB")
