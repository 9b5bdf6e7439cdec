"""server/casefile/outline.py: the outline of the protected photo, clipped to the image seen."""

from __future__ import annotations

from sentinelle.server.casefile.outline import visible_outline


def test_a_plain_crop_is_outlined_along_the_image_s_edges():
    # docs/parents.md's example (`sentinelle check --json`): a centre crop of a 3:2 photo to 480 × 480.
    outline = visible_outline([[-120.7, 0.0], [600.7, 0.0], [600.7, 480.0], [-120.7, 480.0]], 480, 480)
    assert outline.runs_past
    assert outline.points == [(0.0, 0.0), (480.0, 0.0), (480.0, 480.0), (0.0, 480.0)]


def test_a_photo_inside_the_image_is_outlined_as_it_lies():
    outline = visible_outline([[40, 30], [440, 30], [440, 450], [40, 450]], 480, 480)
    assert outline.points == [(40.0, 30.0), (440.0, 30.0), (440.0, 450.0), (40.0, 450.0)] and not outline.runs_past
    # A corner a fraction of a pixel past an edge is on it: the fit is not exact to the pixel.
    assert not visible_outline([[-0.4, 0], [480.6, 0], [480, 480], [0, 480]], 480, 480).runs_past


def test_a_tilted_photo_that_runs_past_two_edges_keeps_its_own_edges_inside():
    # A rotated, off-centre crop: the photo's top-left corner and right side lie outside.
    outline = visible_outline([[-50, 100], [300, -40], [560, 300], [200, 520]], 400, 400)
    assert outline.runs_past
    xs, ys = zip(*outline.points, strict=True)
    assert min(xs) == 0 and max(xs) == 400 and min(ys) == 0 and max(ys) == 400
    # Where the photo's top and left edges leave by the image's left edge, and its top-left corner is cut.
    assert outline.points[1:4] == [(0.0, 184.0), (0.0, 80.0), (200.0, 0.0)]
    assert len(outline.points) == 8 and len(set(outline.points)) == 8


def test_a_region_beside_the_image_has_no_outline():
    assert visible_outline([[500, 0], [900, 0], [900, 400], [500, 400]], 480, 480) is None
    assert visible_outline([[480, 0], [900, 0], [900, 400], [480, 400]], 480, 480) is None  # touching: a line
