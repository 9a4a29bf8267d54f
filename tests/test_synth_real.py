"""synth-seg / synth-matting on real photographs and real mattes from ../shared/data."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from datagen.cli import app
from datagen.compose.blend import blend_rounded
from datagen.shards import open_dataset


@pytest.fixture(scope="module")
def real_banks(shared_data, tmp_path_factory):
    """alphamatting.com training images + GT alpha as objects; COCO and BSDS500 photos as backgrounds."""
    root = tmp_path_factory.mktemp("real")
    am = shared_data / "alphamatting_training_lowres"
    runner = CliRunner()
    res = runner.invoke(app, ["import", "objects", "--fg", str(am / "input_training_lowres"),
                              "--alpha", str(am / "gt_training_lowres"), "--out", str(root / "objects"), "--no-progress"])
    assert res.exit_code == 0, res.output
    for name in ("coco_backgrounds", "bsds500_backgrounds"):
        res = runner.invoke(app, ["import", "backgrounds", str(shared_data / name), "--out", str(root / name), "--no-progress"])
        assert res.exit_code in (0, 1), res.output  # 1 = some file skipped (reported), the rest imported
    return root


@pytest.mark.parametrize("backgrounds", ["coco_backgrounds", "bsds500_backgrounds"])
def test_synth_seg_on_real_photos(real_banks, backgrounds):
    objects = open_dataset(real_banks / "objects")
    n = len(objects)
    out = real_banks / f"seg_{backgrounds}"
    res = CliRunner().invoke(app, ["synth-seg", "--objects", str(real_banks / "objects"), "--backgrounds",
                                   str(real_banks / backgrounds), "--out", str(out), "--n", str(n), "--size", "96",
                                   "--jpeg-p", "0.5", "--no-progress"])
    assert res.exit_code == 0, res.output
    assert "no fg_full" in res.output  # imported objects have no re-estimated foreground: warned
    ds = open_dataset(out)
    assert len(ds) == n
    primaries = sorted(ds[i]["recipe"]["layers"][-1]["id"] for i in range(n))
    assert primaries == sorted(objects.ids)  # n = bank size: every object exactly once
    for i in range(n):
        s = ds[i]
        assert s["image"].shape == (96, 96, 3) and s["mask"].any()
        assert np.array_equal(s["mask"], (s["alpha"] > 127).astype(np.uint8))


def test_synth_matting_on_real_photos(real_banks):
    out = real_banks / "matting"
    res = CliRunner().invoke(app, ["synth-matting", "--objects", str(real_banks / "objects"), "--backgrounds",
                                   str(real_banks / "coco_backgrounds"), "--out", str(out), "--n", "6", "--size", "96",
                                   "--no-progress"])
    assert res.exit_code == 0, res.output
    for s in open_dataset(out):
        assert np.array_equal(s["image"], blend_rounded(s["fg"], s["bg"], s["alpha"]))
