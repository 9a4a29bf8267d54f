"""Trimaps and value conversions at their shared home (datagen.compose)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from datagen.compose.convert import alpha_to_uint8, quantize_alpha, to_probability, to_unit_float
from datagen.compose.trimap import check_trimap, random_trimap, trimap_from_alpha, trimap_masks


def test_trimap_from_alpha_matches_distance_definition():
    """dilate(alpha>0) - erode(alpha==255) with a disk equals the distance-based definition."""
    rng = np.random.default_rng(3)
    alpha = np.zeros((60, 70), np.uint8)
    alpha[15:45, 20:50] = 255
    alpha[25:35, 30:40] = rng.integers(1, 255, size=(10, 10))
    alpha[0:3, 0:3] = 255  # opaque pixels at the image border stay opaque if far from transparency
    r = 4
    trimap = trimap_from_alpha(alpha, r)
    # distance from each pixel to the nearest pixel with alpha > 0 / with alpha < 255
    d_obj = ndimage.distance_transform_edt(alpha == 0)
    d_not_opaque = ndimage.distance_transform_edt(alpha == 255)
    # cv2's ellipse kernel of size 2r+1 is the digital disk of radius r (x^2 + y^2 <= r^2 up to rounding)
    expected = np.where(d_not_opaque > r, 255, np.where(d_obj <= r, 128, 0))
    assert (trimap != expected).mean() < 0.01  # only at the digital-disk rim, where the two disk shapes differ
    assert set(np.unique(trimap)) <= {0, 128, 255}
    assert (trimap[alpha == 0][d_obj[alpha == 0] > r + 1] == 0).all()
    assert (trimap[(alpha > 0) & (alpha < 255)] == 128).all()


def test_trimap_from_alpha_same_at_every_precision():
    rng = np.random.default_rng(0)
    a8 = np.zeros((40, 40), np.uint8)
    a8[10:30, 10:30] = 255
    a8[18:22, 5:35] = rng.integers(1, 255, size=(4, 30))
    a16 = a8.astype(np.uint16) * 257
    af = a8 / 255.0
    np.testing.assert_array_equal(trimap_from_alpha(a16, 3), trimap_from_alpha(a8, 3))
    np.testing.assert_array_equal(trimap_from_alpha(af, 3), trimap_from_alpha(a8, 3))


def test_random_trimap_band_widths_within_range():
    """At a straight edge the band is exactly r_fg px inside and r_bg px outside, each in 3..25."""
    alpha = np.zeros((60, 160), np.uint8)
    alpha[:, 80:] = 255
    widths_in, widths_out = set(), set()
    for seed in range(40):
        trimap = random_trimap(alpha, np.random.default_rng(seed))
        unknown = np.flatnonzero(trimap[30] == 128)
        widths_out.add(80 - unknown.min())
        widths_in.add(unknown.max() - 80 + 1)
        assert (trimap == trimap[30]).all()  # the same band on every row
        assert set(np.unique(trimap)) == {0, 128, 255}
    assert min(widths_in) >= 3 and max(widths_in) <= 25 and min(widths_out) >= 3 and max(widths_out) <= 25
    assert len(widths_in) > 5 and len(widths_out) > 5  # the radii really vary
    np.testing.assert_array_equal(random_trimap(alpha, np.random.default_rng(7)),
                                  random_trimap(alpha, np.random.default_rng(7)))


def test_random_trimap_rejects_bad_range():
    with pytest.raises(ValueError, match="min_radius"):
        random_trimap(np.zeros((4, 4), np.uint8), np.random.default_rng(0), 5, 3)


def test_check_trimap_and_masks():
    trimap = np.array([[0, 128], [255, 255]], np.uint8)
    fg, bg = trimap_masks(check_trimap(trimap, (2, 2)))
    assert fg.tolist() == [[False, False], [True, True]] and bg.tolist() == [[True, False], [False, False]]
    with pytest.raises(ValueError, match="trimap is 2x2, the image is 3x2"):
        check_trimap(trimap, (2, 3))
    with pytest.raises(ValueError, match="other than 0/128/255"):
        check_trimap(np.array([[0, 7]], np.uint8), (1, 2))


def test_conversions():
    assert to_unit_float(np.array([0, 255], np.uint8)).tolist() == [0.0, 1.0]
    assert to_unit_float(np.array([65535], np.uint16)).tolist() == [1.0]
    assert to_unit_float(np.array([-0.5, 2.0])).tolist() == [0.0, 1.0]
    assert to_probability(np.array([255], np.uint8)).tolist() == [1.0]
    assert to_probability(np.array([1.5])).tolist() == [1.5]  # floats are not clipped
    assert quantize_alpha(np.array([-0.1, 0.5 / 255, 0.7 / 255, 1.2])).tolist() == [0, 0, 1, 255]
    assert alpha_to_uint8(np.array([0, 128, 257, 65535], np.uint16)).tolist() == [0, 0, 1, 255]
    with pytest.raises(TypeError):
        quantize_alpha(np.array([300], np.int32))
