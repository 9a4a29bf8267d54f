"""Colour spill: shipped foregrounds leak their invalid colours into resampled edges, refit ones do not."""

import numpy as np

from datagen.demo.objects import OBJECT_KINDS, make_object
from datagen.foreground.levin import estimate_fb_levin
from datagen.foreground.spill import spill_score


def test_spill_cut_five_fold_on_demo_objects():
    before, after = [], []
    for index, kind in enumerate(OBJECT_KINDS):
        obj = make_object(100 + index, (320, 320), kind=kind)  # the demo bank size
        image, alpha = obj.fg / 255.0, obj.alpha / 255.0
        foreground, _, _ = estimate_fb_levin(image, alpha)
        before.append(spill_score(image, alpha))
        after.append(spill_score(foreground, alpha))
    assert np.mean(before) >= 5 * np.mean(after)
    assert spill_score(np.zeros((8, 8, 3)), np.ones((8, 8))) == 0.0  # no transparent band


def test_score_is_the_difference_of_the_two_grey_composites():
    """The score's definition, written out in float64 over the whole image: F and alpha
    resampled straight and composited on grey, against alpha F resampled (premultiplied) on the
    same grey, mean absolute difference over 0 < alpha < 1 (the module drops the grey, which
    cancels, and works at the band's pixels in float32)."""
    import cv2

    def down_up(array, factor=8):
        h, w = array.shape[:2]
        small = cv2.resize(array, (w // factor, h // factor), interpolation=cv2.INTER_AREA)
        return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR).reshape(array.shape)

    obj = make_object(3, (120, 96), kind="fur")
    image, alpha = obj.fg / 255.0, obj.alpha / 255.0
    resampled_alpha = down_up(alpha)[..., None]
    straight = resampled_alpha * down_up(image) + (1 - resampled_alpha) * 0.5
    premultiplied = down_up(alpha[..., None] * image) + (1 - resampled_alpha) * 0.5
    band = (alpha > 0) & (alpha < 1)
    expected = 255 * np.abs(straight - premultiplied).mean(axis=2)[band].mean()
    assert expected > 1.0  # the shipped fg does spill
    assert abs(spill_score(image, alpha) - expected) < 1e-4 * expected
