"""A protected photo seen at an angle, bounded: a phone photo of a screen that shows it.

The local stage (`proxy.engine.keypoints`) asks a copy to be the photo under one similarity:
crop, scale, turn, mirror, the geometry of an edit. A photo of a screen showing the photo is
the photo under a perspective (the phone held at an angle to the screen), softened, with glare
and the moiré of the screen's pixels: the similarity leaves most of its keypoints out, and it is
refused. But another photograph of a flat place, a facade or a wall from a step aside, is under
a perspective too, and must stay refused.

What tells them apart is that the copy shows the photograph itself, bounded (`verify_screen`):

- its keypoints fit one homography (`MIN_INLIERS`), which places the photo's four corners in the
  seen picture, within a tenth of its side or so of where a similarity would (`MAX_PERSPECTIVE`:
  a phone held square enough to the screen to see it);
- inside that quadrilateral, the seen picture, warped back onto the photo, is the photo's, cell
  by cell (`MIN_AGREEMENT`), as for any copy;
- and its outline is an edge of the seen picture (`_side`): the screen's frame, a dark
  surround, where the photograph stops. At least MIN_SIDES of its sides must lie inside the seen
  picture and be told (a side flat on both sides, a dark photo's edge on a dark surround, tells
  nothing either way), and every one that is must be such an edge. Another photograph of a place
  runs on past the first one's frame: across the outline the scene goes on, the strips on either
  side of it alike; and where the outline falls outside the picture there is nothing to see, so
  the perspective alone is refused.

Checked only for the candidates the local stage verified without success and whose keypoints
matched in number (`MIN_MATCHES`): an image that matches nothing rarely pays for it. A picture
whose corners are few and whose surround is dark, as a soft photo of a screen's are, is searched
again with finer corners (`finer_corners`) when the first search finds nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sentinelle.proxy.engine import keypoints
from sentinelle.proxy.engine.keypoints import cv2  # OpenCV, loaded the way proxy.engine.keypoints explains

# Keypoint matches (one to one, ratio test) a candidate needs before a homography is tried on
# the seen image's keypoints; with fewer, but at least MIN_MATCHES, it gets a second look.
HOMOGRAPHY_MATCHES = 24
MIN_MATCHES = 12
# The second look: a screen photographed soft keeps few corners strong enough for the keypoints
# every image gets (keypoints.SEEN_FAST_THRESHOLD), and the homography they give places the
# outline a few pixels off. The candidate already voted for and matched in part, the seen picture's
# corners are taken again, as many and as faint as a protected photo's (FINER_FEATURES at
# keypoints.ENROL_FAST_THRESHOLD), and the whole check is made again on them.
FINER_FEATURES = 600
FINER_FAST_THRESHOLD = keypoints.ENROL_FAST_THRESHOLD
# ... for a candidate whose matches fit the local stage's similarity by SECOND_LOOK_INLIERS or more
# (`keypoints.verify`): the picture's own corners already see the photo, only too few of them.
# Measured on the matcher benchmark (`--classes screen`, 100 protected photos, both sizes): every
# photo of a screen the second look found had 8 or more; the 189 unrelated photos that matched
# nothing had 2 to 5, and 16 of them paid for a second look (a third of a millisecond an image on
# average) when every candidate with MIN_MATCHES had one.
SECOND_LOOK_INLIERS = 6
# A second vote: a soft photo of a screen keeps so few corners at SEEN_FAST_THRESHOLD (43 to 296 of
# 400 on the benchmark's screens from above, at own size) that its photo is often not among the
# candidates the local stage verifies (12 of its 16 misses). A picture with fewer than
# SPARSE_FEATURES corners whose surround is dark (`dark_surround`) has its corners taken again,
# FINER_FEATURES at FINER_FAST_THRESHOLD, and is searched again with them. Measured on the dev
# corpus: 40 of 40 soft screens have the dark surround, 15 of them too few corners; of 100 of its
# photos as they are, 8 have too few corners and 1 a dark surround, none both: an image that
# matches nothing rarely pays.
SPARSE_FEATURES = 320
# The surround: the picture's outer SURROUND_SHARE of its short side, on every side; dark when its
# median grey is at most SURROUND_DARK and nine tenths of it at most SURROUND_BRIGHT (a dim room,
# a bezel; the screens measured 23 and 35).
SURROUND_SHARE = 0.04
SURROUND_DARK = 50
SURROUND_BRIGHT = 70
MIN_INLIERS = 20
# A match agrees with the homography when it lands within this many pixels of its twin (on the
# protected photo's LOCAL_SIDE picture): looser than the similarity's, for a softened photo.
REPROJECTION_PX = 5.0
# How far the photo's corners may be from a similarity's, in shares of the quadrilateral's
# longest side: the benchmark's photos of screens go to a tenth; more is a view too oblique to be
# a photo of a screen someone shows.
MAX_PERSPECTIVE = 0.15
# The photo covers at least this share of the seen picture (a screen in the distance is too
# small to check its cells).
MIN_AREA = 0.1
# Cells (keypoints.CELL_PX of the photo's thumbnail) compared after the warp; the one at
# keypoints.CELL_QUANTILE from the worst must correlate at least this (blur, glare and moiré
# lower a copy's, measured on the benchmark's photos of screens).
MIN_AGREEMENT = 0.8
MIN_CELLS = 12
# The outline: at least MIN_SIDES sides inside the seen picture (a share SIDE_SEEN of their
# length) and told (one side or the other varies by EDGE_STEP, or they differ by it), each an edge. Across an edge, the picture EDGE_PX inside and EDGE_PX outside differ
# by at least EDGE_STEP grey levels and EDGE_RATIO times what it varies by just inside, at the
# median of the side; or the outside is flat (its spread along the side at most FLAT_SHARE of the
# inside's): a frame, a dark surround.
MIN_SIDES = 3
SIDE_SEEN = 0.6
SIDE_SAMPLES = 48
EDGE_PX = 3.0
EDGE_STEP = 10.0
EDGE_RATIO = 2.0
FLAT_SHARE = 0.35
# The edge is looked for at the outline's place and this many pixels either side of it: a soft
# photo's homography places it a pixel off. On the benchmark's screens (40 photos, both sizes),
# 1 px finds 225 of 240, 2 px 230, but 2 px also reads the keystoned walls of test_screen and
# test_same_place (a scene reflected at the picture's border) as bounded: 1 it is.
EDGE_SHIFT = 1


@dataclass(frozen=True, eq=False)
class ScreenVerification:
    """How a seen picture lines up with a protected photo under a perspective (`verify_screen`).

    `homography`: seen picture → photo (3 × 3); `corners`: the photo's corners in the seen picture,
    clockwise from its top-left; `perspective`, `agreement`, `sides` (inside the picture) and
    `edges` (of those, the ones that are edges): see the module's docstring. Measured only as far
    as the checks before them pass (otherwise -1 / 0)."""

    inliers: int
    homography: np.ndarray | None = None
    corners: np.ndarray | None = None
    perspective: float = -1.0
    agreement: float = -1.0
    sides: int = 0
    edges: int = 0

    def is_copy(self) -> bool:
        return (
            self.inliers >= MIN_INLIERS
            and 0 <= self.perspective <= MAX_PERSPECTIVE
            and self.agreement >= MIN_AGREEMENT
            and self.sides >= MIN_SIDES
            and self.edges == self.sides
        )


def verify_screen(seen: keypoints.Features, enrolled: keypoints.Features, picture: np.ndarray,
                  second_look: bool = True, finer: bool = False) -> ScreenVerification:
    """How `seen` (whose working picture, at the scale of its keypoints, is `picture`) lines up with
    the protected photo `enrolled` under a homography, and whether that is a copy bounded by its
    outline (see the module's docstring); looked at again with finer corners (FINER_FEATURES) when
    the seen image's own fall short, if `second_look` (see SECOND_LOOK_INLIERS). `finer`: `seen`
    are such corners already (`finer_corners`)."""
    found = _homography(seen, enrolled, picture, MIN_INLIERS if finer else HOMOGRAPHY_MATCHES)
    if found.is_copy() or not second_look:
        return found
    again = _homography(keypoints.described(picture, FINER_FEATURES, FINER_FAST_THRESHOLD), enrolled, picture, MIN_INLIERS)
    return again if again.is_copy() or again.inliers > found.inliers else found


def finer_corners(picture: np.ndarray, seen: keypoints.Features) -> keypoints.Features | None:
    """The picture's corners taken again, finer (FINER_FEATURES at FINER_FAST_THRESHOLD), when its
    own are few (SPARSE_FEATURES) and its surround is dark, as a soft photo of a screen's is; else None."""
    if len(seen) >= SPARSE_FEATURES or not dark_surround(picture):
        return None
    return keypoints.described(picture, FINER_FEATURES, FINER_FAST_THRESHOLD)


def dark_surround(picture: np.ndarray) -> bool:
    """Whether the picture's outer strip (SURROUND_SHARE) is dark all round (SURROUND_DARK, SURROUND_BRIGHT)."""
    margin = max(2, round(SURROUND_SHARE * min(picture.shape)))
    strip = np.concatenate([picture[:margin].ravel(), picture[-margin:].ravel(),
                            picture[:, :margin].ravel(), picture[:, -margin:].ravel()])
    return bool(np.median(strip) <= SURROUND_DARK and np.percentile(strip, 90) <= SURROUND_BRIGHT)


def _homography(seen: keypoints.Features, enrolled: keypoints.Features, picture: np.ndarray, least: int) -> ScreenVerification:
    """`verify_screen`'s checks on one set of the seen picture's keypoints, tried when they make at least `least` matches."""
    query, train = keypoints.matches(seen, enrolled)
    if len(query) < max(least, MIN_INLIERS):
        return ScreenVerification(len(query))
    homography, mask = cv2.findHomography(seen.points[query].astype(np.float64), enrolled.points[train].astype(np.float64),
                                          cv2.RANSAC, REPROJECTION_PX, maxIters=2000, confidence=0.995)
    if homography is None or mask is None or int(mask.sum()) < MIN_INLIERS:
        return ScreenVerification(0 if mask is None else int(mask.sum()))
    inliers = int(mask.sum())
    height, width = picture.shape
    photo = np.array([[0, 0], [enrolled.width, 0], [enrolled.width, enrolled.height], [0, enrolled.height]], np.float64)
    try:
        corners = cv2.perspectiveTransform(photo[None], np.linalg.inv(homography))[0]
    except np.linalg.LinAlgError:
        return ScreenVerification(inliers, homography)
    area = abs(cv2.contourArea(corners.astype(np.float32)))
    if not cv2.isContourConvex(corners.astype(np.float32)) or area < MIN_AREA * width * height:
        return ScreenVerification(inliers, homography, corners)
    found = _perspective(photo, corners)
    if found > MAX_PERSPECTIVE:
        return ScreenVerification(inliers, homography, corners, found)
    agreement = _agreement(picture, enrolled, homography)
    if agreement < MIN_AGREEMENT:
        return ScreenVerification(inliers, homography, corners, found, agreement)
    sides, edges = outline(picture, corners, lenient=True)
    return ScreenVerification(inliers, homography, corners, found, agreement, sides, edges)


def outline(picture: np.ndarray, corners: np.ndarray, *, lenient: bool = False) -> tuple[int, int]:
    """Of the quadrilateral `corners` (on `picture`'s scale), how many sides lie inside the picture
    (SIDE_SEEN of their length), and how many of those are an edge of it (`_side`).

    `lenient` (a photo of a screen's own check, which asks every side to be an edge): a side that
    tells nothing is not counted, and an edge is looked for EDGE_SHIFT px either side of the
    outline. Not for the matcher's question whether a photo runs on past all of its sides
    (`matcher._runs_on_past`, which asks that none be an edge): measured on the Kodak photos as
    scenes running on past a rectangle, the shift reads one side more as an edge in 5 of 24."""
    sides = edges = 0
    for start, end in zip(corners, np.roll(corners, -1, axis=0)):
        seen_side, edge = _side(picture, start, end, corners.mean(axis=0), lenient)
        sides += seen_side
        edges += seen_side and edge
    return sides, edges


def _perspective(photo: np.ndarray, corners: np.ndarray) -> float:
    """How far the corners are from where the closest similarity puts the photo's, in shares of the
    quadrilateral's longest side."""
    similarity, _ = cv2.estimateAffinePartial2D(photo, corners, method=cv2.LMEDS)
    if similarity is None:
        return float("inf")
    placed = photo @ similarity[:, :2].T + similarity[:, 2]
    longest = max(float(np.hypot(*(b - a))) for a, b in zip(corners, np.roll(corners, -1, axis=0)))
    return float(np.hypot(*(placed - corners).T).max() / max(longest, 1.0))


def _agreement(picture: np.ndarray, enrolled: keypoints.Features, homography: np.ndarray) -> float:
    """The cells of the photo's thumbnail against the seen picture warped back onto the photo: the
    correlation of the cell at CELL_QUANTILE from the worst (-1 with fewer than MIN_CELLS)."""
    size = (enrolled.width, enrolled.height)
    warped = cv2.warpPerspective(picture, homography, size, flags=cv2.INTER_LINEAR)
    covered = cv2.warpPerspective(np.full(picture.shape, 255, np.uint8), homography, size, flags=cv2.INTER_NEAREST)
    factor = keypoints.THUMB_FACTOR
    thumb = keypoints.thumbnail(warped, factor)
    if thumb.shape != enrolled.thumb.shape:  # a photo enrolled by an earlier Sentinelle: its thumbnail spans another factor
        thumb = cv2.resize(warped, enrolled.thumb.shape[::-1], interpolation=cv2.INTER_AREA)
    inside = cv2.resize(covered, enrolled.thumb.shape[::-1], interpolation=cv2.INTER_AREA) == 255
    correlations = keypoints.correlations_in_cells(
        keypoints.gradients(thumb.astype(np.float32)), keypoints.gradients(enrolled.thumb.astype(np.float32)), inside)
    if len(correlations) < MIN_CELLS:
        return -1.0
    return float(np.quantile(correlations, keypoints.CELL_QUANTILE))


def _side(picture: np.ndarray, start: np.ndarray, end: np.ndarray, centre: np.ndarray, lenient: bool) -> tuple[bool, bool]:
    """Whether the side from `start` to `end` lies in the picture (SIDE_SEEN of it), and whether it
    is an edge there (see EDGE_STEP, EDGE_RATIO, FLAT_SHARE). `lenient`: a side must also be told
    (not flat on both sides: a dark photo's edge on a dark surround says nothing), and its edge may
    be up to EDGE_SHIFT px either side of it (a soft photo's homography places its outline a pixel
    off)."""
    height, width = picture.shape
    along = np.linspace(0.1, 0.9, SIDE_SAMPLES)[:, None]
    points = start + along * (end - start)
    direction = (end - start) / max(float(np.hypot(*(end - start))), 1e-6)
    normal = np.array([-direction[1], direction[0]])
    if np.dot(centre - (start + end) / 2, normal) < 0:
        normal = -normal  # pointing inside
    reach = EDGE_SHIFT if lenient else 0
    shifts = np.arange(-reach, reach + 1, dtype=np.float64)
    # For each shift: inside twice as deep, inside, outside.
    depths = (shifts[:, None] + np.array([2 * EDGE_PX, EDGE_PX, -EDGE_PX])[None, :]).reshape(-1)
    where = points[:, None, :] + depths[None, :, None] * normal
    visible = ((where[..., 0] >= 0) & (where[..., 0] <= width - 1) & (where[..., 1] >= 0) & (where[..., 1] <= height - 1)).all(axis=1)
    if visible.mean() < SIDE_SEEN:
        return False, False
    samples = cv2.remap(picture.astype(np.float32), where[visible, :, 0].astype(np.float32), where[visible, :, 1].astype(np.float32),
                        cv2.INTER_LINEAR).reshape(-1, len(shifts), 3)
    told = False
    for shift in range(len(shifts)):
        deeper, inside, outside = samples[:, shift, 0], samples[:, shift, 1], samples[:, shift, 2]
        step = float(np.median(np.abs(inside - outside)))
        within = float(np.median(np.abs(deeper - inside)))
        if step >= EDGE_STEP and step >= EDGE_RATIO * within:
            return True, True
        spread_inside, spread_outside = float(np.std(inside)), float(np.std(outside))
        if spread_inside >= EDGE_STEP and spread_outside <= FLAT_SHARE * spread_inside:
            return True, True
        told |= step >= EDGE_STEP or max(spread_inside, spread_outside) >= EDGE_STEP
    return told or not lenient, False
