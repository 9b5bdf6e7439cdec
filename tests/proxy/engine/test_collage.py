"""proxy/engine/collage.py: the photos of a grid or a side-by-side are found, each in its box, and
her photo among them is found by the matcher with the region of its tile; an ordinary photograph
has no tiles, and strangers' collages raise no alert."""

from __future__ import annotations

import functools
import io
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageOps

from benchmarks.transforms import INSIDE, at_both_sizes, grid, phone_screenshot, side_by_side, strangers
from sentinelle.proxy.engine import collage
from sentinelle.proxy.engine.fingerprint import enrollment_views, fingerprint, framed_box
from sentinelle.proxy.engine.matcher import Matcher

KODAK = Path(__file__).parents[2] / "fixtures" / "kodak"
ALL_PHOTOS = sorted(path.name for path in KODAK.glob("*.jpg"))
# Her photos (landscape and portrait); the others are strangers'.
PROTECTED = ["kodim01.jpg", "kodim04.jpg", "kodim15.jpg", "kodim23.jpg"]
STRANGERS = [name for name in ALL_PHOTOS if name not in PROTECTED]


@functools.cache
def kodak(name: str) -> Image.Image:
    return Image.open(KODAK / name).convert("RGB")


def grey(img: Image.Image) -> np.ndarray:
    return np.asarray(img.convert("L"))


def decoded(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data)).convert("RGB")


@functools.cache
def protected(name: str) -> Matcher:
    return Matcher((1, view, fp) for view, fp in enrollment_views((KODAK / name).read_bytes()))


@pytest.mark.parametrize("name", ALL_PHOTOS)
def test_an_ordinary_photograph_has_no_tiles(name):
    img = kodak(name)
    assert collage.tiles(grey(img)) == []
    assert collage.tiles(grey(img.transpose(Image.Transpose.TRANSPOSE))) == []


@pytest.mark.parametrize(("n", "gutter"), [(2, 0), (2, 12), (3, 0), (3, 8)])
def test_a_grid_s_tiles_are_found_where_they_are(n, gutter):
    with strangers([kodak(name) for name in STRANGERS]):
        made = grid(kodak("kodim04.jpg"), n=n, at=0, gutter=gutter, side=900)
    boxes = collage.tiles(grey(made))
    assert len(boxes) == n * n
    tile = (made.width - (n - 1) * gutter) / n
    for position, (left, top, right, bottom) in enumerate(boxes):
        row, column = divmod(position, n)
        start_x, start_y = column * (tile + gutter), row * (tile + gutter)
        # Each box lies on its tile, give or take the gutter beside it, trimmed by a little
        # (collage.TRIM and the search's step).
        slack, trim = gutter + 2, 0.06 * tile
        assert start_x - slack <= left < start_x + trim and start_y - slack <= top < start_y + trim
        assert start_x + tile - trim < right <= start_x + tile + slack and start_y + tile - trim < bottom <= start_y + tile + slack


def test_a_side_by_side_is_two_photos_split_where_they_meet():
    with strangers([kodak(name) for name in STRANGERS]):
        made = side_by_side(kodak("kodim01.jpg"), first=True, width=1080)
    boxes = collage.tiles(grey(made))
    assert len(boxes) == 2
    meet = round(kodak("kodim01.jpg").width * made.height / kodak("kodim01.jpg").height)
    assert boxes[0][2] <= meet + 2 <= boxes[1][0] + 4
    assert boxes[0][2] > 0.9 * meet and boxes[1][0] < meet + 0.1 * (made.width - meet)


@pytest.mark.parametrize("name", ALL_PHOTOS)
def test_a_screenshot_of_a_photo_is_no_side_by_side(name):
    # The photo's edges against a feed's bars run the whole width: looked at alone, the screenshot
    # splits there; inside its frame, the photo is an ordinary one (fingerprint() pays for no parts).
    shot = grey(phone_screenshot(kodak(name), dark=name < "kodim12"))
    framed = framed_box(shot)
    assert framed is not None
    assert collage.tiles(shot, framed) == []


def test_a_screenshot_of_a_side_by_side_is_split_inside_its_frame():
    with strangers([kodak(name) for name in STRANGERS]):
        made = side_by_side(kodak("kodim01.jpg"), first=True, width=1080)
    shot = grey(phone_screenshot(made))
    framed = framed_box(shot)
    assert framed is not None
    boxes = collage.tiles(shot, framed)
    assert len(boxes) == 2
    # Both halves lie inside the photo, one either side of where they meet.
    first_width = kodak("kodim01.jpg").width * made.height / kodak("kodim01.jpg").height  # in the side-by-side
    meet = framed[0] + first_width * (framed[2] - framed[0]) / made.width
    for left, top, right, bottom in boxes:
        assert framed[0] - 2 <= left and right <= framed[2] + 2 and framed[1] - 2 <= top and bottom <= framed[3] + 2
    assert boxes[0][2] <= meet + 4 <= boxes[1][0] + 8


@pytest.mark.parametrize("name", PROTECTED)
def test_her_photo_in_a_collage_is_found_with_its_tile_as_the_region(name):
    matcher = protected(name)
    with strangers([kodak(other) for other in STRANGERS]):
        made = grid(kodak(name), n=3, at=5, gutter=8, side=1080)
    data = io.BytesIO()
    made.save(data, format="JPEG", quality=85)
    found = matcher.match(fingerprint(data.getvalue()))
    assert found is not None and found.photo_id == 1
    assert found.stage in ("part", "local")
    # Tile 5 of a 3 × 3 grid: the middle row, right column. The photo fills its tile cropped to
    # a square, so its corners lie on or beyond the tile's.
    tile = (1080 - 2 * 8) // 3
    xs, ys = [x for x, _ in found.region], [y for _, y in found.region]
    assert abs(np.mean(xs) - (2 * (tile + 8) + tile / 2)) < 0.1 * tile
    assert abs(np.mean(ys) - ((tile + 8) + tile / 2)) < 0.1 * tile


def test_her_photo_is_found_in_most_collages_and_no_stranger_s_collage_alerts():
    made = at_both_sizes(INSIDE)
    found = alerts = 0
    with strangers([kodak(other) for other in STRANGERS[4:]]):
        for name in PROTECTED:
            matcher = protected(name)
            for transform in made:
                match = matcher.match(fingerprint(transform.apply(kodak(name))))
                found += match is not None and match.photo_id == 1
            for stranger in STRANGERS[:2]:
                for transform in made:
                    alerts += protected(name).match(fingerprint(transform.apply(kodak(stranger)))) is not None
    assert alerts == 0
    # Measured: 57 of 64 (grids and side-by-sides all but one; a photo pasted into a stranger's
    # is missed 6 times of 16: it is no tile, found only when the local stage alone sees it).
    assert found >= 0.85 * len(PROTECTED) * len(made)


# --- a photo pasted into another -----------------------------------------------------------------


def smooth_background(width: int, height: int, seed: int) -> Image.Image:
    """A picture with no straight edge, darker than a white border: low-frequency noise, enlarged smoothly."""
    rng = np.random.default_rng(seed)
    coarse = rng.integers(20, 150, (max(2, height // 60), max(2, width // 60), 3), dtype=np.uint8)
    return Image.fromarray(coarse).resize((width, height), Image.Resampling.BICUBIC)


def test_a_photo_pasted_into_another_is_the_one_part_where_it_was_pasted():
    # Drawn pictures, smooth inside and around, with the thin white border the benchmark's and
    # apps' insets have, over sizes, shapes, shares and places: where the pasted photo is found,
    # and how often. Kodak photos pasted into Kodak photos are test_matcher's (46 of 48 found).
    # Not found every time (issue 25's residue): a photo whose sides step along less than most of
    # their length, two of them at least (a photo without a border, whose sides step only where
    # it differs from the picture around it; a photo busy right up to its border, the steps
    # beside it as strong as the border's), or whose sides' lines step on past its corners.
    found = tried = 0
    for width in (300, 540, 800, 1080, 1400):
        for aspect in (0.6, 1.0, 1.8):
            for share in (0.5, 0.7):
                for anchor in ((0.1, 0.15), (0.5, 0.5), (0.9, 0.8)):
                    for border in (3, 6):
                        height = round(width / aspect)
                        seed = width + round(100 * aspect) + round(10 * share) + border
                        background = smooth_background(width, height, seed)
                        framed = ImageOps.expand(smooth_background(round(width * share), round(height * share), seed + 1),
                                                 border=border, fill="white")
                        left, top = round((width - framed.width) * anchor[0]), round((height - framed.height) * anchor[1])
                        background.paste(framed, (left, top))
                        boxes = collage.tiles(grey(background))
                        tried += 1
                        if len(boxes) != 1:  # none, or a side-by-side's seam at a side of a photo nearly as tall as the picture
                            continue
                        found += 1
                        # Its box is the pasted photo's, border and all, within the search's step and a few pixels.
                        slack = 0.03 * max(width, height) + 4
                        assert all(abs(got - want) <= slack
                                   for got, want in zip(boxes[0], (left, top, left + framed.width, top + framed.height)))
    # Measured: 167 of 180 (159 when every side had to step all along).
    assert found >= 0.8 * tried


@pytest.mark.parametrize("name", PROTECTED)
def test_a_screenshot_or_a_bordered_photo_has_no_pasted_photo(name):
    # A frame's photo is what proxy.engine.frame finds: with the photo's box given, none is looked for.
    shot = grey(phone_screenshot(kodak(name)))
    assert collage.tiles(shot, framed_box(shot)) == []


def pasted_on(width: int, aspect: float, share: float, anchor: tuple[float, float], seed: int,
              border: int = 4) -> tuple[Image.Image, tuple[int, int, int, int]]:
    """A smooth picture with another pasted on it, `share` of its sides, in a white border; and the
    pasted photo's box, border and all."""
    height = round(width / aspect)
    background = smooth_background(width, height, seed)
    framed = ImageOps.expand(smooth_background(round(width * share), round(height * share), seed + 1), border=border, fill="white")
    left, top = round((width - framed.width) * anchor[0]), round((height - framed.height) * anchor[1])
    background.paste(framed, (left, top))
    return background, (left, top, left + framed.width, top + framed.height)


def near(found: tuple[int, int, int, int], box: tuple[int, int, int, int], picture: Image.Image) -> bool:
    """Whether `found` is `box`, within the search's step and a few pixels."""
    slack = 0.03 * max(picture.size) + 4
    return all(abs(got - want) <= slack for got, want in zip(found, box))


def with_a_side_covered(width: int, aspect: float, share: float, anchor: tuple[float, float], side: int, covered: float,
                        seed: int) -> tuple[Image.Image, tuple[int, int, int, int]]:
    """`pasted_on`, the border of one side (left, right, top, bottom) painted over in its middle with
    the picture around it for `covered` of its length: a light picture around a white border, or a
    photo busy up to its border, steps on part of a side only."""
    picture, box = pasted_on(width, aspect, share, anchor, seed)
    left, top, right, bottom = box
    x, y = {0: (left, top), 1: (right - 4, top), 2: (left, top), 3: (left, bottom - 4)}[side]
    length = round(((bottom - top) if side < 2 else (right - left)) * covered)
    if side < 2:
        x, y, size = x, y + (bottom - top - length) // 2, (4, length)
    else:
        x, y, size = x + (right - left - length) // 2, y, (length, 4)
    picture.paste(picture.crop((x - 12, y - 12, x - 12 + size[0], y - 12 + size[1])), (x, y))
    return picture, box


def covered_draws(count: int, seed: int) -> list[tuple]:
    rng = np.random.default_rng(seed)
    return [(int(rng.integers(300, 1400)), float(rng.uniform(0.6, 1.8)), float(rng.uniform(0.45, 0.7)),
             (float(rng.uniform(0.1, 0.9)), float(rng.uniform(0.1, 0.9))), n % 4, float(rng.uniform(0.25, 0.45)), n)
            for n in range(count)]


def test_a_pasted_photo_one_of_whose_sides_steps_along_part_of_it_only_is_found_where_it_was_pasted():
    # Three sides stepping all along and the fourth along most of it: found. Measured on these 120
    # draws: 116 (63 when every side had to be one straight run); the others split as a
    # side-by-side at a side of a photo nearly as tall as the picture, or missed.
    found = 0
    for draw in covered_draws(120, 25):
        picture, box = with_a_side_covered(*draw)
        boxes = collage.tiles(grey(picture))
        if len(boxes) == 1:
            assert near(boxes[0], box, picture)
            found += 1
    assert found >= 0.9 * 120


@settings(max_examples=30, deadline=None)
@given(width=st.integers(300, 1400), aspect=st.floats(0.6, 1.8), share=st.floats(0.45, 0.7),
       anchor=st.tuples(st.floats(0.1, 0.9), st.floats(0.1, 0.9)), side=st.integers(0, 3),
       covered=st.floats(0.0, 0.45), seed=st.integers(0, 1000))
def test_a_pasted_photo_found_alone_is_where_it_was_pasted(width, aspect, share, anchor, side, covered, seed):
    picture, box = with_a_side_covered(width, aspect, share, anchor, side, covered, seed)
    boxes = collage.tiles(grey(picture))
    assert len(boxes) != 1 or near(boxes[0], box, picture)


@pytest.mark.parametrize("seed", range(6))
def test_a_rectangle_whose_sides_lines_run_on_past_its_corners_is_no_pasted_photo(seed):
    # A row of windows, a shelf, a table's edge: the lines of a rectangle's sides go on past its
    # corners. The same rectangle with its top and bottom lines drawn on beyond it, a fifth of the
    # picture's width either way, is no photo pasted there.
    picture, (left, top, right, bottom) = pasted_on(900, 1.5, 0.5, (0.5, 0.5), seed)
    assert [near(found, (left, top, right, bottom), picture) for found in collage.tiles(grey(picture))] == [True]
    lines = picture.copy()
    for y in (top, bottom - 4):
        lines.paste((255, 255, 255), (left - 180, y, left, y + 4))
        lines.paste((255, 255, 255), (right, y, right + 180, y + 4))
    assert not any(near(found, (left, top, right, bottom), lines) for found in collage.tiles(grey(lines)))
