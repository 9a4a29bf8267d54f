"""Interactive matting input: clicks and scribbles as sparse trimaps and their distance maps, the
9-channel network, and its start from an FBA checkpoint (reused weights bit-equal, wrong files refused)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from training.checkpoint import CheckpointError, model_payload, save_checkpoint
from training.clicks.paint import click_trimap, scribble_trimap
from training.data.clicks import user_input
from training.loops.fba import load_fba_config
from training.models import FBANet
from training.models.imatting import init_from_fba, input_channel_names

TINY_FBA = load_fba_config("tiny")["model"]

TINY_IMATTING = replace(TINY_FBA, in_channels=9, encoder_masks=False)


# --------------------------------------------------------------------------- clicks and scribbles
@pytest.mark.parametrize("radius", [0, 1, 3, 5])
def test_click_is_the_disk_of_its_radius(radius):
    trimap = click_trimap((15, 17), [(7, 8, True)], radius)
    yy, xx = np.mgrid[:15, :17]
    disk = (yy - 7) ** 2 + (xx - 8) ** 2 <= radius ** 2
    assert np.array_equal(trimap == 255, disk)
    assert np.array_equal(trimap == 128, ~disk) and not (trimap == 0).any()


def test_later_clicks_paint_over_earlier_ones_and_outside_clicks_are_refused():
    trimap = click_trimap((9, 9), [(4, 4, True), (4, 4, False)], 1)
    assert (trimap == 0).sum() == 5 and not (trimap == 255).any()
    with pytest.raises(ValueError, match=r"click \(9, 0\) lies outside the 9x9 image"):
        click_trimap((9, 9), [(9, 0, True)])


def test_distance_maps_of_one_pixel_clicks_are_the_thesis_gaussians():
    trimap = click_trimap((40, 50), [(10, 12, True), (30, 40, False)], radius=0)
    trimap2, maps = user_input(trimap, (6.4, 25.6, 51.2))
    assert trimap2.shape == (2, 40, 50) and maps.shape == (6, 40, 50)
    assert trimap2[0, 10, 12] == 1 and trimap2[1, 30, 40] == 1 and trimap2.sum() == 2
    yy, xx = np.mgrid[:40, :50]
    for k, (cy, cx) in enumerate([(10, 12), (30, 40)]):
        d2 = (yy - cy) ** 2 + (xx - cx) ** 2
        for j, sigma in enumerate((6.4, 25.6, 51.2)):
            np.testing.assert_allclose(maps[3 * k + j], np.exp(-d2 / (2 * sigma ** 2)), rtol=1e-5, atol=1e-7)


def test_no_negative_click_gives_zero_background_maps():
    _, maps = user_input(click_trimap((16, 16), [(3, 3, True)]))
    assert maps[3:].max() == 0 and maps[:3].max() == 1


def test_scribbles_become_a_sparse_trimap_and_overlaps_are_refused():
    fg, bg = np.zeros((6, 8), np.uint8), np.zeros((6, 8), np.uint8)
    fg[1, 1:4] = 255
    bg[5, :] = 1
    trimap = scribble_trimap(fg, bg)
    assert (trimap == 255).sum() == 3 and (trimap == 0).sum() == 8 and (trimap == 128).sum() == 48 - 11
    bg[1, 2] = 1
    with pytest.raises(ValueError, match="overlap on 1 pixels"):
        scribble_trimap(fg, bg)


# --------------------------------------------------------------------------- the network
def test_nine_channel_network_takes_rgb_and_six_maps():
    net = FBANet(TINY_IMATTING)
    out = net(torch.rand(1, 3, 32, 40), torch.zeros(1, 2, 32, 40), torch.rand(1, 6, 32, 40))
    assert out.shape == (1, 7, 32, 40)
    assert input_channel_names(TINY_IMATTING) == ["r", "g", "b", *(f"map_{k}" for k in range(6))]
    with pytest.raises(ValueError, match="image \\+ trimap_maps give 11 channels, the network takes 9"):
        net(torch.rand(1, 3, 32, 40), torch.zeros(1, 2, 32, 40), torch.rand(1, 8, 32, 40))


def test_masks_reach_only_the_decoder_when_encoder_masks_is_off():
    """The encoder's input is RGB + maps: its stem sees no mask channel at all."""
    net = FBANet(TINY_IMATTING)
    seen = []
    net.encoder.register_forward_pre_hook(lambda _, args: seen.append(args[0].shape[1]))
    net(torch.rand(1, 3, 16, 16), torch.ones(1, 2, 16, 16), torch.rand(1, 6, 16, 16))
    assert seen == [9]


# --------------------------------------------------------------------------- --init from FBA
def _fba_checkpoint(path, cfg=None, network="fba"):
    torch.manual_seed(3)
    net = FBANet(cfg or TINY_FBA)
    save_checkpoint(path, model_payload(network, net.config.to_dict(), net, {}))
    return net


def test_init_copies_every_fba_tensor_bit_for_bit_and_adapts_the_stem_by_channel(tmp_path):
    fba = _fba_checkpoint(tmp_path / "fba.pt")
    torch.manual_seed(4)
    net = FBANet(TINY_IMATTING)
    report = init_from_fba(net, tmp_path / "fba.pt")
    source, target = fba.state_dict(), net.state_dict()
    assert set(report.loaded) == set(target) - {"encoder.conv1.weight"}
    for key in report.loaded:
        assert torch.equal(source[key], target[key]), key
    stem_fba, stem = source["encoder.conv1.weight"], target["encoder.conv1.weight"]
    assert torch.equal(stem[:, :3], stem_fba[:, :3])          # RGB filters
    assert torch.equal(stem[:, 3:], stem_fba[:, 5:])          # the six maps, past FBA's two masks
    assert not report.not_loaded and not report.unused
    assert "dropped mask_fg, mask_bg" in str(report)


def test_init_reports_tensors_that_do_not_fit(tmp_path):
    _fba_checkpoint(tmp_path / "fba.pt", replace(TINY_FBA, decoder_channels=(32, 32, 32, 16, 16, 4)))
    net = FBANet(TINY_IMATTING)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    report = init_from_fba(net, tmp_path / "fba.pt")
    assert report.not_loaded and all("decoder.conv6" in n or "decoder.conv7" in n for n in report.not_loaded)
    assert "decoder.conv7.0.weight" not in report.loaded
    for line in report.not_loaded:                       # kept at their own initialisation
        key = line.split(":")[0]
        assert torch.equal(net.state_dict()[key], before[key])
    assert "not loaded (kept at initialisation): decoder.conv6.0.weight: checkpoint (4, 16, 3, 3)" in str(report)


def test_a_checkpoint_of_another_network_is_a_clear_error(tmp_path):
    _fba_checkpoint(tmp_path / "iseg.pt", network="iseg")
    with pytest.raises(CheckpointError, match=r"iseg.pt: holds a 'iseg' network, not 'fba'"):
        init_from_fba(FBANet(TINY_IMATTING), tmp_path / "iseg.pt")
    torch.save(FBANet(TINY_FBA).state_dict(), tmp_path / "bare.pt")
    with pytest.raises(CheckpointError, match="not a training checkpoint"):
        init_from_fba(FBANet(TINY_IMATTING), tmp_path / "bare.pt")


def test_an_fba_checkpoint_of_another_size_is_refused(tmp_path):
    _fba_checkpoint(tmp_path / "wide.pt", replace(TINY_FBA, width=16, ppm_channels=8,
                                                  decoder_channels=(8, 8, 8, 8, 8, 4)))
    with pytest.raises(CheckpointError, match=r"only \d+ of the network's 89 tensors fit"):
        init_from_fba(FBANet(TINY_IMATTING), tmp_path / "wide.pt")
