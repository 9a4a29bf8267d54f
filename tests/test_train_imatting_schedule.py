"""The three-task schedule of interactive matting training, checked with a stub model, stand-in
datasets and counters: images per task and epoch, clicks from the matting robot on the model's own
previous prediction, and weight updates in Task 2 only from the 4th click on."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

import training.loops.imatting as imatting
from datagen.compose.convert import quantize_alpha
from training.config import TrainConfig
from training.distributed import World
from training.loops.engine import FitOptions
from training.loops.imatting import ImattingRun, ScheduleConfig, fit_schedule, imatting_click_count

SEG_SIZE, MATTING_SIZE = 16, 24   # the stub tells the tasks apart by image size
SIGMAS = (6.4, 25.6, 51.2)


class StubNet(nn.Module):
    """alpha = sigmoid(w) * (0.5 + 0.5 * red channel), F and B constant; records every call."""

    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.zeros(()))
        self.calls: list[dict] = []

    def forward(self, image, trimap2, maps):
        alpha = torch.sigmoid(self.w) * (0.5 + 0.5 * image[:, :1])
        self.calls.append({"size": image.shape[-1], "grad": torch.is_grad_enabled(),
                           "trimap2": trimap2.detach().clone(), "alpha": alpha.detach().clone()})
        rest = torch.sigmoid(self.w).expand(image.shape[0], 6, *image.shape[-2:])
        return torch.cat([alpha, rest], dim=1)


class CountingData(torch.utils.data.Dataset):
    """A dataset of ``n`` fixed samples that counts its reads per epoch."""

    def __init__(self, n: int, make) -> None:
        self.n, self.make, self.epoch, self.reads = n, make, 0, {}

    def __len__(self):
        return self.n

    def set_epoch(self, epoch):
        self.epoch = epoch

    def __getitem__(self, i):
        self.reads.setdefault(self.epoch, []).append(i)
        return self.make(i)


def _seg_sample(i):
    g = torch.Generator().manual_seed(i)
    mask = torch.zeros(1, SEG_SIZE, SEG_SIZE)
    mask[:, 4:12, 3:10 + i % 4] = 1
    return {"image": torch.rand(3, SEG_SIZE, SEG_SIZE, generator=g), "mask": mask, "valid": torch.ones_like(mask),
            "index": i}


def _matting_sample(i):
    g = torch.Generator().manual_seed(100 + i)
    s = MATTING_SIZE
    alpha = torch.zeros(1, s, s)
    alpha[:, 5:18, 6:20] = 1
    alpha[:, 4, 6:20] = 0.5
    trimap2 = torch.stack([alpha[0] == 1, alpha[0] == 0]).float()
    fg, bg = torch.rand(3, s, s, generator=g), torch.rand(3, s, s, generator=g)
    comp = alpha * fg + (1 - alpha) * bg
    return {"image": comp, "composite": comp, "alpha": alpha, "fg": fg, "bg": bg, "trimap2": trimap2,
            "trimap_maps": torch.rand(6, s, s, generator=g), "fb_valid": torch.ones_like(alpha), "index": i}


@pytest.fixture()
def robot_calls(record_robot):
    """Every call of the matting robot the loop makes: (gt, pred, click)."""
    return record_robot(imatting, "next_click_matting")


def _run(tmp_path, schedule, epochs=2, max_steps=None):
    net = StubNet()
    seg, matting = CountingData(5, _seg_sample), CountingData(7, _matting_sample)
    run = ImattingRun(net, {}, seg, matting, {"schedule": {}})
    train = TrainConfig(epochs=epochs, lr=1e-3, lr_drop_epochs=(), num_workers=0, log_steps=1)
    result = fit_schedule(run, schedule, train, SIGMAS, tmp_path / "run", World(0, 1, 0, torch.device("cpu")),
                          FitOptions(max_steps=max_steps, progress=False))
    return net, seg, matting, result


def test_each_task_runs_its_images_and_task2_learns_from_the_4th_click(tmp_path, robot_calls, step_count):
    schedule = ScheduleConfig(seg_images=3, seg_clicks=4, imatting_images=4, imatting_clicks=(5, 8),
                              imatting_first_update=4, trimap_images=2, click_radius=1)
    net, seg, matting, result = _run(tmp_path, schedule)
    assert result.total_steps == result.steps_done == 2 * (3 + 4 + 2)
    clicks = {e: [imatting_click_count(0, e, j, (5, 8)) for j in range(4)] for e in (0, 1)}
    for epoch in (0, 1):
        assert len(seg.reads[epoch]) == 3 and len(set(seg.reads[epoch])) == 3
        assert len(matting.reads[epoch]) == 4 + 2
    # the calls in order: per epoch, Task 1 (3 images x 4 clicks), Task 2, Task 3 (2 images)
    calls = net.calls
    expected = []
    for epoch in (0, 1):
        expected += [(SEG_SIZE, True)] * 12
        for n in clicks[epoch]:
            expected += [(MATTING_SIZE, k >= 4) for k in range(1, n + 1)]
        expected += [(MATTING_SIZE, True)] * 2
    assert [(c["size"], c["grad"]) for c in calls] == expected
    updates = sum(grad for _, grad in expected)
    assert step_count["n"] == updates                                    # one optimiser step per learning call
    assert len(robot_calls) == 2 * 12 + sum(map(sum, clicks.values()))   # one robot call per click


def test_clicks_come_from_the_matting_robot_on_the_previous_prediction(tmp_path, robot_calls):
    schedule = ScheduleConfig(seg_images=2, seg_clicks=4, imatting_images=2, imatting_clicks=(5, 6),
                              trimap_images=1, click_radius=0)
    net, *_ = _run(tmp_path, schedule, epochs=1)
    clicked = [c for c in net.calls if c["trimap2"][0].sum() <= 8]      # sparse input: the click tasks
    lengths = [4, 4] + [imatting_click_count(0, 0, j, (5, 6)) for j in range(2)]
    assert len(clicked) == len(robot_calls) == sum(lengths)
    starts = set(np.cumsum([0] + lengths[:-1]).tolist())
    for k, ((gt, pred, click), call) in enumerate(zip(robot_calls, clicked)):
        y, x, positive = click
        assert call["trimap2"][0, 0 if positive else 1, y, x] == 1      # the robot's click is what the model saw
        if k in starts:
            assert not pred.any()                                        # first click: all-zero prediction
        else:                                                            # later: the model's previous answer
            np.testing.assert_array_equal(pred, quantize_alpha(clicked[k - 1]["alpha"][0, 0].numpy()))
        if k < 8:                                                        # Task 1: the binary mask as 0/255
            assert set(np.unique(gt)) == {0, 255}


def test_max_steps_stops_at_an_image_boundary_and_the_plan_is_checked(tmp_path):
    schedule = ScheduleConfig(seg_images=3, imatting_images=2, trimap_images=2)
    net, seg, matting, result = _run(tmp_path, schedule, max_steps=4)
    assert result.steps_done == 4 and len(seg.reads[0]) == 3 and len(matting.reads[0]) == 1
    with pytest.raises(ValueError, match="schedule.trimap_images = 1 is fewer than one step needs"):
        fit_schedule(ImattingRun(StubNet(), {}, seg, matting, {}), ScheduleConfig(trimap_images=1),
                     TrainConfig(batch_size=2), SIGMAS, tmp_path / "x", World(0, 1, 0, torch.device("cpu")))
