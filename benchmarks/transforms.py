"""What a social network (or a person re-posting) does to a photo, as pure functions: the copies the matcher must find.

Shared by the benchmark and the tests, so that both measure the same edits. Each
`Transform` takes a decoded RGB image and returns the bytes a browser would receive.
These imitate the platforms independently of `proxy/`: the crops here are the
platform's own (made after resizing, then re-encoded), not the enrolled views.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from PIL import Image, ImageDraw, ImageEnhance, ImageFont, ImageOps

# The width platforms serve feed images at. Most dev-corpus photos are about 500 px
# wide, so serving them at 1080 upscales them: that is what the speed figures decode.
SERVED_WIDTH = 1080
SERVED_QUALITY = 85


# --- edits: Image -> Image -------------------------------------------------------------


def resize_width(img: Image.Image, width: int) -> Image.Image:
    height = max(1, round(img.height * width / img.width))
    return img.resize((width, height), Image.Resampling.LANCZOS)


def centre_crop(img: Image.Image, ratio: float) -> Image.Image:
    """The platform's crop: the largest centred box of width:height `ratio`."""
    width, height = img.size
    if width / height > ratio:
        new_width = round(height * ratio)
        left = round((width - new_width) / 2)
        return img.crop((left, 0, left + new_width, height))
    new_height = round(width / ratio)
    top = round((height - new_height) / 2)
    return img.crop((0, top, width, top + new_height))


def mirror(img: Image.Image) -> Image.Image:
    return ImageOps.mirror(img)


def contrast(img: Image.Image, factor: float) -> Image.Image:
    return ImageEnhance.Contrast(img).enhance(factor)


def saturation(img: Image.Image, factor: float) -> Image.Image:
    return ImageEnhance.Color(img).enhance(factor)


def warmth(img: Image.Image, amount: float) -> Image.Image:
    """Shift towards orange (amount > 0) or blue (amount < 0), as photo filters do."""
    red, green, blue = img.split()
    red = red.point(lambda v: min(255, round(v * (1 + amount))))
    blue = blue.point(lambda v: min(255, round(v * (1 - amount))))
    return Image.merge("RGB", (red, green, blue))


def faded(img: Image.Image) -> Image.Image:
    """Lifted blacks and lower contrast: the 'vintage' look."""
    return ImageEnhance.Contrast(img).enhance(0.75).point(lambda v: 40 + v * 200 // 255)


def grayscale(img: Image.Image) -> Image.Image:
    return ImageOps.grayscale(img).convert("RGB")


def caption_bar(img: Image.Image, text: str = "when you see it 😂😂 #tbt #family") -> Image.Image:
    """A white band above the photo with a line of black text: the usual re-post."""
    bar = max(24, img.height // 6)
    out = Image.new("RGB", (img.width, img.height + bar), "white")
    out.paste(img, (0, bar))
    font = ImageFont.load_default(size=max(10, bar // 3))
    ImageDraw.Draw(out).text((bar // 4, bar // 3), text, fill="black", font=font)
    return out


# --- encodings: Image -> bytes -------------------------------------------------------


def jpeg(img: Image.Image, quality: int = SERVED_QUALITY) -> bytes:
    out = io.BytesIO()
    img.convert("RGB").save(out, format="JPEG", quality=quality)
    return out.getvalue()


def webp(img: Image.Image, quality: int) -> bytes:
    out = io.BytesIO()
    img.convert("RGB").save(out, format="WEBP", quality=quality)
    return out.getvalue()


def served(img: Image.Image, width: int = SERVED_WIDTH, quality: int = SERVED_QUALITY) -> bytes:
    """How a platform delivers a picture: resized to its width, as a JPEG."""
    return jpeg(resize_width(img, width), quality)


# --- the catalogue -------------------------------------------------------------------


@dataclass(frozen=True)
class Transform:
    family: str  # what the matcher must see through: "resize", "crop 4:5", ...
    name: str  # this draw of its parameters
    apply: Callable[[Image.Image], bytes]


def _edited(edit: Callable[[Image.Image], Image.Image], img: Image.Image, width: int = SERVED_WIDTH, quality: int = SERVED_QUALITY) -> bytes:
    return served(edit(img), width, quality)


def _cropped(ratio: float, img: Image.Image, width: int, quality: int) -> bytes:
    # The platform resizes the upload to its width first, then crops the frame it shows.
    return jpeg(centre_crop(resize_width(img, width), ratio), quality)


def _reencoded(encode: Callable[[Image.Image], bytes], img: Image.Image) -> bytes:
    return encode(resize_width(img, SERVED_WIDTH))


TRANSFORMS: tuple[Transform, ...] = (
    Transform("resize", "1080 wide (upscaled), q85", partial(served, width=1080)),
    Transform("resize", "640 wide, q85", partial(served, width=640)),
    Transform("resize", "320 wide, q85", partial(served, width=320)),
    Transform("re-encode", "JPEG q70", partial(_reencoded, partial(jpeg, quality=70))),
    Transform("re-encode", "JPEG q90", partial(_reencoded, partial(jpeg, quality=90))),
    Transform("WebP", "WebP q75", partial(_reencoded, partial(webp, quality=75))),
    Transform("WebP", "WebP q90", partial(_reencoded, partial(webp, quality=90))),
    Transform("filters", "contrast +30%", partial(_edited, partial(contrast, factor=1.3))),
    Transform("filters", "saturation +50%", partial(_edited, partial(saturation, factor=1.5))),
    Transform("filters", "warm +12%", partial(_edited, partial(warmth, amount=0.12))),
    Transform("filters", "cool -10%, faded", partial(_edited, lambda img: faded(warmth(img, -0.10)))),
    Transform("grayscale", "grayscale", partial(_edited, grayscale)),
    Transform("grayscale", "grayscale, contrast +30%", partial(_edited, lambda img: contrast(grayscale(img), 1.3))),
    Transform("crop 1:1", "1:1 at 1080, q85", partial(_cropped, 1.0, width=1080, quality=85)),
    Transform("crop 1:1", "1:1 at 640, q75", partial(_cropped, 1.0, width=640, quality=75)),
    Transform("crop 4:5", "4:5 at 1080, q85", partial(_cropped, 0.8, width=1080, quality=85)),
    Transform("crop 4:5", "4:5 at 640, q75", partial(_cropped, 0.8, width=640, quality=75)),
    Transform("crop 1.91:1", "1.91:1 at 1080, q85", partial(_cropped, 1.91, width=1080, quality=85)),
    Transform("crop 1.91:1", "1.91:1 at 640, q75", partial(_cropped, 1.91, width=640, quality=75)),
    Transform("mirror", "mirror at 1080, q85", partial(_edited, mirror)),
    Transform("mirror", "mirror at 640, q75", partial(_edited, mirror, width=640, quality=75)),
)

# Re-post dressing that a global hash is not expected to see through yet (a later
# issue's work): reported, and used to dress the hard distractors.
CAPTION = Transform("caption bar", "white caption bar above", partial(_edited, caption_bar))

FAMILIES: tuple[str, ...] = tuple(dict.fromkeys(t.family for t in TRANSFORMS))
