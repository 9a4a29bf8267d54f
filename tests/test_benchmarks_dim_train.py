"""DIM-train: pairing from the official lists, COCO 2014/2017 names, the DIM recipe, refit banks."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from datagen.runner import Execution
from datagen.benchmarks import dim_train
from datagen.shards.build import write_dataset
from datagen.shards import open_dataset
from test_benchmarks_composition import NAMELISTS, build, plan, reference_composite


@pytest.fixture(scope="module")
def dim_train_copy(tmp_path_factory):
    base = tmp_path_factory.mktemp("dimtrain")
    rng = np.random.default_rng(11)
    train = base / "Combined_Dataset" / "Training_set"
    for group in dim_train.GROUPS:
        for sub in ("fg", "alpha"):
            (train / group / sub).mkdir(parents=True)
    shutil.copy(NAMELISTS / "training_fg_names.txt", train / "training_fg_names.txt")
    shutil.copy(NAMELISTS / "training_bg_names.txt", train / "training_bg_names.txt")
    for i, name in enumerate((train / "training_fg_names.txt").read_text().splitlines()):
        group = dim_train.GROUPS[i % 2]
        h, w = rng.integers(10, 20, size=2)
        Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(train / group / "fg" / name, format="PNG")
        alpha = rng.integers(0, 256, (h, w), dtype=np.uint8)
        alpha[0] = 0
        alpha[-1] = 255
        Image.fromarray(alpha).save(train / group / "alpha" / name, format="PNG")
    # 43,100 background names: hard links to a few real JPEGs, half under their 2017 names
    sources = []
    for j in range(6):
        path = base / f"src{j}.jpg"
        Image.fromarray(rng.integers(0, 256, (8 + 5 * j, 30 - 3 * j, 3), dtype=np.uint8)).save(path)
        sources.append(path)
    bgs = base / "coco"
    bgs.mkdir()
    for j, name in enumerate((train / "training_bg_names.txt").read_text().splitlines()):
        target = name if j % 2 == 0 else name[len(dim_train.COCO2014_PREFIX):]
        os.link(sources[j % 6], bgs / target)
    return base / "Combined_Dataset", bgs


def test_dim_train_pairs_and_composites_like_the_recipe(dim_train_copy, tmp_path):
    root, bgs = dim_train_copy
    result, _ = build("dim-train", tmp_path / "t", root=root, backgrounds=bgs, per_object=2)
    assert not result.failures
    ds = open_dataset(tmp_path / "t")
    fg_names = (root / "Training_set" / "training_fg_names.txt").read_text().splitlines()
    bg_names = (root / "Training_set" / "training_bg_names.txt").read_text().splitlines()
    assert ds.kind == "matting" and len(ds) == 862
    assert ds.ids[:3] == [f"{Path(fg_names[0]).stem}_0", f"{Path(fg_names[0]).stem}_1", f"{Path(fg_names[1]).stem}_0"]
    for index in (0, 1, 2, 3, 501, 861):
        i, k = divmod(index, 2)
        group = dim_train.GROUPS[i % 2]
        name = bg_names[100 * i + k]
        bg_file = bgs / name if (bgs / name).exists() else bgs / name[len(dim_train.COCO2014_PREFIX):]
        sample = ds[index]
        expected = reference_composite(root / "Training_set" / group / "fg" / fg_names[i],
                                       root / "Training_set" / group / "alpha" / fg_names[i], bg_file)
        np.testing.assert_array_equal(sample["image"], expected)
        np.testing.assert_array_equal(sample["fg"], np.asarray(Image.open(root / "Training_set" / group / "fg" / fg_names[i])))
        assert sample["bg"].shape == sample["fg"].shape


def test_dim_train_from_a_refit_bank(dim_train_copy, tmp_path):
    root, bgs = dim_train_copy
    names = (root / "Training_set" / "training_fg_names.txt").read_text().splitlines()
    rng = np.random.default_rng(5)

    def make(name):
        group = dim_train.GROUPS[names.index(name) % 2]
        alpha = np.asarray(Image.open(root / "Training_set" / group / "alpha" / name))
        fg = np.asarray(Image.open(root / "Training_set" / group / "fg" / name))
        full = rng.integers(0, 65536, fg.shape, dtype=np.uint16)
        return {"id": Path(name).stem, "fg": fg, "alpha": alpha, "fg_full": full}

    write_dataset(tmp_path / "bank", "objects", names, make, execution=Execution(progress=False))
    result, _ = build("dim-train", tmp_path / "t", root=root, backgrounds=bgs, per_object=1, objects=tmp_path / "bank")
    assert not result.failures
    ds, bank = open_dataset(tmp_path / "t"), open_dataset(tmp_path / "bank")
    sample, obj = ds[7], bank[7]
    assert sample["fg"].dtype == np.uint16
    np.testing.assert_array_equal(sample["fg"], obj["fg_full"])
    a = obj["alpha"].astype(np.float64)[:, :, None] / 255
    fg8 = np.floor(obj["fg_full"] / 257 + 0.5)
    expected = np.where(a >= 1, fg8, np.where(a > 0, np.floor(a * fg8 + (1 - a) * sample["bg"]), sample["bg"]))
    np.testing.assert_array_equal(sample["image"], expected.astype(np.uint8))


def test_dim_train_lists_missing_objects(dim_train_copy, tmp_path):
    root, bgs = dim_train_copy
    copy = tmp_path / "Combined_Dataset"
    shutil.copytree(root, copy)
    name = (copy / "Training_set" / "training_fg_names.txt").read_text().splitlines()[10]
    (copy / "Training_set" / dim_train.GROUPS[0] / "alpha" / name).unlink()
    from datagen.datasets.layouts import InputsError

    with pytest.raises(InputsError, match=f"alpha/{name}: listed in Training_set/training_fg_names.txt"):
        plan("dim-train", root=copy, backgrounds=bgs, per_object=1)
