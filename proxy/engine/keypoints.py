"""Local features: what lets the matcher see a protected photo through a crop, a sticker, a tilt or a phone screenshot.

A global hash sees the whole frame, so anything added around the photo (a caption, a
story's blurred background, a feed's buttons) or taken away from it (an off-centre crop)
makes a copy look like a stranger. Keypoints do not care about the frame: a few hundred
ORB corners, each with a 256-bit binary descriptor, are taken of every protected photo
(and its mirror) at enrolment, and of every image seen.

Searching them has four steps, all in `LocalIndex.search`:

1. **Votes** from an inverted index: each descriptor is bucketed under a few keys, each
   key a fixed random sample of its bits (locality-sensitive hashing for the Hamming
   distance). A descriptor of the seen image votes for every enrolled view that has a
   descriptor in one of its buckets. The cost is a few sorted-array look-ups per
   descriptor, whatever the number of protected photos.
2. **Geometric verification** of the views with the most votes only (and of the one whose
   descriptors met the seen ones most closely, in several tables each as a copy's twins
   do: `CLOSENESS`): their descriptors
   are matched one to one (nearest neighbour, ratio test), and a similarity transform
   (shift, scale, rotation) is fitted with RANSAC. A copy has dozens of matches that
   agree on one transform; a stranger's photo — even dressed in the same feed, caption
   or story as a copy — has a handful that agree on nothing.
3. **Photometric verification** of that transform: the seen picture, resampled onto the
   enrolled one through it, must look like it (correlation of gradients on 45-px grey
   thumbnails). Another photo taken at the same place — same wall, same window, other
   people — can share a score of keypoints with a protected one; it does not share its
   picture.
4. **A copy, not a place** (`Verification.is_copy`): an edit crops, scales, turns and
   mirrors a photo as one piece, and leaves its pixels as they were except where it
   covers them. So the inliers must not drift from the similarity region by region
   (`drift`: parallax), the matches it leaves out must not agree on a second motion of
   their own (`second_motion`: a near layer, or a person, that moved), and the two
   pictures must agree almost perfectly in most of their cells (`cell_agreement`: other
   light, other people, another perspective). Each measure is taken on the two or three
   candidates an image has, never on every image.

Pure numpy and OpenCV; no I/O. `extract` takes an enrolled photo's keypoints, `described` a
seen picture's (already at the working scale) in the fingerprint worker processes;
`LocalIndex.search` runs in the matcher.
"""

from __future__ import annotations

import struct
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import faiss
import numpy as np
from PIL import Image

# OpenCV's loader inserts its own folder into the sys.path list, then swaps in a clean copy
# of the list instead of removing it. A caller holding the old list and restoring it
# later (mitmproxy does, around loading a `-s` script) puts that folder back on the path,
# and `spawn` worker processes, which inherit the path, then find OpenCV's `typing`
# package before Python's own and die on start. Keep the old list clean.
_PATH_LIST, _PATH_ENTRIES = sys.path, list(sys.path)
import cv2  # noqa: E402 — after saving the path, on purpose (see above)

_PATH_LIST[:] = _PATH_ENTRIES

cv2.setNumThreads(1)  # one image, one core: the proxy spreads images over processes instead
# faiss finds the two nearest enrolled descriptors of each seen one five times faster than
# OpenCV's batchDistance (0.17 ms against 0.93 for 400 × 300 descriptors on the benchmark's
# machine: a popcount kernel made for binary codes, where OpenCV calls a general norm per
# pair), with the same answers, ties included (the lower row first).
faiss.omp_set_num_threads(1)

# Both a seen image and a protected photo are scaled so that their short side is this
# many pixels before their keypoints are taken. A phone screenshot (1080 × 2340) then
# shows its photo about 360 px wide, about the size the protected photo was described at,
# well within ORB's 8-level pyramid (1.2^7 ≈ 3.6 × scale either way). Larger costs more
# for every image; smaller loses the corners of photos seen at half resolution.
LOCAL_SIDE = 360
# Very elongated images (a whole scrolled page) are capped on their long side.
LOCAL_MAX_SIDE = 800
# Smaller pictures are enlarged towards LOCAL_SIDE, by at most this factor.
MAX_UPSCALE = 2.0
# A picture within this share of LOCAL_SIDE is kept as it is: resampling a 540 × 361 decode to
# 538 × 360 costs as much as a sixth of the keypoints themselves and changes nothing ORB sees.
SCALE_SLACK = 0.05
# The grey thumbnail kept for the photometric check is this many times smaller (each of its
# pixels the mean of a THUMB_FACTOR-px square of the picture).
THUMB_FACTOR = 8
# Keypoints kept (the strongest corners, Harris score): per protected view, and per image
# seen. An image seen may hold a feed's text and icons besides the photo, so it keeps more.
ENROL_FEATURES = 300
SEEN_FEATURES = 400
DESCRIPTOR_BYTES = 32  # ORB: 256 bits
# FAST's corner threshold (grey levels): low for protected photos, so that a dull or dark
# one still yields its 300 corners (enrolment happens once); for images seen, half again
# OpenCV's default of 20: a fifth cheaper than it, and the same copies found on the dev
# corpus (benchmarks/matcher.py; the strongest corners, which both keep, are the ones that
# match).
ENROL_FAST_THRESHOLD = 12
SEEN_FAST_THRESHOLD = 30

# The inverted index: LSH_TABLES keys per descriptor, each made of LSH_KEY_BITS bits of it
# drawn at random once (a fixed seed: the same on every machine and every run). A
# descriptor of a copy is typically 20–50 bits from its enrolled twin; with 18-bit keys it
# shares at least one of 8 keys with it 30–85 % of the time, while an unrelated pair
# shares one about once in 30,000 tries.
LSH_TABLES = 8
LSH_KEY_BITS = 18
# ORB descriptors are far from uniform: a few buckets (plain edges, blur) hold thousands
# of descriptors. Such a bucket says next to nothing about which photo this is, yet would
# cost as much as all the others: buckets larger than this are skipped.
MAX_BUCKET = 64
# A hit in a bucket of `size` descriptors weighs min(1, chance / size), `chance` being how many
# descriptors a bucket holds on average (at least 1; `LocalIndex.chance`). In a small album
# (100 photos: 0.2 a bucket) that is 1/size, a bucket's hits sharing one vote. In a large one,
# buckets fill up with chance neighbours (23 a bucket with 10,000 photos), and a hit in a bucket
# no fuller than that counts whole: with 1/size there, one chance hit in a rare bucket (a whole
# vote) outweighed a copy's 21 hits in buckets of 5 to 62 (0.9 votes), and a 78 % crop ranked its
# photo 20th. (log(128 / size), the idf of text search, ranked as well at 10,000 but, at 100
# photos, let strangers' pictures around a pasted photo outvote it: 15 of the matcher
# benchmark's 8,700 copies lost; 1 / sqrt(size), 7.)
_LSH_SEED = 20261125

# Photos verified geometrically for each image seen: those with the most votes, each by
# its best-voted view. Counted in photos, not views: a photo and its mirror share most of
# their descriptors' buckets, so a busy photo (text, foliage) often holds both top places
# and would crowd out the copy's own photo, found third.
VERIFY_CANDIDATES = 2
# Views looked at to find those photos (a photo has two views with keypoints).
_SHORTLIST = 8
# Among those views, one more photo is verified when its view met the seen descriptors most closely
# and it is not one of the VERIFY_CANDIDATES: each seen descriptor adds the weight of its hits in
# the view to this power (`Ballots.closeness`). A descriptor of a copy lies a few bits from its
# twin and often shares a bucket with it in two, three, five of the LSH_TABLES; a chance
# neighbour shares one. With many photos enrolled, chance hits pile up: at 10,000 (the scale
# benchmark's album: crops and flips of 500 scenes, 20 photos of each), a copy of a photo under a
# sticker got 13.9 votes from 9 of its descriptors (two of them in 4 and 5 tables), two crops of
# one scene 15.1 and 14.8 from 12 and 11 descriptors in one or two tables each: its photo came
# third by votes, and is the closest. Closeness alone, in place of the votes, lost what votes
# find: soft photos of a screen, whose perspective leaves their twins few tables each, and a
# photo whose mirror view met closer than the view that is its copy. At 1.5 the extra photo is
# verified for about one image in five that matches nothing (0.6 ms each); at 2, one in three,
# for one more copy of 2,428 found at 10,000 (a soft photo of a screen); 1.25 found the same as 1.5.
# (Verifying a third photo whenever its votes came within 10 % of the second's would verify one
# for 93 % of the strangers' pictures at 10,000; weighing a hit by 1 / its bucket's size lost
# 3 copies there.)
CLOSENESS = 1.5
# Fewer votes than this and a view is not worth verifying.
MIN_VOTES = 1.0
# Lowe's ratio test: a match is kept when its nearest enrolled descriptor is clearly
# nearer than the second nearest (distance below this share of the second's).
RATIO = 0.8
# RANSAC: a match agrees with the fitted similarity when it lands within this many pixels
# (on the LOCAL_SIDE scale of the protected photo) of where the transform sends it.
REPROJECTION_PX = 4.0
# A similarity transform of a copy scales the photo by at most this much either way (a
# 320-px copy of a photo described at 360 px, a crop of a quarter of it) and turns it by
# at most MAX_ROTATION_DEG (photo editors' straighten tool goes to 45°).
MAX_SCALE = 6.0
MAX_ROTATION_DEG = 45.0
# The photometric check needs the seen picture to cover at least this share of the
# enrolled one (an off-centre crop keeping 70 % of each side covers 49 %).
MIN_OVERLAP = 0.3

# --- a copy, not a place (`Verification.is_copy`) ----------------------------------------
# Measured on the dev corpus (`../shared/datasets/dev`): 40 protected photos, each through
# the 44 transforms of benchmarks/transforms.py at their own size and upscaled (3,520
# copies), against the 362 pairs of different photographs of one place
# (`same-place/sacre-coeur`, `same-place/desk-video`), each verified as the matcher does.
#
# Drift: the inliers' residuals averaged over each one and its DRIFT_NEIGHBOURS nearest
# (see `drift`). Copies through every edit stayed at or below 0.61 px; the frames of a
# hand-held video one second apart, whose many inliers fit a similarity to 1.5 px but
# whose chairs move against the wall behind them, drifted 0.92 px and more (every pair
# with 40 inliers or more but three drifted above 0.75). Hence 0.75: 0.14 px above the
# worst copy, 0.17 below the closest frame with many inliers; the places that drift less
# are those with few inliers, which the cells below turn away.
DRIFT_NEIGHBOURS = 8
MAX_DRIFT_PX = 0.75
# A second motion: the matches the similarity sends more than SECOND_MOTION_GAP px (twice
# RANSAC's tolerance) from their twins, fitted again (RANSAC, same tolerance). A copy's
# far-off matches are mistakes that agree on nothing: of 1,760 copies (20 photos, every
# transform, both sizes), at most 6 ever agreed on a second similarity by chance (with a
# gap of 6 to 16 px alike; without a gap, keypoints of coarse pyramid levels a few pixels
# off the first fit make up "second motions" of up to 34 next to it). Another photograph
# shows near and far things, or people, that moved differently from the rest: 27 of the 95
# pairs of the same-place folders with 9 inliers or more had a second motion of 11 or more
# (up to 48), and a foreground layer moved against its background
# (tests/proxy/engine/test_same_place.py) as many as it has corners. An edit never moves one part
# of a photo against another: a copy may have at most MAX_SECOND_MOTION, 4 above the worst.
MAX_SECOND_MOTION = 10
SECOND_MOTION_GAP = 2 * REPROJECTION_PX
# Cells: the enrolled thumbnail in CELL_PX-square cells (40 px of the LOCAL_SIDE picture).
# A cell counts when the enrolled picture has texture there (RMS gradient at least
# CELL_TEXTURE grey levels: skies and walls say nothing) and the seen picture covers it;
# in each, the gradients of the two aligned pictures are correlated. A copy reproduces
# its photo, so most cells correlate almost perfectly (an edit may cover some: a caption
# bar, stickers); another photograph of the same place matches the same stones with
# other light, another perspective and other people, never that closely. The test is on
# the cell at the CELL_QUANTILE share of them, from the worst: that cell, and so more
# than two in five, must correlate by MIN_AGREEMENT or more (`cell_agreement`). Of
# 3,509 copies through every edit, at their own size and upscaled, the weakest reached
# 0.970 (stickers and story); of the pairs of photographs of one place whose inliers
# did not drift, the closest reached 0.934 (the Sacré-Cœur from two spots a few metres
# apart). In decorrelation (1 - r): 3 % at most for a copy, 6.6 % at least for a place.
# 0.955 sits between (1.5 points from the copies, 2.1 from the places); stickers may
# hide up to half the cells before a copy fails. The full benchmark (8,800 copies of 100
# photos, benchmarks/results/matcher.md) then found one copy below it, at 0.952: a 6°
# tilt of a brick wall, whose fine, repeated texture decorrelates at 45-px thumbnails; it
# is reported as a miss rather than the threshold moved to the data it was tested on.
CELL_PX = 5
CELL_TEXTURE = 6.0
CELL_QUANTILE = 0.55
MIN_AGREEMENT = 0.955


@dataclass(frozen=True, eq=False)
class Features:
    """What the local stage keeps of one picture.

    `points` (n × 2 float32) and `descriptors` (n × 32 uint8): its ORB keypoints, placed on
    the picture scaled to LOCAL_SIDE, whose size is `width` × `height`. `thumb`: that
    picture's grey levels at 1/THUMB_FACTOR scale (45 px on the short side), for the
    photometric check of a geometric match: no more than the review page's thumbnail of
    a protected photo already shows, and far less.
    """

    points: np.ndarray
    descriptors: np.ndarray
    width: int
    height: int
    thumb: np.ndarray

    def __len__(self) -> int:
        return len(self.descriptors)


EMPTY = Features(np.zeros((0, 2), np.float32), np.zeros((0, DESCRIPTOR_BYTES), np.uint8), 0, 0, np.zeros((0, 0), np.uint8))


def extract(img: Image.Image | np.ndarray, max_features: int, fast_threshold: int = ENROL_FAST_THRESHOLD) -> Features:
    """The strongest `max_features` ORB keypoints of `img` (a picture, or its grey levels), scaled to LOCAL_SIDE."""
    gray = img if isinstance(img, np.ndarray) else np.asarray(img.convert("L"))
    if min(gray.shape) < 8:
        return EMPTY
    return described(working_picture(gray, LOCAL_SIDE, LOCAL_MAX_SIDE, MAX_UPSCALE), max_features, fast_threshold)


def described(gray: np.ndarray, max_features: int, fast_threshold: int = ENROL_FAST_THRESHOLD) -> Features:
    """The strongest `max_features` ORB keypoints of a grey picture at the scale they are kept at (not scaled)."""
    height, width = gray.shape
    thumb = thumbnail(gray, THUMB_FACTOR)
    orb = cv2.ORB.create(nfeatures=max_features, scaleFactor=1.2, nlevels=8, fastThreshold=fast_threshold)
    keypoints, descriptors = orb.detectAndCompute(gray, None)
    if descriptors is None or not keypoints:
        return Features(EMPTY.points, EMPTY.descriptors, width, height, thumb)
    points = np.array([kp.pt for kp in keypoints], dtype=np.float32)
    return Features(points, descriptors.astype(np.uint8), width, height, thumb)


def working_picture(gray: np.ndarray, side: int, max_side: int, max_upscale: float) -> np.ndarray:
    """`gray` scaled so that its short side is `side` px (its long side at most `max_side`),
    enlarged by at most `max_upscale`; kept as it is within SCALE_SLACK of that."""
    height, width = gray.shape
    scale = min(side / min(width, height), max_side / max(width, height), max_upscale)
    if scale < 1 - SCALE_SLACK:
        return cv2.resize(gray, (max(1, round(width * scale)), max(1, round(height * scale))), interpolation=cv2.INTER_AREA)
    if scale > 1 + SCALE_SLACK:
        # Small pictures are enlarged, so that a copy served larger meets its original at a
        # similar scale: ORB's pyramid only looks at smaller versions of each.
        return cv2.resize(gray, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_LINEAR)
    return gray


def thumbnail(gray: np.ndarray, factor: int) -> np.ndarray:
    """`gray` at 1/`factor` scale, each pixel the mean of one `factor`-px square."""
    height, width = gray.shape
    # The picture is trimmed to whole squares (a few pixels at its right and bottom edges),
    # which lets OpenCV take its integer-factor path, ten times cheaper than an area resize
    # by an odd factor.
    thumb_width, thumb_height = max(1, width // factor), max(1, height // factor)
    return cv2.resize(gray[: thumb_height * factor, : thumb_width * factor], (thumb_width, thumb_height), interpolation=cv2.INTER_AREA)


# Header: keypoints, width, height, thumbnail width, thumbnail height, each an unsigned 16-bit
# number; positions are quarter-pixels in 16 bits too, so a picture up to 16,383 px a side fits
# (working pictures are at most LOCAL_MAX_SIDE, or avatar.AVATAR_MAX_SIDE, plus SCALE_SLACK).
_HEADER = struct.Struct("<HHHHH")
_MAX_SIDE = 65535 // 4
# Fingerprints of version 2 kept the thumbnail's sides in one byte each, which the finer
# thumbnail of a wide photo's avatar view outgrew (a 1045 × 588 photo: 261 px). Still read
# (`upgrade_v2`), never written.
_HEADER_V2 = struct.Struct("<HHHBB")


def pack(features: Features) -> bytes:
    """A small header, positions as uint16 quarter-pixels, descriptors, then the thumbnail.
    ValueError (never a struct error) for a picture larger than the layout holds."""
    thumb_height, thumb_width = features.thumb.shape
    if not (0 <= features.width <= _MAX_SIDE and 0 <= features.height <= _MAX_SIDE and len(features) <= 65535):
        raise ValueError(f"local features of a {features.width} × {features.height} picture with "
                         f"{len(features)} keypoints do not fit the stored layout")
    quarter = np.clip(np.round(features.points * 4), 0, 65535).astype("<u2")
    header = _HEADER.pack(len(features), features.width, features.height, thumb_width, thumb_height)
    return header + quarter.tobytes() + features.descriptors.tobytes() + features.thumb.tobytes()


def unpack(data: bytes) -> Features:
    """Read what `pack` wrote; ValueError if the bytes do not add up."""
    count, width, height, thumb_width, thumb_height = _read_header(_HEADER, data)
    offset = _HEADER.size
    points = np.frombuffer(data, dtype="<u2", count=count * 2, offset=offset).reshape(count, 2).astype(np.float32) / 4
    offset += count * 4
    descriptors = np.frombuffer(data, dtype=np.uint8, count=count * DESCRIPTOR_BYTES, offset=offset).reshape(count, DESCRIPTOR_BYTES)
    offset += count * DESCRIPTOR_BYTES
    thumb = np.frombuffer(data, dtype=np.uint8, offset=offset).reshape(thumb_height, thumb_width)
    return Features(points, descriptors, width, height, thumb)


def upgrade_v2(data: bytes) -> bytes:
    """Local features as fingerprint version 2 packed them, in today's layout (only the header
    differs); ValueError if the bytes do not add up."""
    fields = _read_header(_HEADER_V2, data)
    return _HEADER.pack(*fields) + data[_HEADER_V2.size :]


def _read_header(header: struct.Struct, data: bytes) -> tuple[int, int, int, int, int]:
    """The header's fields, checked against the length of `data`."""
    if len(data) < header.size:
        raise ValueError("local features too short for their header")
    count, width, height, thumb_width, thumb_height = header.unpack_from(data)
    expected = header.size + count * (4 + DESCRIPTOR_BYTES) + thumb_width * thumb_height
    if len(data) != expected:
        raise ValueError(f"local features of {count} keypoints take {expected} bytes, not {len(data)}")
    return count, width, height, thumb_width, thumb_height


def _lsh_bits() -> np.ndarray:
    rng = np.random.default_rng(_LSH_SEED)
    return np.stack([rng.choice(DESCRIPTOR_BYTES * 8, LSH_KEY_BITS, replace=False) for _ in range(LSH_TABLES)])


_BITS = _lsh_bits()  # LSH_TABLES × LSH_KEY_BITS bit positions
_WEIGHTS = (1 << np.arange(LSH_KEY_BITS)).astype(np.int64)


def lsh_keys(descriptors: np.ndarray) -> np.ndarray:
    """LSH_TABLES keys for each descriptor: n × LSH_TABLES int64."""
    bits = np.unpackbits(descriptors, axis=1)  # n × 256
    return np.stack([bits[:, table] @ _WEIGHTS for table in _BITS], axis=1)


@dataclass(frozen=True, eq=False)
class Verification:
    """What `verify` found of a seen picture against an enrolled one.

    `inliers`: one-to-one matches that agree with the fitted similarity `transform` (2 × 3,
    seen picture → enrolled picture, both on their LOCAL_SIDE scale; None if none fits).
    The rest is only measured when enough agree (otherwise -1 / 0): `correlation` of the two
    pictures' gradients once aligned (-1 to 1), `drift` of the inliers away from the
    similarity (px, see `drift`), `agreement`, how closely the two pictures agree cell
    by cell (-1 to 1, see `cell_agreement`), and `second_motion`, how many of the other
    matches agree on a second similarity of their own (see MAX_SECOND_MOTION). `matches`: the
    one-to-one matches the similarity was fitted to (`matches`), inliers or not.
    """

    inliers: int
    correlation: float
    transform: np.ndarray | None
    drift: float = 0.0
    agreement: float = -1.0
    second_motion: int = 0
    matches: int = 0

    def is_copy(self, rules: Sequence[tuple[int, float]]) -> bool:
        """Whether this is the same photograph: enough inliers that correlate (one of `rules`),
        held together by the similarity alone (no parallax, no second motion), and the
        pictures alike cell by cell, as only a copy is (`cell_agreement`)."""
        return (
            any(self.inliers >= need and self.correlation >= alike for need, alike in rules)
            and self.drift <= MAX_DRIFT_PX
            and self.agreement >= MIN_AGREEMENT
            and self.second_motion <= MAX_SECOND_MOTION
        )


NO_FIT = Verification(0, -1.0, None)


@dataclass(frozen=True, eq=False)
class LocalMatch:
    row: int  # the index of the view, in the order given to LocalIndex
    inliers: int  # matches that agree with the fitted similarity
    correlation: float  # of the two pictures' grey levels, once aligned by it (-1 to 1)
    votes: float
    transform: np.ndarray | None  # 2 × 3, seen picture → the view's picture (LOCAL_SIDE scale)
    # For a copy seen under a perspective (proxy.engine.screen): the view's corners in the seen
    # picture, clockwise from its top-left, in place of `transform`.
    corners: np.ndarray | None = None


# Every table's keys, one after the other: a bucket is t × 2^LSH_KEY_BITS + key.
BUCKETS = LSH_TABLES << LSH_KEY_BITS


def bucket_ids(descriptors: np.ndarray) -> np.ndarray:
    """The LSH_TABLES buckets of each descriptor: n × LSH_TABLES."""
    return lsh_keys(descriptors) + (np.arange(LSH_TABLES, dtype=np.int64) << LSH_KEY_BITS)


def postings(descriptors: np.ndarray, starts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The inverted index of some views' descriptors (view v's are descriptors[starts[v]:starts[v + 1]]):
    the views of the descriptors in bucket b are owners[offsets[b]:offsets[b + 1]]."""
    owner = np.repeat(np.arange(len(starts) - 1, dtype=np.int32), np.diff(starts))
    offsets = np.zeros(BUCKETS + 1, np.int64)
    if owner.size == 0:
        return offsets.astype(np.int32), np.zeros(0, np.int32)
    keys = bucket_ids(descriptors).reshape(-1)  # descriptor-major: each descriptor's tables in turn
    order = np.argsort(keys, kind="stable")
    np.cumsum(np.bincount(keys, minlength=BUCKETS), out=offsets[1:])
    return offsets.astype(np.int32) if offsets[-1] < 2**31 else offsets, np.repeat(owner, LSH_TABLES)[order]


@dataclass(frozen=True, eq=False)
class Postings:
    """One part of the inverted index (a segment's): its bucket offsets and owners, its views
    numbered from `first` among all the parts'."""

    offsets: np.ndarray
    owners: np.ndarray
    first: int


class LocalIndex:
    """The keypoints of every enrolled view: bucketed for voting (in one or more parts, the
    index's segments: `Postings`), each view's features read for verification (`view_of`)."""

    def __init__(self, parts: Sequence[Postings], photos: np.ndarray, view_of: Callable[[int], Features],
                 alive: np.ndarray | None = None) -> None:
        """`photos`: the photo of each view, all parts' in order; `alive`: whether each view may be
        a match (a forgotten photo's views stay in their part until it is written again)."""
        self._parts = list(parts)
        self._photos = np.asarray(photos, dtype=np.int64)
        self._view_count = len(self._photos)
        self._view_of = view_of
        self._alive = alive
        # How many descriptors a bucket holds on average, at least 1 (see MAX_BUCKET).
        self.chance = max(1.0, sum(len(part.owners) for part in self._parts) / BUCKETS)

    @classmethod
    def of(cls, views: Sequence[Features], photos: Sequence[int] | None = None) -> LocalIndex:
        """An index of `views` held in memory; `photos`: the photo each belongs to (by default,
        each view its own photo)."""
        views = list(views)
        starts = np.zeros(len(views) + 1, np.int64)
        np.cumsum([len(v) for v in views], out=starts[1:])
        descriptors = np.concatenate([v.descriptors for v in views]) if views else np.zeros((0, DESCRIPTOR_BYTES), np.uint8)
        photo_of = np.asarray(photos if photos is not None else range(len(views)), dtype=np.int64)
        if len(photo_of) != len(views):
            raise ValueError("one photo for each view")
        return cls([Postings(*postings(descriptors, starts), 0)], photo_of, views.__getitem__)

    def __len__(self) -> int:
        return self._view_count

    def votes(self, features: Features) -> np.ndarray:
        """For each view, the weight of each bucket one of `features`' descriptors shares with one of its descriptors (MAX_BUCKET)."""
        return self.ballots(features)[0]

    def ballots(self, features: Features) -> tuple[np.ndarray, Ballots]:
        """The votes (`votes`), and every hit they were counted from (`Ballots`)."""
        votes = np.zeros(self._view_count, dtype=np.float64)
        ballots = Ballots(len(features), [])
        if len(features) == 0 or self._view_count == 0:
            return votes, ballots
        buckets = bucket_ids(features.descriptors).reshape(-1)
        lefts = [part.offsets[buckets].astype(np.int64) for part in self._parts]
        counts = [part.offsets[buckets + 1] - left for part, left in zip(self._parts, lefts)]
        # A bucket's size is counted over every part, as one index would count it.
        sizes = np.sum(counts, axis=0)
        skipped = sizes > MAX_BUCKET
        for part, left, count in zip(self._parts, lefts, counts):
            count = np.where(skipped, 0, count)
            ends = np.cumsum(count)
            total = int(ends[-1])
            if total == 0:
                continue
            # Every index in [left, left + count) of every bucket, without a Python loop.
            positions = np.repeat(left - ends + count, count) + np.arange(total, dtype=np.int64)
            # A bucket fuller than chance (a plain edge, a blur) says less about which photo
            # this is than a rare one: its hits share their weight (see MAX_BUCKET).
            weights = np.repeat(np.minimum(1.0, self.chance / np.maximum(sizes, 1)), count)
            views = part.owners[positions] + part.first
            votes += np.bincount(views, weights=weights, minlength=self._view_count)
            ballots.parts.append((views, weights, ends))
        if self._alive is not None:
            votes[~self._alive] = 0.0
        return votes, ballots

    def search(self, features: Features, rules: Sequence[tuple[int, float]],
               otherwise: Callable[[int, Verification], LocalMatch | None] | None = None) -> LocalMatch | None:
        """The enrolled view `features` is a copy of, verified geometrically and photometrically, or None.

        `rules`: (least inliers, least correlation) pairs; a view is a copy when it meets one of
        them and passes the same-photograph checks (`Verification.is_copy`). `otherwise`: asked,
        for a candidate that is not, whether it is a copy some other way (`proxy.engine.screen`).
        """
        least = min(inliers for inliers, _ in rules)
        if len(features) < least or self._view_count == 0:
            return None
        votes, ballots = self.ballots(features)
        best: LocalMatch | None = None
        for row in self.candidates(votes, ballots):
            if votes[row] < MIN_VOTES:
                break
            found = verify(features, self.view(row), least)
            candidate: LocalMatch | None
            if found.is_copy(rules):
                candidate = LocalMatch(int(row), found.inliers, found.correlation, float(votes[row]), found.transform)
            else:
                candidate = otherwise(int(row), found) if otherwise is not None else None
            if candidate is not None and (best is None or candidate.inliers > best.inliers):
                best = candidate
        return best

    def view(self, row: int) -> Features:
        """The features of the view at `row`, in the parts' order."""
        return self._view_of(row)

    def photo(self, row: int) -> int:
        return int(self._photos[row])

    def candidates(self, votes: np.ndarray, ballots: Ballots | None = None) -> list[int]:
        """The best-voted view of each of the VERIFY_CANDIDATES photos with the most votes, best first;
        given the `ballots` the votes were counted from, then the view among the _SHORTLIST with the
        most votes whose descriptors met the seen ones most closely (`Ballots.closeness`), when its
        photo is not one of those."""
        count = min(_SHORTLIST, self._view_count)
        shortlist = np.argpartition(-votes, count - 1)[:count]
        chosen: list[int] = []
        photos: set[int] = set()
        for row in shortlist[np.argsort(-votes[shortlist], kind="stable")]:
            photo = int(self._photos[row])
            if photo not in photos:
                photos.add(photo)
                chosen.append(int(row))
                if len(chosen) == VERIFY_CANDIDATES:
                    break
        if ballots is not None:
            closest = int(shortlist[np.argmax(ballots.closeness(shortlist, self._view_count))])
            if int(self._photos[closest]) not in photos:
                chosen.append(closest)
        return chosen


@dataclass(frozen=True, eq=False)
class Ballots:
    """Every hit a seen picture's `descriptors` descriptors were counted from, part by part of the
    index: the view each hit, its weight (see MAX_BUCKET), and where each bucket looked up ends
    among them (buckets are looked up descriptor by descriptor, LSH_TABLES each)."""

    descriptors: int
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]]

    def closeness(self, rows: np.ndarray, view_count: int) -> np.ndarray:
        """For each view of `rows`: the sum, over the seen descriptors that hit it, of the weight
        each gave it, to the power CLOSENESS (see there)."""
        slot = np.full(view_count, -1, np.int64)
        slot[rows] = np.arange(len(rows))
        # One bin for each (seen descriptor, view of `rows`).
        sums = np.zeros(self.descriptors * len(rows))
        for views, weights, ends in self.parts:
            mine = slot[views]
            hits = np.flatnonzero(mine >= 0)
            descriptor = np.searchsorted(ends, hits, side="right") // LSH_TABLES
            sums += np.bincount(descriptor * len(rows) + mine[hits], weights=weights[hits], minlength=len(sums))
        met = np.flatnonzero(sums)
        return np.bincount(met % len(rows), weights=sums[met] ** CLOSENESS, minlength=len(rows))


def verify(seen: Features, enrolled: Features, min_inliers: int = 0, *, compare: bool = True) -> Verification:
    """How `seen` lines up with `enrolled`: the one-to-one matches that agree with one similarity
    transform (seen → enrolled), and, when at least `min_inliers` agree, how the inliers hold
    together and how alike the two pictures are once aligned by it (`Verification`). With
    `compare=False` the pictures are not compared (correlation and agreement stay -1: a caller
    with checks of its own, `proxy.engine.avatar`). No transform when none fits."""
    query, train = matches(seen, enrolled)
    if query.size < 3:
        return NO_FIT
    transform, mask = cv2.estimateAffinePartial2D(
        seen.points[query], enrolled.points[train], method=cv2.RANSAC,
        ransacReprojThreshold=REPROJECTION_PX, maxIters=1000, confidence=0.995,
    )
    if transform is None or mask is None:
        return NO_FIT
    scale = float(np.hypot(transform[0, 0], transform[1, 0]))
    angle = float(np.degrees(np.arctan2(transform[1, 0], transform[0, 0])))
    if not (1 / MAX_SCALE <= scale <= MAX_SCALE) or abs(angle) > MAX_ROTATION_DEG:
        return NO_FIT
    inliers = mask.reshape(-1).astype(bool)
    count = int(inliers.sum())
    if count < max(min_inliers, 1):
        return Verification(count, -1.0, transform, matches=int(query.size))
    src, dst = seen.points[query[inliers]], enrolled.points[train[inliers]]
    return Verification(
        count,
        aligned_correlation(seen, enrolled, transform) if compare else -1.0,
        transform,
        drift=drift(src, dst, transform),
        agreement=cell_agreement(seen, enrolled, transform) if compare else -1.0,
        second_motion=second_motion(seen.points[query[~inliers]], enrolled.points[train[~inliers]], transform),
        matches=int(query.size),
    )


def matches(seen: Features, enrolled: Features) -> tuple[np.ndarray, np.ndarray]:
    """The one-to-one matches between the two pictures' keypoints, as (seen rows, enrolled rows):
    each seen descriptor's nearest enrolled one, clearly nearer than the second (RATIO), and one
    seen keypoint per enrolled one (many seen corners, a feed's text, may pick the same one)."""
    if len(seen) < 3 or len(enrolled) < 3:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    distances, nearest = two_nearest(seen.descriptors, enrolled.descriptors)
    good = distances[:, 0] < RATIO * distances[:, 1]
    query = np.flatnonzero(good)
    train = nearest[good, 0]
    if query.size == 0:
        return query, train
    order = np.lexsort((distances[good, 0], train))
    train, query = train[order], query[order]
    first = np.concatenate([[True], train[1:] != train[:-1]])
    return query[first], train[first]


def second_motion(src: np.ndarray, dst: np.ndarray, transform: np.ndarray) -> int:
    """How many of the matches that `transform` sends more than SECOND_MOTION_GAP px from their
    twins agree on a second similarity of their own (0 if fewer than 4)."""
    residuals = src @ transform[:, :2].T + transform[:, 2] - dst
    far = np.hypot(residuals[:, 0], residuals[:, 1]) > SECOND_MOTION_GAP
    src, dst = src[far], dst[far]
    if len(src) < 4:
        return 0
    transform, mask = cv2.estimateAffinePartial2D(
        src, dst, method=cv2.RANSAC, ransacReprojThreshold=REPROJECTION_PX, maxIters=500, confidence=0.99,
    )
    return int(mask.sum()) if transform is not None and mask is not None else 0


def drift(src: np.ndarray, dst: np.ndarray, transform: np.ndarray) -> float:
    """How far the inliers stray from the similarity *together*, in pixels of the LOCAL_SIDE picture.

    Each inlier's residual (where the transform sends it, minus where its twin is) is
    averaged with those of its DRIFT_NEIGHBOURS nearest inliers, and the median length of
    those local means is returned. A copy's residuals are the keypoints' own jitter, which
    points in every direction and averages away (a few tenths of a pixel); another
    photograph's residuals are parallax, that of a near thing against a far one, shared by
    every keypoint of each thing: they do not average away. 0 when too few inliers.
    """
    if len(src) < DRIFT_NEIGHBOURS + 2:
        return 0.0
    residuals = src @ transform[:, :2].T + transform[:, 2] - dst
    gaps = np.hypot(dst[:, None, 0] - dst[None, :, 0], dst[:, None, 1] - dst[None, :, 1])
    neighbours = np.argpartition(gaps, DRIFT_NEIGHBOURS, axis=1)[:, : DRIFT_NEIGHBOURS + 1]  # itself among them
    local_means = residuals[neighbours].mean(axis=1)
    return float(np.median(np.hypot(local_means[:, 0], local_means[:, 1])))


def two_nearest(queries: np.ndarray, candidates: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each query descriptor, the Hamming distances to its two nearest candidates and
    their rows (n × 2 each; a missing second neighbour has row -1 and distance 2^31 - 1)."""
    index = faiss.IndexBinaryFlat(DESCRIPTOR_BYTES * 8)
    index.add(np.ascontiguousarray(candidates))
    return index.search(np.ascontiguousarray(queries), 2)


def aligned_correlation(seen: Features, enrolled: Features, transform: np.ndarray) -> float:
    """Correlation of the enrolled thumbnail with the seen one resampled onto it through `transform` (seen → enrolled).

    Only where the seen picture covers the enrolled one counts (a crop shows part of it);
    less than MIN_OVERLAP of it covered gives -1. Gradients are compared rather than grey
    levels, so that a filter or a greyscale copy still correlates, while another photo
    of the same place (same wall, same window, another pose) does not.
    """
    aligned = _aligned_thumbs(seen, enrolled, transform)
    if aligned is None:
        return -1.0
    a, b, inside = aligned
    keep = np.repeat(inside[None], 2, axis=0)
    keep[:, :, 0] = keep[:, :, -1] = keep[:, 0, :] = keep[:, -1, :] = False  # borders of the gradient
    a, b = a[keep], b[keep]
    a, b = a - a.mean(), b - b.mean()
    norm = float(np.sqrt((a * a).sum() * (b * b).sum()))
    return float((a * b).sum() / norm) if norm > 0 else -1.0


def _aligned_thumbs(
    seen: Features, enrolled: Features, transform: np.ndarray, min_overlap: float = MIN_OVERLAP
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """The gradients of the seen thumbnail resampled onto the enrolled one, the enrolled one's, and
    where the seen picture covers it; None if the thumbnails are too small, or if it covers none
    of it or less than `min_overlap`."""
    thumb_height, thumb_width = enrolled.thumb.shape
    if thumb_height < 4 or thumb_width < 4 or seen.thumb.size == 0:
        return None
    # Each enrolled thumbnail pixel's centre, on the enrolled LOCAL_SIDE picture (a thumbnail
    # enrolled by an earlier Sentinelle spreads the whole picture over it instead of whole
    # squares: off by less than 1 %)...
    factor = _thumb_factor(enrolled)
    u, v = np.meshgrid(
        (np.arange(thumb_width, dtype=np.float32) + 0.5) * factor,
        (np.arange(thumb_height, dtype=np.float32) + 0.5) * factor,
    )
    # ... taken back to the seen picture (inverse of the similarity) ...
    inverse = cv2.invertAffineTransform(transform.astype(np.float64))
    x = inverse[0, 0] * u + inverse[0, 1] * v + inverse[0, 2]
    y = inverse[1, 0] * u + inverse[1, 1] * v + inverse[1, 2]
    # ... and on to the seen thumbnail.
    seen_height, seen_width = seen.thumb.shape
    seen_factor = _thumb_factor(seen)
    map_x = (x / seen_factor - 0.5).astype(np.float32)
    map_y = (y / seen_factor - 0.5).astype(np.float32)
    inside = (map_x >= 0) & (map_x <= seen_width - 1) & (map_y >= 0) & (map_y <= seen_height - 1)
    if not inside.any() or inside.mean() < min_overlap:
        return None
    resampled = cv2.remap(seen.thumb.astype(np.float32), map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return gradients(resampled), gradients(enrolled.thumb.astype(np.float32)), inside


def _thumb_factor(features: Features) -> int:
    """How many picture pixels a thumbnail pixel spans: THUMB_FACTOR for thumbnails taken by this
    Sentinelle, whatever it was for those stored by an earlier one (read from their sizes)."""
    return max(1, round(features.width / max(1, features.thumb.shape[1])))


def cell_agreement(seen: Features, enrolled: Features, transform: np.ndarray) -> float:
    """How closely the two aligned pictures agree, cell by cell: the correlation of their gradients
    in the cell at the CELL_QUANTILE share of the enrolled picture's textured cells that the seen
    picture covers, from the worst (see CELL_PX). -1 when fewer than four cells count."""
    correlations = cell_correlations(seen, enrolled, transform)
    if len(correlations) < 4:
        return -1.0
    return float(np.quantile(correlations, CELL_QUANTILE))


def cell_correlations(seen: Features, enrolled: Features, transform: np.ndarray, min_overlap: float = MIN_OVERLAP) -> np.ndarray:
    """The correlation of the two aligned pictures' gradients in each CELL_PX-square cell of the
    enrolled thumbnail that has texture (CELL_TEXTURE) and that the seen picture covers whole;
    none if it covers less than `min_overlap` of it."""
    aligned = _aligned_thumbs(seen, enrolled, transform, min_overlap)
    if aligned is None:
        return np.zeros(0)
    return correlations_in_cells(*aligned)


def correlations_in_cells(a: np.ndarray, b: np.ndarray, inside: np.ndarray) -> np.ndarray:
    """The correlation of two aligned pictures' gradients (`a`, `b`: 2 × h × w, `gradients`) in each
    CELL_PX-square cell that `b` has texture in (CELL_TEXTURE) and that `inside` covers whole."""
    # The cells tile the thumbnail without its one-pixel border (where the gradients are not
    # defined), the last row and column of cells narrower when it does not divide. Each cell's
    # sums come from np.add.reduceat, not a Python loop over cells: a fine thumbnail
    # (proxy.engine.avatar) has hundreds.
    a, b, inside = a[:, 1:-1, 1:-1].astype(np.float64), b[:, 1:-1, 1:-1].astype(np.float64), inside[1:-1, 1:-1]
    if inside.size == 0:
        return np.zeros(0)
    rows, cols = np.arange(0, inside.shape[0], CELL_PX), np.arange(0, inside.shape[1], CELL_PX)

    def sums(values: np.ndarray) -> np.ndarray:
        return np.add.reduceat(np.add.reduceat(values, rows, axis=-2), cols, axis=-1)

    area = sums(np.ones(inside.shape))
    covered = sums(inside.astype(np.float64)) == area
    count = 2 * area  # both gradients of every pixel
    mean_a, mean_b = sums(a).sum(axis=0) / count, sums(b).sum(axis=0) / count
    var_a = sums(a * a).sum(axis=0) / count - mean_a**2
    var_b = sums(b * b).sum(axis=0) / count - mean_b**2
    cov = sums(a * b).sum(axis=0) / count - mean_a * mean_b
    textured = covered & (np.sqrt(np.maximum(var_b, 0)) >= CELL_TEXTURE)
    norm = np.sqrt(np.maximum(var_a, 0) * np.maximum(var_b, 0))
    correlations = np.where(norm > 0, cov / np.where(norm > 0, norm, 1), 0.0)
    return correlations[textured]


def gradients(gray: np.ndarray) -> np.ndarray:
    """2 × h × w: horizontal and vertical differences of a lightly blurred copy."""
    blurred = cv2.GaussianBlur(gray, (3, 3), 0.8)
    return np.stack([cv2.Sobel(blurred, cv2.CV_32F, 1, 0, ksize=3), cv2.Sobel(blurred, cv2.CV_32F, 0, 1, ksize=3)])
