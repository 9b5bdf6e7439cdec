"""proxy/engine/fingerprint.py: bytes become a small Fingerprint that stores, pickles, and is taken of the views a platform makes."""

from __future__ import annotations

import concurrent.futures
import io
import pickle
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from benchmarks.transforms import served
from sentinelle.proxy.engine import keypoints
from sentinelle.proxy.engine.fingerprint import (
    FINGERPRINT_VERSION,
    PHASH_BYTES,
    PHASH_SIZE,
    SEEN_LOCAL_DECODE_SIDE,
    Fingerprint,
    FingerprintFormatError,
    enrollment_views,
    fingerprint,
    fingerprint_image,
)
from sentinelle.proxy.engine.images import CORRUPT, NOT_AN_IMAGE, TOO_SMALL, ImageError, open_image

KODAK = Path(__file__).parents[2] / "fixtures" / "kodak"

VIEW_NAMES = [
    "original",
    "mirror",
    "crop 1:1",
    "crop 1:1 mirror",
    "crop 4:5",
    "crop 4:5 mirror",
    "crop 1.91:1",
    "crop 1.91:1 mirror",
    "crop 9:16",
    "crop 9:16 mirror",
    "avatar",
]


def kodak_bytes(name: str = "kodim03.jpg") -> bytes:
    return (KODAK / name).read_bytes()


def bits_apart(a: Fingerprint, b: Fingerprint) -> int:
    return int(np.unpackbits(np.frombuffer(a.phash, np.uint8) ^ np.frombuffer(b.phash, np.uint8)).sum())


def jpeg_of_size(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.open(KODAK / "kodim03.jpg").convert("RGB").resize((width, height)).save(out, "JPEG")
    return out.getvalue()


# --- the Fingerprint value ------------------------------------------------------------


def test_fingerprint_round_trips_through_bytes():
    fp = fingerprint(kodak_bytes())
    stored = fp.to_bytes()
    assert isinstance(stored, bytes)
    assert stored[0] == FINGERPRINT_VERSION == 3
    # A version byte, 256 bits of hash, then keypoints (36 bytes each) and a grey thumbnail
    # of at most 45 × 100 px: less than the review page's thumbnail already shows.
    assert len(stored) == 1 + PHASH_BYTES + len(fp.local)
    assert len(fp.local) <= 10 + 500 * 36 + 45 * 100
    assert Fingerprint.from_bytes(stored) == fp


def test_the_framed_photo_is_not_stored():
    framed = Fingerprint(phash=bytes(PHASH_BYTES))
    fp = Fingerprint(phash=bytes([1]) * PHASH_BYTES, framed=framed)
    assert Fingerprint.from_bytes(fp.to_bytes()) == Fingerprint(phash=fp.phash)


def test_version_1_rows_are_still_read_as_a_hash_alone():
    fp = Fingerprint.from_bytes(bytes([1]) + bytes(range(PHASH_BYTES)))
    assert fp.phash == bytes(range(PHASH_BYTES))
    assert fp.local == b"" and len(fp.features) == 0


def test_fingerprint_pickles():
    fp = fingerprint(kodak_bytes())
    assert pickle.loads(pickle.dumps(fp)) == fp


def test_fingerprint_is_a_frozen_hashable_value():
    fp = fingerprint(kodak_bytes())
    with pytest.raises(AttributeError):
        fp.phash = bytes(PHASH_BYTES)
    assert {fp: "ok"}[fingerprint(kodak_bytes())] == "ok"


@pytest.mark.parametrize(
    "stored, says",
    [
        (b"", "empty"),
        (bytes([4]) + bytes(PHASH_BYTES), "version 4"),
        (bytes([0]) + bytes(PHASH_BYTES), "version 0"),
        (bytes([1]) + bytes(PHASH_BYTES - 1), "bytes"),
        (bytes([1]) + bytes(PHASH_BYTES + 1), "bytes"),
        (bytes([FINGERPRINT_VERSION]) + bytes(PHASH_BYTES - 1), "bytes"),
        (bytes([FINGERPRINT_VERSION]) + bytes(PHASH_BYTES + 1), "damaged local features"),
        (bytes([FINGERPRINT_VERSION]) + bytes(PHASH_BYTES) + bytes([5, 0, 10, 0, 10, 0, 1, 0, 1, 0]), "damaged local features"),
        (bytes([2]) + bytes(PHASH_BYTES) + bytes([5, 0, 10, 0, 10, 0, 1, 1]), "damaged local features"),
        (bytes([2]) + bytes(PHASH_BYTES) + bytes(5), "damaged local features"),
    ],
)
def test_unknown_or_damaged_stored_fingerprints_are_refused(stored, says):
    with pytest.raises(FingerprintFormatError, match=says):
        Fingerprint.from_bytes(stored)


def test_a_fingerprint_cannot_be_built_wrong():
    with pytest.raises(FingerprintFormatError):
        Fingerprint(phash=bytes(8))
    with pytest.raises(FingerprintFormatError):
        Fingerprint(phash=bytes(PHASH_BYTES), version=99)


# --- fingerprint(): the fast path -------------------------------------------------------


def test_same_bytes_same_fingerprint():
    assert fingerprint(kodak_bytes()) == fingerprint(kodak_bytes())


def test_different_photos_differ_by_about_half_the_bits():
    apart = bits_apart(fingerprint(kodak_bytes("kodim03.jpg")), fingerprint(kodak_bytes("kodim20.jpg")))
    assert 80 < apart < 180



@pytest.mark.parametrize("name", sorted(p.name for p in KODAK.glob("*.jpg")))
def test_the_hash_is_imagehashs_phash_that_made_the_enrolled_ones(name):
    # Photos enrolled before the DCT was computed here (without scipy) were hashed by
    # imagehash.phash: the same bits, or they would drift from their copies.
    import imagehash

    img = Image.open(KODAK / name).convert("RGB").resize((120, 90))
    theirs = np.packbits(imagehash.phash(img, hash_size=PHASH_SIZE).hash.reshape(-1)).tobytes()
    assert fingerprint_image(img).phash == theirs

def test_reduced_decode_barely_moves_the_hash():
    # A 1080-px copy is decoded at 1/4 or 1/8 scale on the fast path; the enrolled
    # original at full size. They must still land within a few bits.
    copy = served(Image.open(KODAK / "kodim03.jpg").convert("RGB"), width=1080)
    original = dict(enrollment_views(kodak_bytes()))["original"]
    assert bits_apart(fingerprint(copy), original) <= 12


def test_fingerprint_works_in_a_worker_process():
    with concurrent.futures.ProcessPoolExecutor(max_workers=1) as pool:
        remote = pool.submit(fingerprint, kodak_bytes()).result(timeout=60)
    assert remote == fingerprint(kodak_bytes())


@pytest.mark.parametrize(
    "data, reason",
    [(b"GIF89a but not really", CORRUPT), (b"hello", NOT_AN_IMAGE), (jpeg_of_size(40, 40), TOO_SMALL)],
)
def test_fingerprint_raises_image_error(data, reason):
    with pytest.raises(ImageError) as refused:
        fingerprint(data)
    assert refused.value.reason == reason


def test_a_small_seen_image_is_fingerprinted_but_cannot_be_enrolled():
    data = jpeg_of_size(150, 100)
    assert isinstance(fingerprint(data), Fingerprint)
    with pytest.raises(ImageError) as refused:
        enrollment_views(data)
    assert refused.value.reason == TOO_SMALL


@settings(max_examples=40, deadline=None)
@given(short=st.integers(64, 700), aspect=st.floats(0.35, 2.8))
def test_the_picture_kept_is_the_one_its_keypoints_were_taken_on(short, aspect):
    """At any size and shape: `Fingerprint.picture` is at its keypoints' scale (the screen's
    checks place the keypoints on it as they are), and those keypoints are the ones the
    matcher's figures were measured with: the picture scaled twice, then described."""
    width, height = (round(short * aspect), short) if aspect >= 1 else (short, round(short / aspect))
    data = jpeg_of_size(width, height)
    seen = fingerprint(data)
    assert seen.picture is not None
    assert seen.picture.shape == (seen.features.height, seen.features.width)
    gray = np.asarray(open_image(data, reduce_to=SEEN_LOCAL_DECODE_SIDE, grey=True))
    once = keypoints.working_picture(gray, keypoints.LOCAL_SIDE, keypoints.LOCAL_MAX_SIDE, keypoints.MAX_UPSCALE)
    measured = keypoints.extract(once, keypoints.SEEN_FEATURES, keypoints.SEEN_FAST_THRESHOLD)
    assert seen.local == keypoints.pack(measured)


# --- enrollment_views(): the protected photo as the platforms will show it --------------


def test_enrollment_gives_every_named_view():
    views = enrollment_views(kodak_bytes())
    assert [name for name, _ in views] == VIEW_NAMES
    assert all(isinstance(fp, Fingerprint) for _, fp in views)


def test_views_differ_from_each_other():
    # A mirror or a crop looks like another photo to a global hash: that is why each is enrolled.
    views = dict(enrollment_views(kodak_bytes()))
    assert bits_apart(views["original"], views["mirror"]) > 60
    assert bits_apart(views["original"], views["crop 9:16"]) > 60
    assert len(set(views.values())) == len(VIEW_NAMES)


def test_enrollment_of_a_portrait_photo():
    portrait = kodak_bytes("kodim04.jpg")
    assert Image.open(io.BytesIO(portrait)).height > Image.open(io.BytesIO(portrait)).width
    assert [name for name, _ in enrollment_views(portrait)] == VIEW_NAMES


def test_enrollment_refuses_what_is_not_a_photo():
    with pytest.raises(ImageError) as refused:
        enrollment_views(b"")
    assert refused.value.reason == "empty"
