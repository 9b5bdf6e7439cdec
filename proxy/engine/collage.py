"""Finds the pictures a collage is made of: the tiles of a 2 × 2 or 3 × 3 grid, the two photos of a side-by-side, a photo pasted into another.

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

A photo pasted into another (`_inset`) has no seam across the picture: its four sides are steps
that run the length of each side and stop. Found from the same counts of stepping rows, a
rectangle of them is looked at alone too.

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
    a side-by-side, or else the one photo pasted inside it (`_inset`, for a picture without a
    frame); none for an ordinary photograph.

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
    transposed = np.ascontiguousarray(small.T)
    stepping_across, stepping_down = _stepping(small), _stepping(transposed)
    across = _seam_scores(small, stepping_across)  # seams from top to bottom, at each column
    down = _seam_scores(transposed, stepping_down)  # seams from left to right, at each row
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
    if photo is None and (pasted := _inset(stepping_across, stepping_down)) is not None:
        left, top, right, bottom = pasted
        return [(left * step, top * step, right * step, bottom * step)]
    return []


def _stepping(picture: np.ndarray) -> np.ndarray:
    """Where the picture steps across a column, on every other row: (rows / 2) × columns, 1 where the
    step from the column before to the column after is at least STEP_RATIO times the mean of the
    steps three to five pixels away on each side, and MIN_STEP grey levels (0 at the first and
    last columns: the picture's own edges are no step)."""
    rows = picture[::2]
    steps = cv2.absdiff(rows[:, 2:], rows[:, :-2]).astype(np.float32)  # column c's step is steps[:, c - 1]
    around = cv2.filter2D(steps, -1, _AROUND, borderType=cv2.BORDER_REPLICATE)
    stepping = np.zeros(rows.shape, np.float32)
    stepping[:, 1:-1] = (steps >= MIN_STEP) & (steps >= STEP_RATIO * around)
    return stepping


def _seam_scores(picture: np.ndarray, stepping: np.ndarray | None = None) -> np.ndarray:
    """For each column, how much of a seam runs down it: the share of rows that step across it
    (`_stepping`, given or made) in the quarter of the height where fewest do; 1 for a column of a
    gutter. Every other row is looked at: a seam is on all of them."""
    if stepping is None:
        stepping = _stepping(picture)
    bounds = np.linspace(0, len(stepping), 5).astype(int)
    shares = np.add.reduceat(stepping, bounds[:-1], axis=0) / np.diff(bounds)[:, None]
    scores = shares.min(axis=0).astype(np.float64)
    scores[_gutters(picture[::2].std(axis=0) < FLAT_STD)] = 1.0
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


# --- a photo pasted inside another ------------------------------------------------------------
#
# A photo pasted into another picture (with or without a thin border) is a rectangle whose four
# sides are straight steps in the picture, each running the length of the side and no further
# than the photo. Its keypoints are outnumbered by the picture's around it, and it may never be
# voted for: found here, it is looked at alone, as a collage's photos are.

# A side of the pasted photo is at least this share of the picture's side (a quarter of its area).
INSET_SIDE = 0.25
# ... and not the whole picture (then it is the picture, or a frame `proxy.engine.frame` finds).
INSET_MAX_SIDE = 0.95
# Along a side, the share of its length that must step across it (over windows of INSET_GAP px
# of the searched picture: the photo's own content sometimes matches its surround for a few px).
INSET_STEPPING = 0.75
INSET_GAP = 4
# Two sides meet the other two within this share of the picture's side.
INSET_SLACK = 0.02


def _inset(across: np.ndarray, down: np.ndarray) -> Box | None:
    """The largest rectangle whose four sides are straight steps (a photo pasted inside the picture),
    from the picture's `_stepping` maps across its columns and down its rows, on its scale."""
    rows, columns = down.shape[1], across.shape[1]
    slack = max(2, round(INSET_SLACK * max(rows, columns)))
    runs = _runs(_smoothed(across), round(INSET_SIDE * rows / 2), round(INSET_MAX_SIDE * rows / 2))
    sides = _smoothed(down)
    best: Box | None = None
    for i, (left, top, bottom) in enumerate(runs):
        for right, other_top, other_bottom in runs[i + 1 :]:
            if not INSET_SIDE * columns <= right - left <= INSET_MAX_SIDE * columns:
                continue
            if abs(top - other_top) > slack / 2 or abs(bottom - other_bottom) > slack / 2:
                continue
            box = (left, 2 * max(top, other_top), right, 2 * min(bottom, other_bottom))
            if best is not None and (box[2] - box[0]) * (box[3] - box[1]) <= (best[2] - best[0]) * (best[3] - best[1]):
                continue
            if _edge_along(sides, box[1], left, right, slack) and _edge_along(sides, box[3], left, right, slack):
                best = box
    return best


def _smoothed(stepping: np.ndarray) -> np.ndarray:
    """A `_stepping` map averaged along each column over INSET_GAP of its rows."""
    return cv2.blur(stepping, (1, INSET_GAP), borderType=cv2.BORDER_CONSTANT)


def _runs(stepping: np.ndarray, shortest: int, longest: int) -> list[tuple[int, int, int]]:
    """(column, first row, last row) of each run of rows mostly stepping at a column (INSET_STEPPING),
    between `shortest` and `longest` long, left to right."""
    mostly = stepping >= INSET_STEPPING
    padded = np.zeros((mostly.shape[0] + 2, mostly.shape[1]), np.int8)
    padded[1:-1] = mostly
    change = np.diff(padded, axis=0).T  # columns × (rows + 1)
    start_columns, starts = np.nonzero(change == 1)
    _, ends = np.nonzero(change == -1)
    length = ends - starts
    keep = (length >= shortest) & (length <= longest)
    return [(int(c), int(s), int(e)) for c, s, e in zip(start_columns[keep], starts[keep], ends[keep])]


def _edge_along(stepping: np.ndarray, row: int, left: int, right: int, slack: int) -> bool:
    """Whether the picture steps across `row` (within `slack`) mostly from `left` to `right`
    (`stepping`: the map down the rows, on every other column)."""
    near = stepping[left // 2 : right // 2, max(0, row - slack) : row + slack + 1]
    return near.size > 0 and float((near.max(axis=1) >= INSET_STEPPING).mean()) >= INSET_STEPPING
