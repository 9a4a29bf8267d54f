"""RITM's ZoomIn as pure steps (training/evaluation/zoom_in.py): the crop box, the crop given to the
model, its clicks and the paste back, worked out by hand on a small object in a large image."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from training.evaluation.zoom_in import (
    ZoomInSettings,
    box_iou,
    choose_roi,
    crop_shape,
    object_roi,
    paste_back,
    resize_bilinear,
    to_crop_clicks,
    zoom_in_predict,
)

SETTINGS = ZoomInSettings()   # RITM "cvpr" mode: 400, skip 1, x1.4, min 200, recompute IoU 0.5, prob > 0.5


class Recorder:
    """A model that remembers what it was shown and answers the object on full images, ones on crops."""

    def __init__(self, gt: np.ndarray):
        self.gt, self.calls = gt, []

    def __call__(self, image, clicks, prev_mask):
        self.calls.append((image, list(clicks), prev_mask))
        if image.shape[:2] == self.gt.shape:
            return self.gt.astype(np.float32)
        return np.ones(image.shape[:2], np.float32)


def _scene():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (500, 600, 3), dtype=np.uint8)
    gt = np.zeros((500, 600), bool)
    gt[100:120, 200:230] = True                  # a 20 x 30 object
    return image, gt


def test_small_object_crop_box_clicks_and_paste_back_by_hand():
    image, gt = _scene()
    model = Recorder(gt)
    clicks = [(110, 215, True)]
    prob, step = zoom_in_predict(model, image, clicks, np.zeros(gt.shape, np.float32), None, SETTINGS)
    assert step.used is None and step.kept is None            # click 1: the whole image
    assert model.calls[0][0] is image and prob.dtype == np.float32
    np.testing.assert_array_equal(prob, gt)

    clicks.append((50, 50, False))
    prob2, step2 = zoom_in_predict(model, image, clicks, prob, step.kept, SETTINGS)
    # object box rows 100..119, cols 200..229: centre (109.5, 214.5); sides max(1.4 x 20, 200) and
    # max(1.4 x 30, 200) = 200; corners round(9.5)=10, round(209.5)=210, round(114.5)=114, round(314.5)=314
    assert step2.used == step2.kept == (10, 210, 114, 314)
    assert step2.crop == (400, 400)                           # 201 x 201 box, longer side -> 400
    crop, crop_clicks, crop_prev = model.calls[1]
    assert crop.shape == (400, 400, 3) and crop.dtype == np.uint8
    # 400 x (110 - 10) / 201 = 199.005 -> 199, 400 x (215 - 114) / 201 = 200.995 -> 201; (50, 50) is outside
    assert crop_clicks == [(199, 201, True)]
    np.testing.assert_array_equal(crop[0, 0], image[10, 114])   # corners aligned
    np.testing.assert_array_equal(crop[-1, -1], image[210, 314])
    assert crop_prev.shape == (400, 400) and crop_prev.max() == 1.0 and crop_prev[0, 0] == 0.0
    expected = np.zeros(gt.shape, np.float32)
    expected[10:211, 114:315] = 1.0                           # ones of the crop, pasted into zeros
    np.testing.assert_array_equal(prob2, expected)


def test_box_clamped_at_the_image_corner():
    mask = np.zeros((300, 300), bool)
    mask[0:10, 0:10] = True
    # centre 4.5, side 200: round(-95.5) = -96 -> 0, round(104.5) = 104
    assert object_roi(mask, [], SETTINGS) == (0, 104, 0, 104)
    assert crop_shape((0, 104, 0, 104), 400) == (400, 400)
    assert crop_shape((0, 99, 0, 199), 400) == (200, 400)     # aspect kept, longer side 400
    assert object_roi(np.zeros((5, 5), bool), [(1, 1, True)], SETTINGS) is None


def test_positive_clicks_join_the_object_box():
    mask = np.zeros((1000, 1000), bool)
    mask[500:600, 500:600] = True
    # a positive click at (800, 550) stretches the box to rows 500..800 before expansion
    # centre row 650, side 1.4 x 301 = 421.4: round(439.3) = 439, round(860.7) = 861
    assert object_roi(mask, [(800, 550, True), (100, 100, False)], SETTINGS)[:2] == (439, 861)


def test_box_kept_unless_it_lost_a_positive_click_or_moved():
    previous = (10, 210, 114, 314)
    near = (12, 212, 114, 314)                                 # row IoU 199/203, column IoU 1
    assert box_iou(near, previous) == pytest.approx(199 / 203)
    assert choose_roi(near, previous, [(100, 200, True)], SETTINGS) == previous
    far = (300, 400, 114, 314)
    assert box_iou(far, previous) == 0.0
    assert choose_roi(far, previous, [(100, 200, True)], SETTINGS) == far
    # RITM tests coord >= max as outside: a positive click on the last row forces the new box
    assert choose_roi(near, previous, [(210, 200, True)], SETTINGS) == near
    assert choose_roi(near, previous, [(5, 5, False)], SETTINGS) == previous   # negative clicks never do
    assert choose_roi(near, None, [], SETTINGS) == near


def test_empty_prediction_keeps_the_whole_image():
    image, gt = _scene()
    model = Recorder(gt)
    prob, step = zoom_in_predict(model, image, [(1, 1, True), (2, 2, True)], np.zeros(gt.shape), (0, 9, 0, 9), SETTINGS)
    assert step.used is None and step.kept == (0, 9, 0, 9) and model.calls[0][0] is image


def test_resize_matches_torch_align_corners_and_clicks_map_like_ritm():
    rng = np.random.default_rng(3)
    a = rng.random((7, 11))
    for shape in ((13, 5), (7, 11), (1, 4), (20, 30)):
        ref = torch.nn.functional.interpolate(torch.from_numpy(a)[None, None], size=shape, mode="bilinear",
                                              align_corners=True)[0, 0].numpy()
        np.testing.assert_allclose(resize_bilinear(a, shape), ref, atol=1e-12)
    rgb = rng.random((6, 4, 3))
    np.testing.assert_allclose(resize_bilinear(rgb, (9, 3))[..., 1], resize_bilinear(rgb[..., 1], (9, 3)))
    assert to_crop_clicks([(4, 4, True), (3, 9, False)], (0, 4, 0, 4), (2, 2)) == [(1, 1, True)]  # 2 x 4/5 = 1.6 -> 2, kept in
    np.testing.assert_array_equal(paste_back(np.ones((2, 2)), (1, 2, 3, 3), (4, 5))[1:3, 3], [1, 1])
    with pytest.raises(ValueError, match="invalid zoom-in settings"):
        ZoomInSettings(skip_clicks=0)
