"""Prediction from checkpoints: padding, TTA and the memory budget map every output pixel back
where it belongs; `training predict` writes the four PNGs; bad input is one clear line."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from fba_training_data import real_predict_files, tiny_fba_checkpoint
from torch import nn
from typer.testing import CliRunner

from datagen.imageio import read_alpha, read_image, write_png
from training.checkpoint import save_checkpoint
from training.cli import app
from training.fusion import fuse_fba
from training.inference import FBAPredictor, load_predictor
from training.loops.fba import load_fba_config
from training.models import FBANet
from training.networks import INPUTS, NETWORKS, takers
from training.predict import read_user_input


class PixelOracle(nn.Module):
    """A stand-in network whose output at a pixel depends on that pixel alone (alpha = red,
    F = image, B = 1 - image): any flip, rotation or padding undone correctly gives back exactly
    the untransformed answer, so the test sees every mapping mistake."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[int, int]] = []

    def forward(self, image, trimap2, maps):
        assert image.shape[-2] % 8 == 0 and image.shape[-1] % 8 == 0
        assert maps.shape[1] == 6 and trimap2.shape[1] == 2
        self.seen.append(tuple(image.shape[-2:]))
        return torch.cat([image[:, :1], image, 1 - image], dim=1)


def _scene(h=37, w=53, seed=0):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    image = np.stack([xx * 255 // (w - 1), yy * 255 // (h - 1), rng.integers(0, 256, (h, w))], -1).astype(np.uint8)
    trimap = np.full((h, w), 128, np.uint8)
    trimap[:, : w // 5] = 0
    trimap[:, -w // 5:] = 255
    return image, trimap


def _expected(image, trimap):
    """Fusion of the oracle's triple at full resolution, then the trimap's known regions."""
    rgb = torch.from_numpy(image.astype(np.float32) / 255).permute(2, 0, 1)[None]
    alpha, fg, bg = fuse_fba(rgb, rgb[:, :1], rgb, 1 - rgb)
    alpha = alpha[0, 0].numpy()
    alpha[trimap == 255], alpha[trimap == 0] = 1.0, 0.0
    return alpha


def _oracle(**kw):
    return FBAPredictor(PixelOracle(), (6.4, 25.6, 51.2), torch.device("cpu"), **kw)


def test_padding_and_every_tta_view_map_back_exactly():
    image, trimap = _scene()
    plain = _oracle().predict(image, trimap)
    assert plain.alpha.shape == trimap.shape and plain.fg.shape == image.shape
    np.testing.assert_allclose(plain.alpha, _expected(image, trimap), atol=1e-6)
    tta = _oracle(tta=True, tta_scales=(1.0,))
    result = tta.predict(image, trimap)
    assert len(tta.net.seen) == 8 and {(40, 56), (56, 40)} == set(tta.net.seen)  # 2 flips x 4 rotations
    np.testing.assert_allclose(result.alpha, plain.alpha, atol=1e-6)
    np.testing.assert_allclose(result.fg, plain.fg, atol=1e-6)
    fg_region = trimap == 255
    assert (plain.alpha[fg_region] == 1).all()
    np.testing.assert_allclose(plain.fg[fg_region], image[fg_region] / 255, atol=1e-6)   # F = image there
    np.testing.assert_allclose(plain.bg[trimap == 0], image[trimap == 0] / 255, atol=1e-6)


def test_images_above_the_memory_budget_are_predicted_scaled_down():
    image, trimap = _scene(120, 160)
    image[..., 2] = 90                       # smooth content, so scaling loses nothing that matters
    small = _oracle(max_pixels=120 * 160 // 4)
    result = small.predict(image, trimap)
    (h, w), = small.net.seen
    assert h * w <= 60 * 80 + 8 * (60 + 80) + 64 and h < 120
    assert result.alpha.shape == (120, 160)
    unknown = trimap == 128
    np.testing.assert_allclose(result.alpha[unknown], _expected(image, trimap)[unknown], atol=0.02)


def test_bad_trimaps_are_named():
    image, trimap = _scene()
    with pytest.raises(ValueError, match="trimap is 52x37, the image is 53x37"):
        _oracle().predict(image, trimap[:, 1:])
    trimap[3, 3] = 7
    with pytest.raises(ValueError, match="values other than 0/128/255"):
        _oracle().predict(image, trimap)


# --------------------------------------------------------------------------- checkpoints and the CLI
@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    return tiny_fba_checkpoint(tmp_path_factory.mktemp("ckpt") / "tiny.pt")


@pytest.fixture(scope="module")
def real_files(shared_data, tmp_path_factory):
    return real_predict_files(shared_data, tmp_path_factory.mktemp("real"))


def _predict(checkpoint, image, trimap, out, *extra):
    return CliRunner().invoke(app, ["predict", "--model", str(checkpoint), "--image", str(image),
                                    "--trimap", str(trimap), "--out", str(out), "--device", "cpu", *extra])


def test_predict_writes_alpha_fg_bg_and_a_composite(checkpoint, real_files, tmp_path):
    image_path, trimap_path = real_files
    result = _predict(checkpoint, image_path, trimap_path, tmp_path / "p", "--background", "white")
    assert result.exit_code == 0, result.output
    image, trimap = read_image(image_path), read_alpha(trimap_path)
    alpha, fg = read_alpha(tmp_path / "p" / "alpha.png") / 255.0, read_image(tmp_path / "p" / "fg.png") / 255.0
    composite = read_image(tmp_path / "p" / "composite.png") / 255.0
    assert alpha.shape == trimap.shape and read_image(tmp_path / "p" / "bg.png").shape == image.shape
    assert (alpha[trimap == 255] == 1).all() and (alpha[trimap == 0] == 0).all()
    np.testing.assert_allclose(composite, alpha[..., None] * fg + (1 - alpha[..., None]), atol=2.5 / 255)
    # a checkerboard by default, an image file as background
    assert _predict(checkpoint, image_path, trimap_path, tmp_path / "c", "--tta", "--tta-scales", "1").exit_code == 0
    behind = read_image(tmp_path / "c" / "composite.png")[trimap == 0]
    assert len(np.unique(behind[:, 0])) == 2                       # two checker greys
    result = _predict(checkpoint, image_path, trimap_path, tmp_path / "b", "--background", str(image_path))
    assert result.exit_code == 0, result.output
    same = read_image(tmp_path / "b" / "composite.png")[trimap == 0]
    np.testing.assert_array_equal(same, image[trimap == 0])       # the image behind itself


def test_predict_rejects_bad_input_in_one_line(checkpoint, real_files, tmp_path):
    image_path, trimap_path = real_files
    trimap = read_alpha(trimap_path)
    write_png(tmp_path / "small.png", trimap[:, :-1])
    bad = trimap.copy()
    bad[0, 0] = 64
    write_png(tmp_path / "values.png", bad)
    save_checkpoint(tmp_path / "other.pt", {"network": "segformer", "model_config": {}, "model": {}})
    torch.save(FBANet(load_fba_config("tiny")["model"]).state_dict(), tmp_path / "bare.pt")
    cases = [(checkpoint, tmp_path / "small.png", "small.png: trimap is 149x93"),
             (checkpoint, tmp_path / "values.png", "values other than 0/128/255"),
             (tmp_path / "other.pt", trimap_path, "holds a 'segformer' network"),
             (tmp_path / "bare.pt", trimap_path, "not a training checkpoint")]
    for model, tri, message in cases:
        result = _predict(model, image_path, tri, tmp_path / "out")
        lines = result.output.strip().splitlines()
        assert result.exit_code == 2 and len(lines) == 1 and message in lines[0], result.output
    result = _predict(checkpoint, image_path, trimap_path, tmp_path / "out", "--background", "no-such-colour")
    assert result.exit_code == 2 and "neither an image file nor a colour" in result.output
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("given, message", [
    (["--clicks", "{tmp}/clicks.json"], "--clicks: a matting checkpoint takes --trimap, not clicks; give clicks to "
                                        "an interactive matting checkpoint, or an interactive segmentation checkpoint"),
    (["--scribbles-fg", "{tmp}/s.png", "--scribbles-bg", "{tmp}/s.png"],
     "--scribbles-fg: a matting checkpoint takes --trimap, not scribbles; give scribbles to an interactive "
     "matting checkpoint, or an interactive segmentation checkpoint"),
])
def test_a_matting_checkpoint_refuses_clicks_and_scribbles(checkpoint, real_files, tmp_path, given, message):
    """FBA was trained on dense trimaps: a sparse trimap from clicks or scribbles gave a meaningless
    alpha with exit 0; now one line names what it takes and which checkpoints take the input given."""
    image_path, _ = real_files
    (tmp_path / "clicks.json").write_text("[[10, 10, true]]")
    write_png(tmp_path / "s.png", np.zeros((93, 150), np.uint8))
    result = CliRunner().invoke(app, ["predict", "--model", str(checkpoint), "--image", str(image_path),
                                      "--out", str(tmp_path / "out"), *(a.format(tmp=tmp_path) for a in given)])
    lines = result.output.strip().splitlines()
    assert result.exit_code == 2 and len(lines) == 1 and message in lines[0], result.output
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("name, kind", [(n, k) for n in sorted(NETWORKS) for k in INPUTS
                                        if k not in NETWORKS[n].predict_inputs])
def test_every_input_a_network_does_not_take_is_refused_before_reading_it(name, kind, tmp_path):
    """Every mismatch of the table, without a file on disk: the refusal comes before any reading."""
    network, what = NETWORKS[name], {"trimap": "a trimap"}.get(kind, kind)
    files = {"trimap": {"trimap": tmp_path / "none.png"}, "clicks": {"clicks": tmp_path / "none.json"},
             "scribbles": {"scribbles_fg": tmp_path / "a.png", "scribbles_bg": tmp_path / "b.png"}}[kind]
    with pytest.raises(ValueError, match=f"^--{kind}.*: {network.described} takes .*, not {what}; give {what} to an? "):
        read_user_input(network.predict_inputs, network.described, (8, 8), "x.png",
                        takers={k: takers(k) for k in INPUTS}, **files)


def test_evaluation_resolves_checkpoints_and_refuses_other_networks(checkpoint, tmp_path):
    from training.evaluation.models import ModelError, load_model

    model = load_model(str(checkpoint), "matting")
    image, trimap = _scene(40, 48)
    alpha = model.predict_matting(image, trimap)
    assert alpha.shape == (40, 48) and alpha.dtype == np.float32 and 0 <= alpha.min() <= alpha.max() <= 1
    np.testing.assert_array_equal(alpha, model.predict_matting(image, trimap))     # deterministic
    save_checkpoint(tmp_path / "other.pt", {"network": "segformer", "model_config": {}, "model": {}})
    with pytest.raises(ModelError, match="holds a 'segformer' network"):
        load_model(str(tmp_path / "other.pt"), "matting")
    assert load_predictor(checkpoint).net.config == load_fba_config("tiny")["model"]


def test_post_processing_band_by_band_changes_no_pixel(monkeypatch, tmp_path):
    """Fusion, the trimap's regions, quantisation and the composite run on bands of rows to bound
    memory; every step is per pixel, so any band height gives the same bytes."""
    import training.inference.common as common
    from training.predict import write_prediction

    image, trimap = _scene(37, 53)
    predictor = _oracle(max_pixels=37 * 53 // 3)          # scaled, like a large photo
    whole = predictor.predict(image, trimap)
    write_prediction(tmp_path / "whole", whole, np.full((37, 53, 3), 200, np.uint8))
    monkeypatch.setattr(common, "BAND_ROWS", 5)
    banded = predictor.predict(image, trimap)
    write_prediction(tmp_path / "banded", banded, np.full((37, 53, 3), 200, np.uint8))
    for name in ("alpha", "fg", "bg"):
        np.testing.assert_array_equal(getattr(banded, name), getattr(whole, name))
    for name in ("alpha.png", "fg.png", "bg.png", "composite.png"):
        assert (tmp_path / "banded" / name).read_bytes() == (tmp_path / "whole" / name).read_bytes(), name
