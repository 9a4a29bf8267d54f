"""The published FBA and interactive-segmentation networks, through `training import-weights`.

Truth: ``../shared/data/official_model_reference`` holds the outputs of the two published
implementations run in float64 on stand-in weights made from their key names by
``reference_weights.py`` (imported from there by path, never copied). The stand-in state dicts go
through the importer like a downloaded file and must reproduce ``output`` (1e-4 in float64; about
2e-3 max / 1e-4 mean in float32, the guided filter in float64), with our own encodings of the
trimap and the clicks equal to the stored network inputs.
"""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest
import torch
from fba_training_data import demo_banks, demo_seg
from typer.testing import CliRunner

from datagen.compose.trimap import trimap_masks
from training.checkpoint import load_checkpoint, model_payload, save_checkpoint
from training.cli import app
from training.clicks.paint import click_masks
from training.data.encodings import distance_maps
from training.inference import load_predictor
from training.loops.fba import load_fba_config
from training.loops.iseg import load_iseg_config
from training.models.fba import FBAConfig, FBANet
from training.models.iseg import IsegNet, IsegNetConfig, click_maps

FILES = {"fba": ("fba_state_dict_shapes.json", "fba_troll.npz"), "iseg": ("dis_state_dict_shapes.json", "dis_flower.npz")}


def _reference(shared_data):
    folder = shared_data / "official_model_reference"
    spec = importlib.util.spec_from_file_location("reference_weights", folder / "reference_weights.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return folder, module.stand_in_state_dict


@pytest.fixture(scope="module")
def published(shared_data, tmp_path_factory):
    """Per network: the stand-in state dict saved as a .pth file (FBA wrapped in {'state_dict': ...}
    with DataParallel's 'module.' prefix, DIS plain), its imported checkpoint and the reference npz."""
    folder, stand_in = _reference(shared_data)
    root = tmp_path_factory.mktemp("published")
    out = {}
    for network, (shapes, sample) in FILES.items():
        state = stand_in(json.loads((folder / shapes).read_text()))
        pth = root / f"{network}.pth"
        torch.save({"state_dict": {f"module.{k}": v for k, v in state.items()}} if network == "fba" else state, pth)
        result = CliRunner().invoke(app, ["import-weights", network, str(pth), "--out", str(root / f"{network}.pt")])
        assert result.exit_code == 0, result.output
        assert f"wrote {root / f'{network}.pt'}: {len(state)} tensors" in result.output
        out[network] = {"pth": pth, "ckpt": root / f"{network}.pt", "ref": dict(np.load(folder / sample)),
                        "state": state}
    return out


def _network(ckpt, dtype):
    state = load_checkpoint(ckpt)
    net = {"fba": FBANet, "iseg": IsegNet}[state["network"]]
    cfg = {"fba": FBAConfig, "iseg": IsegNetConfig}[state["network"]]
    model = net(cfg.from_dict(state["model_config"])).to(dtype)
    model.load_state_dict(state["model"])
    return model.eval(), state


def _fba_inputs(ref, dtype):
    """Our encodings of the troll trimap, checked against the published network's inputs."""
    is_fg, is_bg = trimap_masks(ref["trimap_uint8"])
    np.testing.assert_array_equal(np.stack([is_bg, is_fg]), ref["two_chan_trimap"])       # published: [BG, FG]
    maps = distance_maps(is_fg, is_bg, (6.4, 25.6, 51.2))
    stored = ref["trimap_transformed"]                                                      # published: BG maps first
    np.testing.assert_allclose(maps, np.concatenate([stored[3:], stored[:3]]), atol=1e-6, rtol=0)
    image = ref["image_uint8"].transpose(2, 0, 1) / 255.0
    np.testing.assert_allclose(image, ref["image"], atol=1e-12)
    t = lambda a: torch.from_numpy(np.ascontiguousarray(a)).to(dtype)[None]  # noqa: E731
    return t(image), t(np.stack([is_fg, is_bg]).astype(np.float64)), t(maps.astype(np.float64))


def _dis_inputs(ref, dtype):
    """Our encodings of the flower clicks, checked against the published network's inputs."""
    clicks = [(int(y), int(x), bool(p)) for y, x, p in ref["clicks"]]
    masks = click_masks(ref["image_uint8"].shape[:2], clicks)
    np.testing.assert_array_equal(masks[::-1], ref["click_pixels"])                         # published: [neg, pos]
    maps = click_maps(masks, (0.02, 0.08, 0.16), 352)
    stored = ref["click_maps"]
    np.testing.assert_allclose(maps, np.concatenate([stored[3:], stored[:3]]), atol=1e-6, rtol=0)
    t = lambda a: torch.from_numpy(np.ascontiguousarray(a)).to(dtype)[None]  # noqa: E731
    return t(ref["image_uint8"].transpose(2, 0, 1) / 255.0), t(maps.astype(np.float64)), t(ref["prev_alpha"])


@pytest.mark.parametrize("network", ["fba", "iseg"])
def test_imported_network_computes_the_published_function_in_float64(published, network, one_thread):
    net, state = _network(published[network]["ckpt"], torch.float64)
    ref = published[network]["ref"]
    assert state["imported_from"]["file"] == f"{network}.pth"
    with torch.no_grad():
        out = net(*(_fba_inputs if network == "fba" else _dis_inputs)(ref, torch.float64))[0].numpy()
    assert out.shape == ref["output"].shape
    gap = np.abs(out - ref["output"])
    assert gap.max() < 1e-4, (network, gap.max())
    # and the outputs are far from trivial: a wrong channel order or norm order is far off
    assert ref["output"].std() > 0.1


@pytest.mark.parametrize("network", ["fba", "iseg"])
def test_imported_network_in_float32_is_within_the_float32_tolerance(published, network, one_thread):
    net, _ = _network(published[network]["ckpt"], torch.float32)
    ref = published[network]["ref"]
    with torch.no_grad():
        out = net(*(_fba_inputs if network == "fba" else _dis_inputs)(ref, torch.float32))[0].double().numpy()
    gap = np.abs(out - ref["output"])
    assert gap.max() < 2e-3 and gap.mean() < 1e-4, (network, gap.max(), gap.mean())


def test_fba_predict_follows_the_published_post_processing(published, one_thread):
    """120x176 is a multiple of 8 under the budget: the network sees the image as it is; no second
    fusion; alpha 0/1 on the known trimap, F = image where alpha is 1, B = image where it is 0."""
    ref = published["fba"]["ref"]
    pred = load_predictor(published["fba"]["ckpt"], device="cpu").predict(ref["image_uint8"], ref["trimap_uint8"])
    out = ref["output"].transpose(1, 2, 0).copy()
    alpha, fg, bg = out[..., 0], out[..., 1:4], out[..., 4:7]
    is_fg, is_bg = trimap_masks(ref["trimap_uint8"])
    alpha[is_fg], alpha[is_bg] = 1.0, 0.0
    image = ref["image_uint8"] / 255.0
    fg[alpha == 1], bg[alpha == 0] = image[alpha == 1], image[alpha == 0]
    # a pixel whose alpha is exactly 0 or 1 in float64 and a hair (< 1e-4) off it in float32 takes
    # the image in one result only: compare F and B where both agree on that
    same = ((pred.alpha == 1) == (alpha == 1)) & ((pred.alpha == 0) == (alpha == 0))
    assert same.mean() > 0.9 and np.abs(pred.alpha - alpha)[~same].max() < 1e-4
    for ours, theirs in ((pred.alpha, alpha), (pred.fg, fg), (pred.bg, bg)):
        gap = np.abs(ours - theirs)[same]
        assert gap.max() < 2e-3 and gap.mean() < 1e-4
    assert np.array_equal(pred.fg[pred.alpha == 1], image[pred.alpha == 1].astype(np.float32))
    assert (pred.alpha == 1).sum() > is_fg.sum()           # unknown pixels at alpha 1 take the image too


def test_iseg_predict_is_the_published_output_with_nothing_forced_after(published, one_thread):
    """128x192 is a multiple of 32: seen as it is; the clicked pixels are forced on the filter's
    input only, so the stand-in network's output at the clicks (0.10, 0.17, 0.65) stands."""
    ref = published["iseg"]["ref"]
    clicks = [(int(y), int(x), bool(p)) for y, x, p in ref["clicks"]]
    prob = load_predictor(published["iseg"]["ckpt"], device="cpu").predict_iseg(ref["image_uint8"], clicks,
                                                                                ref["prev_alpha"][0])
    gap = np.abs(prob - ref["output"][0])
    assert gap.max() < 2e-3 and gap.mean() < 1e-4
    assert abs(prob[10, 10] - 0.648) < 2e-3


def test_not_that_networks_file_is_one_line_and_writes_nothing(published, tmp_path):
    state = published["fba"]["state"]
    cases = {
        "dis_as_fba": (published["iseg"]["pth"], "'encoder.conv1.weight' has shape (64, 9, 7, 7), the published "
                                                 "FBA_Matting (FBA.pth) network has (64, 11, 7, 7)"),
        "fba_as_iseg": (published["fba"]["pth"], "'encoder.conv1.weight' has shape (64, 11, 7, 7)"),
    }
    torch.save({**state, "decoder.refine.weight": torch.zeros(3)}, tmp_path / "extra.pth")
    cases["extra"] = (tmp_path / "extra.pth", "unexpected key 'decoder.refine.weight': not in the published "
                                              "FBA_Matting (FBA.pth) network")
    wrong = dict(state)
    wrong["decoder.conv_up4.4.weight"] = torch.zeros(1, 16, 1, 1)
    torch.save(wrong, tmp_path / "shape.pth")
    cases["shape"] = (tmp_path / "shape.pth", "'decoder.conv_up4.4.weight' has shape (1, 16, 1, 1), the published "
                                              "FBA_Matting (FBA.pth) network has (7, 16, 1, 1)")
    fewer = {k: v for k, v in state.items() if k != "encoder.layer2.1.bn2.bias"}
    torch.save(fewer, tmp_path / "fewer.pth")
    cases["missing"] = (tmp_path / "fewer.pth", "missing key 'encoder.layer2.1.bn2.bias'")
    (tmp_path / "text.pth").write_text("not a checkpoint")
    cases["text"] = (tmp_path / "text.pth", "not a plain tensor state dict")
    for name, (path, message) in cases.items():
        network = "iseg" if name == "fba_as_iseg" else "fba"
        out = tmp_path / f"{name}.pt"
        result = CliRunner().invoke(app, ["import-weights", network, str(path), "--out", str(out)])
        assert result.exit_code != 0, name
        assert message in result.output, (name, result.output)
        assert len(result.output.strip().splitlines()) == 1 and "Traceback" not in result.output
        assert not out.exists() and not list(tmp_path.glob(f".{name}.pt*"))


def test_fit_fba_fine_tunes_the_imported_network(published, tmp_path, one_thread):
    """--init: the network is the checkpoint's (published config), --config tiny sets data and training."""
    objects, backgrounds = demo_banks(tmp_path / "banks", n_objects=2, size=64)
    args = ["fit", "fba", "--config", "tiny", "--objects", str(objects), "--backgrounds", str(backgrounds),
            "--out", str(tmp_path / "run"), "--no-progress", "--device", "cpu", "--max-steps", "2",
            "--init", str(published["fba"]["ckpt"]), "--set", "data.crop_sizes=[48]", "--set", "data.out_size=32"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "initialised from" in result.output and "fit fba: 2/" in result.output
    start, end = load_checkpoint(published["fba"]["ckpt"]), load_checkpoint(tmp_path / "run" / "last.pt", "fba")
    assert end["model_config"] == start["model_config"] and end["config"]["model"] == start["model_config"]
    moved = [k for k in start["model"] if not torch.allclose(start["model"][k].float(), end["model"][k])]
    assert moved, "two updates moved no weight"


def test_fit_iseg_fine_tunes_the_imported_network(published, tmp_path, one_thread):
    data = demo_seg(tmp_path / "seg", n=2, n_objects=2)
    args = ["fit", "iseg", "--config", "tiny", "--data", str(data["seg"]), "--out", str(tmp_path / "run"),
            "--no-progress", "--device", "cpu", "--max-steps", "1", "--stage", "finetune",
            "--init", str(published["iseg"]["ckpt"]), "--set", "clicks.per_image=2"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    end = load_checkpoint(tmp_path / "run" / "last.pt", "iseg")
    assert end["model_config"] == load_checkpoint(published["iseg"]["ckpt"])["model_config"]
    assert end["model_config"]["click_side"] == 352 and end["model_config"]["force_clicks_before_filter"]


def test_shipped_published_configs_are_the_published_networks():
    from training.loops.fba import load_fba_config
    from training.loops.iseg import load_iseg_config
    from training.models.published import PUBLISHED

    assert load_fba_config("published")["model"] == PUBLISHED["fba"].config
    assert load_iseg_config("published")["model"] == PUBLISHED["iseg"].config
    # the recipe is the thesis's: only the [model] table differs
    for load in (load_fba_config, load_iseg_config):
        thesis, published = load("thesis"), load("published")
        assert {k: v for k, v in thesis.items() if k != "model"} == {k: v for k, v in published.items() if k != "model"}


def test_old_checkpoints_without_the_new_fields_build_todays_networks(tmp_path):
    """Config dicts written before the published-variant fields existed load with today's behaviour."""
    for net, cfg, new in ((FBANet, load_fba_config("tiny")["model"], ("norm_order", "weight_standardisation", "fusion_in_forward")),
                          (IsegNet, load_iseg_config("tiny")["model"], ("norm_order", "weight_standardisation", "click_side", "guide",
                                                           "guide_channels", "force_clicks_before_filter"))):
        old = {k: v for k, v in cfg.to_dict().items() if k not in new}
        model = net(cfg)
        save_checkpoint(tmp_path / "old.pt", model_payload(net.__name__, old, model, {}))
        state = load_checkpoint(tmp_path / "old.pt")
        rebuilt = net(type(cfg).from_dict(state["model_config"]))
        rebuilt.load_state_dict(state["model"])
        assert rebuilt.config == cfg


def test_predict_and_evaluate_take_imported_checkpoints(published, tmp_path, one_thread):
    """`training predict --clicks` replays the clicks from an all-zero mask, each prediction fed
    back, and writes that probability; `training evaluate matting` runs on the imported FBA."""
    from fba_training_data import held_out_benchmark

    from datagen.imageio import read_alpha, write_png

    ref = published["iseg"]["ref"]
    clicks = [[int(y), int(x), bool(p)] for y, x, p in ref["clicks"]]
    write_png(tmp_path / "flower.png", ref["image_uint8"])
    (tmp_path / "clicks.json").write_text(json.dumps(clicks))
    result = CliRunner().invoke(app, ["predict", "--model", str(published["iseg"]["ckpt"]), "--image",
                                      str(tmp_path / "flower.png"), "--clicks", str(tmp_path / "clicks.json"),
                                      "--out", str(tmp_path / "pred"), "--device", "cpu"])
    assert result.exit_code == 0, result.output
    predictor = load_predictor(published["iseg"]["ckpt"], device="cpu")
    prob = np.zeros(ref["image_uint8"].shape[:2], np.float32)
    for k in range(1, len(clicks) + 1):
        prob = predictor.predict_iseg(ref["image_uint8"], [tuple(c) for c in clicks[:k]], prob)
    written = read_alpha(tmp_path / "pred" / "probability.png").astype(np.float64) / 255
    assert np.abs(written - prob).max() <= 0.5 / 255 + 1e-6

    bench = held_out_benchmark(tmp_path, n=1, size=64)
    result = CliRunner().invoke(app, ["evaluate", "matting", "--benchmark", str(bench), "--model",
                                      str(published["fba"]["ckpt"]), "--out", str(tmp_path / "eval"), "--no-progress"])
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "eval" / "results.json").read_text())["model"] == str(published["fba"]["ckpt"])
