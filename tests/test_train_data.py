"""training.data: the FBA training samples read from shards, and the trimap encoding.

Truths used: scipy's exact Euclidean distance transform (the distance maps); the compositing
equation on the returned tensors; the 2x relation between a unit's two samples on a smooth
synthetic object (odd = centre crop of the even one upsampled 2x); the DataLoader with 0 and 2
workers (same stream); real alphamatting.com objects imported through `datagen import objects`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from scipy.ndimage import distance_transform_edt
from torch.utils.data import DataLoader

from datagen.runner import Execution
from datagen.shards.build import write_dataset
from datagen.compose.trimap import FG
from datagen.demo.banks import build_background_bank, build_object_bank
from datagen.shards import DatasetError
from training.data import FBA_SIGMAS_PX, MattingData, MattingDataConfig, distance_maps
from training.data.layers import merge_over, resize_layer
from training.data.windows import centred_window, zoom_window
from training.loops.sampler import loader_context

SMALL = MattingDataConfig(crop_sizes=(96, 64, 48), out_size=48, composites_per_object=2)


# -- the encoding --------------------------------------------------------------------
def test_distance_maps_match_the_exact_edt_formula():
    rng = np.random.default_rng(3)
    fg = rng.random((23, 31)) < 0.03
    bg = np.zeros((23, 31), bool)
    bg[:, -4:] = True
    sigmas = (1.5, 4.0, 9.0)
    maps = distance_maps(fg, bg, sigmas)
    assert maps.shape == (6, 23, 31) and maps.dtype == np.float32
    for k, mask in enumerate((fg, bg)):
        d = distance_transform_edt(~mask)  # distance to the nearest mask pixel
        for j, sigma in enumerate(sigmas):
            np.testing.assert_allclose(maps[3 * k + j], np.exp(-d**2 / (2 * sigma**2)), rtol=1e-5, atol=1e-6)
    assert np.all(maps[0][fg] == 1.0) and np.all(maps[3][bg] == 1.0)


def test_distance_maps_of_an_empty_mask_are_zero():
    fg = np.zeros((8, 9), bool)
    bg = np.zeros((8, 9), bool)
    bg[0, 0] = True
    maps = distance_maps(fg, bg)
    assert np.all(maps[:3] == 0)
    assert maps[3, 0, 0] == 1.0 and 0 < maps[3, 7, 8] < 1
    assert FBA_SIGMAS_PX == (6.4, 25.6, 51.2)


# -- pure pieces ---------------------------------------------------------------------
def test_merge_over_equals_compositing_the_two_layers_in_turn():
    rng = np.random.default_rng(1)
    ft, fu, b = (rng.random((3, 5, 6), dtype=np.float32) for _ in range(3))
    at, au = (rng.random((5, 6), dtype=np.float32) for _ in range(2))
    at[0, 0] = au[0, 0] = 0.0
    fg, alpha = merge_over(ft, at, fu, au)
    in_turn = at * ft + (1 - at) * (au * fu + (1 - au) * b)
    np.testing.assert_allclose(alpha * fg + (1 - alpha) * b, in_turn, atol=1e-6)
    np.testing.assert_array_equal(fg[:, 0, 0], ft[:, 0, 0])  # nothing covers: the top colour stays


def test_premultiplied_resize_does_not_spill_invalid_colour():
    # Colour is valid only where alpha > 0 (red); the invalid pixels are green. Resized directly,
    # green bleeds into the edge; resized premultiplied, the edge stays red.
    alpha = np.zeros((64, 64), np.uint8)
    alpha[:, :32] = 255
    alpha[:, 32:41] = 128
    colour = np.zeros((64, 64, 3), np.uint8)
    colour[alpha > 0] = (255, 0, 0)
    colour[alpha == 0] = (0, 255, 0)
    fg, a = resize_layer(colour, alpha, 24, valid_everywhere=False)
    edge = a > 0
    np.testing.assert_allclose(fg[:, edge], np.array([[1.0], [0.0], [0.0]]).repeat(edge.sum(), 1), atol=1e-5)
    spilled, _ = resize_layer(colour, alpha, 24, valid_everywhere=True)
    assert spilled[1][edge].max() > 0.2  # the direct resize does mix green in: the test can fail


def test_zoom_window_is_the_centre_half():
    window = centred_window((100, 200), 64, (10, 190))  # clipped into the image
    assert window == (0, 136, 64)
    assert zoom_window(window) == (16, 152, 32)
    assert centred_window((40, 50), 640, (20, 20)) == (0, 0, 40)


# -- banks for the dataset tests -------------------------------------------------------
@dataclass(frozen=True)
class _Arrays:
    """make_sample for write_dataset: the item is the sample dict itself."""

    def __call__(self, sample: dict) -> dict:
        return sample


def _write(path: Path, kind: str, samples: list[dict]) -> Path:
    write_dataset(path, kind, samples, _Arrays(), execution=Execution(progress=False))
    return path


@pytest.fixture(scope="module")
def demo_banks(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("demo")
    build_object_bank(root / "objects", n=3, size=(96, 96), execution=Execution(progress=False))
    build_background_bank(root / "backgrounds", n=2, size=(80, 120), execution=Execution(progress=False), photos=False)
    return root / "objects", root / "backgrounds"


def _smooth_bank(root: Path) -> tuple[Path, Path]:
    """One object with fg_full: a disc with a 16 px soft edge, colour and background smooth
    gradients, so bilinear resampling is near exact and the 2x relation can be checked tightly."""
    h = w = 160
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    r = np.hypot(yy - 80, xx - 80)
    alpha = np.clip((50 - r) / 16 + 0.5, 0, 1)
    fg = np.stack([yy / h, xx / w, 0.5 + 0 * yy], axis=-1)
    bg = np.stack([0.2 + 0 * yy, 1 - yy / h, xx / w], axis=-1)[:120, :140]
    obj = {"id": "disc", "fg": np.rint(fg * 255).astype(np.uint8), "alpha": np.rint(alpha * 255).astype(np.uint8),
           "fg_full": np.rint(fg * 65535).astype(np.uint16)}
    objects = _write(root / "objects", "objects", [obj])
    backgrounds = _write(root / "backgrounds", "backgrounds", [{"id": "ramp", "image": np.rint(bg * 255).astype(np.uint8)}])
    return objects, backgrounds


def _check_sample(item: dict, size: int) -> None:
    assert item["image"].shape == item["composite"].shape == item["fg"].shape == item["bg"].shape == (3, size, size)
    assert item["alpha"].shape == item["fb_valid"].shape == (1, size, size)
    assert item["trimap2"].shape == (2, size, size) and item["trimap_maps"].shape == (6, size, size)
    for key in ("image", "composite", "alpha", "fg", "bg", "trimap_maps"):
        assert item[key].dtype == torch.float32 and 0 <= item[key].min() and item[key].max() <= 1, key
    a = item["alpha"]
    torch.testing.assert_close(item["composite"], a * item["fg"] + (1 - a) * item["bg"], atol=1e-6, rtol=0)
    fg, bg = item["trimap2"]
    assert set(torch.unique(item["trimap2"]).tolist()) <= {0.0, 1.0} and not (fg * bg).any()
    unknown = (1 - fg - bg).bool()
    assert unknown.any(), "the crop must contain unknown pixels"
    assert torch.all(a[0][fg.bool()] == 1) and torch.all(a[0][bg.bool()] == 0)
    # the maps encode the masks they were made from
    assert torch.all(item["trimap_maps"][0][fg.bool()] == 1) and torch.all(item["trimap_maps"][3][bg.bool()] == 1)


# -- the dataset ---------------------------------------------------------------------
def test_online_samples_are_consistent(demo_banks):
    objects, backgrounds = demo_banks
    data = MattingData(SMALL, objects=objects, backgrounds=backgrounds, seed=5)
    assert len(data) == 3 * 2 * 2  # objects x composites_per_object x (1x, 2x)
    for index in range(len(data)):
        item = data[index]
        _check_sample(item, 48)
        assert item["index"] == index
        assert torch.equal(item["image"], item["composite"])  # online: the input is the clean composite
        # demo objects ship fg only: F/B ground truth trusted where alpha > 0
        torch.testing.assert_close(item["fb_valid"], (item["alpha"] > 0).float())


def test_second_foreground_is_merged_under_the_first(demo_banks):
    objects, backgrounds = demo_banks
    cfg = MattingDataConfig(crop_sizes=(96,), out_size=48, composites_per_object=1, rescale_every_second=False,
                            mirror_p=0.0, flip_p=0.0, gamma=(1.0, 1.0), brightness=(1.0, 1.0))
    alone = MattingData(cfg, objects=objects, backgrounds=backgrounds, seed=1)
    merged = MattingData(MattingDataConfig(**{**cfg.__dict__, "second_fg_p": 1.0}), objects=objects,
                         backgrounds=backgrounds, seed=1)
    grew = 0
    for index in range(len(alone)):
        a, m = alone[index], merged[index]
        _check_sample(m, 48)
        assert torch.all(m["alpha"] >= a["alpha"] - 1e-6)  # the union covers the primary
        grew += int((m["alpha"] > a["alpha"] + 0.1).sum() > 20)  # and, unless hidden under it, more
    assert grew >= 2


def test_two_x_sample_is_the_even_one_zoomed(tmp_path):
    objects, backgrounds = _smooth_bank(tmp_path)
    cfg = MattingDataConfig(crop_sizes=(96,), out_size=48, composites_per_object=4)
    data = MattingData(cfg, objects=objects, backgrounds=backgrounds, seed=0)
    for unit in range(4):
        even, odd = data[2 * unit], data[2 * unit + 1]
        _check_sample(odd, 48)
        assert torch.all(even["fb_valid"] == 1)  # fg_full: valid everywhere
        for key in ("alpha", "fg", "bg", "composite"):
            e = even[key].permute(1, 2, 0).numpy()
            up = cv2.resize(e, (96, 96), interpolation=cv2.INTER_LINEAR).reshape(96, 96, -1)
            o = odd[key].permute(1, 2, 0).numpy()
            err = np.abs(up[24:72, 24:72] - o)
            assert err.mean() < 0.004 and err.max() < 0.04, (key, err.mean(), err.max())
            if key == "alpha":  # the check can fail: a 2 px offset is far off
                assert np.abs(up[26:74, 24:72] - o).mean() > 5 * err.mean()


def test_same_stream_for_any_worker_count_and_new_draws_each_epoch(demo_banks):
    objects, backgrounds = demo_banks
    data = MattingData(SMALL, objects=objects, backgrounds=backgrounds, seed=2)
    batches = [[0, 1], [5, 4], [11, 2], [7, 9]]

    def stream(workers: int) -> list[dict]:
        return list(DataLoader(data, batch_sampler=batches, num_workers=workers, **loader_context(workers)))

    single, double = stream(0), stream(2)
    for a, b in zip(single, double):
        assert a.keys() == b.keys()
        for key in a:
            assert torch.equal(a[key], b[key]), key
    again = data[5]
    assert torch.equal(again["composite"], single[1]["composite"][0])
    data.set_epoch(1)
    other = data[5]
    assert not torch.equal(other["composite"], again["composite"])
    data.set_epoch(0)
    assert torch.equal(data[5]["trimap2"], again["trimap2"])


@pytest.mark.filterwarnings("ignore:.*has no fg_full")
def test_matting_shards(tmp_path, demo_banks):
    from datagen.synth.recipe import SynthParams
    from datagen.synth.run import run_synth

    objects, backgrounds = demo_banks
    run_synth("matting", objects, backgrounds, tmp_path / "matting", n=3, params=SynthParams(size=96),
              execution=Execution(progress=False))
    data = MattingData(SMALL, matting=tmp_path / "matting", seed=0)
    assert len(data) == 3 * 2
    for index in range(len(data)):
        item = data[index]
        _check_sample(item, 48)
        # the stored image is the rounded composite made before resizing: close, not equal
        assert (item["image"] - item["composite"]).abs().mean() < 0.01
    full = MattingData(MattingDataConfig(**{**SMALL.__dict__, "matting_fg_full": True}), matting=tmp_path / "matting")
    assert torch.all(full[0]["fb_valid"] == 1)


def test_real_alphamatting_objects_end_to_end(shared_data, tmp_path, demo_banks):
    from datagen.importing import get_importer, run_import
    from datagen.sources.objects import ObjectsOptions

    root = shared_data / "alphamatting_training_lowres"
    for name, folder in (("fg", "input_training_lowres"), ("alpha", "gt_training_lowres")):
        (tmp_path / name).mkdir()
        for stem in ("GT01", "GT02"):
            (tmp_path / name / f"{stem}.png").symlink_to(root / folder / f"{stem}.png")
    run_import(get_importer("import", "objects"), ObjectsOptions(fg=tmp_path / "fg", alpha=tmp_path / "alpha"),
               tmp_path / "am", execution=Execution(progress=False), warn=lambda line: None)
    data = MattingData(MattingDataConfig(composites_per_object=2), objects=tmp_path / "am",
                       backgrounds=demo_banks[1], seed=0)
    assert len(data) == 8
    for index in (0, 1, 6):
        item = data[index]
        _check_sample(item, 320)
        soft = ((item["alpha"] > 0) & (item["alpha"] < 1)).sum()
        assert soft > 200  # crops sit on the hair, not on flat regions


# -- bad input -----------------------------------------------------------------------
def test_bad_banks_are_one_clear_error(tmp_path, demo_banks):
    objects, backgrounds = demo_banks
    build_object_bank(tmp_path / "empty", n=0, execution=Execution(progress=False))
    with pytest.raises(DatasetError, match=r"objects bank .*empty.*: the dataset is empty"):
        MattingData(SMALL, objects=tmp_path / "empty", backgrounds=backgrounds)
    with pytest.raises(DatasetError, match=r"objects bank .*kind 'objects' is needed, this one is 'backgrounds'"):
        MattingData(SMALL, objects=backgrounds, backgrounds=backgrounds)
    with pytest.raises(DatasetError, match=r"matting shards: .*nowhere: no such folder"):
        MattingData(SMALL, matting=tmp_path / "nowhere")
    with pytest.raises(ValueError, match="needs both"):
        MattingData(SMALL, objects=objects)
    # a foreign or hand-edited dataset whose manifest lacks a field
    edited = tmp_path / "edited"
    edited.mkdir()
    for path in Path(objects).iterdir():
        (edited / path.name).symlink_to(path)
    manifest = json.loads((Path(objects) / "manifest.json").read_text())
    manifest["fields"] = [f for f in manifest["fields"] if f["name"] != "fg"]
    (edited / "manifest.json").unlink()
    (edited / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(DatasetError, match=r"objects bank .*edited: missing fields fg"):
        MattingData(SMALL, objects=edited, backgrounds=backgrounds)


def test_an_object_without_unknown_pixels_is_named(tmp_path, demo_banks):
    opaque = {"id": "slab", "fg": np.zeros((40, 40, 3), np.uint8), "alpha": np.full((40, 40), FG, np.uint8)}
    objects = _write(tmp_path / "objects", "objects", [opaque])
    with pytest.raises(DatasetError, match="sample slab has no unknown pixel"):    # when the bank has no other
        MattingData(SMALL, objects=objects, backgrounds=demo_banks[1])[0]


def test_a_bank_with_fg_full_on_some_objects_only_is_named(tmp_path, demo_banks):
    alpha = np.zeros((40, 40), np.uint8)
    alpha[10:30, 10:30] = 255
    alpha[10:30, 30] = 100
    with_full = {"id": "a", "fg": np.zeros((40, 40, 3), np.uint8), "alpha": alpha,
                 "fg_full": np.zeros((40, 40, 3), np.uint16)}
    without = {"id": "b", "fg": np.zeros((40, 40, 3), np.uint8), "alpha": alpha}
    objects = _write(tmp_path / "objects", "objects", [with_full, without])
    cfg = MattingDataConfig(crop_sizes=(32,), out_size=32, second_fg_p=0.0, rescale_every_second=False,
                            composites_per_object=1)
    data = MattingData(cfg, objects=objects, backgrounds=demo_banks[1])
    _check_sample(data[0], 32)
    with pytest.raises(DatasetError, match="sample b has no fg_full while other samples have one"):
        data[1]


@pytest.mark.parametrize("bad, message", [
    ({"out_size": 100}, "multiple of 8"),
    ({"crop_sizes": ()}, "crop_sizes"),
    ({"trimap_radius": (9, 3)}, "trimap_radius"),
    ({"second_fg_p": 1.5}, "second_fg_p"),
    ({"gamma": (0.0, 1.0)}, "gamma"),
])
def test_config_rejects_bad_values(bad, message):
    with pytest.raises(ValueError, match=message):
        MattingDataConfig(**bad)
