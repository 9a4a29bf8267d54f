"""One 16-bit to 8-bit rule (``datagen.compose.convert.to_uint8``), and predictors that take what
benchmarks hold: uint8 or uint16 images (issue 26, move 3)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from datagen.compose.convert import to_uint8
from training.checkpoint import model_payload, save_checkpoint
from training.config import config_to_dict
from training.evaluation.baselines import RandomWalkerSeg
from training.evaluation.protocols import run_sample
from training.inference import load_predictor
from training.loops.fba import load_fba_config
from training.models import FBANet


def test_to_uint8_rounds_every_16_bit_value_to_nearest():
    """Independent truth: round(x / 257) in integers, (2x + 257) // 514 (257 is odd: no ties)."""
    x = np.arange(65536, dtype=np.uint16)
    expected = (2 * x.astype(np.int64) + 257) // 514
    assert np.array_equal(to_uint8(x), expected) and to_uint8(x).dtype == np.uint8
    image = x[:65535].reshape(255, 257)
    rgb = np.stack([image, image[::-1], image.T.reshape(255, 257)], -1)
    assert to_uint8(rgb).shape == rgb.shape and np.array_equal(to_uint8(rgb)[..., 1], to_uint8(image[::-1]))
    eight = np.arange(256, dtype=np.uint8)
    assert to_uint8(eight) is eight
    with pytest.raises(TypeError, match="uint8 or uint16"):
        to_uint8(np.zeros(3, np.float32))


def _scene(h=24, w=28):
    rng = np.random.default_rng(3)
    image8 = rng.integers(0, 255, (h, w, 3)).astype(np.uint8)      # 254 * 257 + 128 fits 16 bits
    alpha8 = np.zeros((h, w), np.uint8)
    alpha8[6:18, 8:20] = 255
    alpha8[5, 8:20] = 128
    trimap = np.full((h, w), 128, np.uint8)
    trimap[:3], trimap[-3:] = 0, 0
    trimap[10:14, 12:16] = 255
    return image8, alpha8, trimap


def test_an_fba_checkpoint_scores_a_16_bit_benchmark(tmp_path):
    """The FBA predictor took uint8 only, so a 16-bit benchmark failed every sample; now a 16-bit
    image predicts what its 8-bit twin (x * 257 holds the same colours) does."""
    cfg = load_fba_config("tiny")
    torch.manual_seed(0)
    path = tmp_path / "fba.pt"
    save_checkpoint(path, model_payload("fba", cfg["model"].to_dict(), FBANet(cfg["model"]), config_to_dict(cfg)))
    predictor = load_predictor(path, device="cpu")
    image8, alpha8, trimap = _scene()
    image16, alpha16 = image8.astype(np.uint16) * 257, alpha8.astype(np.uint16) * 257
    record = run_sample("matting", predictor, {"image": image16, "alpha": alpha16, "trimap": trimap})
    assert "error" not in record and np.isfinite(record["sad"])
    np.testing.assert_allclose(predictor.predict_matting(image16, trimap), predictor.predict_matting(image8, trimap),
                               atol=1e-5)


def test_the_baselines_round_16_bit_images_like_everyone_else():
    """x * 257 + 128 rounds to x (the shared rule); the baselines' old ``x >> 8`` made x + 1 of
    every x >= 128, so a 16-bit benchmark was segmented from other colours than its 8-bit copy."""
    image8, alpha8, _ = _scene()
    image16 = image8.astype(np.uint16) * 257 + 128
    assert np.array_equal(to_uint8(image16), image8)
    clicks = [(12, 14, True), (1, 1, False)]
    model = RandomWalkerSeg()
    prev = np.zeros(alpha8.shape, np.float32)
    assert np.array_equal(model.predict_iseg(image16, clicks, prev), model.predict_iseg(image8, clicks, prev))
