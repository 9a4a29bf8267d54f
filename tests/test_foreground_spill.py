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
