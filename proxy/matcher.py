"""Holds the fingerprints of the protected photos and says which one, if any, an image seen on the wire is a copy of.

v1 has one stage: the Hamming distance between 256-bit perceptual hashes, computed
against every enrolled view at once with numpy. Each protected photo is enrolled as
several views (original, platform crops, mirrors: see `proxy.fingerprint`), and the
closest view speaks for its photo. A later stage (local features, for edits a global
hash cannot see through) goes behind the same `Matcher.match`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from proxy.fingerprint import PHASH_BITS, PHASH_BYTES, Fingerprint

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


@dataclass(frozen=True)
class Match:
    """A seen image judged to be a copy of a protected photo.

    `view` is the enrolled view it is closest to ("original", "crop 4:5 mirror", ...),
    `distance` the Hamming distance in bits to that view. `score` is how far the two are
    from chance: unrelated pictures differ on about half the bits, so
    score = 1 - distance / (PHASH_BITS / 2), floored at 0: 1 is identical hashes, 0 is
    as different as two unrelated photos.
    """

    photo_id: int
    view: str
    distance: int
    score: float


def score_of(distance: int) -> float:
    """1 for identical hashes, 0 at the distance of two unrelated photos (half the bits)."""
    return max(0.0, 1.0 - distance / (PHASH_BITS / 2))


# Bits set in each byte value, for the popcount of XORed hashes.
_POPCOUNT = np.array([bin(value).count("1") for value in range(256)], dtype=np.uint16)


class Matcher:
    """The protected set: every enrolled view of every protected photo, searched at once."""

    def __init__(self, entries: Iterable[tuple[int, str, Fingerprint]], *, threshold: int = MATCH_THRESHOLD) -> None:
        """`entries`: (photo id, view name, fingerprint) for each enrolled view."""
        photo_ids: list[int] = []
        views: list[str] = []
        hashes: list[bytes] = []
        for photo_id, view, fp in entries:
            if not isinstance(fp, Fingerprint):
                raise TypeError(f"expected a Fingerprint for photo {photo_id} ({view}), got {type(fp).__name__}")
            photo_ids.append(int(photo_id))
            views.append(view)
            hashes.append(fp.phash)
        if not 0 <= threshold <= PHASH_BITS:
            raise ValueError(f"threshold must be between 0 and {PHASH_BITS} bits, not {threshold}")
        self.threshold = threshold
        self._photo_ids = np.array(photo_ids, dtype=np.int64)
        self._views = views
        self._photo_count = len(set(photo_ids))
        self._hashes = np.frombuffer(b"".join(hashes), dtype=np.uint8).reshape(len(hashes), PHASH_BYTES)

    def __len__(self) -> int:
        """How many distinct photos are protected."""
        return self._photo_count

    def match(self, fp: Fingerprint) -> Match | None:
        """The protected photo `fp` is a copy of (the closest, if several), or None."""
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
        )

    def distances(self, fp: Fingerprint) -> np.ndarray:
        """Hamming distance from `fp` to every enrolled view, in the order they were given."""
        query = np.frombuffer(fp.phash, dtype=np.uint8)
        return _POPCOUNT[np.bitwise_xor(self._hashes, query)].sum(axis=1, dtype=np.int64)
