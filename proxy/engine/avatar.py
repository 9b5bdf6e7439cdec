"""Profile pictures: a tight square crop of a protected photo (30 to 60 % of its side, around any part of it), served 150 to 320 px wide, found by keypoints taken at the scale it shows the photo at.

Why the other stages miss them: the global hash sees the whole frame, and a crop of a third
of the photo is another picture to it; the local stage (`proxy.engine.keypoints`) describes the whole
photo at 360 px with 300 keypoints, so a square of 30 % of its side holds a few dozen of
them, seen at a third of the size the profile picture shows them at, and its photometric
check asks the seen picture to cover at least 30 % of the photo. Avatars kept 22 to 115
keypoints and 0 to 14 of them agreed: none was found.

So each protected photo gets one more enrolled view, "avatar" (`enrolled_features`):

- the whole photo at AVATAR_SIDE (600 px on its short side, where a square of 30 to 60 % of
  it is 180 to 360 px, the size a profile picture is looked at here), with AVATAR_FEATURES
  keypoints, enough that any such square keeps a few hundred of them;
- small ORB patches (PATCH_PX): a 150-px picture enlarged to 300 px loses a PATCH_PX-wide
  border where no keypoint can be described; with OpenCV's 31 px that is a third of it;
- a low FAST threshold (FAST_THRESHOLD) on both sides: faces and skin are smooth;
- a grey thumbnail at 1/THUMB_FACTOR (150 px on the short side): a 30 % square of it is 45 px,
  enough cells to compare; still a blur of the photo, smaller than the 256-px thumbnail the
  review page keeps.

An image seen on the wire is looked at this way only when it is the size and shape of a
profile picture (`is_profile_sized`: square within PROFILE_MAX_RATIO, short side at most
PROFILE_MAX_SIDE): its keypoints are taken at SEEN_SIDE (enlarged up to MAX_UPSCALE), and of
its mirror image too (a selfie camera or an editor flips it).

Search (`AvatarIndex.search`): the VOTING_FEATURES strongest keypoints of the seen picture
find their nearest enrolled ones (an inverted file of every avatar view's descriptors, in
faiss: the LSH votes of the local stage lose the right photo for a third of avatars, whose
descriptors sit farther from their twins after a 3× enlargement; each compared with at most
SCAN_BUDGET enrolled ones, nearest lists first, whatever the album's size); each photo gets a vote per
nearest neighbour that passes the ratio test; the VERIFY_CANDIDATES photos with the most votes
are verified.

**A copy of a crop, not a place** (`ProfileVerification.is_copy`): a profile picture is the
photo cropped and scaled, nothing else; so its keypoints fit one similarity, the seen picture
lies inside the photo, and the two, aligned, agree almost perfectly cell by cell at the fine
thumbnail's scale. A stranger's picture reaches a handful of chance inliers and disagrees.
Another photograph of the same place is the hard case: a tight crop of a wall, a desk or a
far facade, from another shot taken from nearly the same spot, can be made of the same
stones. What still tells them apart is measured at the fine scale (a copy's cells keep their
fine detail; another shot's move, blur and change with the light) and in the geometry (the
inliers drift region by region with parallax; see `proxy.engine.keypoints.drift`); each threshold below
says what it was measured on.

Pure numpy, OpenCV and faiss; no I/O.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np
from PIL import Image

from sentinelle.proxy.engine import keypoints
from sentinelle.proxy.engine.keypoints import cv2  # OpenCV, loaded the way proxy.engine.keypoints explains

# The name of the enrolled view that holds a photo's keypoints at the avatar scale.
AVATAR_VIEW = "avatar"

# --- enrolment: the avatar view of a protected photo ------------------------------------
# Chosen by comparing settings on the dev corpus (benchmarks/avatar_sweep.py; the figures:
# benchmarks/results/avatar-sweep.md): at 600 px a 30 to 60 % crop is described near the scale
# it is seen at (at 360 px too few of its corners are kept; at 800 px a 30 % crop lies further
# from that scale); 19-px patches leave a border of 19 px undescribed, not 31; 6,000 keypoints
# find nearly all that more would (9,000: one point more, for half again the cost), with no
# stranger alerting at any setting; a FAST threshold of 4 keeps 6,000 on smooth photos too.
# The price: about 24 ms an enrolment and 245 kB a photo in the store, more than twice that in
# each worker's memory.
AVATAR_SIDE = 600
# The long side is capped: a panorama's view then costs no more to keep than a 5:3 photo's
# (within keypoints.SCALE_SLACK: a 1,045 × 588 photo is described as it is, its thumbnail 261 px wide).
AVATAR_MAX_SIDE = 1000
AVATAR_FEATURES = 6000
PATCH_PX = 19
FAST_THRESHOLD = 4
THUMB_FACTOR = 4

# --- images seen ----------------------------------------------------------------------
# Profile pictures are square on every platform (Instagram 150 and 320 px, X 200 and 400,
# TikTok, Facebook, Reddit); a little slack for a few pixels trimmed. Everything else
# (posts, stories, screenshots) goes to the other stages alone.
PROFILE_MAX_RATIO = 1.25
PROFILE_MAX_SIDE = 400
# Smaller profile pictures go by too (X's timelines show 48-px avatars, `_normal`), but images
# under 64 px (images.MIN_SIDE_SEEN) are not looked at by any stage: a 48-px thumbnail of a
# 40 % crop keeps too little of the photo (a try on the six Kodak fixtures of the tests found 1
# of 12, a 40 and a 60 % crop of each).
# The seen picture is described at this size (a 150-px avatar enlarged twice, a 96-px one
# about three times), with this many keypoints.
SEEN_SIDE = 300
MAX_UPSCALE = 6.0
SEEN_FEATURES = 1000

# --- search ------------------------------------------------------------------------------
# The strongest keypoints of the seen picture that vote: 150 find the right photo first as
# often as 1,000 do (97 % of the avatars that can be found), at a seventh of the cost.
VOTING_FEATURES = 150
# Nearest-neighbour votes pass Lowe's ratio test, as verification does (keypoints.RATIO).
# The enrolled descriptors sit in inverted lists, one per cell of a fixed two-level quantizer:
# COARSE_LISTS centroids (LISTS_FILE), each split into FINE_CELLS finer ones (FINE_FILE), a
# descriptor's list the finest cell of its nearest coarse centroid. A seen descriptor is
# compared with those of the PROBED_LISTS cells nearest to it among the fine cells of its
# PROBED_COARSE nearest coarse centroids. Why fine cells: with the 1,024 coarse lists alone a
# search scanned 8 lists of 58,000 descriptors each at 10,000 photos (60 M descriptors), 140 M
# codes an image, and its cost grew with the album (24 ms at 100 photos, 423 ms at 10,000);
# with 65,536 lists a list holds some 900 descriptors at 10,000 photos and a search scans
# PROBED_LISTS of them, so the album has to grow 64 times past 100 photos before a list is as
# long as a coarse one was then.
COARSE_LISTS = 1024
FINE_CELLS = 64
LISTS = COARSE_LISTS * FINE_CELLS
PROBED_COARSE = 8
PROBED_LISTS = 32
# But the lists are fixed, so they fill in proportion to the album: at 10,000 photos the lists a
# seen descriptor lands in held 2,378 descriptors on average (the mean list 912), 23 M codes an
# image, and a stranger's profile picture cost 84 ms where it cost 10 at 100 photos. So a seen
# descriptor scans its probed lists nearest first and stops once SCAN_BUDGET descriptors are
# seen (faiss `max_codes`: it may stop within a list; the budget is shared out among the index's
# parts by their size): a stranger's picture scans 0.27 million codes at 100 photos, 1.9 million
# at 1,000 (the budget cuts some descriptors short), 2.4 at 10,000 (the cap: 300 × 8,000).
# Measured with benchmarks/avatar_scale.py (the avatar class's 1,200 profile pictures of the
# 100 real photos, 1,200 strangers' ones; benchmarks/results/avatar-scale.md), at 10,000 photos:
# no budget 1,084 found, 84 ms a stranger; 16,000: 1,082, 31 ms; 8,000: 1,077, 22 ms; 4,000:
# 1,068, 17 ms; 1,000: 1,056, 14 ms; no stranger alerting at any (at 100 photos 1,092 found, 10
# ms, budget or not). The copies lost are not among the best-voted 3 either: their twins lie in
# lists further off. 8,000: about twice the cost at 100 photos, 7 copies in 1,200 lost.
SCAN_BUDGET = 8000
# The centroids, trained once (k-means, `python -m scripts.avatar_lists`) on the avatar views
# of the Kodak fixtures (and, for the fine cells, of their mirrors, turns and reductions), and
# shipped: never trained again, the same on every machine, so that a photo's descriptors are
# placed in their lists once, when it is enrolled.
LISTS_FILE = Path(__file__).with_name("avatar_lists.npy")
FINE_FILE = Path(__file__).with_name("avatar_fine.npy")
VERIFY_CANDIDATES = 2
# A photo is verified only with this many votes: 2 of the 1,067 avatars found in the dev run
# had fewer; 90 % of unrelated profile-sized pictures give no photo more than 2, so most of
# them cost no verification at all (a millisecond or two each).
MIN_VOTES = 3

# --- a copy of a crop, not a place (`ProfileVerification.is_copy`) ------------------------
# Measured on the dev corpus with benchmarks/matcher.py's avatar transforms: 100 protected
# photos (1,200 avatar copies, at their own size and upscaled); 689 unrelated photos and 137
# of them made into the same avatars (1,644), each as it is and mirrored; and the 27
# photographs of `same-place/` (362 pairs), each enrolled alone and every other photo of its
# folder made into the same 12 avatars (4,344).
#
# Inliers: unrelated pictures reach a dozen with chance fits; copies mostly dozens to
# hundreds, a few smooth crops 6 to 10. The photometric checks below are what turns
# strangers away (their cells disagree: the best of them stayed below 0.8 at the coarser
# scale of the local stage), so the count only has to make the fit a fit.
MIN_INLIERS = 6
# A crop lies inside the photo: every copy had all of the seen picture inside it.
MIN_INSIDE = 0.9
# Cells: keypoints.CELL_PX-square cells (20 px of the AVATAR_SIDE picture) of the fine thumbnail
# the seen picture covers and that have texture (keypoints.CELL_TEXTURE). Fewer than MIN_CELLS
# and there is too little to compare: a crop of sky, a dark sweater.
MIN_CELLS = 10
# The cells at the 30 % and 55 % shares from the worst must correlate at least this much.
# Copies: 0.991 and 0.996 at the median, 0.968 and 0.984 for the 5 % weakest (a striped
# shirt, cobblestones: fine textures aliased by the resizing). Other photographs of one
# place reached 0.977 and 0.988 (desk video frames one second apart, which drift), and,
# among those whose inliers do not drift, 0.952 and 0.983 (the Sacré-Cœur's dome from two
# spots).
MIN_CELL_LOW = 0.96
MIN_CELL_MID = 0.97
CELL_LOW_QUANTILE = 0.3
CELL_MID_QUANTILE = 0.55
# Drift (keypoints.drift, in px of the AVATAR_SIDE picture): of the 1,012 copies with 20
# inliers or more, 99 % drifted 0.50 or less and the worst 0.53 (a 3× enlargement adds
# jitter that does not average away entirely); the frames of the desk video one second
# apart whose cells agree drifted 0.54 to 0.97, two crops of them (the same 30 % of the desk,
# both sizes) at 0.544 and 0.568. 0.5 turns those away and costs 10 copies: the thinnest
# margin of this stage, reported with the benchmark's same-place row. (These were measured
# with 2,400 keypoints a view; with 6,000, the benchmark's 4,344 profile pictures made of
# other photographs of one place still raised no alert.) Second motions as in local
# (MAX_SECOND_MOTION).
MAX_DRIFT_PX = 0.5


@dataclass(frozen=True, eq=False)
class ProfileVerification:
    """How a seen picture lines up with a photo's avatar view (`verify_profile`).

    `inliers`, `transform`, `drift` and `second_motion` as in `keypoints.Verification`;
    `inside`: the share of the seen picture that lies inside the photo; `cells`: how many
    textured cells of the fine thumbnails were compared, `low` and `mid` the correlation of
    the cells at the CELL_LOW_QUANTILE and CELL_MID_QUANTILE shares from the worst (-1 when
    none). Measured only when at least MIN_INLIERS agree.
    """

    inliers: int
    transform: np.ndarray | None
    drift: float = 0.0
    second_motion: int = 0
    inside: float = 0.0
    cells: int = 0
    low: float = -1.0
    mid: float = -1.0

    def is_copy(self) -> bool:
        """The same photograph, cropped and scaled (see the module's docstring)."""
        return (
            self.inliers >= MIN_INLIERS
            and self.inside >= MIN_INSIDE
            and self.cells >= MIN_CELLS
            and self.low >= MIN_CELL_LOW
            and self.mid >= MIN_CELL_MID
            and self.drift <= MAX_DRIFT_PX
            and self.second_motion <= keypoints.MAX_SECOND_MOTION
        )


@dataclass(frozen=True, eq=False)
class AvatarMatch:
    row: int  # the avatar view, in the order given to AvatarIndex
    verification: ProfileVerification


def is_profile_sized(width: int, height: int) -> bool:
    """Whether an image seen has the size and shape of a profile picture."""
    short, long = min(width, height), max(width, height)
    return 1 <= short <= PROFILE_MAX_SIDE and long / short <= PROFILE_MAX_RATIO


def enrolled_features(img: Image.Image | np.ndarray) -> keypoints.Features:
    """The avatar view of a protected photo: its keypoints and fine thumbnail at AVATAR_SIDE."""
    gray = img if isinstance(img, np.ndarray) else np.asarray(img.convert("L"))
    return _features(keypoints.working_picture(gray, AVATAR_SIDE, AVATAR_MAX_SIDE, MAX_UPSCALE), AVATAR_FEATURES)


def seen_features(gray: np.ndarray, mirror: bool = False) -> keypoints.Features:
    """The keypoints of a seen profile picture (or of its mirror image), strongest first."""
    if mirror:
        gray = np.ascontiguousarray(gray[:, ::-1])
    return _features(keypoints.working_picture(gray, SEEN_SIDE, 2 * SEEN_SIDE, MAX_UPSCALE), SEEN_FEATURES)


def _features(gray: np.ndarray, count: int) -> keypoints.Features:
    height, width = gray.shape
    thumb = keypoints.thumbnail(gray, THUMB_FACTOR)
    if min(width, height) < 2 * PATCH_PX:
        return keypoints.Features(keypoints.EMPTY.points, keypoints.EMPTY.descriptors, width, height, thumb)
    orb = cv2.ORB.create(nfeatures=count, scaleFactor=1.2, nlevels=8, fastThreshold=FAST_THRESHOLD,
                         edgeThreshold=PATCH_PX, patchSize=PATCH_PX)
    corners, descriptors = orb.detectAndCompute(gray, None)
    if descriptors is None or not corners:
        return keypoints.Features(keypoints.EMPTY.points, keypoints.EMPTY.descriptors, width, height, thumb)
    # Strongest first: the first VOTING_FEATURES are the ones that vote.
    order = np.argsort([-kp.response for kp in corners], kind="stable")
    points = np.array([corners[i].pt for i in order], dtype=np.float32)
    return keypoints.Features(points, descriptors[order].astype(np.uint8), width, height, thumb)


def verify_profile(seen: keypoints.Features, enrolled: keypoints.Features) -> ProfileVerification:
    """How `seen` lines up with the avatar view `enrolled`: the fit (`keypoints.verify`, whatever
    share of the photo the seen picture covers), then where it lies and how alike the two are."""
    found = keypoints.verify(seen, enrolled, MIN_INLIERS, compare=False)
    if found.transform is None or found.inliers < MIN_INLIERS:
        return ProfileVerification(found.inliers, found.transform)
    correlations = keypoints.cell_correlations(seen, enrolled, found.transform, min_overlap=0.0)
    low, mid = (float(np.quantile(correlations, q)) for q in (CELL_LOW_QUANTILE, CELL_MID_QUANTILE)) if len(correlations) else (-1.0, -1.0)
    return ProfileVerification(
        found.inliers, found.transform, found.drift, found.second_motion,
        inside=_inside(seen, enrolled, found.transform), cells=len(correlations), low=low, mid=mid,
    )


def _inside(seen: keypoints.Features, enrolled: keypoints.Features, transform: np.ndarray) -> float:
    """The share of the seen picture that `transform` places inside the enrolled one (on a grid of points)."""
    ys, xs = np.mgrid[4 : max(5, seen.height) : 8, 4 : max(5, seen.width) : 8]
    points = np.stack([xs.ravel(), ys.ravel()], axis=1).astype(np.float64)
    placed = points @ np.asarray(transform, np.float64)[:, :2].T + np.asarray(transform, np.float64)[:, 2]
    inside = (placed[:, 0] >= 0) & (placed[:, 0] <= enrolled.width) & (placed[:, 1] >= 0) & (placed[:, 1] <= enrolled.height)
    return float(inside.mean())


class AvatarIndex:
    """Every protected photo's avatar view: their descriptors in the inverted lists of the fixed
    quantizer (one set of lists a part: the index's segments), searched for votes, and each view's
    features read for verification (`view_of`)."""

    def __init__(self, parts: Sequence[tuple[faiss.IndexBinaryIVF, int]], photos: np.ndarray,
                 view_of: Callable[[int], keypoints.Features], alive: np.ndarray | None = None) -> None:
        """`parts`: each part's lists, whose ids are its views' rows, and the row of its first view
        among all the parts'; `photos`: the photo of each view; `alive`: whether each may be a match."""
        self._parts = [(lists, first) for lists, first in parts if lists.ntotal]
        self._photos = np.asarray(photos, dtype=np.int64)
        self._view_of = view_of
        self._alive = alive

    def __len__(self) -> int:
        return len(self._photos)

    def view(self, row: int) -> keypoints.Features:
        """The features of the avatar view at `row`, in the parts' order."""
        return self._view_of(row)

    def photo(self, row: int) -> int:
        """The photo the avatar view at `row` belongs to."""
        return int(self._photos[row])

    def votes(self, seen: keypoints.Features) -> np.ndarray:
        """For each view, how many of the seen picture's VOTING_FEATURES strongest descriptors have
        their nearest enrolled one in it, clearly nearer than the second (keypoints.RATIO)."""
        votes = np.zeros(len(self._photos))
        if not self._parts or len(seen) == 0:
            return votes
        queries = np.ascontiguousarray(seen.descriptors[:VOTING_FEATURES])
        distances, nearest = _two_nearest(queries, self._parts)
        clear = (nearest[:, 0] >= 0) & ((nearest[:, 1] < 0) | (distances[:, 0] < keypoints.RATIO * distances[:, 1]))
        votes = np.bincount(nearest[clear, 0], minlength=len(self._photos)).astype(np.float64)
        if self._alive is not None:
            votes[~self._alive] = 0.0
        return votes

    def search(self, seen: keypoints.Features) -> AvatarMatch | None:
        """The avatar view `seen` is a copy of (`ProfileVerification.is_copy`), the one with most
        inliers if several, or None."""
        if len(seen) < MIN_INLIERS or not self._parts:
            return None
        votes = self.votes(seen)
        best: AvatarMatch | None = None
        for row in self._candidates(votes):
            found = verify_profile(seen, self.view(row))
            if found.is_copy() and (best is None or found.inliers > best.verification.inliers):
                best = AvatarMatch(row, found)
        return best

    def _candidates(self, votes: np.ndarray) -> list[int]:
        """The best-voted view of each of the VERIFY_CANDIDATES photos with the most votes (at least MIN_VOTES)."""
        chosen: list[int] = []
        photos: set[int] = set()
        for row in np.argsort(-votes, kind="stable"):
            if votes[row] < MIN_VOTES:
                break
            if int(self._photos[row]) not in photos:
                photos.add(int(self._photos[row]))
                chosen.append(int(row))
                if len(chosen) == VERIFY_CANDIDATES:
                    break
        return chosen


def _two_nearest(queries: np.ndarray, parts: Sequence[tuple[faiss.IndexBinaryIVF, int]]) -> tuple[np.ndarray, np.ndarray]:
    """Each query's two nearest enrolled descriptors among every part's lists (distances, view rows;
    -1 where there is none): the queries are placed in the lists once, each part's probed lists searched."""
    cell_distances, cells = probed(queries)
    found_distances, found_rows = [], []
    total = sum(lists.ntotal for lists, _ in parts)
    for lists, first in parts:
        lists.nprobe = PROBED_LISTS
        lists.max_codes = scan_budget(lists.ntotal, total)
        distances, rows = lists.search_preassigned(queries, 2, cells, cell_distances)
        found_distances.append(distances)
        found_rows.append(np.where(rows >= 0, rows + first, -1))
    if len(parts) == 1:
        return found_distances[0], found_rows[0]
    distances, rows = np.concatenate(found_distances, axis=1), np.concatenate(found_rows, axis=1)
    distances = np.where(rows >= 0, distances, np.iinfo(np.int32).max)
    best = np.argsort(distances, axis=1, kind="stable")[:, :2]
    return np.take_along_axis(distances, best, axis=1), np.take_along_axis(rows, best, axis=1)


def scan_budget(part: int, total: int) -> int:
    """How many enrolled descriptors a seen one may be compared with in a part holding `part` of
    the `total` enrolled: SCAN_BUDGET shared out among the parts by their size (at least one
    descriptor each: faiss reads 0 as no budget)."""
    return max(1, -(-SCAN_BUDGET * part // max(1, total)))


def probed(queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The PROBED_LISTS lists each query is compared with (their distances to it, their numbers):
    the nearest fine cells of its PROBED_COARSE nearest coarse centroids."""
    _, coarse = _quantizer().search(queries, PROBED_COARSE)
    distances = _fine_distances(queries, coarse)  # queries × PROBED_COARSE × FINE_CELLS
    cells = (coarse[:, :, None] * FINE_CELLS + np.arange(FINE_CELLS)).reshape(len(queries), -1)
    distances = distances.reshape(len(queries), -1)
    nearest = np.argpartition(distances, PROBED_LISTS - 1, axis=1)[:, :PROBED_LISTS]
    # Nearest first: a scan that runs out of its budget (SCAN_BUDGET) has seen the likeliest lists.
    order = np.argsort(np.take_along_axis(distances, nearest, axis=1), axis=1, kind="stable")
    nearest = np.take_along_axis(nearest, order, axis=1)
    return (np.ascontiguousarray(np.take_along_axis(distances, nearest, axis=1), dtype=np.int32),
            np.ascontiguousarray(np.take_along_axis(cells, nearest, axis=1), dtype=np.int64))


def _fine_distances(descriptors: np.ndarray, coarse: np.ndarray) -> np.ndarray:
    """The Hamming distance of each descriptor to each fine cell of the coarse centroids `coarse`
    (one row of them a descriptor): shape coarse.shape + (FINE_CELLS,)."""
    words = np.ascontiguousarray(descriptors, dtype=np.uint8).view(np.uint64)  # n × 4
    fine = fine_centroids().view(np.uint64)[coarse]  # coarse.shape × FINE_CELLS × 4, a copy
    expand = (slice(None),) + (None,) * (coarse.ndim - 1) + (None, slice(None))
    np.bitwise_xor(fine, words[expand], out=fine)
    bits = np.bitwise_count(fine)
    # Word by word rather than .sum(axis=-1): half the time, on arrays this shape (enrolment pays it).
    total = bits[..., 0].astype(np.int32)
    for word in range(1, bits.shape[-1]):
        total += bits[..., word]
    return total


@functools.cache
def centroids() -> np.ndarray:
    """The fixed quantizer's COARSE_LISTS centroids (COARSE_LISTS × 32 bytes), trained once (see LISTS_FILE)."""
    found = np.load(LISTS_FILE)
    if found.shape != (COARSE_LISTS, keypoints.DESCRIPTOR_BYTES) or found.dtype != np.uint8:
        raise ValueError(f"{LISTS_FILE.name} holds {found.shape} {found.dtype}, not {COARSE_LISTS} centroids")
    return found


@functools.cache
def fine_centroids() -> np.ndarray:
    """Each coarse centroid's FINE_CELLS fine ones (COARSE_LISTS × FINE_CELLS × 32 bytes), trained once (see FINE_FILE)."""
    found = np.load(FINE_FILE)
    if found.shape != (COARSE_LISTS, FINE_CELLS, keypoints.DESCRIPTOR_BYTES) or found.dtype != np.uint8:
        raise ValueError(f"{FINE_FILE.name} holds {found.shape} {found.dtype}, not {COARSE_LISTS} × {FINE_CELLS} centroids")
    return found


def quantizer() -> faiss.IndexBinaryFlat:
    """A new flat index of the fixed coarse centroids: what faiss's IVF files carry as their
    quantizer (searches place the queries themselves: `probed`)."""
    index = faiss.IndexBinaryFlat(keypoints.DESCRIPTOR_BYTES * 8)
    index.add(centroids())
    return index


@functools.cache
def _quantizer() -> faiss.IndexBinaryFlat:
    return quantizer()


# Descriptors are placed this many at a time (a whole album when an index is written again).
_ASSIGN_BATCH = 16384


def assign(descriptors: np.ndarray) -> np.ndarray:
    """The list of each descriptor: its nearest coarse centroid's nearest fine cell."""
    descriptors = np.ascontiguousarray(descriptors, dtype=np.uint8)
    lists = np.zeros(len(descriptors), np.int64)
    for start in range(0, len(descriptors), _ASSIGN_BATCH):
        batch = descriptors[start : start + _ASSIGN_BATCH]
        _, coarse = _quantizer().search(batch, 1)
        fine = np.argmin(_fine_distances(batch, coarse[:, 0]), axis=1)
        lists[start : start + len(batch)] = coarse[:, 0] * FINE_CELLS + fine
    return lists
