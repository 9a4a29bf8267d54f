"""Interactive segmentation checkpoints as models: the predictor's scaling, click mapping and replay
against a per-pixel oracle; `load_predictor` dispatch; `training predict` from clicks and scribbles;
`training evaluate iseg` on real GrabCut images; the demo session; bad input in one line."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
from test_benchmarks_composition import build
from torch import nn
from typer.testing import CliRunner

from datagen.imageio import read_alpha, read_image, write_png
from training.checkpoint import CheckpointError, model_payload, save_checkpoint
from training.cli import app
from training.clicks.paint import click_masks, scribble_clicks
from training.demo.session import Session, load_demo_model
from training.drawing import NEGATIVE_RGB, POSITIVE_RGB
from training.evaluation.sample_loops import IsegConfig, run_iseg_sample
from training.inference import load_predictor
from training.inference.iseg import IsegPredictor
from training.loops.iseg import load_iseg_config
from training.models.iseg import IsegNet, IsegNetConfig, click_maps

TINY_ISEG = load_iseg_config("tiny")["model"]


class RedOracle(nn.Module):
    """Stands in for IsegNet: probability = the red channel, clicks forced, so each output pixel
    depends on its own input pixel only and any mapping mistake shows. Records what it was given."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[tuple[int, int], list[tuple[int, int, int]], np.ndarray]] = []

    def predict(self, image, masks, prev_mask):
        m = masks[0].numpy()
        marks = [(int(y), int(x), int(c)) for c, y, x in zip(*np.nonzero(m))]
        self.seen.append((tuple(image.shape[-2:]), marks, prev_mask[0, 0].numpy().copy()))
        out = image[:, :1].clone()
        return torch.where(masks[:, :1] > 0, 1.0, torch.where(masks[:, 1:2] > 0, 0.0, out))


def _image(h=37, w=53, seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (h, w, 3), dtype=np.uint8)


def test_full_resolution_is_one_pass_with_clicks_forced_and_prev_mask_clipped():
    image = _image()
    oracle = RedOracle()
    predictor = IsegPredictor(oracle, torch.device("cpu"))
    prev = np.full(image.shape[:2], 1.7, np.float32)
    prev[0, 0] = -0.3
    out = predictor.predict_iseg(image, [(5, 7, True), (30, 50, False)], prev)
    expected = image[..., 0] / np.float32(255)
    expected[5, 7], expected[30, 50] = 1.0, 0.0
    np.testing.assert_allclose(out, expected, atol=1e-7)
    assert out.dtype == np.float32 and out.shape == image.shape[:2]
    (shape, marks, seen_prev), = oracle.seen
    assert shape == image.shape[:2] and marks == [(5, 7, 0), (30, 50, 1)]
    assert seen_prev.max() == 1.0 and seen_prev.min() == 0.0


def test_sixteen_bit_images_are_read_at_full_precision():
    image = _image().astype(np.uint16) * 257 + 100
    out = IsegPredictor(RedOracle(), torch.device("cpu")).predict_iseg(image, [(0, 0, False)], np.zeros((37, 53), np.float32))
    np.testing.assert_allclose(out[1:], image[1:, :, 0] / np.float32(65535), atol=1e-6)


def test_large_images_are_scaled_to_the_budget_and_back():
    """A smooth image, so the red channel resized down and up again stays close to the original."""
    h, w = 80, 120
    yy, xx = np.mgrid[0:h, 0:w]
    image = np.stack([xx * 2, yy * 3, np.zeros_like(xx)], -1).astype(np.uint8)
    oracle = RedOracle()
    predictor = IsegPredictor(oracle, torch.device("cpu"), max_pixels=h * w // 4)
    clicks = [(40, 60, True), (79, 119, False)]
    out = predictor.predict_iseg(image, clicks, np.zeros((h, w), np.float32))
    (shape, marks, _), = oracle.seen
    assert shape == (40, 60)                                  # half each way: a quarter of the pixels
    assert marks == [(20, 30, 0), (39, 59, 1)]                # clicks land on the scaled grid
    assert out[40, 60] == 1.0 and out[79, 119] == 0.0         # forced again at full resolution
    interior = np.ones((h, w), bool)
    interior[[0, -1]], interior[:, [0, -1]] = False, False
    for y, x, _ in clicks:
        interior[max(0, y - 3):y + 4, max(0, x - 3):x + 4] = False
    np.testing.assert_allclose(out[interior], image[..., 0][interior] / 255, atol=2 / 255)


def test_a_sequence_feeds_each_prediction_back_as_prev_mask():
    image = _image()
    oracle = RedOracle()
    clicks = [(5, 7, True), (30, 50, False), (20, 20, True)]
    probs = IsegPredictor(oracle, torch.device("cpu")).predict_sequence(image, clicks)
    assert len(probs) == 3 and [len(s[1]) for s in oracle.seen] == [1, 2, 3]
    assert not oracle.seen[0][2].any()
    np.testing.assert_array_equal(oracle.seen[1][2], probs[0])
    np.testing.assert_array_equal(oracle.seen[2][2], probs[1])


def test_scribble_strokes_become_interior_clicks_largest_positive_first():
    fg, bg = np.zeros((20, 30), bool), np.zeros((20, 30), bool)
    fg[2:5, 2:5] = True          # 9 px: interior point the centre (3, 3), 2 px from the outside
    fg[15, 20:23] = True         # 3 px, all 1 px deep: the first in row-major order, (15, 20)
    bg[8:11, 10:30] = True       # 60 px, the largest stroke but negative: after the largest positive;
    clicks = scribble_clicks(fg, bg)   # its middle row is 2 px deep from column 11 to 28: (9, 11)
    assert clicks == [(3, 3, True), (9, 11, False), (15, 20, True)]
    assert scribble_clicks(np.zeros_like(fg), bg)[0][2] is False      # no FG stroke: BG clicks only
    with pytest.raises(ValueError, match="both empty"):
        scribble_clicks(np.zeros((4, 4)), np.zeros((4, 4)))


# --------------------------------------------------------------------------- real checkpoints
@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    cfg = TINY_ISEG
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("iseg") / "iseg.pt"
    save_checkpoint(path, model_payload("iseg", cfg.to_dict(), IsegNet(cfg), {}))
    return path


def test_load_predictor_serves_iseg_checkpoints_as_the_network_predicts(ckpt):
    predictor = load_predictor(ckpt, device="cpu")
    assert isinstance(predictor, IsegPredictor) and "IsegPredictor" in repr(predictor)
    image = _image(29, 43)
    clicks = [(10, 12, True), (3, 40, False)]
    prev = np.random.default_rng(1).random((29, 43)).astype(np.float32)
    out = predictor.predict_iseg(image, clicks, prev)
    net = predictor.net
    masks = click_masks((29, 43), clicks)
    with torch.no_grad():     # the reference: the network's own forward on its own click maps
        raw = net(torch.from_numpy(image.transpose(2, 0, 1) / np.float32(255))[None],
                  torch.from_numpy(click_maps(masks, net.config.click_sigmas))[None], torch.from_numpy(prev)[None, None])
    expected = raw[0, 0].numpy()
    expected[10, 12], expected[3, 40] = 1.0, 0.0
    np.testing.assert_allclose(out, expected, atol=1e-6)
    np.testing.assert_array_equal(out, predictor.predict_iseg(image, clicks, prev))      # deterministic
    with pytest.raises(CheckpointError, match="test-time augmentation is for matting"):
        load_predictor(ckpt, tta=True)


def test_weights_that_do_not_fit_are_one_line(ckpt, tmp_path):
    bad = tmp_path / "bad.pt"
    save_checkpoint(bad, model_payload("iseg", IsegNetConfig().to_dict(), IsegNet(TINY_ISEG), {}))
    with pytest.raises(CheckpointError, match=r"bad.pt: weights do not fit its model config"):
        load_predictor(bad)


def _predict(*args):
    return CliRunner().invoke(app, ["predict", *map(str, args)])


def test_predict_from_clicks_and_scribbles_writes_mask_probability_overlay(ckpt, tmp_path):
    image = _image(48, 64)
    write_png(tmp_path / "image.png", image)
    (tmp_path / "clicks.json").write_text(json.dumps([[20, 30, True], [2, 60, False]]))
    result = _predict("--model", ckpt, "--image", tmp_path / "image.png", "--clicks", tmp_path / "clicks.json",
                      "--out", tmp_path / "clicks")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "clicks").iterdir()) == ["mask.png", "overlay.png", "probability.png"]
    mask, prob = read_alpha(tmp_path / "clicks" / "mask.png"), read_alpha(tmp_path / "clicks" / "probability.png")
    expected = load_predictor(ckpt, device="cpu").predict_sequence(image, [(20, 30, True), (2, 60, False)])[-1]
    np.testing.assert_array_equal(mask, np.where(expected >= 0.5, 255, 0))
    np.testing.assert_array_equal(prob, np.rint(np.clip(expected, 0, 1) * 255))
    overlay = read_image(tmp_path / "clicks" / "overlay.png")
    assert tuple(overlay[20, 30]) == POSITIVE_RGB and tuple(overlay[2, 60]) == NEGATIVE_RGB
    fg, bg = np.zeros((48, 64), np.uint8), np.zeros((48, 64), np.uint8)
    fg[20:24, 10:40] = 255
    bg[0, :] = 255
    write_png(tmp_path / "fg.png", fg)
    write_png(tmp_path / "bg.png", bg)
    result = _predict("--model", ckpt, "--image", tmp_path / "image.png", "--scribbles-fg", tmp_path / "fg.png",
                      "--scribbles-bg", tmp_path / "bg.png", "--out", tmp_path / "scribbles")
    assert result.exit_code == 0, result.output
    mask = read_alpha(tmp_path / "scribbles" / "mask.png")
    assert (mask[20:24, 10:40] == 255).all() and (mask[0] == 0).all()     # every scribbled pixel kept


@pytest.mark.parametrize("extra, message", [
    ([], "needs exactly one of --clicks, or --scribbles-fg with --scribbles-bg"),
    (["--trimap", "{tmp}/image.png"], "--trimap: an interactive segmentation checkpoint takes --clicks"),
    (["--clicks", "{tmp}/outside.json"], "click [3, 99] lies outside the 64x48 image"),
    (["--clicks", "{tmp}/clicks.json", "--background", "white"], "--background: an interactive segmentation"),
    (["--clicks", "{tmp}/clicks.json", "--tta"], "test-time augmentation is for matting networks"),
    (["--scribbles-fg", "{tmp}/small.png", "--scribbles-bg", "{tmp}/small.png"], "FG scribble is 8x8"),
    # the same strokes as FG and BG: every scribbled pixel (3 rows of 64) both, as matting refuses them
    (["--scribbles-fg", "{tmp}/rows.png", "--scribbles-bg", "{tmp}/rows.png"], "the FG and BG scribbles overlap on 192 pixels"),
    (["--clicks", "{tmp}/many.json"], "--clicks: 10000 clicks, more than the 100 an interactive segmentation network replays"),
    # 101 one-pixel strokes, one click each
    (["--scribbles-fg", "{tmp}/dots.png", "--scribbles-bg", "{tmp}/empty.png"],
     "the scribbles' strokes: 101 clicks, more than the 100"),
])
def test_bad_iseg_input_is_one_line(ckpt, tmp_path, extra, message):
    write_png(tmp_path / "image.png", _image(48, 64))
    write_png(tmp_path / "small.png", np.zeros((8, 8), np.uint8))
    rows, dots = np.zeros((48, 64), np.uint8), np.zeros((48, 64), np.uint8)
    rows[10:13] = 255
    dots[0:5:2, ::2] = 255                 # 3 rows of 32 isolated dots
    dots[6, 0:10:2] = 255                  # and 5 more: 101 strokes
    write_png(tmp_path / "rows.png", rows)
    write_png(tmp_path / "dots.png", dots)
    write_png(tmp_path / "empty.png", np.zeros((48, 64), np.uint8))
    (tmp_path / "clicks.json").write_text("[[3, 9, true]]")
    (tmp_path / "outside.json").write_text("[[3, 99, true]]")
    (tmp_path / "many.json").write_text(json.dumps([[y % 48, y % 64, y % 2 == 0] for y in range(10_000)]))
    result = _predict("--model", ckpt, "--image", tmp_path / "image.png", "--out", tmp_path / "o",
                      *(a.format(tmp=tmp_path) for a in extra))
    assert result.exit_code == 2 and message in result.output, result.output
    assert "Traceback" not in result.output and not (tmp_path / "o").exists()


@pytest.fixture(scope="module")
def grabcut(shared_data, tmp_path_factory):
    """A benchmark of two real GrabCut images (ignore bands included)."""
    root = tmp_path_factory.mktemp("grabcut")
    for sub in ("data_GT", "boundary_GT"):
        (root / sub).mkdir()
    for stem in ("teddy", "fullmoon"):
        for sub, ext in (("data_GT", ".jpg" if stem == "teddy" else ".bmp"), ("boundary_GT", ".bmp")):
            shutil.copy(shared_data / "grabcut" / sub / f"{stem}{ext}", root / sub)
    build("grabcut", root / "bench", root=root)
    return root / "bench"


def test_evaluate_iseg_runs_a_checkpoint_through_the_protocol(ckpt, grabcut, tmp_path):
    result = CliRunner().invoke(app, ["evaluate", "iseg", "--benchmark", str(grabcut), "--model", str(ckpt),
                                      "--robot", "L", "--clicks", "3", "--out", str(tmp_path / "report"),
                                      "--no-progress"])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "report" / "results.json").read_text())
    assert "IsegPredictor" in report["settings"]["model_params"]
    samples = report["samples"]
    assert len(samples) == 2 and all(len(s["ious"]) == 3 and len(s["corrective"]) == 3 for s in samples)
    for s in samples:       # NoC: the first click reaching the threshold, else the click budget
        assert s["noc85"] == next((k for k, v in enumerate(s["ious"], 1) if v >= 0.85), 3)
    assert "NoC@85" in (tmp_path / "report" / "table.md").read_text()
    first = samples[0]
    assert first["clicks"][0][2] is True                   # protocol L's first click: the object's interior


def test_the_demo_session_takes_iseg_checkpoints(ckpt):
    model, task = load_demo_model(str(ckpt))
    assert task == "iseg" and isinstance(model, IsegPredictor)
    session = Session(_image(40, 50))
    first = session.click(model, task, 10, 20, True)
    second = session.click(model, task, 30, 5, False)
    assert first[10, 20] == 1.0 and second[10, 20] == 1.0 and second[30, 5] == 0.0
    expected = model.predict_sequence(session.work, [(10, 20, True), (30, 5, False)])
    np.testing.assert_array_equal(second, expected[-1])
    assert session.result_view(task).dtype == np.uint8


def test_the_robot_loop_sees_the_predictor_as_any_iseg_model(ckpt):
    """Cross-check with the sample loop itself: the record's clicks replayed reproduce its IoUs."""
    predictor = load_predictor(ckpt, device="cpu")
    gt = np.zeros((32, 40), np.int8)
    gt[8:24, 10:30] = 1
    image = np.where(gt[..., None] == 1, 200, 30).astype(np.uint8).repeat(3, axis=2)
    record = run_iseg_sample(predictor, image, gt, IsegConfig(robot="L", max_clicks=3))
    probs = predictor.predict_sequence(image, [tuple(c) for c in record["clicks"]])
    ious = [float(((p >= 0.5) & (gt == 1)).sum() / ((p >= 0.5) | (gt == 1)).sum()) for p in probs]
    np.testing.assert_allclose(record["ious"], ious)
