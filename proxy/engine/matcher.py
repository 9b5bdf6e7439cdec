"""Holds the fingerprints of the protected photos and says which one, if any, an image seen on the wire is a copy of.

Four stages, cheapest first; the first that finds a copy answers:

1. **global**: the Hamming distance between 256-bit perceptual hashes of the whole image
   and every enrolled view (original, platform crops, mirrors: see `proxy.engine.fingerprint`),
   at once with numpy. Settles resized, re-encoded, filtered, cropped, mirrored copies.
2. **frame**: the same, for the photo found inside a flat frame (a phone screenshot of a
   feed, a caption bar, a border), when the image has one.
3. **local**: keypoints (`proxy.engine.keypoints`) of the framed photo, then of the whole image,
   against the keypoints of every protected photo and its mirror: votes from an inverted
   index, then the best candidates verified geometrically (a similarity fitted by
   RANSAC) and photometrically (the aligned pictures must correlate). Sees through
   stickers, off-centre crops, tilts, stories, screenshots and chains of them. Before the
   whole image, each photo of a collage (`proxy.engine.collage`: a grid's tile, one half of
   a side-by-side) goes through the global and local stages on its own ("part"). A candidate
   the similarity refuses but whose keypoints match in number is asked whether it is a photo
   of a screen showing the protected photo (`proxy.engine.screen`, "screen"): under one
   homography, cell for cell, and bounded by an outline that is an edge of the picture. A
   candidate that fails only cell for cell, seen smaller than it was enrolled (a photo pasted
   into another), is looked at again in its part of the image alone, decoded finer ("part",
   ZOOM_SCALE). A photo found in a part must fill it, not run on past one side of it
   (MAX_LOPSIDED).
4. **avatar**: for an image the size and shape of a profile picture only, its keypoints
   (and its mirror's) at the scale a tight square crop of a photo shows it at, against
   every protected photo's "avatar" view (`proxy.engine.avatar`): profile pictures cut from 30 to
   60 % of a photo, served at 150 to 320 px, that the whole photo's keypoints are too few
   and too coarse to see. Checked as strictly, with rules of its own made for crops.

**A copy, not a place.** An alert means the same photograph, never another photograph of
the same place or moment. A hash, or a score of keypoints, cannot tell the two apart: a
video frame one second later sits 32 bits from the first, and the Sacré-Cœur photographed
from two spots shares dozens of keypoints. So every candidate, whichever stage found it,
is checked the same way before it is an alert (`proxy.engine.keypoints.Verification.is_copy`): its
keypoints must fit one similarity (crop, scale, rotation, mirror: the geometry of an edit)
with no drift of whole regions against it (parallax, perspective: another viewpoint) and
no second motion among the matches it leaves out (a near thing, or a person, that moved
differently), and the two pictures, aligned, must agree almost perfectly in most of their
cells (other light, other people, another perspective disagree in many places; a caption
or stickers only where they sit). That costs a millisecond or two, on the two or three
candidates an image has at most; an image that matches nothing never pays it. A hash
match whose keypoints cannot judge (too few, or too little of the photo shown) must be
closer (UNVERIFIED_THRESHOLD).

Each stage has its own threshold, a named constant below with the reasoning behind it.

Where: a `Match` carries the protected photo's four corners inside the seen image
(`Match.region`), in the pixels of the image as it was received.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass, replace

import numpy as np

from sentinelle.proxy.engine import screen
from sentinelle.proxy.engine.avatar import AVATAR_VIEW
from sentinelle.proxy.engine.fingerprint import CROPS, PHASH_BITS, Fingerprint
from sentinelle.proxy.engine.index import Index, is_mirror
from sentinelle.proxy.engine.keypoints import (
    MIN_AGREEMENT,
    Features,
    LocalMatch,
    Verification,
    verify,
)
from sentinelle.proxy.engine.segment import grouped, in_memory

# The largest Hamming distance (out of 256 bits) at which a seen image counts as a copy.
# Chosen with benchmarks/matcher.py on the dev corpus (100 protected photos enrolled as 10
# views each; 689 unrelated photos as they are and 3,014 dressed as re-posts; see
# benchmarks/results/matcher.md):
# - the closest any distractor came to any enrolled view is 86 bits (out of 3.7 million
#   pairs, which are close to normal: mean 127.5, sd 8.3), so 85 is the largest distance
#   that raises no false alert there;
# - a household sees perhaps 10,000 images a day against up to 1,000 enrolled views:
#   some 4 × 10^9 comparisons a year, a thousand times what the benchmark tried. So the
#   threshold keeps a margin of 30 bits (3.5 sd) below the closest distractor: at 56 the
#   normal fit puts a chance pairing at 2e-18 per comparison, leaving many orders of
#   magnitude for tails heavier than normal (photos of similar composition);
# - copies through every edit in scope (resize, re-encode, WebP, filters, greyscale,
#   platform crops, mirror) came within 22 bits, so 56 also leaves 34 bits of room for
#   harsher edits of the same kinds.
MATCH_THRESHOLD = 56

# The local stage's thresholds: a copy needs enough keypoint matches that agree on one
# similarity transform (inliers) AND pictures that correlate once aligned by it (the
# correlation of their gradients where they overlap, 0 to 1). Chosen with
# benchmarks/matcher.py on the dev corpus (100 protected photos; 689 unrelated photos as
# they are and 6,028 dressed as re-posts: 18,074 candidate views verified):
# - unrelated photos, even dressed in the same captions, stickers, stories and screenshots
#   as the copies, reached at most 7 inliers (RANSAC always finds a few that agree by
#   chance) and a correlation of at most 0.34, never both high at once; another photo of the
#   same place (same wall, same window, other people) reached 21 inliers, which is why the
#   correlation is required too: its people and their poses differ;
# - copies through every edit and screenshot in scope mostly keep dozens of inliers and a
#   correlation above 0.6. Their hardest cases sit on one side or the other: stickers hide
#   part of the picture (58 inliers, correlation 0.44), an off-centre crop of a smooth photo
#   at 640 px keeps few corners (9 inliers, correlation 0.99).
# Hence two ways to be a copy, each far from every distractor on one axis at least:
# LOCAL_MIN_INLIERS with LOCAL_MIN_CORRELATION, or the fewer LOCAL_FEW_INLIERS with the
# higher LOCAL_FEW_INLIERS_CORRELATION (which no distractor came within 0.25 of).
LOCAL_MIN_INLIERS = 12
LOCAL_MIN_CORRELATION = 0.42
LOCAL_FEW_INLIERS = 9
LOCAL_FEW_INLIERS_CORRELATION = 0.6
LOCAL_RULES = ((LOCAL_MIN_INLIERS, LOCAL_MIN_CORRELATION), (LOCAL_FEW_INLIERS, LOCAL_FEW_INLIERS_CORRELATION))

# A hash match is checked with the keypoints like any other candidate (see the module's
# docstring). When they cannot judge (fewer than LOCAL_FEW_INLIERS agree: a tiny or
# featureless picture, or a photo enrolled without keypoints; or they cover too little of
# the photo to compare its cells: a 9:16 crop of a panorama), the hash alone decides, but
# only this close: copies through every platform edit came within 22 bits on the dev
# corpus, while the closest other photograph of one place, a video frame one second
# later, came at 32 bits (`../shared/datasets/dev/same-place/desk-video`). A hash this
# close is weaker evidence than the keypoints (a scene made in the tests, a near layer
# moved against its background, hashes 14 bits from the first shot), so it is only the
# last resort, for pictures with too little detail to verify.
UNVERIFIED_THRESHOLD = 26

# A photo pasted small into another picture (a photo in a photo) is seen at a fraction of the
# scale it was enrolled at: its keypoints fit, but its cells, compared at that coarser scale,
# fall short of a copy's agreement. A candidate that passes every other check and fills at
# most 1/ZOOM_SCALE of its enrolled size in the seen picture is looked at again in that part
# of the image alone, decoded finer (`Fingerprint.zoom`), where it must pass them all.
ZOOM_SCALE = 1.25
ZOOM_MARGIN = 0.03
# A photo found in one part of a picture (a collage's tile, a zoomed part) fills that part: a
# grid's tile crops it to its shape about its centre (on the benchmark's grids it ran on past
# the tile by up to 0.77 of the tile's side, as much on either side). A photo that runs on past
# the part on one side only, by more than MAX_LOPSIDED of its side, is another photograph of
# the place seen across most of the picture when only a part of it was looked at (a video frame
# a second later, split at a table's edge): refused.
MAX_LOPSIDED = 0.5

# A region is four (x, y) points: the protected photo's corners, clockwise from its own
# top-left corner, in the pixels of the seen image as it was received.
Region = tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class Match:
    """A seen image judged to be a copy of a protected photo.

    `view` is the enrolled view it matched ("original", "crop 4:5 mirror", ..., "avatar", or
    "avatar mirror" for a profile picture that is a mirrored crop), `stage` the stage that
    found it ("global", "frame", "local", "part": one photo of a collage, "screen": a photo
    of a screen, or "avatar"). For the hash stages,
    `distance` is the Hamming distance in bits to that view and `score` how far the two
    are from chance: 1 - distance / (PHASH_BITS / 2), floored at 0 (1 is identical hashes,
    0 is as different as two unrelated photos). For the local stage, `inliers` is the
    number of keypoints that agree, `distance` is -1, and `score` the correlation of the
    aligned pictures (0 to 1); for the avatar stage, that of their cells (the median cell).

    `region`: where the protected photo lies in the seen image: its four corners, clockwise
    from the photo's own top-left (top-left, top-right, bottom-right, bottom-left of the
    photo as it was enrolled), as (x, y) in the full-resolution pixels of the seen image as
    it was received, whatever scale the stages worked at. A mirrored copy has the photo's
    top-left on the right; a crop puts corners outside the image (negative, or beyond its
    size); a tilted copy gives a turned quadrilateral. Empty when unknown (a fingerprint
    made without its image's size).
    """

    photo_id: int
    view: str
    distance: int
    score: float
    stage: str = "global"
    inliers: int = 0
    region: Region = ()


def score_of(distance: int) -> float:
    """1 for identical hashes, 0 at the distance of two unrelated photos (half the bits)."""
    return max(0.0, 1.0 - distance / (PHASH_BITS / 2))


class Matcher:
    """The protected set: every enrolled view of every protected photo, searched at once."""

    def __init__(
        self,
        entries: Iterable[tuple[int, str, Fingerprint]] | Index,
        *,
        threshold: int = MATCH_THRESHOLD,
        local_rules: tuple[tuple[int, float], ...] = LOCAL_RULES,
        local: bool = True,
    ) -> None:
        """`entries`: the index kept for the protected set (`proxy.engine.index`), or (photo id,
        view name, fingerprint) for each enrolled view, indexed here in memory. The "avatar" views
        go to the avatar stage alone (not to the hash stages: their hash is the original's).

        `local=False` leaves the local and avatar stages out (the benchmark times the global pass alone).
        """
        if not 0 <= threshold <= PHASH_BITS:
            raise ValueError(f"threshold must be between 0 and {PHASH_BITS} bits, not {threshold}")
        self.threshold = threshold
        self.local_rules = local_rules
        self._stages = local
        self.index = entries if isinstance(entries, Index) else Index([in_memory(grouped(entries))])
        self._words = self.index.hashes.view(np.uint64)  # 4 words a hash: popcount in 64-bit steps

    def __len__(self) -> int:
        """How many distinct photos are protected."""
        return self.index.photo_count

    def match(self, fp: Fingerprint) -> Match | None:
        """The protected photo `fp` is a copy of (the closest, if several), or None."""
        found = self._global(fp, "global", verified=True)
        if found is None and fp.framed is not None:
            found = self._global(fp.framed, "frame", verified=True)
        for part in fp.parts:
            if found is None:
                found = _fills(self._global(part, "part", verified=True), part.box)
        if not self._stages:
            return found
        if found is None and fp.framed is not None:
            found = self._local_match(fp.framed)
        for part in fp.parts:
            if found is None:
                found = _fills(self._local_match(part, "part"), part.box)
        if found is None:
            found = self._local_match(fp)
        if found is None and fp.avatar is not None:
            found = self._avatar_match(fp)
        return found

    def match_global(self, fp: Fingerprint) -> Match | None:
        """The first stage alone: the whole image's hash, unchecked (the benchmark times it alone)."""
        return self._global(fp, "global", verified=False)

    def distances(self, fp: Fingerprint) -> np.ndarray:
        """Hamming distance from `fp`'s hash to every hashed view (all but the avatar views), in the order they were given."""
        query = np.frombuffer(fp.phash, dtype=np.uint64)
        return np.bitwise_count(np.bitwise_xor(self._words, query)).sum(axis=1, dtype=np.int64)

    def _global(self, fp: Fingerprint, stage: str, verified: bool) -> Match | None:
        distances = self.distances(fp)
        if distances.size == 0:
            return None
        best = int(np.argmin(distances))
        distance = int(distances[best])
        if distance > self.threshold:
            return None
        photo_id, view = int(self.index.hash_photo[best]), self.index.hash_view[best]
        if verified and not self._confirmed(fp, photo_id, view, distance):
            return None
        return Match(
            photo_id=photo_id,
            view=view,
            distance=distance,
            score=score_of(distance),
            stage=stage,
            region=self._view_region(fp, photo_id, view),
        )

    def _confirmed(self, fp: Fingerprint, photo_id: int, view: str, distance: int) -> bool:
        """Whether a hash match is the same photograph: checked with the keypoints of the photo
        (or of its mirror, for a mirrored view); by the hash alone, closer, when they cannot judge."""
        position = self.index.keypoints_of.get((photo_id, is_mirror(view))) if self._stages else None
        found = None
        if position is not None and len(fp.features) >= LOCAL_FEW_INLIERS:
            found = verify(fp.features, self.index.local.view(position), LOCAL_FEW_INLIERS)
        if found is None or found.inliers < LOCAL_FEW_INLIERS or found.agreement == -1:
            # Too few keypoints agree, or they do but over too little of the photo to compare
            # its cells (a 9:16 crop of a panorama): the hash alone, closer.
            return distance <= UNVERIFIED_THRESHOLD
        return found.is_copy(self.local_rules)

    def _view_region(self, fp: Fingerprint, photo_id: int, view: str) -> Region:
        """The photo's corners in the seen image, for a hash match: the seen picture is the enrolled
        view (the photo's centre crop at a platform ratio, mirrored or not), stretched over its box."""
        box = fp.box
        if not box:
            return ()
        keypoints_of = self.index.keypoints_of
        position = keypoints_of.get((photo_id, False), keypoints_of.get((photo_id, True))) if self._stages else None
        picture = self.index.local.view(position) if position is not None else None
        if picture is None or picture.width == 0:
            # Without the photo's proportions, take the view to be the whole photo.
            width, height = box[2] - box[0], box[3] - box[1]
        else:
            width, height = picture.width, picture.height
        ratio = dict(CROPS).get(view.removeprefix("crop ").removesuffix(" mirror")) if view.startswith("crop ") else None
        crop_left, crop_top, crop_width, crop_height = _centre_box(width, height, ratio)
        scale_x, scale_y = (box[2] - box[0]) / crop_width, (box[3] - box[1]) / crop_height
        mirrored = is_mirror(view)
        corners = ((0, 0), (width, 0), (width, height), (0, height))
        return tuple(
            (
                round(float(box[0] + ((width - x if mirrored else x) - crop_left) * scale_x), 1),
                round(float(box[1] + (y - crop_top) * scale_y), 1),
            )
            for x, y in corners
        )

    def _local_match(self, fp: Fingerprint, stage: str = "local") -> Match | None:
        local = self.index.local
        if not fp.local or len(local) == 0:
            return None
        small: list[tuple[float, float, float, float]] = []  # where a candidate seen small lies (ZOOM_SCALE)

        def under_a_perspective(row: int, verification, seen: Features = fp.features,
                                finer: bool = False) -> LocalMatch | None:
            """A photo of a screen showing the candidate (proxy.engine.screen); `finer`: `seen` are
            corners taken again, finer (screen.finer_corners), which get no second look."""
            if not finer and stage == "local" and fp.zoom is not None and (
                    box := _seen_small(fp, local.view(row), verification, self.local_rules)):
                small.append(box)
            if fp.picture is None or verification.matches < screen.MIN_MATCHES:
                return None
            found = screen.verify_screen(seen, local.view(row), fp.picture, finer=finer,
                                         second_look=not finer and verification.inliers >= screen.SECOND_LOOK_INLIERS)
            if not found.is_copy():
                return None
            return LocalMatch(row, found.inliers, found.agreement, 0.0, None, corners=found.corners)

        found = local.search(fp.features, self.local_rules, under_a_perspective)
        if found is None and stage == "local" and fp.picture is not None and (
                finer := screen.finer_corners(fp.picture, fp.features)):
            # A soft photo of a screen, whose few corners did not vote for its photo: a second vote.
            found = local.search(finer, self.local_rules, functools.partial(under_a_perspective, seen=finer, finer=True))
        if found is None:
            for box in small:
                assert fp.zoom is not None
                part = fp.zoom(box)
                if (closer := _fills(self._local_match(part, "part"), part.box)) is not None:
                    return closer
            return None
        view = self.index.local_view_name(found.row)
        if found.corners is not None:
            return Match(
                photo_id=local.photo(found.row),
                view=view,
                distance=-1,
                score=round(max(0.0, min(1.0, found.correlation)), 3),
                stage="screen",
                inliers=found.inliers,
                region=_scaled_region(fp, fp.features, _photo_corners(found.corners, is_mirror(view))),
            )
        if _runs_on_past(fp, local.view(found.row), found.transform):
            return None
        return Match(
            photo_id=local.photo(found.row),
            view=view,
            distance=-1,
            score=round(max(0.0, min(1.0, found.correlation)), 3),
            stage=stage,
            inliers=found.inliers,
            region=_fitted_region(fp, fp.features, local.view(found.row), found.transform, mirrored_view=is_mirror(view)),
        )

    def _avatar_match(self, fp: Fingerprint) -> Match | None:
        """A profile picture cut from a protected photo: the seen picture's keypoints, then its
        mirror's, against the photos' avatar views (`proxy.engine.avatar`)."""
        avatars = self.index.avatar
        if len(avatars) == 0 or fp.avatar is None:
            return None
        for mirrored in (False, True):
            seen = fp.avatar(mirrored)  # the mirror's keypoints are taken only if the picture as it is was not found
            found = avatars.search(seen)
            if found is None:
                continue
            enrolled = avatars.view(found.row)
            return Match(
                photo_id=avatars.photo(found.row),
                view=f"{AVATAR_VIEW} mirror" if mirrored else AVATAR_VIEW,
                distance=-1,
                score=round(max(0.0, min(1.0, found.verification.mid)), 3),
                stage="avatar",
                inliers=found.verification.inliers,
                region=_fitted_region(fp, seen, enrolled, found.verification.transform, mirrored_seen=mirrored),
            )
        return None


def _fills(found: Match | None, box: tuple[float, float, float, float] | tuple[()]) -> Match | None:
    """`found`, a photo found in the part `box` of a seen picture, unless it runs on past the
    part on one side far more than on the other (MAX_LOPSIDED)."""
    if found is None or not found.region or not box:
        return found
    xs, ys = [x for x, _ in found.region], [y for _, y in found.region]
    width, height = box[2] - box[0], box[3] - box[1]
    left, right = max(0.0, box[0] - min(xs)) / width, max(0.0, max(xs) - box[2]) / width
    top, bottom = max(0.0, box[1] - min(ys)) / height, max(0.0, max(ys) - box[3]) / height
    return found if max(abs(left - right), abs(top - bottom)) <= MAX_LOPSIDED else None


def _runs_on_past(fp: Fingerprint, enrolled: Features, transform: np.ndarray | None) -> bool:
    """Whether the photo, found whole inside the seen picture under a similarity, has no outline
    there: MIN_SIDES of its sides or more inside the picture and none an edge of it
    (`screen.outline`). A copy inside a larger picture is bounded (a border, a seam, a screen's
    frame, a feed's bars); a wall photographed again from a step aside, whose first shot fits
    inside the second under a slight perspective, runs on past all of them."""
    if transform is None or fp.picture is None or fp.features.width == 0:
        return False
    points = _enrolled_corners(enrolled, transform)
    sides, edges = screen.outline(fp.picture, points)  # the picture is at its keypoints' scale (`fingerprint._working`)
    return sides >= screen.MIN_SIDES and edges == 0


def _seen_small(fp: Fingerprint, enrolled: Features, verification: Verification,
                rules: tuple[tuple[int, float], ...]) -> tuple[float, float, float, float] | None:
    """Where the enrolled picture lies in the seen one (a box on its keypoints' scale, with
    ZOOM_MARGIN around it), when the candidate failed only on its cells and is seen at most
    1/ZOOM_SCALE of its size; else None."""
    transform = verification.transform
    if transform is None or not 0 <= verification.agreement < MIN_AGREEMENT:
        return None
    if not replace(verification, agreement=MIN_AGREEMENT).is_copy(rules):  # a copy but for its cells?
        return None
    if float(np.sqrt(abs(np.linalg.det(np.asarray(transform, dtype=np.float64)[:, :2])))) < ZOOM_SCALE:
        return None
    points = _enrolled_corners(enrolled, transform)
    (left, top), (right, bottom) = points.min(axis=0), points.max(axis=0)
    margin = ZOOM_MARGIN * max(right - left, bottom - top)
    return (max(0.0, left - margin), max(0.0, top - margin),
            min(float(fp.features.width), right + margin), min(float(fp.features.height), bottom + margin))


def _enrolled_corners(enrolled: Features, transform: np.ndarray, mirrored_view: bool = False) -> np.ndarray:
    """The enrolled picture's corners, clockwise from its top-left (the photo's own: swapped left for
    right when the view is its mirror), taken back through `transform` (seen → enrolled, a 2 × 3
    similarity) to the seen picture."""
    width, height = enrolled.width, enrolled.height
    corners = np.array([(0, 0), (width, 0), (width, height), (0, height)], dtype=np.float64)
    if mirrored_view:
        corners[:, 0] = width - corners[:, 0]
    transform = np.asarray(transform, dtype=np.float64)
    return (corners - transform[:, 2]) @ np.linalg.inv(transform[:, :2]).T


def _photo_corners(corners: np.ndarray, mirrored_view: bool) -> np.ndarray:
    """A view's corners (clockwise from its top-left) as the photo's own: a mirror view's top-left is
    the photo's top-right."""
    return corners[[1, 0, 3, 2]] if mirrored_view else corners


def _scaled_region(fp: Fingerprint, seen, points: np.ndarray) -> Region:
    """Points of a seen picture (at its keypoints' scale), in the full-resolution pixels of the image as received."""
    box = fp.box
    if not box or seen.width == 0:
        return ()
    scale_x, scale_y = (box[2] - box[0]) / seen.width, (box[3] - box[1]) / seen.height
    return tuple((round(float(box[0] + x * scale_x), 1), round(float(box[1] + y * scale_y), 1)) for x, y in points)


def _centre_box(width: float, height: float, ratio: float | None) -> tuple[float, float, float, float]:
    """(left, top, width, height) of the largest centred box of width:height `ratio` (the whole picture if None)."""
    if ratio is None:
        return 0.0, 0.0, float(width), float(height)
    if width / height > ratio:
        return (width - height * ratio) / 2, 0.0, height * ratio, float(height)
    return 0.0, (height - width / ratio) / 2, float(width), width / ratio


def _fitted_region(
    fp: Fingerprint, seen, enrolled, transform: np.ndarray, *, mirrored_view: bool = False, mirrored_seen: bool = False
) -> Region:
    """The photo's corners in the seen image, for a keypoint match: the enrolled view's corners
    (the photo's own, swapped left for right when the view is its mirror), taken back through
    the fitted similarity to the seen picture (turned back when its mirror image is what
    matched), then to the image's full-resolution pixels."""
    box = fp.box
    if not box or seen.width == 0:
        return ()
    points = _enrolled_corners(enrolled, transform, mirrored_view)
    if mirrored_seen:
        points[:, 0] = seen.width - points[:, 0]
    return _scaled_region(fp, seen, points)
