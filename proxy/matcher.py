"""Holds the fingerprints of the protected photos and says which one, if any, an image seen on the wire is a copy of.

Three stages, cheapest first; the first that finds a copy answers:

1. **global**: the Hamming distance between 256-bit perceptual hashes of the whole image
   and every enrolled view (original, platform crops, mirrors: see `proxy.fingerprint`),
   at once with numpy. Settles resized, re-encoded, filtered, cropped, mirrored copies.
2. **frame**: the same, for the photo found inside a flat frame (a phone screenshot of a
   feed, a caption bar, a border), when the image has one.
3. **local**: keypoints (`proxy.local`) of the framed photo, then of the whole image,
   against the keypoints of every protected photo and its mirror: votes from an inverted
   index, then the best candidates verified geometrically (a similarity fitted by
   RANSAC) and photometrically (the aligned pictures must correlate). Sees through
   stickers, off-centre crops, tilts, stories, screenshots and chains of them.

Each stage has its own threshold, a named constant below with the reasoning behind it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from sentinelle.proxy.fingerprint import PHASH_BITS, PHASH_BYTES, Fingerprint
from sentinelle.proxy.local import LocalIndex

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


@dataclass(frozen=True)
class Match:
    """A seen image judged to be a copy of a protected photo.

    `view` is the enrolled view it matched ("original", "crop 4:5 mirror", ...), `stage`
    the stage that found it ("global", "frame" or "local"). For the hash stages,
    `distance` is the Hamming distance in bits to that view and `score` how far the two
    are from chance: 1 - distance / (PHASH_BITS / 2), floored at 0 (1 is identical hashes,
    0 is as different as two unrelated photos). For the local stage, `inliers` is the
    number of keypoints that agree, `distance` is -1, and `score` the correlation of the
    aligned pictures (0 to 1).
    """

    photo_id: int
    view: str
    distance: int
    score: float
    stage: str = "global"
    inliers: int = 0
    # Where the protected photo lies in the seen image: its four corners (top-left, top-right,
    # bottom-right, bottom-left of the photo), in the seen image's pixels; None when unknown.
    region: tuple[tuple[float, float], ...] | None = None


def score_of(distance: int) -> float:
    """1 for identical hashes, 0 at the distance of two unrelated photos (half the bits)."""
    return max(0.0, 1.0 - distance / (PHASH_BITS / 2))


class Matcher:
    """The protected set: every enrolled view of every protected photo, searched at once."""

    def __init__(
        self,
        entries: Iterable[tuple[int, str, Fingerprint]],
        *,
        threshold: int = MATCH_THRESHOLD,
        local_rules: tuple[tuple[int, float], ...] = LOCAL_RULES,
        local: bool = True,
    ) -> None:
        """`entries`: (photo id, view name, fingerprint) for each enrolled view.

        `local=False` leaves the local stage out (the benchmark times the global pass alone).
        """
        photo_ids: list[int] = []
        views: list[str] = []
        hashes: list[bytes] = []
        local_rows: list[int] = []
        features = []
        for photo_id, view, fp in entries:
            if not isinstance(fp, Fingerprint):
                raise TypeError(f"expected a Fingerprint for photo {photo_id} ({view}), got {type(fp).__name__}")
            if local and fp.local:
                local_rows.append(len(views))
                features.append(fp.features)
            photo_ids.append(int(photo_id))
            views.append(view)
            hashes.append(fp.phash)
        if not 0 <= threshold <= PHASH_BITS:
            raise ValueError(f"threshold must be between 0 and {PHASH_BITS} bits, not {threshold}")
        self.threshold = threshold
        self.local_rules = local_rules
        self._photo_ids = np.array(photo_ids, dtype=np.int64)
        self._views = views
        self._photo_count = len(set(photo_ids))
        self._hashes = np.frombuffer(b"".join(hashes), dtype=np.uint8).reshape(len(hashes), PHASH_BYTES)
        self._words = self._hashes.view(np.uint64)  # 4 words a hash: popcount in 64-bit steps
        self._local_rows = np.array(local_rows, dtype=np.int64)
        self._local = LocalIndex(features, self._photo_ids[self._local_rows])

    def __len__(self) -> int:
        """How many distinct photos are protected."""
        return self._photo_count

    def match(self, fp: Fingerprint) -> Match | None:
        """The protected photo `fp` is a copy of (the closest, if several), or None."""
        found = self._global(fp, "global")
        if found is None and fp.framed is not None:
            found = self._global(fp.framed, "frame")
        if found is None and fp.framed is not None:
            found = self._local_match(fp.framed)
        if found is None:
            found = self._local_match(fp)
        return found

    def match_global(self, fp: Fingerprint) -> Match | None:
        """The first stage alone: the whole image's hash."""
        return self._global(fp, "global")

    def distances(self, fp: Fingerprint) -> np.ndarray:
        """Hamming distance from `fp`'s hash to every enrolled view, in the order they were given."""
        query = np.frombuffer(fp.phash, dtype=np.uint64)
        return np.bitwise_count(np.bitwise_xor(self._words, query)).sum(axis=1, dtype=np.int64)

    def _global(self, fp: Fingerprint, stage: str) -> Match | None:
        distances = self.distances(fp)
        if distances.size == 0:
            return None
        best = int(np.argmin(distances))
        distance = int(distances[best])
        if distance > self.threshold:
            return None
        return Match(
            photo_id=int(self._photo_ids[best]),
            view=self._views[best],
            distance=distance,
            score=score_of(distance),
            stage=stage,
        )

    def _local_match(self, fp: Fingerprint) -> Match | None:
        if not fp.local or len(self._local) == 0:
            return None
        found = self._local.search(fp.features, self.local_rules)
        if found is None:
            return None
        row = int(self._local_rows[found.row])
        return Match(
            photo_id=int(self._photo_ids[row]),
            view=self._views[row],
            distance=-1,
            score=round(max(0.0, min(1.0, found.correlation)), 3),
            stage="local",
            inliers=found.inliers,
        )
