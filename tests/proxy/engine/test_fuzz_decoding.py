"""Fuzzing the decoder: whatever the bytes, a Fingerprint or an ImageError — nothing else, never a hang.

A sample here; `python -m benchmarks.fuzz` runs more than 10,000 cases and counts them.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sentinelle.proxy.engine.fingerprint import Fingerprint, enrollment_views, fingerprint
from sentinelle.proxy.engine.images import ImageError
from tests.support.broken_images import FORMATS, broken, seed_images

SEEDS = seed_images()


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_supported_format_is_read(fmt):
    assert isinstance(fingerprint(SEEDS[fmt]), Fingerprint)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fmt=st.sampled_from(FORMATS), seed=st.integers(0, 2**32))
def test_a_broken_image_gives_a_fingerprint_or_a_clear_error(fmt, seed):
    _, data = broken(SEEDS, fmt, seed)
    for check in (fingerprint, enrollment_views):
        try:
            check(data)
        except ImageError as e:
            assert e.reason  # a reason a parent can read
