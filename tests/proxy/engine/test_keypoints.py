"""proxy/engine/keypoints.py: keypoints taken cheaply, candidates counted in photos, a copy accepted by either of the matcher's rules, and another photograph of the same place told from a copy."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from benchmarks.transforms import off_centre_crop
from sentinelle.proxy.engine import keypoints
from sentinelle.proxy.engine.keypoints import (
    MAX_DRIFT_PX,
    MIN_AGREEMENT,
    LocalIndex,
    drift,
    extract,
    verify,
)
from sentinelle.proxy.engine.matcher import LOCAL_RULES

KODAK = Path(__file__).parents[2] / "fixtures" / "kodak"


@functools.cache
def features(name: str, keep: float = 1.0) -> keypoints.Features:
    img = Image.open(KODAK / name).convert("RGB")
    if keep < 1:
        img = off_centre_crop(img, keep=keep, anchor=(0, 1))
    return extract(img, keypoints.SEEN_FEATURES, keypoints.SEEN_FAST_THRESHOLD)


def test_a_picture_near_the_working_size_is_not_resampled():
    gray = np.random.default_rng(1).integers(0, 256, (361, 540), dtype=np.uint8)
    found = extract(gray, keypoints.SEEN_FEATURES)
    assert (found.width, found.height) == (540, 361)
    # The thumbnail averages whole THUMB_FACTOR squares.
    assert found.thumb.shape == (361 // keypoints.THUMB_FACTOR, 540 // keypoints.THUMB_FACTOR)
    assert found.thumb[0, 0] == round(gray[: keypoints.THUMB_FACTOR, : keypoints.THUMB_FACTOR].mean())


def test_a_large_picture_is_scaled_to_the_working_size():
    gray = np.random.default_rng(2).integers(0, 256, (720, 1080), dtype=np.uint8)
    found = extract(gray, keypoints.SEEN_FEATURES)
    assert found.height == keypoints.LOCAL_SIDE and found.width == 540


def test_a_copy_aligns_with_its_original():
    found = verify(features("kodim04.jpg", keep=0.75), features("kodim04.jpg"))
    assert found.inliers >= 30 and found.correlation > 0.8
    # ... and passes every check of the same photograph, with room to spare.
    assert found.drift <= MAX_DRIFT_PX / 2 and found.agreement >= MIN_AGREEMENT
    assert found.is_copy(LOCAL_RULES)
    stranger = verify(features("kodim05.jpg"), features("kodim04.jpg"))
    assert stranger.inliers < 8 and stranger.correlation < 0.3
    assert not stranger.is_copy(LOCAL_RULES)


def test_the_fitted_transform_takes_the_seen_picture_to_the_enrolled_one():
    # The crop keeps the bottom-left 75 %: the seen picture's top-left corner is the
    # photo's (0, 25 %) point, and the seen picture spans 75 % of the photo.
    seen, enrolled = features("kodim04.jpg", keep=0.75), features("kodim04.jpg")
    transform = verify(seen, enrolled).transform
    top_left = transform @ np.array([0.0, 0.0, 1.0])
    bottom_right = transform @ np.array([seen.width, seen.height, 1.0])
    assert np.allclose(top_left, [0, 0.25 * enrolled.height], atol=0.02 * enrolled.height)
    assert np.allclose(bottom_right, [0.75 * enrolled.width, enrolled.height], atol=0.02 * enrolled.height)


def test_the_measures_are_skipped_below_the_inliers_needed():
    found = verify(features("kodim04.jpg", keep=0.75), features("kodim04.jpg"))
    fewer = verify(features("kodim04.jpg", keep=0.75), features("kodim04.jpg"), found.inliers + 1)
    assert fewer.inliers == found.inliers
    assert (fewer.correlation, fewer.drift, fewer.agreement) == (-1.0, 0.0, -1.0)
    assert not fewer.is_copy(LOCAL_RULES)


def test_a_view_is_a_copy_when_it_meets_either_rule():
    seen, enrolled = features("kodim04.jpg", keep=0.75), features("kodim04.jpg")
    found = verify(seen, enrolled)
    inliers, correlation = found.inliers, found.correlation
    index = LocalIndex.of([enrolled])
    assert index.search(seen, [(inliers + 1, 0.0)]) is None  # too few inliers
    assert index.search(seen, [(inliers, correlation + 0.01)]) is None  # too little alike
    match = index.search(seen, [(inliers + 1, 0.0), (inliers, correlation - 0.01)])  # the second rule holds
    assert match is not None and match.row == 0 and match.inliers == inliers
    assert match.transform.shape == (2, 3)


# --- drift: parallax, not jitter ------------------------------------------------------------


def test_jitter_averages_away_and_parallax_does_not():
    rng = np.random.default_rng(3)
    dst = rng.uniform(0, 360, (200, 2)).astype(np.float32)
    identity = np.array([[1.0, 0, 0], [0, 1.0, 0]])
    # A copy: every keypoint off by a pixel or so, in every direction.
    jittered = dst + rng.normal(0, 1.0, dst.shape).astype(np.float32)
    assert drift(jittered, dst, identity) < 0.6
    # Another viewpoint: the left half (near) moved 2.5 px against the right half (far),
    # each keypoint with the same jitter; the residuals of each half point one way.
    moved = jittered + np.where(dst[:, :1] < 180, [1.25, 0.0], [-1.25, 0.0]).astype(np.float32)
    assert drift(moved, dst, identity) > 1.0
    # Too few inliers to tell: no drift measured.
    assert drift(moved[:5], dst[:5], identity) == 0.0


def test_candidates_are_counted_in_photos_not_views():
    # Photo 1 holds two views (say, the photo and its mirror), both voted above photo 2:
    # photo 2 is still verified, rather than photo 1's second view.
    views = [features("kodim04.jpg"), features("kodim04.jpg"), features("kodim05.jpg")]
    votes = np.array([9.0, 8.0, 3.0])
    assert LocalIndex.of(views, photos=[1, 1, 2]).candidates(votes) == [0, 2]
    assert LocalIndex.of(views).candidates(votes) == [0, 1]  # each view its own photo



def _descriptors_only(descriptors: np.ndarray) -> keypoints.Features:
    """A view made of these descriptors alone (voting looks at nothing else)."""
    return keypoints.Features(np.zeros((len(descriptors), 2), np.float32), descriptors, 360, 240, np.zeros((30, 45), np.uint8))


def test_in_a_large_album_a_copys_hits_in_crowded_buckets_outvote_one_chance_hit_in_a_rare_one():
    # The seen picture shares 6 descriptors with its photo (view 0), in buckets of 32: 31 other
    # photos hold each of them too (views 2 onwards). One more of its descriptors sits alone in a
    # rare bucket with a stranger's (view 1), by chance. Shared out at 1/size, the stranger's one
    # hit (8 tables × 1) outweighed the photo's 48 (8 × 6 × 1/32): right in a small album, whose
    # buckets hold less than one descriptor by chance; wrong in one of 10,000 photos, whose
    # buckets hold 23 by chance and more (`LocalIndex.chance`, set here as that album's).
    rng = np.random.default_rng(31)
    shared = rng.integers(0, 256, (6, keypoints.DESCRIPTOR_BYTES), dtype=np.uint8)
    chance = rng.integers(0, 256, (1, keypoints.DESCRIPTOR_BYTES), dtype=np.uint8)
    crowd = [_descriptors_only(shared[[i]]) for i in range(len(shared)) for _ in range(31)]
    index = LocalIndex.of([_descriptors_only(shared), _descriptors_only(chance), *crowd])
    seen = _descriptors_only(np.concatenate([shared, chance]))
    assert index.chance == 1.0
    small_album = index.votes(seen)
    assert small_album[0] == pytest.approx(48 / 32) and small_album[1] == keypoints.LSH_TABLES
    index.chance = 23.0
    large_album = index.votes(seen)
    assert index.candidates(large_album)[0] == 0
    assert large_album[1] == keypoints.LSH_TABLES  # alone in its bucket: a whole vote in each table, as before



def _chance_neighbours(descriptors: np.ndarray, shift: int) -> keypoints.Features:
    """A view holding, for the i-th of `descriptors`, a neighbour that shares a bucket with it in table
    i + `shift` alone (one bit flipped in each other table's key)."""
    near = []
    for i, descriptor in enumerate(descriptors):
        table = (i + shift) % keypoints.LSH_TABLES
        bits = np.unpackbits(descriptor)
        for other in range(keypoints.LSH_TABLES):
            if other != table:
                bits[next(b for b in keypoints._BITS[other] if b not in keypoints._BITS[table])] ^= 1
        near.append(np.packbits(bits))
    return _descriptors_only(np.stack(near))


def _twins_and_others() -> tuple[np.ndarray, np.ndarray]:
    """2 descriptors a copy shares with its photo as they are, and 20 more of the seen picture."""
    rng = np.random.default_rng(6)
    return (rng.integers(0, 256, (2, keypoints.DESCRIPTOR_BYTES), dtype=np.uint8),
            rng.integers(0, 256, (20, keypoints.DESCRIPTOR_BYTES), dtype=np.uint8))


def test_a_copys_twins_met_in_many_tables_are_verified_past_chance_neighbours_met_in_one():
    # The copy's photo (view 0) holds 2 of the seen picture's descriptors as they are: each meets
    # its twin in all 8 tables (16 votes). Two strangers' photos (views 1, 2) each hold a chance
    # neighbour of the 20 others, meeting it in one table (20 votes each): by votes alone the
    # copy's photo comes third, and only two were verified. The scale benchmark's one miss at
    # 10,000 photos (a sticker copy) was that, with crops of one scene as the strangers. It is
    # now verified as well, as the closest.
    twins, others = _twins_and_others()
    index = LocalIndex.of([_descriptors_only(twins), _chance_neighbours(others, 0), _chance_neighbours(others, 1)])
    votes, ballots = index.ballots(_descriptors_only(np.concatenate([twins, others])))
    assert list(votes) == [16.0, 20.0, 20.0]
    assert index.candidates(votes) == [1, 2]  # votes alone
    assert index.candidates(votes, ballots) == [1, 2, 0]


def test_the_closest_view_is_not_verified_twice():
    # The copy's photo now also holds a chance neighbour of each of the 20: first by votes and the
    # closest, it is verified once.
    twins, others = _twins_and_others()
    chance = _chance_neighbours(others, 2)
    index = LocalIndex.of([_descriptors_only(np.concatenate([twins, chance.descriptors])),
                           _chance_neighbours(others, 0), _chance_neighbours(others, 1)])
    votes, ballots = index.ballots(_descriptors_only(np.concatenate([twins, others])))
    assert index.candidates(votes, ballots) == [0, 1]


def test_an_earlier_thumbnail_is_read_at_its_own_scale():
    # Thumbnails stored by an earlier Sentinelle may span another factor: read from their sizes.
    picture = features("kodim04.jpg")
    assert keypoints._thumb_factor(picture) == keypoints.THUMB_FACTOR
    coarser = keypoints.Features(picture.points, picture.descriptors, picture.width, picture.height, picture.thumb[::2, ::2])
    assert keypoints._thumb_factor(coarser) == 2 * keypoints.THUMB_FACTOR


def test_the_rules_demand_more_likeness_of_fewer_inliers():
    by_inliers = sorted(LOCAL_RULES)
    assert [alike for _, alike in by_inliers] == sorted((alike for _, alike in by_inliers), reverse=True)


# --- the stored layout: pack, unpack, and what version 2 wrote ---------------------------


@st.composite
def any_features(draw) -> keypoints.Features:
    """Features of a picture of any size the layout holds, with a thumbnail of any size up to it."""
    width, height = draw(st.integers(1, keypoints._MAX_SIDE)), draw(st.integers(1, keypoints._MAX_SIDE))
    count = draw(st.integers(0, 300))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    thumb = rng.integers(0, 256, (draw(st.integers(0, min(height, 700))), draw(st.integers(0, min(width, 700)))), dtype=np.uint8)
    points = (rng.random((count, 2)) * [width, height]).astype(np.float32)
    descriptors = rng.integers(0, 256, (count, keypoints.DESCRIPTOR_BYTES), dtype=np.uint8)
    return keypoints.Features(points, descriptors, width, height, thumb)


@settings(max_examples=150, deadline=None)
@given(features=any_features())
def test_features_of_any_picture_size_round_trip(features):
    back = keypoints.unpack(keypoints.pack(features))
    assert (back.width, back.height) == (features.width, features.height)
    assert np.array_equal(back.descriptors, features.descriptors)
    assert np.array_equal(back.thumb, features.thumb)
    assert np.abs(back.points - features.points).max(initial=0) <= 0.125  # quarter pixels


def test_a_picture_larger_than_the_layout_is_refused_with_a_value_error():
    too_wide = keypoints.Features(keypoints.EMPTY.points, keypoints.EMPTY.descriptors, keypoints._MAX_SIDE + 1, 100, np.zeros((0, 0), np.uint8))
    with pytest.raises(ValueError, match="do not fit"):
        keypoints.pack(too_wide)


def test_version_2_features_are_read_in_todays_layout():
    picture = features("kodim04.jpg")
    header = keypoints._HEADER_V2.pack(len(picture), picture.width, picture.height, *picture.thumb.shape[::-1])
    written_by_version_2 = header + keypoints.pack(picture)[keypoints._HEADER.size :]
    assert keypoints.upgrade_v2(written_by_version_2) == keypoints.pack(picture)
    with pytest.raises(ValueError):
        keypoints.upgrade_v2(written_by_version_2[:-1])
