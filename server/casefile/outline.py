"""What a copy shows of the protected photo: the match's region clipped to the image seen.

A match's region is the photo's four corners in the seen image's pixels; a crop puts some of
them outside the image, and an outline drawn there cannot be seen (a plain centre crop's lies
wholly on or past the image's edges). What the report draws is the region clipped to the image:
where the photo runs past an edge, that edge. The review page does the same in
extension/js/outline.js.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

# A corner this close to an edge lies on it: the fit that places the corners is not exact to the pixel.
ON_THE_EDGE = 1.0

Point = tuple[float, float]


@dataclass(frozen=True)
class Outline:
    """The outline to draw, in the seen image's pixels, and whether the photo runs past the
    image's edges (then what is outlined is the part the image shows)."""

    points: list[Point]
    runs_past: bool


def visible_outline(region: Sequence[Sequence[float]], width: float, height: float) -> Outline | None:
    """`region` clipped to the image of `width` × `height`; None when nothing of it is in the image."""
    corners = [(float(x), float(y)) for x, y in region]
    points = corners
    for axis, bound, side in ((0, 0.0, 1), (0, float(width), -1), (1, 0.0, 1), (1, float(height), -1)):
        points = _clip(points, axis, bound, side)
    points = [p for i, p in enumerate(points) if _rounded(p) != _rounded(points[i - 1])]
    if len(points) < 3:
        return None
    runs_past = any(x < -ON_THE_EDGE or y < -ON_THE_EDGE or x > width + ON_THE_EDGE or y > height + ON_THE_EDGE
                    for x, y in corners)
    return Outline([_rounded(p) for p in points], runs_past)


def _clip(points: list[Point], axis: int, bound: float, side: int) -> list[Point]:
    """The polygon cut by one edge of the image, the line where coordinate `axis` is `bound`,
    keeping the side `side` points to (one step of Sutherland and Hodgman's clipping)."""

    def inside(p: Point) -> bool:
        return side * (p[axis] - bound) >= 0

    def crossing(a: Point, b: Point) -> Point:
        t = (bound - a[axis]) / (b[axis] - a[axis])
        other = a[1 - axis] + t * (b[1 - axis] - a[1 - axis])
        return (bound, other) if axis == 0 else (other, bound)

    out = []
    for i, current in enumerate(points):
        previous = points[i - 1]
        if inside(current):
            if not inside(previous):
                out.append(crossing(previous, current))
            out.append(current)
        elif inside(previous):
            out.append(crossing(previous, current))
    return out


def _rounded(p: Point) -> Point:
    return (round(p[0], 1) + 0.0, round(p[1], 1) + 0.0)  # + 0.0: never "-0"
