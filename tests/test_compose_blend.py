"""Exact integer compositing checked against a float64 closed form."""

import numpy as np
import pytest

from datagen.compose.blend import alpha_bbox, blend_rounded, composite_over, div255_round


def test_div255_round_is_exact_over_the_whole_range():
    x = np.arange(255 * 255 + 1, dtype=np.uint16)
    assert np.array_equal(div255_round(x), np.floor(x / 255.0 + 0.5).astype(np.uint8))


def test_blend_matches_float_reference_for_every_alpha():
    rng = np.random.default_rng(0)
    alpha = np.tile(np.arange(256, dtype=np.uint8), (40, 1))
    fg = rng.integers(0, 256, (40, 256, 3), dtype=np.uint8)
    bg = rng.integers(0, 256, (40, 256, 3), dtype=np.uint8)
    a = alpha[..., None] / 255.0
    ref = np.floor(a * fg + (1 - a) * bg + 0.5 + 1e-9).astype(np.uint8)
    assert np.array_equal(blend_rounded(fg, bg, alpha), ref)


def test_blend_endpoints_are_the_inputs():
    rng = np.random.default_rng(1)
    fg = rng.integers(0, 256, (8, 9, 3), dtype=np.uint8)
    bg = rng.integers(0, 256, (8, 9, 3), dtype=np.uint8)
    assert np.array_equal(blend_rounded(fg, bg, np.full((8, 9), 255, np.uint8)), fg)
    assert np.array_equal(blend_rounded(fg, bg, np.zeros((8, 9), np.uint8)), bg)


def test_composite_over_equals_whole_frame_blend_and_touches_only_the_box():
    rng = np.random.default_rng(2)
    fg = rng.integers(0, 256, (30, 40, 3), dtype=np.uint8)
    bg = rng.integers(0, 256, (30, 40, 3), dtype=np.uint8)
    alpha = np.zeros((30, 40), np.uint8)
    alpha[5:12, 20:33] = rng.integers(1, 256, (7, 13), dtype=np.uint8)
    canvas = bg.copy()
    out = composite_over(canvas, fg, alpha)
    assert out is canvas
    assert np.array_equal(canvas, blend_rounded(fg, bg, alpha))
    assert alpha_bbox(alpha) == (5, 12, 20, 33)
    assert alpha_bbox(np.zeros((3, 3), np.uint8)) is None


def test_blend_rejects_wrong_dtypes_and_shapes():
    a = np.zeros((4, 4), np.uint8)
    with pytest.raises(TypeError):
        blend_rounded(np.zeros((4, 4, 3), np.float32), np.zeros((4, 4, 3), np.uint8), a)
    with pytest.raises(ValueError):
        blend_rounded(np.zeros((4, 5, 3), np.uint8), np.zeros((4, 4, 3), np.uint8), a)
