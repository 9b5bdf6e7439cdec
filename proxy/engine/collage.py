"""Finds the pictures a collage is made of: the tiles of a 2 × 2 or 3 × 3 grid, the two photos of a side-by-side.

Where two photographs meet edge to edge, the picture steps from one to the other on nearly
every row, sharply (a pixel or two once resized): a step that sharp, inside one photograph,
runs along an object's edge, for part of the picture's height. So at each boundary between two
columns (`_seam_scores`), the rows that step there are counted (a step over two pixels at least
STEP_RATIO times the steps just beside it, and MIN_STEP grey levels), in each quarter of the
picture's height, and the seam's score is the share in the quarter where fewest do: a seam runs
the whole way. A band of one flat colour across the picture (a gutter between photos) scores 1.

Collage apps lay photos out in a few ways, and each layout says where its seams must be, so
all of them are checked at once: a grid's seams are at its thirds or halves, each present and
together well marked (GRID_EACH, GRID_MEAN); a side-by-side has one seam anywhere, which must
stand out more (PAIR). An ordinary photograph rarely has a sharp step across its whole height,
and far more rarely at a grid's every third: it gets no tiles, and costs nothing more.

Costs well under a millisecond on the reduced picture it is given (at most SEARCH_SIDE px).
"""

from __future__ import annotations

import numpy as np

from sentinelle.proxy.engine.keypoints import cv2  # OpenCV, loaded the way proxy.engine.keypoints explains

# The picture is searched at most this many pixels on its short side.
SEARCH_SIDE = 320
# A row steps across a boundary when its step there (over two pixels) is at least STEP_RATIO
# times the mean of its steps three to five pixels away on each side, and MIN_STEP grey levels.
STEP_RATIO = 2.5
MIN_STEP = 12.0
# A gutter: a band of columns (or rows) whose grey levels vary by less than FLAT_STD along the
# whole picture, at most GUTTER of its side wide, between textured ones.
FLAT_STD = 3.0
GUTTER = 0.04
# Measured on the Kodak fixtures made into the benchmark's grids and side-by-sides (at the
# photos' own size and 1080 px), against the 24 photos as they are (both ways): a seam between
# two photos scored 0.22 to 0.97 (0.22 to 0.66 without a gutter), the best boundary of an
# ordinary photograph at most 0.33, and a grid's every seam at once never above 0.15 in one.
# PAIR sits just above the ordinary photographs': on the dev corpus's side-by-sides, the seams
# missed at 0.6 scored 0.27 to 0.58, most 0.38 to 0.5 (recall 89 % → 98 %), while 12 of its 789
# ordinary photos have a boundary above 0.4 from top to bottom (7 above 0.6): those few pay for
# looking at their two halves, and a half is held to what a collage's photo must be
# (`matcher.MAX_LOPSIDED`).
GRID_EACH = 0.15
GRID_MEAN = 0.3
PAIR = 0.38
# Where a grid's seam is looked for: around its place, within this share of the side (a gutter
# of up to twice this, or a layout a few pixels off).
GRID_SLACK = 0.025
# A side-by-side's seam leaves at least this share of the side on each part.
PAIR_MARGIN = 0.2
# Each tile is trimmed by this share of its side on each edge (what a gutter or the seam's
# blur left of its neighbour).
TRIM = 0.02

Box = tuple[int, int, int, int]  # left, top, right, bottom


def tiles(gray: np.ndarray, photo: Box | None = None) -> list[Box]:
    """The photos a collage is made of, on `gray`'s scale: the tiles of a grid, or the two photos of
    a side-by-side; none for an ordinary photograph.

    `photo`: the box of the photo inside a flat frame, when the picture has one (a screenshot's UI,
    a caption bar, a story's blurred background: `proxy.engine.frame`). A side-by-side's seam is
    looked for inside it alone: the photo's own edge against the frame runs the whole way across
    too, but it is where one photograph meets the UI, not another photograph (every screenshot
    split there, paying for two more looks)."""
    height, width = gray.shape
    step = max(1, -(-min(height, width) // SEARCH_SIDE))
    small = np.ascontiguousarray(gray[::step, ::step], dtype=np.uint8)
    if min(small.shape) < 32:
        return []
    across = _seam_scores(small)  # seams from top to bottom, at each column
    down = _seam_scores(np.ascontiguousarray(small.T))  # seams from left to right, at each row
    for n in (3, 2):
        columns, rows = _grid_seams(across, n), _grid_seams(down, n)
        grid_scores = [s for _, s in columns + rows]
        if min(grid_scores) >= GRID_EACH and float(np.mean(grid_scores)) >= GRID_MEAN:
            return _cells([x for x, _ in columns], [y for y, _ in rows], (0, 0, small.shape[1], small.shape[0]), step)
    bounds = (0, 0, small.shape[1], small.shape[0])
    if photo is not None:
        bounds = (photo[0] // step, photo[1] // step, -(-photo[2] // step), -(-photo[3] // step))
        inside = np.ascontiguousarray(small[bounds[1] : bounds[3], bounds[0] : bounds[2]])
        if min(inside.shape) < 32:
            return []
        across, down = _seam_scores(inside), _seam_scores(np.ascontiguousarray(inside.T))
    for scores, vertical in ((across, True), (down, False)):
        low, high = round(len(scores) * PAIR_MARGIN), round(len(scores) * (1 - PAIR_MARGIN))
        if high > low and (best := low + int(np.argmax(scores[low:high]))) and scores[best] >= PAIR:
            return _cells([best] if vertical else [], [] if vertical else [best], bounds, step)
    return []


def _seam_scores(picture: np.ndarray) -> np.ndarray:
    """For each column, how much of a seam runs down it: the share of rows that step across it (from
    the column before to the column after) in the quarter of the height where fewest do; 1 for a
    column of a gutter. Every other row is looked at: a seam is on all of them."""
    rows = picture[::2]
    steps = cv2.absdiff(rows[:, 2:], rows[:, :-2]).astype(np.float32)  # column c's step is steps[:, c - 1]
    around = cv2.filter2D(steps, -1, _AROUND, borderType=cv2.BORDER_REPLICATE)
    stepping = ((steps >= MIN_STEP) & (steps >= STEP_RATIO * around)).astype(np.float32)
    bounds = np.linspace(0, len(rows), 5).astype(int)
    shares = np.add.reduceat(stepping, bounds[:-1], axis=0) / np.diff(bounds)[:, None]
    scores = np.zeros(picture.shape[1])
    scores[1:-1] = shares.min(axis=0)
    scores[_gutters(rows.std(axis=0) < FLAT_STD)] = 1.0
    scores[[0, -1]] = 0.0  # the picture's own edges are no seam
    return scores


# The mean of the steps three to five pixels away on each side.
_AROUND = np.array([[1, 1, 1, 0, 0, 0, 0, 0, 1, 1, 1]], np.float32) / 6


def _gutters(flat: np.ndarray) -> np.ndarray:
    """The flat columns that make a gutter: a run of at most GUTTER of the side, with textured
    columns on both sides (a plain background, a sky, a letterbox is no gutter)."""
    gutters = np.zeros(len(flat), bool)
    edges = np.flatnonzero(np.diff(np.concatenate([[0], flat.astype(np.int8), [0]])))
    for start, end in zip(edges[::2], edges[1::2]):
        if start > 0 and end < len(flat) and end - start <= max(1, round(GUTTER * len(flat))):
            gutters[start:end] = True
    return gutters


def _grid_seams(scores: np.ndarray, n: int) -> list[tuple[int, float]]:
    """An n-part grid's seams along one side: at each k/n of it, the best column within GRID_SLACK."""
    length = len(scores)
    slack = max(2, round(length * GRID_SLACK))
    found = []
    for k in range(1, n):
        centre = round(length * k / n)
        low, high = max(0, centre - slack), min(length, centre + slack + 1)
        best = low + int(np.argmax(scores[low:high]))
        found.append((best, float(scores[best])))
    return found


def _cells(columns: list[int], rows: list[int], bounds: Box, step: int) -> list[Box]:
    """The boxes between the cuts (given from `bounds`' left and top) within `bounds`, on the full
    picture's scale (`step` times the searched picture's), each trimmed by TRIM."""
    origin_x, origin_y, right_end, bottom_end = bounds
    xs = [origin_x, *(origin_x + x for x in columns), right_end]
    ys = [origin_y, *(origin_y + y for y in rows), bottom_end]
    boxes = []
    for top, bottom in zip(ys[:-1], ys[1:]):
        for left, right in zip(xs[:-1], xs[1:]):
            dx, dy = round((right - left) * TRIM), round((bottom - top) * TRIM)
            boxes.append(((left + dx) * step, (top + dy) * step, (right - dx) * step, (bottom - dy) * step))
    return boxes
