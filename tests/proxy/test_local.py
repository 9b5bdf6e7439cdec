"""proxy/local.py: keypoints taken cheaply, candidates counted in photos, and a copy accepted by either of the matcher's rules."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
from PIL import Image
from sentinelle.proxy import local
from sentinelle.proxy.local import LocalIndex, extract, verify
from sentinelle.proxy.matcher import LOCAL_RULES

from benchmarks.transforms import off_centre_crop

KODAK = Path(__file__).parents[1] / "fixtures" / "kodak"


@functools.cache
def features(name: str, keep: float = 1.0) -> local.Features:
    img = Image.open(KODAK / name).convert("RGB")
    if keep < 1:
        img = off_centre_crop(img, keep=keep, anchor=(0, 1))
    return extract(img, local.SEEN_FEATURES, local.SEEN_FAST_THRESHOLD)


def test_a_picture_near_the_working_size_is_not_resampled():
    gray = np.random.default_rng(1).integers(0, 256, (361, 540), dtype=np.uint8)
    found = extract(gray, local.SEEN_FEATURES)
    assert (found.width, found.height) == (540, 361)
    # The thumbnail averages whole THUMB_FACTOR squares.
    assert found.thumb.shape == (361 // local.THUMB_FACTOR, 540 // local.THUMB_FACTOR)
    assert found.thumb[0, 0] == round(gray[: local.THUMB_FACTOR, : local.THUMB_FACTOR].mean())


def test_a_large_picture_is_scaled_to_the_working_size():
    gray = np.random.default_rng(2).integers(0, 256, (720, 1080), dtype=np.uint8)
    found = extract(gray, local.SEEN_FEATURES)
    assert found.height == local.LOCAL_SIDE and found.width == 540


def test_a_copy_aligns_with_its_original():
    inliers, correlation = verify(features("kodim04.jpg", keep=0.75), features("kodim04.jpg"))
    assert inliers >= 30 and correlation > 0.8
    inliers, correlation = verify(features("kodim05.jpg"), features("kodim04.jpg"))
    assert inliers < 8 and correlation < 0.3


def test_the_correlation_is_skipped_below_the_inliers_needed():
    inliers, _ = verify(features("kodim04.jpg", keep=0.75), features("kodim04.jpg"))
    assert verify(features("kodim04.jpg", keep=0.75), features("kodim04.jpg"), inliers + 1) == (inliers, -1.0)


def test_a_view_is_a_copy_when_it_meets_either_rule():
    seen, enrolled = features("kodim04.jpg", keep=0.75), features("kodim04.jpg")
    inliers, correlation = verify(seen, enrolled)
    index = LocalIndex([enrolled])
    assert index.search(seen, [(inliers + 1, 0.0)]) is None  # too few inliers
    assert index.search(seen, [(inliers, correlation + 0.01)]) is None  # too little alike
    found = index.search(seen, [(inliers + 1, 0.0), (inliers, correlation - 0.01)])  # the second rule holds
    assert found is not None and found.row == 0 and found.inliers == inliers


def test_candidates_are_counted_in_photos_not_views():
    # Photo 1 holds two views (say, the photo and its mirror), both voted above photo 2:
    # photo 2 is still verified, rather than photo 1's second view.
    views = [features("kodim04.jpg"), features("kodim04.jpg"), features("kodim05.jpg")]
    votes = np.array([9.0, 8.0, 3.0])
    assert LocalIndex(views, photos=[1, 1, 2]).candidates(votes) == [0, 2]
    assert LocalIndex(views).candidates(votes) == [0, 1]  # each view its own photo


def test_the_rules_demand_more_likeness_of_fewer_inliers():
    by_inliers = sorted(LOCAL_RULES)
    assert [alike for _, alike in by_inliers] == sorted((alike for _, alike in by_inliers), reverse=True)
