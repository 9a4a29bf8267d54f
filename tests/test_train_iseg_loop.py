"""Click-by-click interactive segmentation training (training.loops.iseg) with a stub model and
stand-in data: the robot of protocol L sees the prediction after the previous click, one
optimiser step per click, no click on an already-clicked pixel or an ignored one, the
all-at-once baseline; and the segmentation samples (training.data.seg) against a direct
computation of their colour change, flips and ignore band."""

from __future__ import annotations

from functools import partial

import numpy as np
import pytest
import torch
from scipy import ndimage
from torch import nn
from torch.utils.data import DataLoader

import training.loops.iseg as iseg
from datagen.runner import Execution
from datagen.shards.build import write_dataset
from datagen.shards import DatasetError
from training.clicks.robots import next_click_largest_region
from training.config import ConfigError, TrainConfig
from training.data import SegData, SegDataConfig
from training.distributed import World
from training.loops.engine import FitOptions
from training.loops.iseg import ClicksConfig, IsegRun, fit_clicks, load_iseg_config, robot_gt, sample_clicks, stage_train
from training.loops.sampler import loader_context
from training.models.iseg import force_clicks

SIZE = 24
CPU = World(0, 1, 0, torch.device("cpu"))


class StubNet(nn.Module):
    """prob = sigmoid(w) * level(image), a constant below 0.5 unless ``bright``; ignores the clicks,
    so any click spread comes from the loop (forcing clicked pixels), not from learning. Records
    every call's inputs and output."""

    def __init__(self, level: float = 0.3) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.zeros(()))
        self.level = level
        self.calls: list[dict] = []

    def forward(self, image, maps, prev_mask):
        out = 2 * torch.sigmoid(self.w) * self.level * torch.ones_like(image[:, :1])
        self.calls.append({"maps": maps.detach().clone(), "prev": prev_mask.detach().clone(),
                           "out": out.detach().clone()})
        return out


def _sample(i: int, band: bool = False) -> dict:
    g = torch.Generator().manual_seed(i)
    mask = torch.zeros(1, SIZE, SIZE)
    mask[:, 5:17, 4:14 + i % 3] = 1
    valid = torch.ones_like(mask)
    if band:
        valid[:, 4:18, 13:16 + i % 3] = 0           # an ignore band across the right edge
    return {"image": torch.rand(3, SIZE, SIZE, generator=g), "mask": mask, "valid": valid, "index": i}


class StandIn(torch.utils.data.Dataset):
    def __init__(self, n: int, band: bool = False) -> None:
        self.n, self.band, self.epoch = n, band, 0

    def __len__(self):
        return self.n

    def set_epoch(self, epoch):
        self.epoch = epoch

    def __getitem__(self, i):
        return _sample(i, self.band)


@pytest.fixture()
def robot_calls(record_robot):
    """Every call of the protocol L's robot the loop makes: (gt, pred, click)."""
    return record_robot(iseg, "next_click_largest_region")


def _fit(tmp_path, net, data, clicks=ClicksConfig(), epochs=2, batch=1, **kw):
    train = TrainConfig(epochs=epochs, batch_size=batch, lr=1e-3, lr_drop_epochs=(), num_workers=0, log_steps=1)
    return fit_clicks(IsegRun(net, {}, data, {"clicks": {}}), clicks, train, tmp_path / "run", CPU,
                      FitOptions(progress=False, **kw))


def test_the_robot_sees_the_prediction_after_the_previous_click(tmp_path, robot_calls):
    net = StubNet()
    _fit(tmp_path, net, StandIn(3), epochs=1)
    assert len(robot_calls) == len(net.calls) == 3 * 4
    for k, ((gt, pred, click), call) in enumerate(zip(robot_calls, net.calls)):
        y, x, positive = click
        assert call["maps"][0, 0 if positive else 3, y, x] == 1.0     # the robot's click is in the model's input
        if k % 4 == 0:                                                 # first click: an all-zero prediction
            assert not pred.any() and not call["prev"].any()
        else:                                                          # later: the previous output, clicks forced
            prev = net.calls[k - 1]
            masks = torch.zeros(1, 2, SIZE, SIZE)
            for py, px, pp in [c for _, _, c in robot_calls[k - k % 4:k]]:
                masks[0, 0 if pp else 1, py, px] = 1
            forced = force_clicks(prev["out"], masks)
            torch.testing.assert_close(call["prev"], forced, rtol=0, atol=0)
            np.testing.assert_array_equal(pred, forced[0, 0].numpy() >= 0.5)
        assert set(np.unique(gt)) <= {0, 1}


def test_one_optimiser_step_per_click_and_per_all_at_once_image(tmp_path, robot_calls, step_count):
    result = _fit(tmp_path, StubNet(), StandIn(4), clicks=ClicksConfig(per_image=3), epochs=2, batch=2)
    assert result.steps_done == result.total_steps == 2 * 2                # 4 images / batch 2, 2 epochs
    assert step_count["n"] == 4 * 3 and len(robot_calls) == 4 * 2 * 3     # robot: per image and click
    step_count["n"] = 0
    robot_calls.clear()
    net = StubNet()
    _fit(tmp_path, net, StandIn(4), clicks=ClicksConfig(per_image=3, all_at_once=True), epochs=2, batch=2,
         overwrite=True)
    assert step_count["n"] == 4 and not robot_calls and len(net.calls) == 4
    assert all(not c["prev"].any() for c in net.calls)                    # no previous mask in the baseline


def test_no_click_lands_on_a_clicked_or_an_ignored_pixel(tmp_path, robot_calls):
    net = StubNet()                                                        # never learns to cover the object
    _fit(tmp_path, net, StandIn(3, band=True), clicks=ClicksConfig(per_image=8), epochs=1)
    per_image = [robot_calls[k:k + 8] for k in range(0, len(robot_calls), 8)]
    for calls in per_image:
        points = [(y, x) for _, _, (y, x, _) in calls]
        assert len(set(points)) == 8                                       # eight distinct pixels
        gt = calls[0][0]
        assert all(gt[y, x] != -1 for y, x in points)                      # never in the ignore band
    # the check has teeth: the raw prediction never covers a click, so without forcing the clicked
    # pixels the robot would repeat its first click
    assert all((c["out"] < 0.5).all() for c in net.calls)
    gt, pred, first = per_image[0][0]
    assert next_click_largest_region(gt, pred, [first]) == first


def test_a_perfect_prediction_gets_no_new_click(tmp_path, robot_calls):
    net = StubNet(level=0.5)                                               # prob 0.5 everywhere: all foreground
    full = {**_sample(0), "mask": torch.ones(1, SIZE, SIZE)}               # ... and the object is everything

    class Full(StandIn):
        def __getitem__(self, i):
            return full

    _fit(tmp_path, net, Full(1), epochs=1)
    assert robot_calls[0][2] != iseg.NO_ERROR                              # first: zeros, one FN region
    assert all(c[2] == iseg.NO_ERROR for c in robot_calls[1:])
    assert all((c["maps"] == net.calls[0]["maps"]).all() for c in net.calls)   # no stand-in click added


def test_all_at_once_clicks_come_from_the_ground_truth():
    gt = robot_gt(_sample(1, band=True)["mask"][None], _sample(1, band=True)["valid"][None])[0]
    obj_distance = ndimage.distance_transform_edt(gt != 1)
    for seed in range(20):
        clicks = sample_clicks(gt, 4, 3, np.random.default_rng(seed))
        assert len(clicks) == len({(y, x) for y, x, _ in clicks}) == 4
        positives = [c for c in clicks if c[2]]
        assert 1 <= len(positives) and clicks[:len(positives)] == positives   # positives first
        for y, x, positive in clicks:
            assert gt[y, x] == (1 if positive else 0)                         # never on the ignore band
            assert positive or obj_distance[y, x] <= 3                        # negatives near the object
    assert sample_clicks(gt, 4, 3, np.random.default_rng(5)) == sample_clicks(gt, 4, 3, np.random.default_rng(5))
    empty = np.zeros((8, 8), np.int8)
    assert all(not p for _, _, p in sample_clicks(empty, 3, 2, np.random.default_rng(0)))


def test_configs_stages_and_their_errors():
    tiny, thesis = load_iseg_config("tiny"), load_iseg_config("thesis")
    assert thesis["data"].out_size == 352 and thesis["clicks"].per_image == 4
    assert (thesis["train"].epochs, thesis["train"].lr) == (10, 1e-5)
    tune = stage_train(thesis, "finetune")
    assert (tune.epochs, tune.lr, tune.weight_decay_conv) == (5, 5e-6, 0.005)
    assert stage_train(tiny, "pretrain") is tiny["train"]
    with pytest.raises(ValueError, match="--stage must be pretrain or finetune"):
        stage_train(tiny, "warmup")
    with pytest.raises(ConfigError, match=r"unknown key clicks.per_imag \(did you mean 'per_image'\?\)"):
        load_iseg_config("tiny", ["clicks.per_imag=3"])
    with pytest.raises(ConfigError, match="clicks.per_image must be >= 1"):
        load_iseg_config("tiny", ["clicks.per_image=0"])


# --------------------------------------------------------------------------- the samples
def _bench_sample(i: int, size: tuple[int, int]) -> dict:
    h, w = size
    rng = np.random.default_rng(i)
    image = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    mask = np.zeros((h, w), np.uint8)
    mask[4:20, 6:18] = 1
    ignore = np.zeros((h, w), np.uint8)
    ignore[3:21, 17:19] = 1
    return {"id": f"s{i}", "image": image, "mask": mask, "ignore": ignore}


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    root = tmp_path_factory.mktemp("segdata")
    write_dataset(root / "square", "benchmark", [0, 1], partial(_bench_sample, size=(24, 24)),
                  execution=Execution(progress=False))
    write_dataset(root / "wide", "benchmark", [0, 1, 2], partial(_bench_sample, size=(24, 40)),
                  execution=Execution(progress=False))
    return root


def test_a_sample_is_the_tone_changed_mirrored_window_with_its_ignore_band(bench):
    raw = _bench_sample(0, (24, 24))
    cfg = SegDataConfig(out_size=24, mirror_p=1.0, gamma=(0.8, 0.8), brightness=(1.1, 1.1))
    s = SegData(cfg, bench / "square")[0]
    expected = np.clip((raw["image"].astype(np.float64) / 255) ** 0.8 * 1.1, 0, 1)[:, ::-1].transpose(2, 0, 1)
    np.testing.assert_allclose(s["image"].numpy(), expected, atol=1e-6)
    np.testing.assert_array_equal(s["mask"][0].numpy(), raw["mask"][:, ::-1])
    np.testing.assert_array_equal(s["valid"][0].numpy(), 1 - raw["ignore"][:, ::-1])


def test_samples_are_a_function_of_seed_epoch_and_index(bench):
    cfg = SegDataConfig(out_size=16)
    a = SegData(cfg, bench / "wide", seed=3)
    batches = [[2], [0, 1]]                                # reading order and worker count do not matter
    single, double = ([s for batch in DataLoader(a, batch_sampler=batches, num_workers=w, **loader_context(w))
                       for s in _unbatch(batch)] for w in (0, 2))
    for x, y in zip(single, double):
        assert all(torch.equal(x[key], y[key]) for key in ("image", "mask", "valid"))
    assert torch.equal(single[1]["image"], a[0]["image"])
    assert a[0]["image"].shape == (3, 16, 16) and set(a[0]["mask"].unique().tolist()) <= {0.0, 1.0}
    first = [a[i]["image"] for i in range(3)]
    a.set_epoch(1)
    assert any(not torch.equal(x, a[i]["image"]) for i, x in enumerate(first))   # new draws each epoch
    a.set_epoch(0)
    assert all(torch.equal(x, a[i]["image"]) for i, x in enumerate(first))


def _unbatch(batch: dict) -> list[dict]:
    return [{k: v[j] for k, v in batch.items()} for j in range(len(batch["index"]))]


def test_data_that_has_no_masks_is_refused(tmp_path, bench):
    with pytest.raises(DatasetError, match="a 'seg' dataset or a 'benchmark' with masks"):
        write_dataset(tmp_path / "bg", "backgrounds", [0], _background, execution=Execution(progress=False))
        SegData(SegDataConfig(), tmp_path / "bg")
    with pytest.raises(DatasetError, match="segmentation data: "):
        SegData(SegDataConfig(), tmp_path / "nothing")


def _background(i: int) -> dict:
    return {"id": f"b{i}", "image": np.zeros((16, 16, 3), np.uint8)}
