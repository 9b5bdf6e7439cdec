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
that run along most of each side and stop at its corners. Found from the same counts of stepping
rows, a rectangle of them is looked at alone too.

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
    scores[_gutters(_spread(picture[::2]) < FLAT_STD)] = 1.0
    scores[[0, -1]] = 0.0  # the picture's own edges are no seam
    return scores


def _spread(picture: np.ndarray) -> np.ndarray:
    """The standard deviation of each column's grey levels (OpenCV's sums: a third of numpy's std's time)."""
    values = picture.astype(np.float32)
    mean = cv2.reduce(values, 0, cv2.REDUCE_AVG)
    return np.sqrt(np.maximum(cv2.reduce(cv2.multiply(values, values), 0, cv2.REDUCE_AVG) - mean * mean, 0))[0]


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
# sides are straight steps in the picture, each running along the side and no further than the
# photo. Its keypoints are outnumbered by the picture's around it, and it may never be voted for:
# found here, it is looked at alone, as a collage's photos are.
#
# Not every side steps all along: a photo busy right up to its border steps no more there than
# beside it, a light photo on a light picture around a white border steps on one side of the
# border only, and the border's two edges lie a pixel or two apart once the picture is reduced.
# So two sides that do run the length (two opposite ones, or two that meet at a corner) say where
# the rectangle is, three of its sides must step along most of their length, the fourth along a
# fair part of it, and their lines must stop at its corners.
#
# Measured on the matcher benchmark (`--classes inside`, 100 protected photos, 120 distractors):
# of the photos pasted at 55 % of a stranger's width that a rectangle stepping all along its four
# sides missed (18 of 200), these rules find 17; of its 689 ordinary photos, 6 have a rectangle
# (8 by the sides' rules alone, none before).

# A side of the pasted photo is at least this share of the picture's side, and the photo at least
# INSET_AREA of the picture (a landscape photo at 55 % of a portrait picture's width is 13 % of it).
INSET_SIDE = 0.2
INSET_AREA = 0.1
# ... and not the whole picture (then it is the picture, or a frame `proxy.engine.frame` finds).
INSET_MAX_SIDE = 0.95
# A row steps across a side when most of the INSET_GAP px around it do (INSET_STEPPING: the
# photo's own content sometimes matches its surround for a few px). Three of the four sides step
# along INSET_HELD of their length or more, the fourth along INSET_EACH: of the pasted photos
# above, each found has three sides at 0.8 or more and its fourth at 0.45 or more.
INSET_STEPPING = 0.75
INSET_HELD = 0.8
INSET_EACH = 0.4
INSET_GAP = 4
# A side that runs the length may be broken for up to this share of the picture's side (a face,
# a sky as light as the border, against it), and wander by INSET_NEAR px either way.
INSET_BRIDGE = 0.1
INSET_NEAR = 1
# Two sides meet the other two within this share of the picture's side.
INSET_SLACK = 0.02
# A pasted photo's sides stop at its corners: the line of a side, on past an end of it (after
# INSET_SLACK) for INSET_BEYOND of the picture's side, steps less than INSET_RUNS_ON of the way, at
# all its eight ends but INSET_ENDS_ON (the picture around may have an edge or two in line with
# its sides by chance: a wall's edge, a shelf). A row of windows, a tiled wall, steps on along the
# same lines: of the largest rectangles the sides' rules find in the ordinary photos above and in
# kodim01's facade, 6 of 9 have three ends or more stepping on; of the pasted photos', 1 of 17.
INSET_BEYOND = 0.05
INSET_RUNS_ON = 0.5
INSET_ENDS_ON = 2


def _inset(across: np.ndarray, down: np.ndarray) -> Box | None:
    """The largest rectangle whose four sides are straight steps (a photo pasted inside the picture),
    from the picture's `_stepping` maps across its columns and down its rows, on its scale."""
    rows, columns = down.shape[1], across.shape[1]
    slack = max(2, round(INSET_SLACK * max(rows, columns)))
    across, down = _smoothed(across), _smoothed(down)
    # Each run as (where, from, to) on the picture's scale: the maps hold every other row (column).
    vertical = _runs(across, rows) * np.array([1, 2, 2])
    horizontal = _runs(down, columns) * np.array([1, 2, 2])
    candidates = [_opposite(vertical, slack), _opposite(horizontal, slack)[:, [1, 0, 3, 2]]]
    # A corner: a side from top to bottom and one from left to right meet at an end of each.
    x, top, bottom = (vertical[:, None, k] for k in range(3))
    y, left, right = (horizontal[None, :, k] for k in range(3))
    at_left, at_top = np.abs(x - left) <= slack, np.abs(y - top) <= slack
    meet = np.nonzero((at_left | (np.abs(x - right) <= slack)) & (at_top | (np.abs(y - bottom) <= slack)))
    candidates.append(np.stack([np.where(at_left, x, left)[meet], np.where(at_top, y, top)[meet],
                                np.where(at_left, right, x)[meet], np.where(at_top, bottom, y)[meet]], axis=1))
    found = np.concatenate(candidates).reshape(-1, 4)
    width, height = found[:, 2] - found[:, 0], found[:, 3] - found[:, 1]
    sized = ((width >= INSET_SIDE * columns) & (width <= INSET_MAX_SIDE * columns) & (height >= INSET_SIDE * rows)
             & (height <= INSET_MAX_SIDE * rows) & (width * height >= INSET_AREA * rows * columns))
    found, area = found[sized], (width * height)[sized]
    if len(found) == 0:
        return None
    left, top, right, bottom = found.T
    reach = max(2, round(INSET_BEYOND * max(rows, columns)))
    # Each side, and its line on past each end of it: those from top to bottom, then across.
    along = [*_shares(across, slack, np.concatenate([left, right]),
                      [(np.tile(start, 2), np.tile(end, 2)) for start, end in _side_and_beyond(top, bottom, slack, reach)]),
             *_shares(down, slack, np.concatenate([top, bottom]),
                      [(np.tile(start, 2), np.tile(end, 2)) for start, end in _side_and_beyond(left, right, slack, reach)])]
    along = [share.reshape(2, -1) for share in along]
    shares = np.sort(np.concatenate([along[0], along[3]]), axis=0)
    running_on = (np.concatenate(along[1:3] + along[4:]) >= INSET_RUNS_ON).sum(axis=0)
    held = np.flatnonzero((shares[0] >= INSET_EACH) & (shares[1] >= INSET_HELD) & (running_on <= INSET_ENDS_ON))
    if len(held) == 0:
        return None
    best = held[np.argmax(area[held])]
    return int(left[best]), int(top[best]), int(right[best]), int(bottom[best])


def _opposite(sides: np.ndarray, slack: int) -> np.ndarray:
    """The boxes (on the runs' own axes: at, from, at, to) of each pair of parallel runs (`_runs`,
    scaled) whose ends meet within `slack`."""
    start, end = sides[:, 1], sides[:, 2]
    first, second = np.nonzero(np.triu((np.abs(start[:, None] - start) <= slack) & (np.abs(end[:, None] - end) <= slack), 1))
    return np.stack([sides[first, 0], np.maximum(start[first], start[second]),
                     sides[second, 0], np.minimum(end[first], end[second])], axis=1)


def _smoothed(stepping: np.ndarray) -> np.ndarray:
    """A `_stepping` map averaged along each column over INSET_GAP of its rows."""
    return cv2.blur(stepping, (1, INSET_GAP), borderType=cv2.BORDER_CONSTANT)


def _runs(stepping: np.ndarray, length: int) -> np.ndarray:
    """(column, first row, last row) of each run of rows mostly stepping (INSET_STEPPING) at a column
    or within INSET_NEAR of it, broken for at most INSET_BRIDGE of the picture's `length`, between
    INSET_SIDE and INSET_MAX_SIDE of it long (the map's rows being every other of the picture's),
    n × 3, left to right."""
    mostly = cv2.dilate((stepping >= INSET_STEPPING).astype(np.uint8), np.ones((1, 2 * INSET_NEAR + 1), np.uint8))
    shortest, longest = round(INSET_SIDE * length / 2), round(INSET_MAX_SIDE * length / 2)
    # A side steps along most of its length: a column stepping on fewer rows than half the
    # shortest side's holds none (and most columns of a photograph hold none).
    columns = np.flatnonzero(cv2.reduce(mostly, 0, cv2.REDUCE_SUM, dtype=cv2.CV_32S)[0] >= shortest / 2)
    bridge = max(1, round(INSET_BRIDGE * length / 2))
    padded = np.zeros((len(columns), mostly.shape[0] + 2), np.int8)  # columns × rows, a row of 0 at each end
    if len(columns):
        padded[:, 1:-1] = cv2.morphologyEx(np.ascontiguousarray(mostly[:, columns].T), cv2.MORPH_CLOSE, np.ones((1, bridge), np.uint8),
                                           borderType=cv2.BORDER_CONSTANT, borderValue=0)
    # Every column starts and ends at 0: the changes along them all, one after the other, alternate
    # between a run's start and its end.
    changes = np.flatnonzero(np.diff(padded.reshape(-1)))
    start_columns, starts = np.divmod(changes[::2] + 1, padded.shape[1])
    runs = changes[1::2] - changes[::2]
    keep = (runs >= shortest) & (runs <= longest)
    return np.stack([columns[start_columns[keep]], starts[keep] - 1, starts[keep] - 1 + runs[keep]], axis=1).astype(np.int64)


def _side_and_beyond(start: np.ndarray, end: np.ndarray, slack: int, reach: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """A side from `start` to `end`, and its line on past each end (from `slack` to `slack` + `reach` beyond it)."""
    return [(start, end), (start - slack - reach, start - slack), (end + slack, end + slack + reach)]


def _shares(stepping: np.ndarray, slack: int, at: np.ndarray, lines: list[tuple[np.ndarray, np.ndarray]]) -> list[np.ndarray]:
    """For each (start, end) of `lines`, the share of the line at column `at`, from row `start` to
    row `end` (on the picture's scale; each an array, one line a column of `at`), that steps across
    it within `slack` px (`stepping`: a `_smoothed` map, on every other row). Outside the picture,
    nothing steps."""
    near = cv2.dilate((stepping >= INSET_STEPPING).astype(np.uint8), np.ones((1, 2 * slack + 1), np.uint8))
    columns, at = np.unique(at, return_inverse=True)
    counts = np.zeros((near.shape[0] + 1, len(columns)), np.int32)  # rows stepping above each row
    np.cumsum(near[:, columns], axis=0, out=counts[1:])
    shares = []
    for start, end in lines:
        first, last = (np.clip(v // 2, 0, near.shape[0]) for v in (start, end))
        shares.append((counts[last, at] - counts[first, at]) / np.maximum(end // 2 - start // 2, 1))
    return shares
