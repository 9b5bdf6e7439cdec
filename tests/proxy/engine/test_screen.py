"""proxy/engine/screen.py: her photo photographed on a screen (perspective, softness, glare, moiré,
a dark surround) is found, with the screen's quadrilateral as the region; a flat scene seen from
another place, a perspective with no outline, is not; nor are strangers' photos of screens."""

from __future__ import annotations

import dataclasses
import functools
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from benchmarks.transforms import SCREEN, at_both_sizes, screen_photo
from sentinelle.proxy.engine import keypoints, screen
from sentinelle.proxy.engine import matcher as matcher_module
from sentinelle.proxy.engine.fingerprint import Fingerprint, enrollment_views, fingerprint
from sentinelle.proxy.engine.matcher import LOCAL_MIN_CORRELATION, LOCAL_MIN_INLIERS, Matcher

KODAK = Path(__file__).parents[2] / "fixtures" / "kodak"
PROTECTED = ["kodim01.jpg", "kodim04.jpg", "kodim15.jpg", "kodim23.jpg"]
STRANGERS = ["kodim02.jpg", "kodim08.jpg", "kodim13.jpg", "kodim20.jpg"]
# The corners' shifts of a photo of a screen taken from the left (shares of the screen's side).
FROM_THE_LEFT = ((0.06, 0.02), (-0.02, 0.08), (-0.03, -0.07), (0.08, -0.01))


@functools.cache
def kodak(name: str) -> Image.Image:
    return Image.open(KODAK / name).convert("RGB")


def encoded(img: Image.Image, quality: int = 90) -> bytes:
    out = io.BytesIO()
    img.save(out, format="JPEG", quality=quality)
    return out.getvalue()


@functools.cache
def views(data: bytes) -> dict:
    return dict(enrollment_views(data))


def protect(data: bytes) -> Matcher:
    return Matcher((1, view, fp) for view, fp in views(data).items())


def warp(img: Image.Image, shift: tuple[tuple[float, float], ...]) -> Image.Image:
    """`img` seen under a perspective: each corner moved by `shift` (shares of its side), the
    picture still filling the frame (the scene goes on past it)."""
    width, height = img.size
    corners = [(0, 0), (width, 0), (width, height), (0, height)]
    moved = [(x + dx * width, y + dy * height) for (x, y), (dx, dy) in zip(corners, shift)]
    coefficients = keypoints.cv2.getPerspectiveTransform(np.float32(moved), np.float32(corners)).reshape(-1)[:8]
    return img.transform(img.size, Image.Transform.PERSPECTIVE, list(coefficients / 1.0), Image.Resampling.BICUBIC)


def test_her_photo_on_a_screen_is_found_and_its_region_is_the_screen_s_quadrilateral():
    data = (KODAK / "kodim04.jpg").read_bytes()
    seen = screen_photo(kodak("kodim04.jpg"), shift=FROM_THE_LEFT, blur=1.0, glare=(0.75, 0.25), moire=0.06, size=(1440, 1080))
    found = protect(data).match(fingerprint(seen))
    assert found is not None and found.photo_id == 1 and found.stage == "screen"
    # The screen (portrait photo, 1080 × 1440 frame) fills about three quarters of the frame's
    # height, centred: its corners are where the shifts put them, within a few per cent.
    region = np.array(found.region)
    assert region.shape == (4, 2)
    centre = region.mean(axis=0)
    assert abs(centre[0] - 540) < 60 and abs(centre[1] - 720) < 80
    top_left, top_right, bottom_right, bottom_left = region
    assert top_left[0] < top_right[0] and top_left[1] < bottom_left[1]
    # A perspective, not a similarity: seen from the left, the screen's left side is the longer
    # (the shifts shorten the right one by about a tenth).
    assert np.hypot(*(bottom_left - top_left)) > 1.05 * np.hypot(*(bottom_right - top_right))


def test_her_photos_on_screens_are_found_and_strangers_raise_no_alert():
    made = at_both_sizes(SCREEN)
    found = alerts = 0
    for name in PROTECTED:
        matcher = protect((KODAK / name).read_bytes())
        for transform in made:
            match = matcher.match(fingerprint(transform.apply(kodak(name))))
            found += match is not None and match.photo_id == 1
        for stranger in STRANGERS:
            for transform in made:
                alerts += matcher.match(fingerprint(transform.apply(kodak(stranger)))) is not None
    assert alerts == 0
    # Measured: 24 of 24 (19 before the second look and the fairer outline: the soft view from
    # above, whose top corners move in by 9 %, was the one missed most).
    assert found >= 0.95 * len(PROTECTED) * len(made)


def test_a_soft_screen_is_found_on_a_second_look_with_finer_corners(monkeypatch):
    def found() -> int:
        return sum(
            (match := protect((KODAK / name).read_bytes()).match(fingerprint(transform.apply(kodak(name))))) is not None
            and match.photo_id == 1
            for name in PROTECTED for transform in at_both_sizes(SCREEN))
    with_it = found()
    # The second look made with the corners every image gets: no second look.
    monkeypatch.setattr(screen, "FINER_FEATURES", keypoints.SEEN_FEATURES)
    monkeypatch.setattr(screen, "FINER_FAST_THRESHOLD", keypoints.SEEN_FAST_THRESHOLD)
    # Measured: 24 against 21.
    assert with_it > found()


def test_the_second_look_is_for_a_candidate_whose_matches_already_fit_the_similarity(monkeypatch):
    # A soft screen from above, at its own size, found on the second look only: it is given one
    # because the local stage's similarity already fits its matches (SECOND_LOOK_INLIERS); an image
    # that matches nothing, whose candidates' matches fit by chance alone, pays for no finer corners.
    data = (KODAK / "kodim15.jpg").read_bytes()
    [soft] = [t for t in at_both_sizes(SCREEN) if t.name.startswith("from above") and t.size == "own size"]
    seen = fingerprint(soft.apply(kodak("kodim15.jpg")))
    enrolled = views(data)["original"].features
    assert keypoints.verify(seen.features, enrolled, LOCAL_MIN_INLIERS).inliers >= screen.SECOND_LOOK_INLIERS
    taken: list[int] = []
    described = keypoints.described
    monkeypatch.setattr(keypoints, "described", lambda *args, **kwargs: taken.append(args[1]) or described(*args, **kwargs))
    assert not screen.verify_screen(seen.features, enrolled, seen.picture, second_look=False).is_copy() and taken == []
    assert screen.verify_screen(seen.features, enrolled, seen.picture).is_copy() and taken == [screen.FINER_FEATURES]
    found = protect(data).match(seen)
    assert found is not None and found.stage == "screen"
    monkeypatch.setattr(screen, "SECOND_LOOK_INLIERS", len(seen.features) + 1)  # no candidate fits that well
    monkeypatch.setattr(screen, "SPARSE_FEATURES", 0)  # nor is there a second vote (the next test)
    assert protect(data).match(seen) is None


def test_a_soft_screen_whose_few_corners_vote_for_other_photos_gets_a_second_vote_with_finer_ones(monkeypatch):
    # kodim15's soft screen from above, at its own size, among the 24 Kodak photos protected, with
    # its corners cut to the 60 strongest: the fewest the benchmark's soft screens kept were 43.
    names = sorted(path.name for path in KODAK.glob("*.jpg"))
    matcher = Matcher((number, view, fp) for number, name in enumerate(names)
                      for view, fp in views((KODAK / name).read_bytes()).items())
    [soft] = [t for t in at_both_sizes(SCREEN) if t.name.startswith("from above") and t.size == "own size"]
    seen = fingerprint(soft.apply(kodak("kodim15.jpg")))
    few = dataclasses.replace(seen, local=keypoints.pack(keypoints.described(seen.picture, 60, keypoints.SEEN_FAST_THRESHOLD)))
    assert len(few.features) < screen.SPARSE_FEATURES and screen.dark_surround(few.picture)
    found = matcher.match(few)
    assert found is not None and found.photo_id == names.index("kodim15.jpg") and found.stage == "screen"
    monkeypatch.setattr(screen, "SPARSE_FEATURES", 0)  # no second vote: measured, nothing found
    assert matcher.match(dataclasses.replace(seen, local=few.local)) is None


@pytest.mark.parametrize("name", sorted(path.name for path in KODAK.glob("*.jpg")))
def test_a_photo_as_it_is_pays_for_no_second_vote(name, monkeypatch):
    # Its surround is no dim room: its corners are not taken again, however few.
    seen = fingerprint((KODAK / name).read_bytes())
    monkeypatch.setattr(screen, "SPARSE_FEATURES", keypoints.SEEN_FEATURES + 1)
    assert screen.finer_corners(seen.picture, seen.features) is None


def drawn_screen(dark_side: bool, surround: bool) -> tuple[np.ndarray, np.ndarray]:
    """A photo (a wall's) on a flat dark surround, or running on past its outline; its left strip dark
    and flat if `dark_side`; and the photo's corners."""
    texture = np.asarray(kodak("kodim13.jpg").convert("L").resize((480, 360)))
    picture = np.full((360, 480), 8, np.uint8) if surround else texture.copy()
    picture[60:300, 60:420] = texture[60:300, 60:420]
    if dark_side:
        picture[60:300, 60:90] = 10 if surround else texture[60:300, 60:90]
    return picture, np.array([(60, 60), (420, 60), (420, 300), (60, 300)], np.float64)


def test_a_dark_side_on_a_dark_surround_tells_nothing_and_the_other_sides_bound_the_photo():
    picture, corners = drawn_screen(dark_side=False, surround=True)
    assert screen.outline(picture, corners, lenient=True) == (4, 4)
    picture, corners = drawn_screen(dark_side=True, surround=True)
    assert screen.outline(picture, corners, lenient=True) == (3, 3)
    # Strictly (matcher._runs_on_past's question), the dark side is seen, and no edge.
    assert screen.outline(picture, corners) == (4, 3)
    # The same outline where the scene runs on past it: seen, and no edge.
    picture, corners = drawn_screen(dark_side=True, surround=False)
    assert screen.outline(picture, corners) == (4, 0)


FROM_THE_SIDE = ((0.1, 0.05), (-0.03, 0.1), (-0.03, -0.1), (0.1, -0.05))
LOOKING_UP = ((0.08, 0.04), (-0.08, 0.04), (0.0, 0.0), (0.0, 0.0))


def another_shot_of_a_wall(name: str, shift) -> tuple[Fingerprint, Fingerprint]:
    """A wall photographed twice: the first shot (enrolled) and the second, which sees the first's
    scene under a perspective and more of it around: the photo's outline falls inside the second,
    where the scene goes on."""
    wall = kodak(name)
    width, height = wall.size
    first = wall.crop((round(0.15 * width), round(0.15 * height), round(0.85 * width), round(0.85 * height)))
    return views(encoded(first))["original"], fingerprint(encoded(warp(wall, shift)))


@pytest.mark.parametrize("name", PROTECTED)
@pytest.mark.parametrize("shift", [FROM_THE_SIDE, LOOKING_UP])
def test_a_flat_scene_from_another_place_is_no_photo_of_a_screen_it_runs_on_past_the_frame(name, shift):
    enrolled, seen = another_shot_of_a_wall(name, shift)
    found = screen.verify_screen(seen.features, enrolled.features, seen.picture)
    # It does fit a homography well and its cells agree once warped: only the outline tells.
    assert found.inliers >= screen.MIN_INLIERS and found.agreement >= screen.MIN_AGREEMENT
    assert found.sides >= screen.MIN_SIDES and found.edges < found.sides
    assert not found.is_copy()


@pytest.mark.parametrize("name", PROTECTED)
@pytest.mark.parametrize("shift", [FROM_THE_SIDE, LOOKING_UP])
def test_a_wall_seen_again_from_another_place_raises_no_alert(name, shift):
    enrolled, seen = another_shot_of_a_wall(name, shift)
    assert Matcher([(1, "original", enrolled)]).match(seen) is None


@pytest.mark.parametrize("name", PROTECTED)
def test_a_wall_from_the_side_fits_a_similarity_but_runs_on_past_its_outline(name):
    # The first shot sits inside the second under a perspective slight enough for one similarity
    # to fit it (kodim04's passed every check of a copy, its cells at the threshold): what tells
    # it is that the scene runs on past each of its sides (matcher._runs_on_past).
    enrolled, seen = another_shot_of_a_wall(name, FROM_THE_SIDE)
    found = keypoints.verify(seen.features, enrolled.features, LOCAL_MIN_INLIERS)
    assert found.inliers >= LOCAL_MIN_INLIERS and found.correlation >= LOCAL_MIN_CORRELATION
    assert matcher_module._runs_on_past(seen, enrolled.features, found.transform)


@pytest.mark.parametrize("name", PROTECTED)
def test_her_photo_on_a_screen_inside_the_picture_has_an_outline(name):
    # What _runs_on_past refuses, a photo of a screen is not: the screen's frame bounds it.
    enrolled = views((KODAK / name).read_bytes())["original"]
    seen = fingerprint(screen_photo(kodak(name), shift=((0.02, 0.02), (-0.02, 0.02), (-0.02, -0.02), (0.02, -0.02)),
                                    blur=0.6, glare=(0.3, 0.3), moire=0.0, size=(1440, 1080)))
    found = keypoints.verify(seen.features, enrolled.features, LOCAL_MIN_INLIERS)
    assert found.inliers >= LOCAL_MIN_INLIERS
    assert not matcher_module._runs_on_past(seen, enrolled.features, found.transform)
