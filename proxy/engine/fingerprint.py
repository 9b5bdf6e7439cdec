"""Turns image bytes into a `Fingerprint`: what Sentinelle keeps of a picture to recognise it.

Never enough to redraw it beyond a blur: a hash, keypoints (corner positions and binary
descriptors of their surroundings), and a 45-px grey thumbnail for the photometric check
of the local stage — less than the 256-px thumbnail the review page already keeps.

Two entry points, both pure top-level functions so that a `ProcessPoolExecutor` can run
them and send the result back pickled:

- `fingerprint(data)`: for every image a social network sends. The JPEG is decoded at a
  reduced scale (the hash looks at a 64-px square, the keypoints at a 360-px picture).
  Besides the global hash it holds local features (`proxy.engine.keypoints`), and, when the image
  is a photo inside a flat frame (a screenshot of a feed, a caption bar, a border), the
  same again of the photo alone (`framed`, found by `proxy.engine.frame`); and when it has the
  size and shape of a profile picture, keypoints of it and of its mirror at the scale a
  profile picture shows a photo at, taken when first asked for (`avatar`: `proxy.engine.avatar`); and
  when it is a collage (a grid, a side-by-side: `proxy.engine.collage`), the same again of
  each of its photos (`parts`). It keeps its 360-px grey picture in memory (`picture`) for
  the check of a photo of a screen (`proxy.engine.screen`), which looks at the outline.
- `enrollment_views(data)`: for a photo a parent protects (`protected_picture`, then
  `protected_views`). A global hash sees the whole frame, so a platform's standard crops
  and a mirror image look like strangers to it; instead of asking the fast path to see
  through them, the protected photo is fingerprinted as each of those views, once, ahead
  of time. The whole photo and its mirror also keep local features, for the edits no
  enrolled view foresees, and the photo has an "avatar" view: its keypoints at the scale
  of a profile picture cropped from it.
- `global_fingerprint(data)`: the hash alone (v1's fast path), for callers that only
  need the first pass.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property, partial

import numpy as np
from PIL import Image, ImageOps

from sentinelle.proxy.engine import avatar, collage, keypoints
from sentinelle.proxy.engine.frame import photo_box
from sentinelle.proxy.engine.images import MIN_SIDE, PROTECTED, open_image, upright_size

# Version 2 adds local features (and, in memory only, the framed photo). Version 1 rows,
# a hash alone, are still read: they match through the global hash only until the photo
# is enrolled again (see server/store/migrations.py). Version 3 gives the local
# features' thumbnail two bytes a side instead of one (`proxy.engine.keypoints.pack`): version 2
# rows are read as they are, their header widened on the way in (`keypoints.upgrade_v2`).
FINGERPRINT_VERSION = 3
READABLE_VERSIONS = (1, 2, 3)

# 16×16 low frequencies of the DCT of a 64×64 greyscale copy, each bit "above the median
# or not". 256 bits rather than imagehash's default 64: copies stay within a few dozen
# bits while unrelated photos sit near 128, so there is room between them for a threshold.
PHASH_SIZE = 16
PHASH_BITS = PHASH_SIZE * PHASH_SIZE
PHASH_BYTES = PHASH_BITS // 8
PHASH_HASH_INPUT = PHASH_SIZE * 4  # the square the picture is resized to before its DCT
# The DCT's low frequencies, as imagehash.phash (which made every hash enrolled before) computes
# them with scipy's unnormalised DCT-II: two products with this matrix, without loading scipy
# (a quarter of a second at every `sentinelle enroll` or `check`, and memory in every checker).
_DCT_LOW = 2 * np.cos(np.pi * np.arange(PHASH_SIZE)[:, None] * (2 * np.arange(PHASH_HASH_INPUT)[None, :] + 1)
                      / (2 * PHASH_HASH_INPUT))

# Images seen on the wire are decoded with a short side of at least this many pixels
# (JPEG draft mode: 1/2, 1/4 or 1/8 scale inside the decoder). Twice the hash's 64 px, so
# the final resize still averages several pixels into each and the hash barely moves:
# what the global hash alone needs (`global_fingerprint`).
SEEN_DECODE_SIDE = 128
# With local features: a 1080-px-wide feed image decodes at half scale (540 px), from
# which the keypoints' 360-px picture is taken; a 1080 × 2340 phone screenshot too, its
# photo then still 360 px wide after scaling.
SEEN_LOCAL_DECODE_SIDE = 256
# Smaller images seen get the global hash alone. Every image large enough to hash gets
# keypoints too: a platform never serves a photo larger than it was uploaded, so a re-post
# of a 500-px photo cropped off-centre is a 350-px image, and its keypoints are what finds
# it (with 256 here, as before, a quarter of such copies were missed). They are also what
# tells a hash match that is a copy from another photograph of the same place
# (`proxy.engine.matcher`), and a 100-px picture still holds a few dozen corners once enlarged.
LOCAL_MIN_SIDE_SEEN = 64
# The photo inside a frame is looked for on a copy about this many pixels on its short
# side: enough to place its edges within a few pixels of the 360-px picture.
FRAME_SEARCH_SIDE = 120
# The photos of a collage (`proxy.engine.collage`) are each described at the local stage's
# working size: the image is decoded again, finer, when its tiles would be smaller.
PART_SIDE = keypoints.LOCAL_SIDE
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


@dataclass(eq=False)
class SeenAvatar:
    """A seen profile picture's keypoints at the avatar scale (`SeenAvatar(gray)(False)`) or its
    mirror image's (`(True)`), each taken once, when first asked for (`taken`); picklable, as a
    Fingerprint is."""

    gray: np.ndarray
    taken: dict[bool, keypoints.Features] = field(default_factory=dict)

    def __call__(self, mirror: bool) -> keypoints.Features:
        if mirror not in self.taken:
            # Positions at quarter pixels, as packed keypoints keep them (the stage was measured so).
            self.taken[mirror] = keypoints.unpack(keypoints.pack(avatar.seen_features(self.gray, mirror)))
        return self.taken[mirror]


@dataclass(frozen=True)
class Fingerprint:
    """What Sentinelle keeps of one view of an image.

    `phash`: a 256-bit DCT perceptual hash of the whole view. `local`: its keypoints,
    packed by `proxy.engine.keypoints.pack` (empty for the enrolled platform crops, which the hash
    covers, and for fingerprints read from version 1 rows). `framed`: for an image seen on
    the wire that shows a photo inside a flat frame, the fingerprint of that photo alone;
    it lives only in memory, between the worker that takes it and the matcher.
    `box`: where the picture lies in the image as received (in memory only).
    `avatar`: for an image seen that has the size and shape of a profile picture, its keypoints
    as `proxy.engine.avatar` takes them (`avatar(False)`), or its mirror image's (`avatar(True)`),
    each taken when first asked for (in memory only). The enrolled "avatar" view keeps its own in `local`.
    `parts`: for an image seen that is a collage (a grid, a side-by-side: `proxy.engine.collage`),
    the fingerprint of each photo it is made of, each with its `box` (in memory only).
    `to_bytes` writes the version first so that old rows in the database are still read.
    """

    phash: bytes  # PHASH_BYTES bytes: the hash's 16×16 bits, row by row, numpy.packbits order
    local: bytes = b""
    framed: Fingerprint | None = None
    version: int = FINGERPRINT_VERSION
    # Where this picture lies in the image as it was received: (left, top, right, bottom) in its
    # full-resolution pixels (the whole image, or the photo found inside its frame). In memory
    # only, like `framed`, and not part of what the fingerprint is (two fingerprints of one
    # picture are equal wherever it lies): what `Match.region` is measured in. Empty when unknown.
    box: tuple[float, float, float, float] | tuple[()] = field(default=(), compare=False)
    # Taken when the avatar stage first asks: a profile picture that an earlier stage finds, or
    # that the avatar stage finds as it is, never pays for the keypoints it would not look at
    # (5 to 6 ms each, most of what fingerprinting a profile picture costs).
    avatar: SeenAvatar | None = field(default=None, compare=False, repr=False)
    parts: tuple[Fingerprint, ...] = ()
    # The grey picture its keypoints were taken on (their scale), for the checks that look at a
    # seen image more closely than its thumbnail (`proxy.engine.screen`). In memory only.
    picture: np.ndarray | None = field(default=None, compare=False, repr=False)
    # For an image seen: the fingerprint of a part of it, given as a box on its keypoints' scale,
    # decoded again finer if need be (`zoomed`), for a photo found small inside a larger picture.
    zoom: Callable[[tuple[float, float, float, float]], Fingerprint] | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.version not in READABLE_VERSIONS:
            raise FingerprintFormatError(f"unknown fingerprint version {self.version}")
        if not isinstance(self.phash, bytes) or len(self.phash) != PHASH_BYTES:
            raise FingerprintFormatError(f"a fingerprint holds a {PHASH_BYTES}-byte hash")
        if not isinstance(self.local, bytes):
            raise FingerprintFormatError("local features are bytes")
        if self.local:
            try:
                keypoints.unpack(self.local)
            except ValueError as err:
                raise FingerprintFormatError(f"damaged local features: {err}") from None

    @cached_property
    def features(self) -> keypoints.Features:
        """The local features, unpacked (empty if there are none)."""
        return keypoints.unpack(self.local) if self.local else keypoints.EMPTY

    def to_bytes(self) -> bytes:
        """One version byte, then the hash, then the packed local features (`framed` is not stored)."""
        return bytes([FINGERPRINT_VERSION]) + self.phash + self.local

    @classmethod
    def from_bytes(cls, data: bytes) -> Fingerprint:
        """Read what `to_bytes` wrote, or a row of an earlier version; refuse other versions and wrong lengths."""
        if not data:
            raise FingerprintFormatError("empty fingerprint")
        version, payload = data[0], bytes(data[1:])
        if version not in READABLE_VERSIONS:
            raise FingerprintFormatError(
                f"fingerprint version {version} is not one this Sentinelle reads (it reads {READABLE_VERSIONS})"
            )
        if version == 1 and len(payload) != PHASH_BYTES:
            raise FingerprintFormatError(f"a version 1 fingerprint is {1 + PHASH_BYTES} bytes, not {len(data)}")
        if len(payload) < PHASH_BYTES:
            raise FingerprintFormatError(f"a fingerprint is at least {1 + PHASH_BYTES} bytes, not {len(data)}")
        features = payload[PHASH_BYTES:]
        if version == 2 and features:
            try:
                features = keypoints.upgrade_v2(features)
            except ValueError as err:
                raise FingerprintFormatError(f"damaged local features: {err}") from None
        return cls(phash=payload[:PHASH_BYTES], local=features)


def fingerprint(data: bytes) -> Fingerprint:
    """Fingerprint an image seen on the wire: hash, local features, and the photo inside its frame if any. Raises ImageError."""
    img = open_image(data, reduce_to=SEEN_LOCAL_DECODE_SIDE, grey=True)
    full_width, full_height = upright_size(data)
    whole_box = (0.0, 0.0, float(full_width), float(full_height))
    if min(img.size) < LOCAL_MIN_SIDE_SEEN:
        return Fingerprint(phash=_phash(img), box=whole_box)
    gray = np.asarray(img)
    picture = _working(gray)
    extracted = keypoints.described(picture, keypoints.SEEN_FEATURES, keypoints.SEEN_FAST_THRESHOLD)
    features = keypoints.pack(extracted)
    seen_avatar = SeenAvatar(gray) if avatar.is_profile_sized(full_width, full_height) else None
    box = framed_box(gray)
    parts = _parts(data, gray, full_width, full_height, box)
    zoom = partial(zoomed, data, gray, extracted.width / gray.shape[1], full_width, full_height)
    framed = None if box is None else _part(gray, box, full_width / img.width, full_height / img.height)
    return Fingerprint(phash=_phash(img), local=features, framed=framed, box=whole_box, parts=parts, picture=picture,
                       avatar=seen_avatar, zoom=zoom)


def _working(gray: np.ndarray) -> np.ndarray:
    """A seen picture at the scale its keypoints are taken at (`keypoints.working_picture`, twice).

    Twice, because the matcher's figures were measured so: the picture was scaled here, then
    again inside `keypoints.extract`, so one under about 170 px on its short side is enlarged
    up to MAX_UPSCALE twice over (a 100-px picture to 360 px). Both steps now happen here, so
    that `Fingerprint.picture` is the very picture its keypoints were taken on: the checks that
    look at its pixels (`proxy.engine.screen`) place the keypoints on it without rescaling."""
    once = keypoints.working_picture(gray, keypoints.LOCAL_SIDE, keypoints.LOCAL_MAX_SIDE, keypoints.MAX_UPSCALE)
    return keypoints.working_picture(once, keypoints.LOCAL_SIDE, keypoints.LOCAL_MAX_SIDE, keypoints.MAX_UPSCALE)


def _part(gray: np.ndarray, box: tuple[int, int, int, int], scale_x: float, scale_y: float) -> Fingerprint:
    """The fingerprint of the picture in `box` of `gray` (hash and keypoints), and where it lies in
    the image as received (`gray`'s pixels are `scale_x` × `scale_y` of the image's)."""
    left, top, right, bottom = box
    crop = gray[top:bottom, left:right]
    picture = _working(crop)
    return Fingerprint(
        phash=_phash(Image.fromarray(crop)),
        local=keypoints.pack(keypoints.described(picture, keypoints.SEEN_FEATURES, keypoints.SEEN_FAST_THRESHOLD)),
        box=(left * scale_x, top * scale_y, right * scale_x, bottom * scale_y),
        picture=picture,
    )


def _parts(data: bytes, gray: np.ndarray, full_width: int, full_height: int,
           framed: tuple[int, int, int, int] | None) -> tuple[Fingerprint, ...]:
    """The photos of a collage, each fingerprinted at about PART_SIDE on its short side (decoded
    again, finer, if need be); none for an ordinary image. `framed`: the photo's box inside the
    image's frame, if it has one (`collage.tiles`)."""
    boxes = collage.tiles(gray, framed)
    if not boxes:
        return ()
    return _fingerprinted(data, gray, full_width, full_height, boxes)


def zoomed(data: bytes, gray: np.ndarray, scale: float, full_width: int, full_height: int,
           box: tuple[float, float, float, float]) -> Fingerprint:
    """The fingerprint of the part of a seen image in `box`, given on its keypoints' scale (`scale`
    times `gray`'s): at about PART_SIDE on its short side, decoded again, finer, if need be, as a
    collage's photos are."""
    height, width = gray.shape
    left, top, right, bottom = (v / scale for v in box)
    left, top = min(max(0, round(left)), width - 1), min(max(0, round(top)), height - 1)
    inside = (left, top, max(left + 1, min(width, round(right))), max(top + 1, min(height, round(bottom))))
    return _fingerprinted(data, gray, full_width, full_height, [inside])[0]


def _fingerprinted(data: bytes, gray: np.ndarray, full_width: int, full_height: int,
                   boxes: list[tuple[int, int, int, int]]) -> tuple[Fingerprint, ...]:
    """The fingerprint of each box of `gray`, each at about PART_SIDE on its short side (decoded again,
    finer, if need be)."""
    scale = full_width / gray.shape[1]
    smallest = min(min(right - left, bottom - top) for left, top, right, bottom in boxes) * scale
    wanted = min(min(full_width, full_height), math.ceil(min(full_width, full_height) * PART_SIDE / smallest))
    if wanted > min(gray.shape):
        gray = np.asarray(open_image(data, reduce_to=wanted, grey=True))
    finer = gray.shape[1] / (full_width / scale)  # the new decode's pixels per pixel of the first
    sized = [tuple(round(v * finer) for v in box) for box in boxes]
    return tuple(_part(gray, box, full_width / gray.shape[1], full_height / gray.shape[0]) for box in sized)


def global_fingerprint(data: bytes) -> Fingerprint:
    """The global hash alone, decoded at the smallest useful scale (v1's fast path). Raises ImageError."""
    return fingerprint_image(open_image(data, reduce_to=SEEN_DECODE_SIDE))


def enrollment_views(data: bytes) -> list[tuple[str, Fingerprint]]:
    """Fingerprint a photo to protect as the views a platform makes of it, each named
    (`protected_views` of `protected_picture`). Raises ImageError, "too small" below MIN_SIDE px."""
    return protected_views(protected_picture(data))


def protected_picture(data: bytes) -> Image.Image:
    """A photo to protect, decoded as enrolment looks at it: upright RGB, its short side at least
    ENROL_DECODE_SIDE (or whole when smaller), within the limits of a protected photo
    (`images.PROTECTED`). Raises ImageError."""
    return open_image(data, reduce_to=ENROL_DECODE_SIDE, min_side=MIN_SIDE, limits=PROTECTED)


def protected_views(img: Image.Image) -> list[tuple[str, Fingerprint]]:
    """The views of a decoded photo to protect: "original" and "mirror" (both with local
    features), then each platform crop ("crop 4:5") and its mirror ("crop 4:5 mirror"), then
    "avatar" (keypoints at the scale of a profile picture cropped from the photo: `avatar_view`)."""
    views = []
    for name, view in platform_views(img):
        if name in ("original", "mirror"):
            views.append((name, Fingerprint(phash=_phash(view), local=keypoints.pack(keypoints.extract(view, keypoints.ENROL_FEATURES)))))
        else:
            views.append((name, fingerprint_image(view)))
    views.append((avatar.AVATAR_VIEW, avatar_view(img)))
    return views


def avatar_view(img: Image.Image) -> Fingerprint:
    """A protected photo's "avatar" view: its hash, and its keypoints and fine thumbnail at the
    scale of a profile picture cropped from it (`proxy.engine.avatar`; the matcher searches them only for
    images the size and shape of a profile picture, and never by the hash). Also made, for photos
    enrolled before it existed, from the thumbnail the store kept (see server/store/migrations.py)."""
    return Fingerprint(phash=_phash(img), local=keypoints.pack(avatar.enrolled_features(img)))


def with_local_features(fp: Fingerprint, view: Image.Image) -> Fingerprint:
    """`fp` with the local features of `view` added: for rows enrolled before version 2, from
    the only picture the store kept of the photo, its thumbnail (see server/store/migrations.py, `_add_local_features`)."""
    return Fingerprint(phash=fp.phash, local=keypoints.pack(keypoints.extract(view, keypoints.ENROL_FEATURES)))


def framed_box(gray: np.ndarray) -> tuple[int, int, int, int] | None:
    """The photo's box inside a framed image, on `gray`'s scale, found on a reduced copy."""
    step = max(1, min(gray.shape) // FRAME_SEARCH_SIDE)
    box = photo_box(gray[::step, ::step])
    if box is None:
        return None
    height, width = gray.shape
    left, top, right, bottom = (value * step for value in box)
    return left, top, min(right, width), min(bottom, height)


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
    """The global hash of an already decoded image (no local features)."""
    return Fingerprint(phash=_phash(img))


def _phash(img: Image.Image) -> bytes:
    # The hash looks at a 64-px square: shrink large pictures by whole blocks first (cheap),
    # so that its resize does not filter half a million pixels.
    factor = min(img.size) // (2 * PHASH_HASH_INPUT)
    if factor >= 2:
        img = img.reduce(factor)
    pixels = np.asarray(img.convert("L").resize((PHASH_HASH_INPUT, PHASH_HASH_INPUT), Image.Resampling.LANCZOS), np.float64)
    low = _DCT_LOW @ pixels @ _DCT_LOW.T
    bits = low > np.median(low)  # PHASH_SIZE×PHASH_SIZE booleans
    return np.packbits(bits.reshape(-1)).tobytes()
