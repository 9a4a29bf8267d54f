"""Initial masks for mask correction (training/evaluation/initial_masks.py): the seeded corruption
recipe after FocalClick's DAVIS-585 and masks read from a folder by sample id."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from datagen.imageio import ImageError
from training.evaluation.initial_masks import InitialMaskFolder, corrupt_mask, sample_seed
from training.evaluation.metrics import iou


def _scene():
    """A 96 x 128 image of coloured 16-pixel blocks (so superpixels have edges to follow) and a disk."""
    rng = np.random.default_rng(5)
    blocks = rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)
    image = np.kron(blocks, np.ones((16, 16, 1), np.uint8))
    yy, xx = np.mgrid[:96, :128]
    gt = (yy - 48) ** 2 + (xx - 60) ** 2 < 30 ** 2
    return image, gt


def test_corruption_lands_in_the_iou_range_and_is_seeded():
    image, gt = _scene()
    mask, value = corrupt_mask(image, gt, seed=11)
    assert mask.dtype == bool and mask.shape == gt.shape
    assert 0.75 <= value <= 0.85
    assert value == pytest.approx(iou(gt.astype(np.int8), mask))      # the IoU it reports is the mask's
    again, value_again = corrupt_mask(image, gt, seed=11)
    np.testing.assert_array_equal(again, mask)
    assert value_again == value
    other, _ = corrupt_mask(image, gt, seed=12)
    assert (other != mask).any()
    tight, tight_value = corrupt_mask(image, gt, seed=11, iou_range=(0.9, 0.95))
    assert 0.9 <= tight_value <= 0.95 and (tight != gt).any()


def test_corruption_refuses_an_empty_or_mismatched_mask():
    image, gt = _scene()
    with pytest.raises(ValueError, match="empty"):
        corrupt_mask(image, np.zeros_like(gt), seed=0)
    with pytest.raises(ValueError, match="mask shape"):
        corrupt_mask(image, gt[40:50], seed=0)


def test_sample_seeds_depend_on_run_seed_and_id_only():
    assert sample_seed(0, "bear_00001") == sample_seed(0, "bear_00001")
    assert len({sample_seed(0, "a"), sample_seed(1, "a"), sample_seed(0, "b")}) == 3
    assert sample_seed(0, "a") == int.from_bytes(__import__("hashlib").sha256(b"0:a").digest()[:8], "little")


def test_folder_masks_by_sample_id(tmp_path):
    grey = np.array([[0, 128, 129, 255]], np.uint8).repeat(3, axis=0)
    Image.fromarray(grey).save(tmp_path / "a.png")
    Image.fromarray(np.stack([grey] * 3, -1)).save(tmp_path / "b c.bmp")          # spaces in ids, RGB with equal channels
    Image.fromarray((grey.astype(np.uint16) * 257)).save(tmp_path / "d.png")       # 16-bit
    Image.fromarray(grey).save(tmp_path / "dup.png")
    Image.fromarray(grey).save(tmp_path / "dup.bmp")
    (tmp_path / "notes.txt").write_text("not a mask")
    folder = InitialMaskFolder(tmp_path)
    expected = np.array([[False, False, True, True]]).repeat(3, axis=0)             # > 128
    for sample_id in ("a", "b c", "d"):
        np.testing.assert_array_equal(folder.read(sample_id, (3, 4, 3)), expected)
    with pytest.raises(ValueError, match=r"no initial mask for sample 'e' \(expected e\.png\)"):
        folder.read("e", (3, 4))
    with pytest.raises(ValueError, match=r"2 initial masks for sample 'dup' \(dup\.bmp, dup\.png\)"):
        folder.read("dup", (3, 4))
    with pytest.raises(ImageError, match="initial mask is 4x3, the image is 5x3"):
        folder.read("a", (3, 5))
    with pytest.raises(ValueError, match="no such folder"):
        InitialMaskFolder(tmp_path / "missing")
