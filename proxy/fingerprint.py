"""Turns image bytes into a `Fingerprint`: what Sentinelle keeps of a picture to recognise it, never enough to redraw it.

Two entry points, both pure top-level functions so that a `ProcessPoolExecutor` can run
them and send the result back pickled:

- `fingerprint(data)`: the fast path, for every image a social network sends. The JPEG
  is decoded at a reduced scale, since the hash only looks at a 64-px square anyway.
- `enrollment_views(data)`: for a photo a parent protects. A global hash sees the whole
  frame, so a platform's standard crops and a mirror image look like strangers to it;
  instead of asking the fast path to see through them, the protected photo is
  fingerprinted as each of those views, once, ahead of time.
"""

from __future__ import annotations

from dataclasses import dataclass

import imagehash
import numpy as np
from PIL import Image, ImageOps

from proxy.images import MIN_SIDE, open_image

FINGERPRINT_VERSION = 1

# 16×16 low frequencies of the DCT of a 64×64 greyscale copy, each bit "above the median
# or not". 256 bits rather than imagehash's default 64: copies stay within a few dozen
# bits while unrelated photos sit near 128, so there is room between them for a threshold.
PHASH_SIZE = 16
PHASH_BITS = PHASH_SIZE * PHASH_SIZE
PHASH_BYTES = PHASH_BITS // 8

# Images seen on the wire are decoded with a short side of at least this many pixels
# (JPEG draft mode: 1/2, 1/4 or 1/8 scale inside the decoder). Twice the hash's 64 px, so
# the final resize still averages several pixels into each and the hash barely moves.
SEEN_DECODE_SIDE = 128
# Protected photos are decoded with a short side of at least this: their narrowest crop
# (9:16 of a landscape photo) then still keeps more than 256 px, and a 12-MP original
# enrols in milliseconds rather than in a full-size decode.
ENROL_DECODE_SIDE = 512

# The platform crops a protected photo is also enrolled as, by the name shown to a parent,
# with their width:height ratio: square grid and profile tiles, Instagram's tallest
# portrait, link previews and landscape posts, stories and reels.
CROPS: tuple[tuple[str, float], ...] = (
    ("1:1", 1.0),
    ("4:5", 4 / 5),
    ("1.91:1", 1.91),
    ("9:16", 9 / 16),
)


class FingerprintFormatError(ValueError):
    """Stored fingerprint bytes that this version of Sentinelle cannot read."""


@dataclass(frozen=True)
class Fingerprint:
    """What Sentinelle keeps of one view of an image.

    Version 1 holds a 256-bit DCT perceptual hash. Later versions add fields (local
    features, region hashes) with defaults, so that there stays one type, and `to_bytes`
    writes the version first so that old rows in the database are still read.
    """

    phash: bytes  # PHASH_BYTES bytes: the hash's 16×16 bits, row by row, numpy.packbits order
    version: int = FINGERPRINT_VERSION

    def __post_init__(self) -> None:
        if self.version != FINGERPRINT_VERSION:
            raise FingerprintFormatError(f"unknown fingerprint version {self.version}")
        if not isinstance(self.phash, bytes) or len(self.phash) != PHASH_BYTES:
            raise FingerprintFormatError(f"a version 1 fingerprint holds a {PHASH_BYTES}-byte hash")

    def to_bytes(self) -> bytes:
        """One version byte, then that version's fields (v1: the hash)."""
        return bytes([self.version]) + self.phash

    @classmethod
    def from_bytes(cls, data: bytes) -> Fingerprint:
        """Read what `to_bytes` wrote; refuse other versions and wrong lengths."""
        if not data:
            raise FingerprintFormatError("empty fingerprint")
        version, payload = data[0], bytes(data[1:])
        if version != FINGERPRINT_VERSION:
            raise FingerprintFormatError(
                f"fingerprint version {version} is not one this Sentinelle reads (it reads {FINGERPRINT_VERSION})"
            )
        if len(payload) != PHASH_BYTES:
            raise FingerprintFormatError(f"a version 1 fingerprint is {1 + PHASH_BYTES} bytes, not {len(data)}")
        return cls(phash=payload, version=version)


def fingerprint(data: bytes) -> Fingerprint:
    """Fingerprint an image seen on the wire, decoded at reduced size. Raises ImageError."""
    return fingerprint_image(open_image(data, reduce_to=SEEN_DECODE_SIDE))


def enrollment_views(data: bytes) -> list[tuple[str, Fingerprint]]:
    """Fingerprint a photo to protect as the views a platform makes of it, each named.

    "original" and "mirror", then each platform crop ("crop 4:5") and its mirror
    ("crop 4:5 mirror"). Raises ImageError, "too small" below MIN_SIDE px.
    """
    img = open_image(data, reduce_to=ENROL_DECODE_SIDE, min_side=MIN_SIDE)
    return [(name, fingerprint_image(view)) for name, view in platform_views(img)]


def platform_views(img: Image.Image) -> list[tuple[str, Image.Image]]:
    """The whole image, its centre crops at the platform ratios, and the mirror of each."""
    views = [("original", img)] + [(f"crop {name}", centre_crop(img, ratio)) for name, ratio in CROPS]
    with_mirrors = []
    for name, view in views:
        with_mirrors.append((name, view))
        with_mirrors.append(("mirror" if name == "original" else f"{name} mirror", ImageOps.mirror(view)))
    return with_mirrors


def centre_crop(img: Image.Image, ratio: float) -> Image.Image:
    """The largest centred part of `img` whose width:height is `ratio`."""
    width, height = img.size
    if width / height > ratio:  # too wide: trim the sides
        new_width = max(1, round(height * ratio))
        left = (width - new_width) // 2
        return img.crop((left, 0, left + new_width, height))
    new_height = max(1, round(width / ratio))
    top = (height - new_height) // 2
    return img.crop((0, top, width, top + new_height))


def fingerprint_image(img: Image.Image) -> Fingerprint:
    """Fingerprint an already decoded image."""
    bits = imagehash.phash(img, hash_size=PHASH_SIZE).hash  # PHASH_SIZE×PHASH_SIZE booleans
    return Fingerprint(phash=np.packbits(bits.reshape(-1)).tobytes())
