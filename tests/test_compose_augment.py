"""Photometric and realism augmentations: identities, closed forms, determinism."""

import numpy as np

from datagen.compose.augment import blur, jpeg, noise, photometric, tone_lut


def _img(seed=0, shape=(32, 48, 3)):
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


def test_identity_parameters_change_nothing():
    im = _img()
    assert np.array_equal(photometric(im), im)
    assert np.array_equal(photometric(im, 1.0, 1.0, 1.0), im)


def test_gamma_and_brightness_follow_the_closed_form():
    im = _img(1)
    out = photometric(im, gamma=0.5, brightness=1.2)
    ref = np.clip(np.floor(255 * (im / 255.0) ** 0.5 * 1.2 + 0.5), 0, 255).astype(np.uint8)
    assert np.abs(out.astype(int) - ref).max() <= 1  # rint vs floor(+0.5) at exact halves
    assert tone_lut(2.0, 1.0)[255] == 255 and tone_lut(2.0, 1.0)[0] == 0


def test_zero_saturation_gives_grey_with_luma_preserved():
    im = _img(2)
    out = photometric(im, saturation=0.0).astype(int)
    assert (out[..., 0] == out[..., 1]).all() and (out[..., 1] == out[..., 2]).all()
    luma = im @ np.array([0.299, 0.587, 0.114])
    assert np.abs(out[..., 0] - luma).max() <= 1.0  # fixed-point luma
    vivid = photometric(im, saturation=1.5).astype(int)
    ref = np.clip(luma[..., None] + 1.5 * (im - luma[..., None]), 0, 255)
    assert np.abs(vivid - ref).max() <= 2.0


def test_realism_degradations_are_deterministic_and_bounded():
    im = _img(3)
    assert np.array_equal(noise(im, 3.0, 7), noise(im, 3.0, 7))
    assert not np.array_equal(noise(im, 3.0, 7), noise(im, 3.0, 8))
    assert abs(float((noise(im, 3.0, 7).astype(float) - im).std()) - 3.0) < 0.5
    flat = np.full((16, 16, 3), 77, np.uint8)
    assert np.array_equal(blur(flat, 1.5), flat)
    smooth = np.repeat(np.linspace(0, 255, 64, dtype=np.uint8)[None, :, None], 64, 0).repeat(3, 2)
    assert np.abs(jpeg(smooth, 95).astype(int) - smooth).mean() < 2.0
    assert np.array_equal(jpeg(im, 60), jpeg(im, 60))
